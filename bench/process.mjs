/**
 * Scenario process: no-op jobs drained by one worker at `--concurrency C`.
 *
 * `--role fill`   enqueues `--jobs N` jobs in bulk chunks of 1000 and exits (not timed);
 * `--role worker` times one worker from just before its start call until the N-th completion is reported
 *                 (Conveyor: worker.start() to the last job:completed, i.e. the completion is stored);
 * `--role all`    both in one process (for the in-memory store, which cannot be shared between processes).
 */
import { int, str } from "./lib/args.mjs";
import { counter, setup } from "./lib/common.mjs";
import { commandsPerJobByName, createMeter } from "./lib/meter.mjs";
import { report, run } from "./lib/output.mjs";

run(async () => {
  const { sys, redisUrl, jobs, args, timeoutMs } = await setup();
  const role = str(args, "role", "worker");
  if (role === "fill" || role === "all") {
    const t0 = performance.now();
    await sys.ready();
    for (let i = 0; i < jobs; i += 1000) {
      const items = [];
      for (let j = i; j < Math.min(jobs, i + 1000); j++) items.push({ i: j });
      await sys.enqueueMany(items);
    }
    if (role === "fill") {
      await sys.close();
      report({ filled: jobs, elapsedMs: Math.round(performance.now() - t0) });
      return;
    }
  }
  const concurrency = int(args, "concurrency");
  const done = counter(jobs, timeoutMs);
  /** @type {number} */
  let tEnd = 0;
  const worker = await sys.worker({
    concurrency,
    onCompleted() {
      done.inc();
      if (done.count === jobs) tEnd = performance.now();
    },
  });
  const meter = await createMeter({ redisUrl });
  await meter.start();
  const t0 = performance.now();
  await worker.start();
  await done.done;
  const elapsedMs = tEnd - t0;
  const m = await meter.stop();
  await meter.close();
  await worker.stop();
  await sys.close();
  report({
    jobs,
    concurrency,
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
