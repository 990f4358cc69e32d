/**
 * The README's quick start, runnable: `npx tsx examples/quick-start.ts`.
 * A SQLite queue in a temp dir, one job type with a schema, a worker with middleware, events, and a clean stop.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { z } from "zod";
import { Conveyor, defineJob, snooze } from "../src/index.js";

const locked = new Set(["f2"]);

const analyse = defineJob({
  name: "analyse-file",
  schema: z.object({ fileId: z.string() }), // any Standard Schema validator
  retry: { attempts: 5, backoff: "exponential" },
  timeoutMs: 120_000,
  async handler(data, ctx) {
    // data: { fileId: string }
    if (locked.delete(data.fileId)) return snooze(100); // try again in 100 ms, without using an attempt
    ctx.progress(10);
    ctx.log(`analysing ${data.fileId}`);
    return { ok: true, fileId: data.fileId }; // stored as the job's result
  },
});

const app = await Conveyor.open({
  store: `sqlite:${join(mkdtempSync(join(tmpdir(), "conveyor-")), "jobs.db")}`,
});
await app.enqueue(analyse, { fileId: "f1" });
await app.enqueue(analyse, { fileId: "f2" }, { priority: -1 });
const worker = app.worker({ jobs: [analyse], concurrency: 50 });
worker.use(async (job, next) => {
  const t = performance.now();
  await next();
  console.log(`${job.name} #${job.id} took ${(performance.now() - t).toFixed(1)} ms`);
});
let done = 0;
app.events.on("job:completed", (e) => {
  console.log("completed", e.job.id, JSON.stringify(e.result));
  if (++done === 2) void app.close(); // stops the worker gracefully, then closes the store
});
await worker.start();
