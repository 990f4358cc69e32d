import type { Command } from "commander";
import { Conveyor } from "../../conveyor.js";
import { createMetrics, type MetricsServer, serveMetrics } from "../../observability/metrics.js";
import { formatDuration } from "../format.js";
import { type CliIO, println, UsageError } from "../io.js";
import { loadJobModule } from "../jobs-module.js";
import { intParser, parseQueueList, storeOption, storeUrl } from "../options.js";
import type { CommandContext } from "../run.js";

interface WorkerFlags {
  store?: string;
  jobs: string;
  concurrency?: number;
  queues?: string[];
  grace?: number;
  verbose?: boolean;
  scheduler?: boolean;
  metricsPort?: number;
  metricsHost?: string;
}

function clock(): string {
  return new Date().toISOString().slice(11, 23);
}

/** `conveyor worker --jobs <module>`. */
export function registerWorker(program: Command, ctx: CommandContext): void {
  const { io } = ctx;
  const cmd = program
    .command("worker")
    .description("run a worker for the job types a module exports, until SIGTERM or Ctrl-C")
    .requiredOption(
      "--jobs <module>",
      "path of a JS module exporting job definitions (or a default array of them)",
    )
    .option("--concurrency <n>", "jobs running at once (default 10)", intParser(1, 10_000))
    .option(
      "--queues <list>",
      "comma-separated queues to claim from (default: the job types' queues)",
      parseQueueList,
    )
    .option(
      "--grace <ms>",
      "on stop, how long running jobs may finish before they are released (default 10000)",
      intParser(0, 3_600_000),
    )
    .option("--verbose", "log one line per finished job even when the output is not a terminal")
    .option(
      "--scheduler",
      "also run a scheduler: enqueue the jobs of due schedules (safe on any number of workers: one job per tick)",
    )
    .option(
      "--metrics-port <port>",
      "serve Prometheus metrics at http://<metrics-host>:<port>/metrics while the worker runs (0: a free port)",
      intParser(0, 65_535),
    )
    .option(
      "--metrics-host <host>",
      "interface for --metrics-port (default 127.0.0.1; 0.0.0.0 for every interface)",
    )
    .addHelpText(
      "after",
      "\nExample:\n  $ conveyor worker --jobs ./dist/jobs.js --concurrency 20 --queues default,emails --metrics-port 9464",
    );
  storeOption(cmd);
  cmd.action(async (flags: WorkerFlags) => {
    if (flags.metricsHost !== undefined && flags.metricsPort === undefined) {
      throw new UsageError("--metrics-host applies to --metrics-port: give a port too");
    }
    const url = storeUrl(flags.store, io);
    const jobs = await loadJobModule(flags.jobs, io.cwd ?? process.cwd());
    const app = await Conveyor.open({ store: url });
    try {
      ctx.exit(await runWorker(app, io, flags, jobs, url));
    } finally {
      await app.close();
    }
  });
}

async function runWorker(
  app: Conveyor,
  io: CliIO,
  flags: WorkerFlags,
  jobs: Awaited<ReturnType<typeof loadJobModule>>,
  url: string,
): Promise<number> {
  const verbose = flags.verbose === true || io.stdout.isTTY === true;
  const ownSignals = io.signal === undefined;
  const worker = app.worker({
    jobs,
    ...(flags.concurrency !== undefined ? { concurrency: flags.concurrency } : {}),
    ...(flags.queues !== undefined ? { queues: flags.queues } : {}),
    ...(flags.grace !== undefined ? { graceMs: flags.grace } : {}),
    handleSignals: ownSignals,
  });
  let completed = 0;
  let failed = 0;
  app.events.on("job:completed", (e) => {
    completed++;
    if (verbose) {
      println(
        io.stdout,
        `${clock()} completed ${e.job.name} #${e.job.id} in ${formatDuration(e.durationMs)}`,
      );
    }
  });
  app.events.on("job:failed", (e) => {
    failed++;
    if (!verbose) return;
    const next =
      e.willRetry && e.retryAt !== null ? `retry in ${formatDuration(e.retryAt - Date.now())}` : "discarded";
    println(
      io.stdout,
      `${clock()} failed    ${e.job.name} #${e.job.id} attempt ${e.job.attempt}/${e.job.maxAttempts}: ${e.error.message} (${next})`,
    );
  });
  app.events.on("job:cancelled", (e) => {
    if (verbose) println(io.stdout, `${clock()} cancelled ${e.job.name} #${e.job.id}: ${e.reason}`);
  });
  app.events.on("worker:error", (e) =>
    println(io.stderr, `${clock()} worker error (retrying): ${e.error.message}`),
  );

  const stopped = new Promise<number>((resolve) => {
    app.events.on("worker:stopped", (e) => resolve(e.released));
  });
  // Metrics count from the first claim; the server is up before the worker starts (a busy port fails fast).
  let metricsServer: MetricsServer | null = null;
  if (flags.metricsPort !== undefined) {
    const host = flags.metricsHost ?? "127.0.0.1";
    try {
      metricsServer = await serveMetrics(createMetrics(app), { port: flags.metricsPort, host });
    } catch (err) {
      throw new Error(`--metrics-port ${flags.metricsPort} on ${host}: ${(err as Error).message}`);
    }
  }
  let signalled = false;
  const onSignal = (signal: string): void => {
    if (signalled) {
      println(io.stderr, `${signal} again: stopping now; running jobs are aborted and released`);
      return;
    }
    signalled = true;
    const grace = formatDuration(flags.grace ?? 10_000);
    println(
      io.stderr,
      `${signal}: stopping gracefully; running jobs get up to ${grace} (send it again to stop now)`,
    );
  };
  if (ownSignals) {
    // The worker (handleSignals) stops itself; these listeners report it, and keep a re-raised signal from
    // killing the process so the exit is a clean 0 once everything is written.
    process.on("SIGTERM", onSignal);
    process.on("SIGINT", onSignal);
  }

  try {
    await worker.start();
  } catch (err) {
    await metricsServer?.close();
    throw err;
  }
  if (flags.scheduler) {
    const scheduler = app.scheduler();
    app.events.on("scheduler:error", (e) =>
      println(io.stderr, `${clock()} scheduler error (retrying): ${e.error.message}`),
    );
    if (verbose) {
      app.events.on("schedule:fired", (e) => {
        if (e.jobs.length > 0) {
          const ids = e.jobs.map((j) => `#${j.id}`).join(", ");
          println(io.stdout, `${clock()} schedule  ${e.scheduleId} enqueued ${ids}`);
        }
      });
    }
    await scheduler.start();
  }
  // The library's timers are unref'd (a worker alone never holds a process open): the CLI holds it until stopped.
  const keepAlive = setInterval(() => {}, 1_000_000_000);
  if (!ownSignals && io.signal) {
    const stop = (): void => {
      onSignal("stop requested");
      void worker.stop();
    };
    if (io.signal.aborted) stop();
    else io.signal.addEventListener("abort", stop, { once: true });
  }
  const names = jobs.map((j) => j.name).join(", ");
  println(
    io.stdout,
    `worker ${worker.id} running ${jobs.length} job type${jobs.length === 1 ? "" : "s"} (${names}) ` +
      `on queue${worker.queues.length === 1 ? "" : "s"} ${worker.queues.join(", ")}, concurrency ${worker.concurrency}, store ${url}`,
  );
  if (flags.scheduler)
    println(io.stdout, "scheduler running: due schedules are enqueued by this process too");
  if (metricsServer) println(io.stdout, `metrics at ${metricsServer.url}`);
  println(io.stdout, ownSignals ? "Ctrl-C or SIGTERM stops it gracefully" : "waiting for jobs");
  const released = await stopped.finally(() => clearInterval(keepAlive));
  await metricsServer?.close();
  println(
    io.stdout,
    `worker stopped: ${completed} completed, ${failed} failed attempts, ${released} released`,
  );
  return 0;
}
