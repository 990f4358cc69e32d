/**
 * GroupMQ adapter (per-group FIFO on Redis), configured as its README advises for throughput: one `Queue`
 * on an ioredis client, a `Worker` with `concurrency` (jobs of different groups in parallel; its default
 * atomic completion chains the next job of the same group), `keepCompleted: 0` (the default: finished jobs
 * are not kept), and `reserveScanLimit` raised to the number of groups ("many groups: increase (50-100)").
 * Bulk enqueue through the queue's `autoBatch` (one `enqueue-batch` script call per 1,000 jobs).
 *
 * Every GroupMQ job belongs to a group, so only the `groups` scenario runs it (`enqueueGrouped`).
 * GroupMQ's Worker starts consuming in its constructor, so the worker is built by `start()`.
 */
import { Queue, Worker } from "groupmq";
import { Redis } from "ioredis";

/** Groups the `groups` scenario spreads its jobs over; GroupMQ scans this many ready groups per reserve. */
const SCAN_LIMIT = 100;
/** Jobs per bulk call, as for the other systems' bulk enqueue. */
const BATCH = 1_000;

/**
 * @param {import("./types.mjs").OpenOptions} options
 * @returns {Promise<import("./types.mjs").BenchSystem>}
 */
export async function open({ queue: name, redisUrl }) {
  if (!redisUrl) throw new Error("groupmq needs --redis <url>");
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: null });
  const queue = new Queue({
    redis,
    namespace: name,
    reserveScanLimit: SCAN_LIMIT,
    autoBatch: { size: BATCH, maxWaitMs: 10 },
  });
  /** @type {Worker[]} */
  const workers = [];
  const ungrouped = () => {
    throw new Error("groupmq: every job needs a group; only the groups scenario runs it");
  };

  return {
    async ready() {
      await redis.ping();
    },
    enqueue: async () => ungrouped(),
    enqueueMany: async () => ungrouped(),
    async enqueueGrouped(items) {
      // add() buffers; the batch is flushed (in array order) when it reaches BATCH jobs or after 10 ms.
      for (let i = 0; i < items.length; i += BATCH) {
        await Promise.all(
          items.slice(i, i + BATCH).map(({ group, data }) => queue.add({ groupId: group, data })),
        );
      }
    },
    async worker({ concurrency, onStart, onCompleted }) {
      await redis.ping();
      /** @type {Worker | null} */
      let worker = null;
      return {
        async start() {
          worker = new Worker({
            queue,
            concurrency,
            async handler(job) {
              onStart?.(job.data);
              return null;
            },
          });
          worker.on("completed", (job) => onCompleted(job.data));
          worker.on("error", (err) => process.stderr.write(`groupmq worker error: ${err?.message ?? err}\n`));
          workers.push(worker);
        },
        async stop() {
          if (worker) await worker.close();
        },
      };
    },
    async close() {
      await Promise.all(workers.map((w) => (w.isClosed ? undefined : w.close())));
      await queue.close();
    },
  };
}
