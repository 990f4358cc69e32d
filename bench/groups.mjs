/**
 * Scenario groups: per-group FIFO. N no-op jobs spread round-robin over `--groups G` groups (job i goes to
 * group i mod G with per-group sequence number floor(i / G)), drained by one worker at `--concurrency C`,
 * with the order checked.
 *
 * `--role fill`   enqueues the N jobs in bulk chunks of 1000, in sequence order, and exits (not timed);
 * `--role worker` times one worker from just before its start call until the N-th completion is reported,
 *                 and checks the order: within each group, every handler start must be the next sequence
 *                 number (none skipped, repeated or reordered), and must come after the system reported the
 *                 group's previous job completed. A job counts as running from its handler's start until its
 *                 completion is reported (stored), not only while its handler runs: a no-op handler returns
 *                 at once, so handler overlap alone would never show two jobs of a group at once.
 */
import { int, str } from "./lib/args.mjs";
import { counter, setup } from "./lib/common.mjs";
import { commandsPerJobByName, createMeter } from "./lib/meter.mjs";
import { report, run } from "./lib/output.mjs";

/** How many violations to describe in the result (the counts are complete). */
const EXAMPLES = 5;

run(async () => {
  const { sys, system, redisUrl, jobs, args, timeoutMs } = await setup();
  const role = str(args, "role", "worker");
  const groups = int(args, "groups", 100);
  if (!sys.enqueueGrouped) throw new Error(`${system} has no per-group FIFO (enqueueGrouped)`);
  if (role === "fill") {
    const t0 = performance.now();
    await sys.ready();
    for (let i = 0; i < jobs; i += 1000) {
      const items = [];
      for (let j = i; j < Math.min(jobs, i + 1000); j++) {
        const g = j % groups;
        items.push({ group: `g${g}`, data: { g, s: Math.floor(j / groups) } });
      }
      await sys.enqueueGrouped(items);
    }
    await sys.close();
    report({ filled: jobs, groups, elapsedMs: Math.round(performance.now() - t0) });
    return;
  }
  if (role !== "worker") throw new Error(`--role must be fill or worker, got ${role}`);

  const concurrency = int(args, "concurrency");
  /** Next sequence number expected to start, per group. */
  const next = new Int32Array(groups);
  /** Jobs of the group started and not yet reported completed. */
  const running = new Int32Array(groups);
  /** Starts per job (index s * groups + g): each must be exactly 1. */
  const starts = new Uint8Array(jobs);
  let outOfOrder = 0;
  let overlaps = 0;
  /** @type {string[]} */
  const examples = [];
  /** @param {string} what */
  const note = (what) => {
    if (examples.length < EXAMPLES) examples.push(what);
  };

  const done = counter(jobs, timeoutMs);
  /** @type {number} */
  let tEnd = 0;
  const worker = await sys.worker({
    concurrency,
    onStart({ g, s }) {
      if (running[g] > 0) {
        overlaps++;
        note(`g${g}: seq ${s} started before the group's previous job was reported completed`);
      }
      if (s !== next[g]) {
        outOfOrder++;
        note(`g${g}: seq ${s} started when seq ${next[g]} was next`);
      }
      running[g]++;
      next[g] = s + 1;
      const k = s * groups + g;
      if (starts[k] < 255) starts[k]++;
    },
    onCompleted(data) {
      if (!data) throw new Error(`${system}: the adapter must pass the job's data to onCompleted`);
      running[data.g]--;
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

  let duplicates = 0;
  let missing = 0;
  for (let k = 0; k < jobs; k++) {
    if (starts[k] === 0) missing++;
    else if (starts[k] > 1) duplicates += starts[k] - 1;
  }
  report({
    jobs,
    groups,
    concurrency,
    elapsedMs: Math.round(elapsedMs),
    jobsPerSec: Math.round((jobs / elapsedMs) * 1000),
    p50Ms: null,
    p95Ms: null,
    p99Ms: null,
    orderViolations: outOfOrder + overlaps,
    outOfOrder,
    overlaps,
    duplicateStarts: duplicates,
    missingStarts: missing,
    violationExamples: examples,
    cpuNodeMs: m.cpuNodeMs,
    cpuRedisMs: m.cpuRedisMs,
    redisCommandsPerJob: m.redisCommands === null ? null : Math.round((m.redisCommands / jobs) * 100) / 100,
    redisCommandsByName: commandsPerJobByName(m, jobs),
  });
});
