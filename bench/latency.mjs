/**
 * Scenario latency: enqueue-to-start latency under a steady load.
 *
 * `--role consumer` starts a worker at `--concurrency C`, prints the line READY, and records for each job
 *                   `wall clock at handler start - data.t` (data.t is the producer's wall clock just before
 *                   it called enqueue). After `--jobs N` completions it reports p50/p95/p99, leaving out
 *                   the first `--warmup` jobs (JIT and connection warm-up).
 * `--role producer` enqueues N jobs at `--rate R` per second on an open-loop schedule (job k is due at
 *                   start + k/R; enqueues are not serialised behind each other) and reports the rate reached.
 * `--role both`     both in one process (in-memory store only).
 * `--dump <file>`   (consumer) also writes every sample, in arrival order, one per line.
 *
 * The wall clock is `performance.timeOrigin + performance.now()`, the same clock as Date.now() with
 * sub-millisecond resolution, so timestamps from two processes on one machine compare.
 */
import { writeFileSync } from "node:fs";
import { int, str } from "./lib/args.mjs";
import { counter, setup, sleep } from "./lib/common.mjs";
import { commandsPerJobByName, createMeter } from "./lib/meter.mjs";
import { report, run } from "./lib/output.mjs";
import { latencySummary, wallNow } from "./lib/stats.mjs";

run(async () => {
  const ctx = await setup();
  const role = str(ctx.args, "role");
  if (role === "producer") {
    const p = await produce(ctx);
    await ctx.sys.close();
    report(p);
  } else if (role === "consumer") {
    const c = await startConsumer(ctx);
    process.stdout.write("READY\n");
    const result = await c.finish();
    await ctx.sys.close();
    report(result);
  } else if (role === "both") {
    const c = await startConsumer(ctx);
    const p = await produce(ctx);
    const result = await c.finish();
    await ctx.sys.close();
    report({ ...result, producer: p, sameProcess: true });
  } else {
    throw new Error(`--role must be consumer, producer or both, got ${role}`);
  }
});

/**
 * @param {Awaited<ReturnType<typeof setup>>} ctx
 */
async function startConsumer({ sys, jobs, args, redisUrl, timeoutMs }) {
  const concurrency = int(args, "concurrency");
  const warmup = int(args, "warmup", Math.min(250, Math.floor(jobs / 10)));
  const lat = new Float64Array(jobs);
  let seen = 0;
  const done = counter(jobs, timeoutMs);
  const worker = await sys.worker({
    concurrency,
    onStart(data) {
      const now = wallNow();
      if (typeof data?.t === "number" && seen < jobs) lat[seen++] = now - data.t;
    },
    onCompleted: () => done.inc(),
  });
  await worker.start();
  const meter = await createMeter({ redisUrl });
  await meter.start();
  return {
    async finish() {
      await done.done;
      const m = await meter.stop();
      await meter.close();
      await worker.stop();
      const samples = Array.from(lat.subarray(warmup, seen));
      // --dump <file>: the raw samples in arrival order (ms, one per line), to look at outliers over time.
      if (typeof args.dump === "string")
        writeFileSync(args.dump, `${Array.from(lat.subarray(0, seen)).join("\n")}\n`);
      return {
        jobs,
        concurrency,
        warmup,
        ...latencySummary(samples),
        maxMs: Math.round(Math.max(...samples) * 1000) / 1000,
        cpuWorkerMs: m.cpuNodeMs,
        cpuRedisMs: m.cpuRedisMs,
        redisCommandsPerJob:
          m.redisCommands === null ? null : Math.round((m.redisCommands / jobs) * 100) / 100,
        redisCommandsByName: commandsPerJobByName(m, jobs),
      };
    },
  };
}

/**
 * @param {Awaited<ReturnType<typeof setup>>} ctx
 */
async function produce({ sys, jobs, args }) {
  const rate = int(args, "rate", 500);
  const interval = 1000 / rate;
  await sys.ready();
  const cpu0 = process.cpuUsage();
  /** @type {Promise<unknown>[]} */
  const pending = [];
  let failed = 0;
  const start = wallNow();
  let sent = 0;
  while (sent < jobs) {
    const due = Math.min(jobs, Math.floor((wallNow() - start) / interval) + 1);
    while (sent < due) {
      const t = wallNow();
      pending.push(
        sys.enqueue({ i: sent, t }).catch(() => {
          failed++;
        }),
      );
      sent++;
    }
    if (sent < jobs) await sleep(Math.max(0, start + sent * interval - wallNow()));
  }
  const lastSent = wallNow();
  await Promise.all(pending);
  const cpu = process.cpuUsage(cpu0);
  if (failed > 0) throw new Error(`${failed} enqueues failed`);
  return {
    sent,
    producerRate: Math.round(((sent - 1) / (lastSent - start)) * 1000 * 10) / 10,
    cpuProducerMs: Math.round((cpu.user + cpu.system) / 1000),
  };
}
