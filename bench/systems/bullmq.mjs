/**
 * BullMQ adapter. Configured as BullMQ's docs advise for throughput: `removeOnComplete: true` (finished jobs
 * are not kept), the default ioredis connection per Queue / Worker, default worker settings otherwise.
 */
import { Queue, Worker } from "bullmq";

/**
 * @param {string} url
 * @returns {{ host: string, port: number, db: number }}
 */
function connectionOf(url) {
  const u = new URL(url);
  return { host: u.hostname, port: Number(u.port || 6379), db: Number(u.pathname.slice(1) || 0) };
}

/**
 * @param {import("./types.mjs").OpenOptions} options
 * @returns {Promise<import("./types.mjs").BenchSystem>}
 */
export async function open({ queue: name, redisUrl }) {
  if (!redisUrl) throw new Error("bullmq needs --redis <url>");
  const connection = connectionOf(redisUrl);
  /** @type {Promise<Queue> | null} */
  let producer = null;
  const getProducer = () => {
    producer ??= (async () => {
      const queue = new Queue(name, { connection, defaultJobOptions: { removeOnComplete: true } });
      await queue.waitUntilReady();
      return queue;
    })();
    return producer;
  };
  /** @type {Worker[]} */
  const workers = [];

  return {
    async ready() {
      await getProducer();
    },
    async enqueue(data) {
      return (await getProducer()).add("noop", data);
    },
    async enqueueMany(items) {
      return (await getProducer()).addBulk(items.map((data) => ({ name: "noop", data })));
    },
    async worker({ concurrency, onStart, onCompleted }) {
      const worker = new Worker(
        name,
        async (job) => {
          onStart?.(job.data);
          return null;
        },
        { connection, concurrency, autorun: false },
      );
      worker.on("completed", () => onCompleted());
      worker.on("error", (err) => process.stderr.write(`bullmq worker error: ${err?.message ?? err}\n`));
      workers.push(worker);
      await worker.waitUntilReady();
      return {
        async start() {
          worker.run().catch((err) => process.stderr.write(`bullmq run: ${err?.message ?? err}\n`));
        },
        stop: () => worker.close(),
      };
    },
    async close() {
      await Promise.all(workers.map((w) => w.close()));
      if (producer) await (await producer).close();
    },
  };
}
