/**
 * Scenario enqueue-bulk: `--jobs N` enqueued with the system's bulk call in chunks of `--chunk` (default
 * 1000), one chunk after another (Conveyor enqueueMany, BullMQ addBulk, Bee-Queue saveAll). One untimed
 * single-job warm-up bulk call opens connections first.
 */
import { int } from "./lib/args.mjs";
import { setup } from "./lib/common.mjs";
import { commandsPerJobByName, createMeter } from "./lib/meter.mjs";
import { report, run } from "./lib/output.mjs";

run(async () => {
  const { sys, redisUrl, jobs, args } = await setup();
  const chunk = int(args, "chunk", 1000);
  await sys.ready();
  await sys.enqueueMany([{ i: -1 }]);
  const meter = await createMeter({ redisUrl });
  await meter.start();
  const t0 = performance.now();
  for (let i = 0; i < jobs; i += chunk) {
    const items = [];
    for (let j = i; j < Math.min(jobs, i + chunk); j++) items.push({ i: j });
    await sys.enqueueMany(items);
  }
  const elapsedMs = performance.now() - t0;
  const m = await meter.stop();
  await meter.close();
  await sys.close();
  report({
    jobs,
    chunk,
    elapsedMs: Math.round(elapsedMs),
    jobsPerSec: Math.round((jobs / elapsedMs) * 1000),
    p50Ms: null,
    p95Ms: null,
    p99Ms: null,
    cpuNodeMs: m.cpuNodeMs,
    cpuRedisMs: m.cpuRedisMs,
    redisCommandsPerJob: m.redisCommands === null ? null : Math.round((m.redisCommands / jobs) * 100) / 100,
    redisCommandsByName: commandsPerJobByName(m, jobs),
  });
});
