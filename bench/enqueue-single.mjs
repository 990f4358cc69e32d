/**
 * Scenario enqueue-single: `--jobs N` awaited single enqueues (each waits for the store's acknowledgement
 * before its producer starts the next), from `--concurrency C` producers at once (default 1: strictly
 * sequential; more: a web server enqueuing from many requests). Reports throughput and the per-call latency
 * percentiles. One untimed warm-up enqueue opens connections first.
 */
import { int } from "./lib/args.mjs";
import { setup } from "./lib/common.mjs";
import { commandsPerJobByName, createMeter } from "./lib/meter.mjs";
import { report, run } from "./lib/output.mjs";
import { latencySummary } from "./lib/stats.mjs";

run(async () => {
  const { sys, redisUrl, jobs, args } = await setup();
  const producers = int(args, "concurrency", 1);
  await sys.ready();
  await sys.enqueue({ i: -1 });
  const meter = await createMeter({ redisUrl });
  const lat = new Float64Array(jobs);
  await meter.start();
  const t0 = performance.now();
  let next = 0;
  const producer = async () => {
    while (next < jobs) {
      const i = next++;
      const s = performance.now();
      await sys.enqueue({ i });
      lat[i] = performance.now() - s;
    }
  };
  await Promise.all(Array.from({ length: producers }, producer));
  const elapsedMs = performance.now() - t0;
  const m = await meter.stop();
  await meter.close();
  await sys.close();
  report({
    jobs,
    concurrency: producers === 1 ? null : producers,
    elapsedMs: Math.round(elapsedMs),
    jobsPerSec: Math.round((jobs / elapsedMs) * 1000),
    ...latencySummary(Array.from(lat)),
    cpuNodeMs: m.cpuNodeMs,
    cpuRedisMs: m.cpuRedisMs,
    redisCommandsPerJob: m.redisCommands === null ? null : round2(m.redisCommands / jobs),
    redisCommandsByName: commandsPerJobByName(m, jobs),
  });
});

/** @param {number} x */
function round2(x) {
  return Math.round(x * 100) / 100;
}
