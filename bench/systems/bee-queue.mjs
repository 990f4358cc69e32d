/**
 * Bee-Queue adapter, configured as its README advises for throughput: producers with `isWorker`,
 * `getEvents`, `sendEvents` and `storeJobs` off; workers with `removeOnSuccess: true` and no events or job
 * tracking; bulk enqueue with `saveAll` (one pipelined request).
 */
import BeeQueue from "bee-queue";

/**
 * @param {string} url
 * @returns {{ host: string, port: number, db: number }}
 */
function redisOf(url) {
  const u = new URL(url);
  return { host: u.hostname, port: Number(u.port || 6379), db: Number(u.pathname.slice(1) || 0) };
}

/**
 * @param {import("./types.mjs").OpenOptions} options
 * @returns {Promise<import("./types.mjs").BenchSystem>}
 */
export async function open({ queue: name, redisUrl }) {
  if (!redisUrl) throw new Error("bee-queue needs --redis <url>");
  const redis = redisOf(redisUrl);
  /** @type {Promise<BeeQueue> | null} */
  let producer = null;
  const getProducer = () => {
    producer ??= (async () => {
      const q = new BeeQueue(name, {
        redis,
        isWorker: false,
        getEvents: false,
        sendEvents: false,
        storeJobs: false,
      });
      await q.ready();
      return q;
    })();
    return producer;
  };
  /** @type {BeeQueue[]} */
  const workers = [];

  return {
    async ready() {
      await getProducer();
    },
    async enqueue(data) {
      return (await getProducer()).createJob(data).save();
    },
    async enqueueMany(items) {
      const q = await getProducer();
      const errors = await q.saveAll(items.map((data) => q.createJob(data)));
      if (errors.size > 0) throw new Error(`bee-queue saveAll: ${errors.size} jobs failed`);
    },
    async worker({ concurrency, onStart, onCompleted }) {
      const q = new BeeQueue(name, {
        redis,
        isWorker: true,
        getEvents: false,
        sendEvents: false,
        storeJobs: false,
        removeOnSuccess: true,
        activateDelayedJobs: false,
      });
      q.on("succeeded", () => onCompleted());
      q.on("error", (err) => process.stderr.write(`bee-queue error: ${err?.message ?? err}\n`));
      workers.push(q);
      await q.ready();
      return {
        async start() {
          q.process(concurrency, async (job) => {
            onStart?.(job.data);
            return null;
          });
        },
        stop: () => q.close(),
      };
    },
    async close() {
      await Promise.all(workers.map((q) => q.close()));
      if (producer) await (await producer).close();
    },
  };
}
