/**
 * Conveyor adapter for every store: "sqlite" (durability full, the default store), "memory" (in-process
 * reference) and, once it exists, "redis". Imports the built package from dist/ (`npm run build`).
 */
import { Conveyor, defineJob } from "../../dist/index.js";

/**
 * @param {"sqlite" | "memory" | "redis"} kind
 * @param {import("./types.mjs").OpenOptions} options
 * @returns {Promise<import("./types.mjs").BenchSystem>}
 */
export async function open(kind, { queue, redisUrl, dbPath }) {
  /** @type {string} */
  let store;
  if (kind === "sqlite") {
    if (!dbPath) throw new Error("conveyor-sqlite needs --db <file>");
    store = `sqlite:${dbPath}`;
  } else if (kind === "redis") {
    if (!redisUrl) throw new Error("conveyor-redis needs --redis <url>");
    store = redisUrl;
  } else {
    store = "memory";
  }
  const app = await Conveyor.open(kind === "sqlite" ? { store, durability: "full" } : { store });
  /** @type {(data: any) => void} */
  let onStart = () => {};
  const noop = defineJob({
    name: "noop",
    queue,
    async handler(data) {
      onStart(data);
      return null;
    },
  });

  return {
    ready: async () => {},
    enqueue: (data) => app.enqueue(noop, data),
    enqueueMany: (items) =>
      app.enqueueMany(
        noop,
        items.map((data) => ({ data })),
      ),
    // Default group policy of the job type: concurrency 1, failures hold the group (docs/guides/groups.md).
    enqueueGrouped: (items) =>
      app.enqueueMany(
        noop,
        items.map(({ group, data }) => ({ data, options: { group } })),
      ),
    async worker({ concurrency, onStart: start, onCompleted }) {
      if (start) onStart = start;
      const worker = app.worker({ jobs: [noop], concurrency });
      const off = app.events.on("job:completed", (e) => onCompleted(e.job.data));
      return {
        start: () => worker.start(),
        async stop() {
          off();
          await worker.stop();
        },
      };
    },
    close: () => app.close(),
  };
}
