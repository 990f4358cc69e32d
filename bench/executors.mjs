/**
 * Executor benchmark: one executor (or peer pool) with a warm pool runs a no-op handler module.
 *
 *   node bench/executors.mjs --executor inline|thread|process|piscina|tinypool-threads|tinypool-process
 *        [--jobs N] [--concurrency C]
 *   node bench/executors.mjs --all [--jobs N]     every executor at concurrency 1 and 16, as a table
 *
 * With --executor it prints one JSON line (what bench/run.mjs reads): per-job overhead (p50/p99 of one job at a
 * time, in ms and µs, measured on a separate sequential pass) and jobs/s at the given concurrency. Every pool
 * has the same size: available CPUs (at least 2). Needs `npm run build` first.
 */
import { availableParallelism } from "node:os";
import { parseArgs } from "node:util";

const NOOP = new URL("./lib/noop-task.mjs", import.meta.url);
const POOL_SIZE = Math.max(2, availableParallelism());
const NAMES = ["inline", "thread", "process", "piscina", "tinypool-threads", "tinypool-process"];

/** @returns {Promise<{ run: () => Promise<unknown>, close: () => Promise<void> }>} */
async function open(name) {
  if (name === "inline" || name === "thread" || name === "process") {
    const { InlineExecutor, ThreadExecutor, ProcessExecutor, defineJob } = await import("../dist/index.js");
    const options = { minIdle: POOL_SIZE, maxWorkers: POOL_SIZE, maxInitializing: POOL_SIZE };
    const executor =
      name === "inline"
        ? new InlineExecutor()
        : name === "thread"
          ? new ThreadExecutor(options)
          : new ProcessExecutor(options);
    await executor.start?.();
    const def = defineJob({ name: "noop", module: NOOP });
    const job = { id: "1", name: "noop", queue: "default", attempt: 1, maxAttempts: 1, data: null };
    // A fresh context and abort per job, as a worker's attempt gives: the signal is made only if read (the
    // no-op handler never does) and the executor listens through the abort hook, like the worker's LazyAbort.
    const run = () => {
      const abort = new JobAbort();
      const ctx = {
        ...job,
        job,
        get signal() {
          return abort.signal;
        },
        progress() {},
        log() {},
      };
      return executor.run({ handler: def.handler, module: def.module, data: null, ctx, abort });
    };
    return { run, close: () => executor.close() };
  }
  if (name === "piscina") {
    const { Piscina } = await import("piscina");
    const pool = new Piscina({ filename: NOOP.href, minThreads: POOL_SIZE, maxThreads: POOL_SIZE });
    await warm(() => pool.run(null));
    return { run: () => pool.run(null), close: () => pool.destroy() };
  }
  const { Tinypool } = await import("tinypool");
  const runtime = name === "tinypool-process" ? "child_process" : "worker_threads";
  const pool = new Tinypool({ filename: NOOP.href, runtime, minThreads: POOL_SIZE, maxThreads: POOL_SIZE });
  await warm(() => pool.run(null));
  return { run: () => pool.run(null), close: () => pool.destroy() };
}

/** What src/worker/lazy-abort.ts gives an attempt: a signal made on first read, and an abort hook. */
class JobAbort {
  #controller = null;
  reason = null;
  #listeners = [];
  get signal() {
    this.#controller ??= new AbortController();
    if (this.reason) this.#controller.abort(this.reason);
    return this.#controller.signal;
  }
  listen(listener) {
    this.#listeners.push(listener);
  }
  unlisten(listener) {
    const i = this.#listeners.indexOf(listener);
    if (i >= 0) this.#listeners.splice(i, 1);
  }
}

/** Runs enough jobs in parallel for every pool member to start. */
async function warm(run) {
  await Promise.all(Array.from({ length: POOL_SIZE * 4 }, run));
}

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

async function measure(name, jobs, concurrency) {
  const pool = await open(name);
  try {
    // Warm-up: JIT, module loads in every child.
    await throughput(pool, Math.min(jobs, 2_000), Math.max(concurrency, POOL_SIZE * 2));
    const samples = new Float64Array(Math.min(jobs, 5_000));
    for (let i = 0; i < samples.length; i++) {
      const t = process.hrtime.bigint();
      await pool.run();
      samples[i] = Number(process.hrtime.bigint() - t) / 1e6;
    }
    const sorted = [...samples].sort((a, b) => a - b);
    const rate = await throughput(pool, jobs, concurrency);
    return {
      executor: name,
      jobs,
      concurrency,
      jobsPerSec: Math.round(rate),
      p50Ms: percentile(sorted, 50),
      p95Ms: percentile(sorted, 95),
      p99Ms: percentile(sorted, 99),
      p50Us: Math.round(percentile(sorted, 50) * 1000),
      p99Us: Math.round(percentile(sorted, 99) * 1000),
      poolSize: name === "inline" ? 0 : POOL_SIZE,
    };
  } finally {
    await pool.close();
  }
}

async function throughput(pool, jobs, concurrency) {
  let started = 0;
  const t0 = performance.now();
  const lane = async () => {
    while (started < jobs) {
      started++;
      await pool.run();
    }
  };
  await Promise.all(Array.from({ length: concurrency }, lane));
  return (jobs / (performance.now() - t0)) * 1000;
}

const { values } = parseArgs({
  options: {
    executor: { type: "string" },
    jobs: { type: "string", default: "20000" },
    concurrency: { type: "string", default: "16" },
    all: { type: "boolean", default: false },
    // Accepted and ignored: the common arguments bench/run.mjs passes to every scenario.
    system: { type: "string" },
    queue: { type: "string" },
    "timeout-ms": { type: "string" },
  },
});
const jobs = Number(values.jobs);
if (values.all) {
  console.log(`| executor | conc. | jobs/s | p50 µs | p99 µs |  (pool size ${POOL_SIZE})`);
  console.log("| --- | ---: | ---: | ---: | ---: |");
  for (const name of NAMES) {
    for (const c of [1, 16]) {
      const r = await measure(name, jobs, c);
      console.log(`| ${name} | ${c} | ${r.jobsPerSec} | ${r.p50Us} | ${r.p99Us} |`);
    }
  }
} else {
  if (!NAMES.includes(values.executor ?? ""))
    throw new Error(`--executor must be one of ${NAMES.join(", ")}`);
  console.log(JSON.stringify(await measure(values.executor, jobs, Number(values.concurrency))));
}
