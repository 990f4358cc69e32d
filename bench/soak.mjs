/**
 * Scenario soak: does a worker's memory stay flat over a long run? One process keeps a SQLite queue topped up
 * (bulk enqueues of 10,000 whenever fewer than 20,000 wait) while a worker at `--concurrency C` drains
 * `--jobs N` no-op jobs. At every tenth of the run it forces a full GC and samples heapUsed and RSS. The
 * growth is measured from the first sample (after warm-up, 10% in) to the last, so start-up allocations do
 * not count; RSS is also measured over the second half, after SQLite's page cache (bounded by cache_size)
 * has filled. Finished jobs stay in the database (no pruning): their memory
 * is on disk, not in the worker.
 */

import v8 from "node:v8";
import vm from "node:vm";
import { int } from "./lib/args.mjs";
import { counter, setup } from "./lib/common.mjs";
import { report, run } from "./lib/output.mjs";

v8.setFlagsFromString("--expose-gc");
/** @type {() => void} */
const gc = vm.runInNewContext("gc");

run(async () => {
  const { sys, jobs, args, timeoutMs } = await setup();
  const concurrency = int(args, "concurrency", 100);
  const chunk = 10_000;
  let enqueued = 0;
  const topUp = async () => {
    while (enqueued < jobs && enqueued - done.count < 2 * chunk) {
      const n = Math.min(chunk, jobs - enqueued);
      const items = [];
      for (let i = 0; i < n; i++) items.push({ i: enqueued + i });
      await sys.enqueueMany(items);
      enqueued += n;
    }
  };
  const done = counter(jobs, timeoutMs);
  /** @type {Array<{ jobs: number, heapMB: number, rssMB: number }>} */
  const samples = [];
  const step = Math.floor(jobs / 10);
  let nextSample = step;
  let topping = false;
  const worker = await sys.worker({
    concurrency,
    onCompleted() {
      done.inc();
      if (done.count >= nextSample) {
        nextSample += step;
        gc();
        const m = process.memoryUsage();
        samples.push({ jobs: done.count, heapMB: m.heapUsed / 2 ** 20, rssMB: m.rss / 2 ** 20 });
      }
      if (!topping && enqueued < jobs && enqueued - done.count < chunk) {
        topping = true;
        void topUp().finally(() => {
          topping = false;
        });
      }
    },
  });
  await topUp();
  const t0 = performance.now();
  await worker.start();
  await done.done;
  const elapsedMs = performance.now() - t0;
  await worker.stop();
  await sys.close();
  const first = samples[0];
  const last = samples[samples.length - 1];
  const mid = samples[Math.floor(samples.length / 2) - 1];
  const pct = (a, b) => Math.round(((b - a) / a) * 1000) / 10;
  report({
    jobs,
    concurrency,
    elapsedMs: Math.round(elapsedMs),
    jobsPerSec: Math.round((jobs / elapsedMs) * 1000),
    p50Ms: null,
    p95Ms: null,
    p99Ms: null,
    heapStartMB: first ? Math.round(first.heapMB * 10) / 10 : null,
    heapEndMB: last ? Math.round(last.heapMB * 10) / 10 : null,
    heapGrowthPct: first && last ? pct(first.heapMB, last.heapMB) : null,
    rssStartMB: first ? Math.round(first.rssMB) : null,
    rssEndMB: last ? Math.round(last.rssMB) : null,
    rssGrowthPct: first && last ? pct(first.rssMB, last.rssMB) : null,
    // SQLite's page cache (cache_size, 64 MiB) fills as the database grows, then stays: the second half of
    // the run shows whether anything keeps growing after that.
    rssSecondHalfGrowthPct: mid && last ? pct(mid.rssMB, last.rssMB) : null,
    memorySamples: samples.map((s) => ({
      jobs: s.jobs,
      heapMB: Math.round(s.heapMB * 10) / 10,
      rssMB: Math.round(s.rssMB),
    })),
  });
});
