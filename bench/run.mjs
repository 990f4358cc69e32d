/**
 * `npm run bench`: runs every scenario against every system, each measurement in fresh child processes,
 * repeats them, and reports medians as JSON (bench/results/<date>-<commit>.json) and a Markdown table
 * (stdout and bench/results/latest.md). See bench/README.md.
 *
 * Options:
 *   --repeat N          measurements per row (default 3; 1 with --quick)
 *   --quick             small job counts, one repeat: a smoke run in about a minute
 *   --only a,b          keep only these scenarios and/or systems (comma-separated; may be given twice)
 *   --timeout-ms N      per child process (default 180000)
 * Environment: REDIS_URL to use an existing Redis server instead of starting one (it is flushed!).
 */
import { execFileSync, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { cpus, loadavg, tmpdir, totalmem } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Redis } from "ioredis";
import { median } from "./lib/stats.mjs";
import { SYSTEMS } from "./systems/index.mjs";

const BENCH_DIR = dirname(fileURLToPath(import.meta.url));
const RESULTS_DIR = join(BENCH_DIR, "results");
const SCENARIOS = [
  "enqueue-single",
  "enqueue-bulk",
  "process",
  "latency",
  "groups",
  "soak",
  "executor",
  "runtime",
];
/** The "runtime" scenario's rows: the process runtime against nact, in-process (bench/process-runtime.mjs). */
const RUNTIME_SYSTEMS = ["conveyor-process", "nact"];
/** The "executor" scenario's rows: Conveyor's executors and peer pools, no store (bench/executors.mjs). */
const EXECUTOR_SYSTEMS = ["inline", "thread", "process", "piscina", "tinypool-threads", "tinypool-process"];

/** Job counts and settings per mode. */
const SIZES = {
  full: {
    enqueueSingle: 10_000,
    enqueueConcurrent: 20_000,
    enqueueConcurrentProducers: 50,
    enqueueBulk: 100_000,
    bulkChunk: 1_000,
    process: 50_000,
    // At concurrency 1 every job is a full round trip to the store, so rates are low and steady early:
    // 20,000 jobs measure it as well as 50,000 and keep the default run under ~12 minutes.
    processAtConcurrency1: 20_000,
    processConcurrency: [1, 10, 100],
    executorJobs: 50_000,
    latencySeconds: 10,
    latencyRate: 500,
    latencyConcurrency: 10,
    // Per-group FIFO: jobs spread round-robin over this many groups, one worker at this concurrency.
    groups: 50_000,
    groupCount: 100,
    groupsConcurrency: 100,
    // A worker's memory over a long run: one million jobs (PRODUCT.md: under 10% growth).
    soak: 1_000_000,
    runtime: 1_000_000,
  },
  quick: {
    enqueueSingle: 1_000,
    enqueueConcurrent: 2_000,
    enqueueConcurrentProducers: 50,
    enqueueBulk: 10_000,
    bulkChunk: 1_000,
    process: 5_000,
    processAtConcurrency1: 5_000,
    processConcurrency: [1, 10, 100],
    executorJobs: 10_000,
    latencySeconds: 2,
    latencyRate: 500,
    latencyConcurrency: 10,
    groups: 10_000,
    groupCount: 100,
    groupsConcurrency: 100,
    soak: 100_000,
    runtime: 100_000,
  },
};

/**
 * @typedef {object} Measurement One row of the table: a scenario, a system and its settings.
 * @property {string} scenario
 * @property {string} system
 * @property {number | null} concurrency
 * @property {number} jobs
 * @property {string[]} extra Extra arguments for the scenario script.
 *
 * @typedef {Record<string, any>} RunResult What one repetition of a measurement reported.
 */

/** @param {string[]} argv */
function parseCli(argv) {
  /** @type {{ repeat: number | null, quick: boolean, only: string[], timeoutMs: number }} */
  const o = { repeat: null, quick: false, only: [], timeoutMs: 180_000 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const [key, inline] = a.includes("=")
      ? [a.slice(0, a.indexOf("=")), a.slice(a.indexOf("=") + 1)]
      : [a, null];
    const value = () => inline ?? argv[++i];
    if (key === "--quick") o.quick = true;
    else if (key === "--repeat") o.repeat = Number(value());
    else if (key === "--only") o.only.push(...String(value()).split(",").filter(Boolean));
    else if (key === "--timeout-ms") o.timeoutMs = Number(value());
    else if (key === "--help" || key === "-h") {
      console.log(
        "usage: npm run bench -- [--quick] [--repeat N] [--only scenario|system[,...]] [--timeout-ms N]",
      );
      process.exit(0);
    } else throw new Error(`unknown option ${a}`);
  }
  if (o.repeat !== null && (!Number.isInteger(o.repeat) || o.repeat < 1))
    throw new Error("--repeat must be >= 1");
  for (const name of o.only) {
    if (!SCENARIOS.includes(name) && !(name in SYSTEMS)) {
      throw new Error(
        `--only ${name}: not a scenario (${SCENARIOS.join(", ")}) or system (${Object.keys(SYSTEMS).join(", ")})`,
      );
    }
  }
  return o;
}

/**
 * The measurements to make, filtered by --only (scenario names and system names filter independently).
 * Disabled systems run only when named explicitly.
 * @param {typeof SIZES.full} size
 * @param {string[]} only
 * @returns {Measurement[]}
 */
function plan(size, only) {
  const onlyScenarios = only.filter((n) => SCENARIOS.includes(n));
  const onlySystems = only.filter((n) => n in SYSTEMS);
  const systems = Object.keys(SYSTEMS).filter((s) =>
    onlySystems.length ? onlySystems.includes(s) : SYSTEMS[s].enabled,
  );
  const scenarios = onlyScenarios.length ? onlyScenarios : SCENARIOS;
  /** @type {Measurement[]} */
  const out = [];
  if (scenarios.includes("runtime") && onlySystems.length === 0) {
    for (const system of RUNTIME_SYSTEMS)
      out.push({ scenario: "runtime", system, concurrency: null, jobs: size.runtime, extra: [] });
  }
  for (const scenario of scenarios.filter((s) => s !== "runtime")) {
    for (const system of systems) {
      // A per-group queue (every job needs a group) takes part in the groups scenario only.
      if (SYSTEMS[system].groupsOnly && scenario !== "groups") continue;
      if (scenario === "groups") {
        if (SYSTEMS[system].groups) {
          out.push({
            scenario,
            system,
            concurrency: size.groupsConcurrency,
            jobs: size.groups,
            extra: ["--groups", String(size.groupCount)],
          });
        }
      } else if (scenario === "enqueue-single") {
        out.push({ scenario, system, concurrency: null, jobs: size.enqueueSingle, extra: [] });
        // The same from many producers at once (a web server's requests), where a store can share work.
        const c = size.enqueueConcurrentProducers;
        out.push({
          scenario,
          system,
          concurrency: c,
          jobs: size.enqueueConcurrent,
          extra: ["--concurrency", String(c)],
        });
      } else if (scenario === "enqueue-bulk") {
        out.push({
          scenario,
          system,
          concurrency: null,
          jobs: size.enqueueBulk,
          extra: ["--chunk", String(size.bulkChunk)],
        });
      } else if (scenario === "process") {
        for (const c of size.processConcurrency) {
          const jobs = c === 1 ? size.processAtConcurrency1 : size.process;
          out.push({ scenario, system, concurrency: c, jobs, extra: [] });
        }
      } else if (scenario === "executor") {
        // Executors against peer pools, once (not per store system): the rows name the executor.
        if (system === "conveyor-sqlite") {
          for (const executor of EXECUTOR_SYSTEMS) {
            for (const c of [1, 16]) {
              out.push({ scenario, system: executor, concurrency: c, jobs: size.executorJobs, extra: [] });
            }
          }
        }
      } else if (scenario === "soak") {
        // Conveyor's own worker only, on its default store: peers' memory is not what this watches.
        if (system === "conveyor-sqlite")
          out.push({ scenario, system, concurrency: 100, jobs: size.soak, extra: [] });
      } else if (scenario === "latency") {
        out.push({
          scenario,
          system,
          concurrency: size.latencyConcurrency,
          jobs: size.latencySeconds * size.latencyRate,
          extra: ["--rate", String(size.latencyRate)],
        });
      }
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// Child processes

/**
 * Runs `node bench/<script> args...` and resolves with its last JSON stdout line. `onLine` sees every
 * stdout line as it arrives (the latency consumer's READY).
 * @param {string} script
 * @param {string[]} args
 * @param {number} timeoutMs
 * @param {(line: string) => void} [onLine]
 * @returns {Promise<RunResult>}
 */
function runChild(script, args, timeoutMs, onLine) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(BENCH_DIR, script), ...args], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    let partial = "";
    child.stdout.setEncoding("utf8");
    child.stderr.setEncoding("utf8");
    child.stdout.on("data", (chunk) => {
      stdout += chunk;
      partial += chunk;
      let nl = partial.indexOf("\n");
      while (nl >= 0) {
        onLine?.(partial.slice(0, nl));
        partial = partial.slice(nl + 1);
        nl = partial.indexOf("\n");
      }
    });
    child.stderr.on("data", (chunk) => {
      stderr += chunk;
    });
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${script} ${args.join(" ")}: killed after ${timeoutMs} ms\n${stderr.slice(-2000)}`));
    }, timeoutMs);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      const line = stdout
        .trim()
        .split("\n")
        .reverse()
        .find((l) => l.startsWith("{"));
      /** @type {RunResult | null} */
      let result = null;
      try {
        result = line ? JSON.parse(line) : null;
      } catch {
        result = null;
      }
      if (code !== 0 || !result || result.error) {
        const why = result?.error ?? `exit code ${code}`;
        reject(new Error(`${script} ${args.join(" ")}: ${why}\n${stderr.slice(-2000)}`));
      } else {
        resolve(result);
      }
    });
  });
}

/**
 * One repetition of a measurement, in fresh processes against a clean store.
 * @param {Measurement} m
 * @param {{ redisUrl: string | null, tmp: string, timeoutMs: number, run: number }} env
 * @returns {Promise<RunResult>}
 */
async function measureOnce(m, env) {
  if (m.scenario === "runtime") {
    const args = ["--system", m.system, "--jobs", String(m.jobs)];
    return await runChild("process-runtime.mjs", args, env.timeoutMs);
  }
  if (m.scenario === "executor") {
    const args = ["--executor", m.system, "--jobs", String(m.jobs), "--concurrency", String(m.concurrency)];
    return await runChild("executors.mjs", args, env.timeoutMs);
  }
  const info = SYSTEMS[m.system];
  const dbPath = join(env.tmp, `${m.system}-${m.scenario}-${m.concurrency ?? 0}-${env.run}.db`);
  if (info.redis) await flushRedis(/** @type {string} */ (env.redisUrl));
  const common = [
    "--system",
    m.system,
    "--queue",
    "bench",
    "--jobs",
    String(m.jobs),
    "--timeout-ms",
    String(env.timeoutMs - 5_000),
  ];
  if (info.redis) common.push("--redis", /** @type {string} */ (env.redisUrl));
  if (m.system === "conveyor-sqlite") common.push("--db", dbPath);
  try {
    if (m.scenario === "enqueue-single" || m.scenario === "enqueue-bulk") {
      return await runChild(`${m.scenario}.mjs`, [...common, ...m.extra], env.timeoutMs);
    }
    const conc = ["--concurrency", String(m.concurrency)];
    if (m.scenario === "process") {
      if (!info.crossProcess)
        return await runChild("process.mjs", [...common, ...conc, "--role", "all"], env.timeoutMs);
      await runChild("process.mjs", [...common, "--role", "fill"], env.timeoutMs);
      return await runChild("process.mjs", [...common, ...conc, "--role", "worker"], env.timeoutMs);
    }
    if (m.scenario === "latency") {
      if (!info.crossProcess) {
        const r = await runChild(
          "latency.mjs",
          [...common, ...conc, ...m.extra, "--role", "both"],
          env.timeoutMs,
        );
        return { ...r, ...r.producer, cpuNodeMs: r.cpuWorkerMs };
      }
      /** @type {() => void} */
      let ready = () => {};
      const isReady = new Promise((resolve) => {
        ready = () => resolve(undefined);
      });
      const consumer = runChild(
        "latency.mjs",
        [...common, ...conc, "--role", "consumer"],
        env.timeoutMs,
        (line) => {
          if (line.trim() === "READY") ready();
        },
      );
      await Promise.race([isReady, consumer]);
      const producer = runChild("latency.mjs", [...common, ...m.extra, "--role", "producer"], env.timeoutMs);
      const [c, p] = await Promise.all([consumer, producer]);
      return { ...c, ...p, cpuNodeMs: c.cpuWorkerMs + p.cpuProducerMs };
    }
    if (m.scenario === "groups") {
      // Filled by an untimed process first; the timed process only runs the worker and checks the order.
      await runChild("groups.mjs", [...common, ...m.extra, "--role", "fill"], env.timeoutMs);
      return await runChild(
        "groups.mjs",
        [...common, ...conc, ...m.extra, "--role", "worker"],
        env.timeoutMs,
      );
    }
    if (m.scenario === "soak") {
      // One run is the measurement: it is long, and the growth is what matters, not a median of three.
      return await runChild("soak.mjs", [...common, ...conc], Math.max(env.timeoutMs, 600_000));
    }
    throw new Error(`unknown scenario ${m.scenario}`);
  } finally {
    for (const suffix of ["", "-wal", "-shm"]) rmSync(dbPath + suffix, { force: true });
  }
}

// ---------------------------------------------------------------------------------------------------------
// Redis

/** @returns {Promise<number>} a TCP port free right now on 127.0.0.1 */
function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Starts a throwaway redis-server (no persistence) in `dir` and waits until it answers PING.
 * @param {string} dir
 */
async function startRedis(dir) {
  const port = await freePort();
  const child = spawn(
    "redis-server",
    ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  let stderr = "";
  child.stderr.on("data", (c) => {
    stderr += c;
  });
  const exited = new Promise((_, reject) =>
    child.on("exit", (code) => reject(new Error(`redis-server exited (${code}): ${stderr}`))),
  );
  exited.catch(() => {});
  const url = `redis://127.0.0.1:${port}`;
  const deadline = Date.now() + 10_000;
  for (;;) {
    const r = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    r.on("error", () => {});
    try {
      await Promise.race([r.connect().then(() => r.ping()), exited]);
      r.disconnect();
      break;
    } catch (err) {
      r.disconnect();
      if (child.exitCode !== null || Date.now() > deadline) throw err;
      await new Promise((res) => setTimeout(res, 50));
    }
  }
  return { url, child };
}

/** @param {string} url */
async function flushRedis(url) {
  const r = new Redis(url, { maxRetriesPerRequest: 1 });
  try {
    await r.flushall();
  } finally {
    r.disconnect();
  }
}

/** @param {string} url */
async function redisVersion(url) {
  const r = new Redis(url, { maxRetriesPerRequest: 1 });
  try {
    const m = /redis_version:(\S+)/.exec(await r.info("server"));
    return m ? m[1] : "unknown";
  } finally {
    r.disconnect();
  }
}

// ---------------------------------------------------------------------------------------------------------
// Report

/** Versions of the systems under test, from their package.json files. */
function versions() {
  /** @type {Record<string, string>} */
  const out = {};
  for (const [key, pkg] of [
    ["conveyor", "../package.json"],
    ["bullmq", "../node_modules/bullmq/package.json"],
    ["bee-queue", "../node_modules/bee-queue/package.json"],
    ["groupmq", "../node_modules/groupmq/package.json"],
    ["nact", "../node_modules/nact/package.json"],
  ]) {
    try {
      out[key] = JSON.parse(readFileSync(join(BENCH_DIR, pkg), "utf8")).version;
    } catch {
      out[key] = "?";
    }
  }
  return out;
}

/** @returns {string} the short commit hash, with "-dirty" when the tree has changes */
function commitId() {
  try {
    const hash = execFileSync("git", ["rev-parse", "--short", "HEAD"], {
      cwd: BENCH_DIR,
      encoding: "utf8",
    }).trim();
    const dirty =
      execFileSync("git", ["status", "--porcelain"], { cwd: BENCH_DIR, encoding: "utf8" }).trim() !== "";
    return dirty ? `${hash}-dirty` : hash;
  } catch {
    return "nogit";
  }
}

/**
 * The row for one measurement: medians over its repetitions of every numeric field.
 * @param {Measurement} m
 * @param {RunResult[]} runs
 * @param {string[]} errors
 */
function summarise(m, runs, errors) {
  /** @param {string} key */
  const med = (key) => median(runs.map((r) => r[key]));
  const row = {
    scenario: m.scenario,
    system: m.system,
    concurrency: m.concurrency,
    jobs: m.jobs,
    jobsPerSec: m.scenario === "latency" ? med("producerRate") : med("jobsPerSec"),
    p50Ms: med("p50Ms"),
    p95Ms: med("p95Ms"),
    p99Ms: med("p99Ms"),
    redisCommandsPerJob: med("redisCommandsPerJob"),
    cpuNodeMs: med("cpuNodeMs"),
    cpuRedisMs: med("cpuRedisMs"),
    redisCommandsByName: medianByName(runs.map((r) => r.redisCommandsByName)),
    repeats: runs.length,
    samples: runs.map((r) => (m.scenario === "latency" ? r.p99Ms : r.jobsPerSec)),
  };
  if (m.scenario === "latency")
    Object.assign(row, { maxMs: med("maxMs"), sameProcess: runs.some((r) => r.sameProcess) || undefined });
  if (m.scenario === "groups") {
    // Order is a guarantee, not a rate: violations are summed over the repetitions, so one bad run shows.
    /** @param {string} key */
    const sum = (key) => runs.reduce((acc, r) => acc + (Number(r[key]) || 0), 0);
    Object.assign(row, {
      groups: runs[0]?.groups ?? null,
      orderViolations: runs.length ? sum("orderViolations") : null,
      outOfOrder: sum("outOfOrder"),
      overlaps: sum("overlaps"),
      duplicateStarts: sum("duplicateStarts"),
      missingStarts: sum("missingStarts"),
      violationExamples: runs.flatMap((r) => r.violationExamples ?? []).slice(0, 5),
    });
  }
  if (m.scenario === "soak" && runs[0]) {
    const r = runs[0];
    Object.assign(row, {
      heapStartMB: r.heapStartMB,
      heapEndMB: r.heapEndMB,
      heapGrowthPct: r.heapGrowthPct,
      rssStartMB: r.rssStartMB,
      rssEndMB: r.rssEndMB,
      rssGrowthPct: r.rssGrowthPct,
      rssSecondHalfGrowthPct: r.rssSecondHalfGrowthPct,
      memorySamples: r.memorySamples,
    });
  }
  if (m.scenario === "runtime")
    Object.assign(row, {
      msgsPerSec: med("msgsPerSec"),
      spawnsPerSec: med("spawnsPerSec"),
      callsPerSec: med("callsPerSec"),
    });
  if (errors.length) Object.assign(row, { errors });
  return row;
}

/**
 * Per-command medians over the repetitions (a command missing from a run counts as 0 there), largest first.
 * @param {Array<Record<string, number> | null | undefined>} list
 * @returns {Record<string, number> | null}
 */
function medianByName(list) {
  const present = list.filter((x) => x && typeof x === "object");
  if (present.length === 0) return null;
  const names = new Set(present.flatMap((x) => Object.keys(/** @type {Record<string, number>} */ (x))));
  /** @type {Array<[string, number]>} */
  const out = [];
  for (const name of names) {
    const m = median(present.map((x) => /** @type {Record<string, number>} */ (x)[name] ?? 0));
    if (m !== null && m > 0) out.push([name, m]);
  }
  return Object.fromEntries(out.sort((a, b) => b[1] - a[1]));
}

/**
 * One line per Redis-backed row: CPU per job of Node and Redis, how busy each was over the timed part (which
 * of the two limits the rate), and the commands per job by name.
 * @param {ReturnType<typeof summarise>[]} rows
 */
function costLines(rows) {
  const out = [];
  for (const r of rows) {
    if (!r.jobsPerSec || r.cpuNodeMs === null || r.cpuNodeMs === undefined) continue;
    if (!["enqueue-single", "enqueue-bulk", "process", "latency", "groups"].includes(r.scenario)) continue;
    const elapsedMs = (r.jobs / r.jobsPerSec) * 1000;
    const us = (/** @type {number} */ ms) => ((ms * 1000) / r.jobs).toFixed(1);
    const busy = (/** @type {number} */ ms) => `${Math.round((ms / elapsedMs) * 100)}%`;
    const parts = [`Node ${us(r.cpuNodeMs)} µs/job (${busy(r.cpuNodeMs)} of a core)`];
    if (r.cpuRedisMs !== null && r.cpuRedisMs !== undefined)
      parts.push(`Redis ${us(r.cpuRedisMs)} µs/job (${busy(r.cpuRedisMs)})`);
    if (r.redisCommandsByName) {
      // The largest, and the script calls (the round trips that carry them) however small.
      const entries = Object.entries(r.redisCommandsByName);
      const scripts = new Set(["fcall", "fcall_ro", "evalsha", "eval"]);
      const top = entries
        .filter(([name], i) => i < 10 || scripts.has(name))
        .map(([name, n]) => `${name} ${n >= 10 ? Math.round(n) : n >= 0.1 ? n.toFixed(2) : n.toFixed(3)}`)
        .join(", ");
      parts.push(`commands/job: ${top}`);
    }
    out.push(`${r.scenario}${r.concurrency ? ` c=${r.concurrency}` : ""} ${r.system}: ${parts.join("; ")}`);
  }
  return out;
}

/** @param {number | null | undefined} x @param {number} [digits] */
function fmt(x, digits = 0) {
  if (x === null || x === undefined) return "-";
  return digits === 0 ? Math.round(x).toLocaleString("en-US") : x.toFixed(digits);
}

/**
 * The Markdown report: the table, then the ratios the product's figures are stated in.
 * @param {ReturnType<typeof summarise>[]} rows
 * @param {Record<string, string>} header
 */
function markdown(rows, header) {
  const lines = [];
  lines.push(`# Conveyor bench: ${header.date}`);
  lines.push("");
  for (const [k, v] of Object.entries(header)) if (k !== "date") lines.push(`- ${k}: ${v}`);
  lines.push("");
  lines.push(
    "| scenario | system | conc. | jobs | jobs/s | p50 ms | p95 ms | p99 ms | Redis cmds/job | CPU node ms | CPU Redis ms |",
  );
  lines.push("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
  for (const r of rows) {
    const sys = r.sameProcess ? `${r.system} (1 process)` : r.system;
    const failed = r.errors ? ` (${r.errors.length} failed)` : "";
    lines.push(
      `| ${r.scenario} | ${sys}${failed} | ${r.concurrency ?? "-"} | ${fmt(r.jobs)} | ${fmt(r.jobsPerSec)} | ${fmt(r.p50Ms, 2)} | ${fmt(r.p95Ms, 2)} | ${fmt(r.p99Ms, 2)} | ${fmt(r.redisCommandsPerJob, 1)} | ${fmt(r.cpuNodeMs)} | ${fmt(r.cpuRedisMs)} |`,
    );
  }
  for (const r of rows.filter((x) => x.scenario === "soak" && x.heapStartMB != null)) {
    lines.push("");
    lines.push(
      `Worker memory over ${fmt(r.jobs)} jobs (${r.system}, c=${r.concurrency}, after GC, from 10% in to the end): ` +
        `heap ${r.heapStartMB} -> ${r.heapEndMB} MB (${r.heapGrowthPct}%), RSS ${r.rssStartMB} -> ${r.rssEndMB} MB ` +
        `(${r.rssGrowthPct}%; ${r.rssSecondHalfGrowthPct}% over the second half, once SQLite's page cache is full).`,
    );
  }
  for (const r of rows.filter((x) => x.scenario === "groups" && x.repeats > 0)) {
    lines.push("");
    const held = r.orderViolations === 0 ? "order held" : "ORDER NOT HELD";
    lines.push(
      `Per-group FIFO (${r.system}, ${fmt(r.jobs)} jobs over ${r.groups} groups, c=${r.concurrency}): ${held}, ` +
        `${r.orderViolations} violation(s) over ${r.repeats} run(s) (${r.outOfOrder} out of order, ` +
        `${r.overlaps} overlapping; ${r.duplicateStarts} duplicate and ${r.missingStarts} missing starts)` +
        `${r.violationExamples.length ? `, e.g. ${r.violationExamples.join("; ")}` : ""}.`,
    );
  }
  for (const r of rows.filter((x) => x.scenario === "runtime")) {
    lines.push("");
    lines.push(
      `Process runtime (${r.system}): ${fmt(r.msgsPerSec)} msgs/s, ${fmt(r.spawnsPerSec)} spawns/s, ` +
        `${fmt(r.callsPerSec)} call round trips/s.`,
    );
  }
  const costs = costLines(rows);
  if (costs.length) {
    lines.push("");
    lines.push(
      'Cost per job (CPU time over the timed part; "of a core" near 100% marks the side that limits the rate; ' +
        "Redis commands include those run inside Lua scripts):",
    );
    lines.push("");
    for (const l of costs) lines.push(`- ${l}`);
  }
  const ratios = comparisons(rows);
  if (ratios.length) {
    lines.push("");
    lines.push("Ratios (Conveyor / peer; throughput higher is better, latency lower is better):");
    lines.push("");
    for (const l of ratios) lines.push(`- ${l}`);
  }
  lines.push("");
  return lines.join("\n");
}

/**
 * Conveyor-vs-peer ratios for the rows the product's figures name.
 * @param {ReturnType<typeof summarise>[]} rows
 */
function comparisons(rows) {
  /** @param {string} scenario @param {string} system @param {number | null} [c] (omitted: any) */
  const find = (scenario, system, c) =>
    rows.find(
      (r) =>
        r.scenario === scenario &&
        r.system === system &&
        (c === undefined || (c === null ? r.concurrency == null : r.concurrency === c)),
    );
  const out = [];
  for (const mine of ["conveyor-sqlite", "conveyor-redis"]) {
    for (const peer of ["bullmq", "bee-queue"]) {
      /** @type {Array<[string, number | null]>} */
      const checks = [
        ["enqueue-single", null],
        ["enqueue-single", 50],
        ["enqueue-bulk", null],
        ["process", 1],
        ["process", 10],
        ["process", 100],
      ];
      for (const [scenario, c] of checks) {
        const a = find(scenario, mine, c);
        const b = find(scenario, peer, c);
        if (a?.jobsPerSec && b?.jobsPerSec) {
          out.push(
            `${scenario}${c ? ` c=${c}` : ""}: ${mine} ${fmt(a.jobsPerSec)}/s vs ${peer} ${fmt(b.jobsPerSec)}/s = ${(a.jobsPerSec / b.jobsPerSec).toFixed(2)}x`,
          );
        }
      }
      const a = find("latency", mine);
      const b = find("latency", peer);
      if (a?.p99Ms && b?.p99Ms) {
        out.push(
          `latency p99: ${mine} ${a.p99Ms.toFixed(2)} ms vs ${peer} ${b.p99Ms.toFixed(2)} ms = ${(a.p99Ms / b.p99Ms).toFixed(2)}x`,
        );
      }
    }
    // PRODUCT.md: per-group FIFO on Redis (100 groups, concurrency 100, order held) at least 1.5x GroupMQ.
    const g = find("groups", mine);
    const gp = find("groups", "groupmq");
    if (g?.jobsPerSec && gp?.jobsPerSec) {
      const held = g.orderViolations === 0 ? "order held" : "ORDER NOT HELD";
      out.push(
        `groups c=${g.concurrency}: ${mine} ${fmt(g.jobsPerSec)}/s vs groupmq ${fmt(gp.jobsPerSec)}/s = ${(g.jobsPerSec / gp.jobsPerSec).toFixed(2)}x (${held}; target for conveyor-redis: >= 1.5x)`,
      );
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------

async function main() {
  const cli = parseCli(process.argv.slice(2));
  const mode = cli.quick ? "quick" : "full";
  const size = SIZES[mode];
  const repeat = cli.repeat ?? (cli.quick ? 1 : 3);
  const measurements = plan(size, cli.only);
  if (measurements.length === 0) throw new Error("nothing to run: --only matched no measurement");
  const needsRedis = measurements.some((m) => SYSTEMS[m.system]?.redis);

  const tmp = mkdtempSync(join(tmpdir(), "conveyor-bench-"));
  /** @type {import("node:child_process").ChildProcess | null} */
  let redisChild = null;
  const cleanup = () => {
    if (redisChild && redisChild.exitCode === null) redisChild.kill("SIGTERM");
    rmSync(tmp, { recursive: true, force: true });
  };
  process.on("SIGINT", () => {
    cleanup();
    process.exit(130);
  });

  try {
    /** @type {string | null} */
    let redisUrl = null;
    if (needsRedis) {
      if (process.env.REDIS_URL) {
        redisUrl = process.env.REDIS_URL;
      } else {
        const dir = join(tmp, "redis");
        mkdirSync(dir);
        const r = await startRedis(dir);
        redisChild = r.child;
        redisUrl = r.url;
      }
    }
    const started = Date.now();
    const date = new Date().toISOString();
    const header = {
      date,
      mode: `${mode}, ${repeat} repeat(s), medians${cli.only.length ? `, only ${cli.only.join(",")}` : ""}`,
      machine: `${cpus().length} x ${cpus()[0]?.model ?? "cpu"}, ${Math.round(totalmem() / 2 ** 30)} GiB`,
      node: process.version,
      "load average at start": loadavg()
        .map((x) => x.toFixed(2))
        .join(" "),
      redis: redisUrl
        ? `${await redisVersion(redisUrl)} (${process.env.REDIS_URL ? "REDIS_URL" : "started by the bench, no persistence"})`
        : "not used",
      versions: Object.entries(versions())
        .map(([k, v]) => `${k} ${v}`)
        .join(", "),
      commit: commitId(),
    };
    console.error(
      `bench: ${measurements.length} measurements x ${repeat} (${mode})${redisUrl ? `, Redis at ${redisUrl}` : ""}`,
    );

    /** @type {Map<Measurement, { runs: RunResult[], errors: string[] }>} */
    const results = new Map(measurements.map((m) => [m, { runs: [], errors: [] }]));
    // Round-robin over repetitions so slow drift (thermal, page cache) spreads over every row alike.
    for (let run = 0; run < repeat; run++) {
      for (const m of measurements) {
        // The soak is one long run: its growth is the figure, not a median of repeats.
        if (m.scenario === "soak" && run > 0) continue;
        const label = `${m.scenario} ${m.system}${m.concurrency ? ` c=${m.concurrency}` : ""} #${run + 1}`;
        const t0 = Date.now();
        const slot = /** @type {{ runs: RunResult[], errors: string[] }} */ (results.get(m));
        try {
          const r = await measureOnce(m, { redisUrl, tmp, timeoutMs: cli.timeoutMs, run });
          slot.runs.push(r);
          const what =
            m.scenario === "latency"
              ? `p99 ${r.p99Ms} ms`
              : m.scenario === "soak"
                ? `${r.jobsPerSec}/s, heap ${r.heapStartMB} -> ${r.heapEndMB} MB (${r.heapGrowthPct}%)`
                : `${r.jobsPerSec}/s`;
          console.error(`  ${label}: ${what} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
        } catch (err) {
          slot.errors.push(String(/** @type {Error} */ (err).message).split("\n")[0]);
          console.error(`  ${label}: FAILED ${/** @type {Error} */ (err).message}`);
        }
      }
    }
    const rows = measurements.map((m) => {
      const slot = /** @type {{ runs: RunResult[], errors: string[] }} */ (results.get(m));
      return summarise(m, slot.runs, slot.errors);
    });
    header.duration = `${Math.round((Date.now() - started) / 1000)} s`;

    mkdirSync(RESULTS_DIR, { recursive: true });
    const day = date.slice(0, 10);
    const jsonFile = join(RESULTS_DIR, `${day}-${header.commit}${cli.quick ? "-quick" : ""}.json`);
    writeFileSync(jsonFile, `${JSON.stringify(rows, null, 2)}\n`);
    const md = markdown(rows, header);
    const mdFile = join(RESULTS_DIR, cli.quick ? "latest-quick.md" : "latest.md");
    writeFileSync(mdFile, md);
    process.stdout.write(md);
    console.error(`bench: wrote ${jsonFile} and ${mdFile}`);
    if (rows.some((r) => r.errors)) process.exitCode = 1;
  } finally {
    cleanup();
  }
}

main().catch((err) => {
  console.error(err?.stack ?? err);
  process.exit(1);
});
