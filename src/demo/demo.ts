/**
 * `conveyor demo`: enqueues a mix of demo jobs into a store, runs a worker on them with live progress, and
 * prints a summary once every job is final. See {@link runDemo}.
 */

import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { formatDuration, formatRate } from "../cli/format.js";
import type { CliIO } from "../cli/io.js";
import { println, waitForStop } from "../cli/io.js";
import { createProgress, isInteractive } from "../cli/progress.js";
import { Conveyor, type EnqueueOptions } from "../conveyor.js";
import { type DashboardServer, DEFAULT_DASHBOARD_PORT, serveDashboard } from "../dashboard/server.js";
import { OptionsError } from "../errors.js";
import type { AnyJobDefinition } from "../job/define.js";
import { FINAL_STATES, JOB_STATES, type JobState } from "../job/states.js";
import { createMetrics } from "../observability/metrics.js";
import type { JobCounts, JobRecord } from "../store/store.js";
import demoJobs, { analyseFile, DEMO_QUEUES, flakyUpload, resizeImage, sendEmail, syncCrm } from "./jobs.js";

/** Options of {@link runDemo}. */
export interface DemoOptions {
  /** Store URL; default a fresh SQLite file in a new temp directory. */
  store?: string;
  /** How many jobs to enqueue. Default 200. */
  jobs?: number;
  /** Worker concurrency. Default 8. */
  concurrency?: number;
  /** The demo fails if the jobs are not all final by then. Default 60,000 ms. */
  timeoutMs?: number;
  /**
   * Serve the dashboard on 127.0.0.1 while the demo runs: `false` for none, or the port (default 4300; when
   * that port is taken, any free one; 0 for any free one).
   */
  dashboard?: false | { port?: number };
}

/** The demo's schedule: a digest e-mail every 30 s, fired by the scheduler the demo runs on a terminal. */
export const DEMO_SCHEDULE = { id: "demo-digest", everyMs: 30_000 } as const;

/**
 * Serves the dashboard for the demo on 127.0.0.1: on `port` (default 4300), or on any free port when the
 * default one is taken.
 */
async function startDashboard(
  app: Conveyor,
  port: number | undefined,
): Promise<{ server: DashboardServer; close(): Promise<void> }> {
  const metrics = createMetrics(app);
  const serve = (p: number): Promise<DashboardServer> =>
    serveDashboard({ admin: app.admin, port: p, metrics: metrics.handler });
  let server: DashboardServer;
  try {
    server = await serve(port ?? DEFAULT_DASHBOARD_PORT);
  } catch (err) {
    const inUse =
      err instanceof OptionsError && (err.cause as { code?: string } | undefined)?.code === "EADDRINUSE";
    if (!inUse || port !== undefined) {
      metrics.close();
      throw err;
    }
    server = await serve(0);
  }
  return {
    server,
    async close() {
      await server.close();
      metrics.close();
    },
  };
}

/** One job the demo will enqueue. */
export interface DemoItem {
  def: AnyJobDefinition;
  data: unknown;
  options: EnqueueOptions;
}

/** What the demo expects to happen to its jobs. */
export interface DemoPlan {
  items: DemoItem[];
  /** Jobs that fail at least once, then complete (flaky-upload). */
  expectRetried: number;
  /** Jobs that always fail (sync-crm). */
  expectDiscarded: number;
}

/**
 * The demo's job mix for `n` jobs: about half e-mails, 30% image resizes, 10% file analyses, 8% flaky
 * uploads and 4% CRM syncs that always fail; some delayed by 1-2 s, urgent e-mails ahead, analyses behind.
 * Deterministic, so tests can expect exact counts.
 */
export function planDemo(n: number): DemoPlan {
  const fails = n >= 5 ? Math.max(1, Math.round(n * 0.04)) : 0;
  const flaky = n >= 3 ? Math.max(1, Math.round(n * 0.08)) : 0;
  const analyses = n >= 4 ? Math.max(1, Math.round(n * 0.1)) : 0;
  const resizes = Math.round(n * 0.3);
  const emails = n - fails - flaky - analyses - resizes;
  const delay = (i: number): number => 1_000 + ((i * 137) % 1_000);
  const items: DemoItem[] = [];
  for (let i = 0; i < emails; i++) {
    const urgent = i % 5 === 0;
    items.push({
      def: sendEmail,
      data: {
        to: `user${i}@example.com`,
        subject: urgent ? "Your password was changed" : `Weekly digest #${i}`,
      },
      options: { ...(urgent ? { priority: -10 } : {}), ...(i % 8 === 7 ? { delayMs: delay(i) } : {}) },
    });
  }
  for (let i = 0; i < resizes; i++) {
    items.push({
      def: resizeImage,
      data: { imageId: `img-${i}`, width: [320, 640, 1280, 2560][i % 4] },
      options: i % 6 === 5 ? { delayMs: delay(i) } : {},
    });
  }
  for (let i = 0; i < analyses; i++) {
    items.push({
      def: analyseFile,
      data: { fileId: `report-${i}.pdf`, sizeKb: 500 + ((i * 613) % 2_000) },
      options: { priority: 5 },
    });
  }
  for (let i = 0; i < flaky; i++) {
    items.push({
      def: flakyUpload,
      data: { fileId: `upload-${i}.zip`, failTimes: 1 + (i % 2) },
      options: {},
    });
  }
  for (let i = 0; i < fails; i++) {
    items.push({ def: syncCrm, data: { accountId: `acct-${1_000 + i}` }, options: {} });
  }
  return { items, expectRetried: flaky, expectDiscarded: fails };
}

function sumCounts(list: JobCounts[]): JobCounts {
  const out = Object.fromEntries(JOB_STATES.map((s) => [s, 0])) as JobCounts;
  for (const c of list) for (const s of JOB_STATES) out[s] += c[s] ?? 0;
  return out;
}

function detailOf(c: JobCounts): string {
  const order: JobState[] = [
    "completed",
    "discarded",
    "cancelled",
    "running",
    "available",
    "scheduled",
    "retryable",
  ];
  return order
    .filter((s) => c[s] > 0)
    .map((s) => `${s} ${c[s]}`)
    .join(" · ");
}

/** Runs the demo; resolves with the exit code (0, or 1 when the demo itself broke). */
export async function runDemo(options: DemoOptions, io: CliIO): Promise<number> {
  const n = options.jobs ?? 200;
  const concurrency = options.concurrency ?? 8;
  const timeoutMs = options.timeoutMs ?? 60_000;
  const out = io.stdout;
  const interactive = isInteractive(out, io.env);
  let url = options.store;
  if (url === undefined) {
    const dir = mkdtempSync(join(tmpdir(), "conveyor-demo-"));
    url = `sqlite:${join(dir, "demo.db")}`;
    println(out, `store: ${url} (a fresh SQLite file)`);
  } else {
    println(out, `store: ${url}`);
  }
  const app = await Conveyor.open({ store: url });
  let dashboard: Awaited<ReturnType<typeof startDashboard>> | null = null;
  try {
    if (options.dashboard !== false) {
      dashboard = await startDashboard(app, options.dashboard?.port);
      println(out, `dashboard: ${dashboard.server.url} (open it to watch the jobs run)`);
    }
    return await demoOn(app, url, n, concurrency, timeoutMs, interactive, io, dashboard?.server.url ?? null);
  } finally {
    await dashboard?.close();
    await app.close({ graceMs: 2_000 });
  }
}

async function demoOn(
  app: Conveyor,
  url: string,
  n: number,
  concurrency: number,
  timeoutMs: number,
  interactive: boolean,
  io: CliIO,
  dashboardUrl: string | null,
): Promise<number> {
  const out = io.stdout;
  const countAll = async (): Promise<JobCounts> =>
    sumCounts(await Promise.all(DEMO_QUEUES.map((q) => app.countJobs(q))));
  const baseline = await countAll();
  const plan = planDemo(n);
  // A persisted schedule for the dashboard's schedules page; it fires only while the demo keeps running.
  await app.schedule(DEMO_SCHEDULE.id, { everyMs: DEMO_SCHEDULE.everyMs }, sendEmail, {
    to: "team@example.com",
    subject: "Demo digest",
  });

  // Enqueue: one enqueueMany per job type (one transaction each on SQLite).
  const enqueueStart = Date.now();
  const mine = new Set<string>();
  const defs: AnyJobDefinition[] = demoJobs;
  for (const def of defs) {
    const items = plan.items
      .filter((it) => it.def === def)
      .map((it) => ({ data: it.data, options: it.options }));
    if (items.length === 0) continue;
    for (const r of await app.enqueueMany(def, items)) mine.add(r.id);
  }
  const delayed = plan.items.filter((it) => it.options.delayMs !== undefined).length;
  println(
    out,
    `enqueued ${mine.size} jobs in ${formatDuration(Date.now() - enqueueStart)} ` +
      `(${delayed} delayed by 1-2 s; urgent e-mails first, file analyses last); ` +
      `${plan.expectRetried} will fail and be retried, ${plan.expectDiscarded} will fail for good`,
  );

  // Track this demo's jobs through the app's events.
  const finished = new Map<string, JobState>();
  const failedOnce = new Map<string, string>();
  const startedAt = new Map<string, number>();
  const progress = createProgress(out, io.env, { label: "jobs final", total: n });
  let resolveDone: () => void = () => {};
  const done = new Promise<void>((resolve) => {
    resolveDone = resolve;
  });
  const finish = (id: string, state: JobState): void => {
    if (!mine.has(id)) return;
    finished.set(id, state);
    startedAt.delete(id);
    progress.removeItem(id);
    if (finished.size === mine.size) resolveDone();
  };
  app.events.on("job:started", (e) => {
    if (mine.has(e.job.id)) startedAt.set(e.job.id, Date.now());
  });
  app.events.on("job:progress", (e) => {
    const t = startedAt.get(e.job.id);
    // Bars only for jobs that run long enough to watch; the fast ones would just flicker.
    if (t !== undefined && Date.now() - t >= 150 && typeof e.progress === "number") {
      progress.item(e.job.id, `${e.job.name} #${e.job.id}`, e.progress);
    }
  });
  app.events.on("job:completed", (e) => finish(e.job.id, "completed"));
  app.events.on("job:cancelled", (e) => finish(e.job.id, "cancelled"));
  app.events.on("job:discarded", (e) => finish(e.jobId, "discarded"));
  app.events.on("job:failed", (e) => {
    if (!mine.has(e.job.id)) return;
    failedOnce.set(e.job.id, e.error.message);
    startedAt.delete(e.job.id);
    progress.removeItem(e.job.id);
    if (e.willRetry && interactive) {
      progress.log(
        `  ${e.job.name} #${e.job.id} failed attempt ${e.job.attempt}: ${e.error.message}; retrying`,
      );
    }
  });
  app.events.on("worker:error", (e) => progress.log(`worker error (it retries): ${e.error.message}`));

  let counts = baseline;
  let ticking = false;
  const tick = async (): Promise<void> => {
    if (ticking) return;
    ticking = true;
    try {
      counts = await countAll();
      const finals = FINAL_STATES.reduce((sum, s) => sum + counts[s] - baseline[s], 0);
      progress.update(Math.min(n, Math.max(finished.size, finals)), detailOf(deltaCounts(counts, baseline)));
    } catch {
      // The store is closing; the next tick or the summary reports the state.
    } finally {
      ticking = false;
    }
  };
  const ticker = setInterval(() => void tick(), 100);

  const worker = app.worker({ jobs: [...demoJobs], concurrency, graceMs: 2_000 });
  const runStart = Date.now();
  await worker.start();
  if (mine.size === 0) resolveDone();
  let timer: NodeJS.Timeout | undefined;
  const timedOut = await Promise.race([
    done.then(() => false),
    new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(true), timeoutMs);
    }),
  ]);
  clearTimeout(timer);
  const elapsed = Date.now() - runStart;
  clearInterval(ticker);
  while (ticking) await new Promise((r) => setTimeout(r, 5));
  await tick();
  progress.stop();

  if (timedOut) {
    println(
      io.stderr,
      `demo broke: ${mine.size - finished.size} of ${mine.size} jobs were not final after ${formatDuration(timeoutMs)}`,
    );
    println(io.stderr, `  counts now: ${detailOf(deltaCounts(counts, baseline))}`);
    return 1;
  }

  // Summary.
  const byState = new Map<JobState, number>();
  for (const s of finished.values()) byState.set(s, (byState.get(s) ?? 0) + 1);
  const retried = [...failedOnce.keys()].filter((id) => finished.get(id) === "completed");
  const discarded = [...finished.entries()].filter(([, s]) => s === "discarded").map(([id]) => id);
  println(out);
  println(
    out,
    `all ${mine.size} jobs reached a final state in ${formatDuration(elapsed)} (${formatRate(mine.size, elapsed)})`,
  );
  for (const s of FINAL_STATES) println(out, `  ${s.padEnd(10)} ${String(byState.get(s) ?? 0).padStart(6)}`);
  println(out, `retried, then completed: ${retried.length}`);
  await listJobs(
    app,
    retried,
    out,
    (j) => `${j.attempt} attempts; last error: ${j.errors.at(-1)?.message ?? "-"}`,
  );
  println(out, `discarded (failed for good): ${discarded.length}`);
  await listJobs(
    app,
    discarded,
    out,
    (j) => `after ${j.attempt} attempts: ${j.errors.at(-1)?.message ?? "-"}`,
  );

  const problems: string[] = [];
  if (retried.length < plan.expectRetried)
    problems.push(`expected ${plan.expectRetried} retried jobs, saw ${retried.length}`);
  if (discarded.length !== plan.expectDiscarded) {
    problems.push(`expected ${plan.expectDiscarded} discarded jobs, saw ${discarded.length}`);
  }
  const completed = byState.get("completed") ?? 0;
  if (completed + discarded.length + (byState.get("cancelled") ?? 0) !== mine.size) {
    problems.push("some jobs ended in an unexpected state");
  }

  println(out);
  if (url === "memory" || url === "memory:") {
    println(out, "store: memory (gone when this process exits; pass --store sqlite:<path> to keep it)");
  } else {
    const s = `--store ${url}`;
    const cli = cliCommand();
    println(out, `store: ${url}`);
    println(out, "inspect it:");
    println(out, `  ${cli} jobs ls ${s}`);
    println(out, `  ${cli} jobs ls --state discarded ${s}`);
    const example = discarded[0] ?? retried[0];
    if (example) println(out, `  ${cli} jobs show ${example} ${s}`);
    println(out, `  ${cli} queues ls ${s}`);
  }
  if (problems.length > 0) {
    println(io.stderr, `demo broke: ${problems.join("; ")}`);
    return 1;
  }

  if (interactive) {
    const scheduler = app.scheduler();
    await scheduler.start();
    println(out);
    if (dashboardUrl !== null) println(out, `dashboard: ${dashboardUrl}`);
    println(
      out,
      `The worker keeps running, and the schedule "${DEMO_SCHEDULE.id}" enqueues an e-mail every ${DEMO_SCHEDULE.everyMs / 1_000} s.`,
    );
    println(out, "Enqueue more demo jobs from another terminal, e.g.");
    println(
      out,
      `  ${cliCommand()} enqueue send-email --data '{"to":"ada@example.com","subject":"hi"}' --store ${url}`,
    );
    println(out, "Ctrl-C exits.");
    await waitForStop(io);
    println(out, "stopping...");
    await scheduler.stop();
  } else if (dashboardUrl !== null) {
    println(out, "dashboard closed (in a terminal, the demo keeps it and the worker running until Ctrl-C)");
  }
  return 0;
}

function deltaCounts(now: JobCounts, base: JobCounts): JobCounts {
  const out = { ...now };
  for (const s of FINAL_STATES) out[s] = Math.max(0, now[s] - base[s]);
  return out;
}

async function listJobs(
  app: Conveyor,
  ids: readonly string[],
  out: CliIO["stdout"],
  describe: (j: JobRecord) => string,
  max = 8,
): Promise<void> {
  for (const id of ids.slice(0, max)) {
    const j = await app.getJob(id);
    if (j) println(out, `  #${j.id} ${j.name}: ${describe(j)}`);
  }
  if (ids.length > max) println(out, `  ... and ${ids.length - max} more`);
}

/**
 * How to call this CLI again: `conveyor` when installed as a command, else `node <path>` relative to the
 * current directory (a checkout running `npm run demo`, where no `conveyor` is on the PATH).
 */
function cliCommand(): string {
  const script = process.argv[1] ?? "";
  if (!/dist[\\/]cli[\\/]main\.js$/.test(script) || script.includes("node_modules")) return "conveyor";
  const rel = relative(process.cwd(), script);
  return `node ${rel.startsWith("..") ? script : rel}`;
}
