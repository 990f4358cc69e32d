import type { Command } from "commander";
import type { Admin } from "../../admin/admin.js";
import type { MinutePoint, Overview, QueueThroughput } from "../../admin/types.js";
import { JOB_STATES } from "../../job/states.js";
import { withApp } from "../app.js";
import { type Column, formatTable, writeJson } from "../format.js";
import { type CliIO, println } from "../io.js";
import { intParser, jsonOption, storeOption, storeUrl } from "../options.js";
import { isInteractive } from "../progress.js";
import type { CommandContext } from "../run.js";
import { example } from "../store-command.js";

interface StatsFlags {
  store?: string;
  json?: boolean;
  once?: boolean;
  interval?: number;
}

const MINUTE_MS = 60_000;

/** What one frame of `conveyor stats` shows. */
export interface StatsSnapshot extends Overview {
  /** Per queue: attempts of the last 60 s (estimated from the per-minute counts; see {@link lastMinute}). */
  rates: Array<{ queue: string; completed: number; failed: number }>;
}

/**
 * Attempts of the last 60 seconds from per-minute counts: the current minute so far, plus the previous minute
 * weighted by the part of it still inside the last 60 s (the sliding-window estimate rate limiters use).
 */
export function lastMinute(
  points: readonly MinutePoint[],
  now: number,
): { completed: number; failed: number } {
  const current = points.at(-1);
  const previous = points.at(-2);
  if (current === undefined) return { completed: 0, failed: 0 };
  const weight =
    previous === undefined ? 0 : 1 - Math.min(1, Math.max(0, (now - current.minute) / MINUTE_MS));
  return {
    completed: Math.round(current.completed + weight * (previous?.completed ?? 0)),
    failed: Math.round(current.failed + weight * (previous?.failed ?? 0)),
  };
}

/** Reads one frame through the admin API: the overview and per-queue throughput of the last two minutes. */
export async function snapshot(admin: Admin): Promise<StatsSnapshot> {
  const [overview, perQueue] = await Promise.all([admin.overview(), admin.queueThroughput({ minutes: 2 })]);
  const byQueue = new Map<string, QueueThroughput>(perQueue.map((q) => [q.queue, q]));
  const names = new Set([...overview.queues.map((q) => q.name), ...byQueue.keys()]);
  const rates = [...names].sort().map((queue) => ({
    queue,
    ...lastMinute(byQueue.get(queue)?.points ?? [], overview.now),
  }));
  return { ...overview, rates };
}

/** One frame as text: a header line, the queues × states table with last-minute rates, and totals. */
export function formatStats(s: StatsSnapshot): string {
  const rate = new Map(s.rates.map((r) => [r.queue, r]));
  const columns: Column[] = [
    { header: "QUEUE" },
    { header: "PAUSED" },
    ...JOB_STATES.map((state): Column => ({ header: state.toUpperCase(), align: "right" })),
    { header: "DONE/MIN", align: "right" },
    { header: "FAILED/MIN", align: "right" },
  ];
  const rows = s.queues.map((q) => [
    q.name,
    q.paused ? "yes" : "no",
    ...JOB_STATES.map((state) => String(q.counts[state])),
    String(rate.get(q.name)?.completed ?? 0),
    String(rate.get(q.name)?.failed ?? 0),
  ]);
  const all = s.rates.reduce(
    (sum, r) => ({ completed: sum.completed + r.completed, failed: sum.failed + r.failed }),
    {
      completed: 0,
      failed: 0,
    },
  );
  rows.push([
    "(all)",
    "",
    ...JOB_STATES.map((state) => String(s.totals[state])),
    String(all.completed),
    String(all.failed),
  ]);
  const header =
    `${s.storeKind} store  ${new Date(s.now).toISOString()}  ` +
    `workers ${s.workers}  schedules ${s.schedules}  queues ${s.queues.length}`;
  const body =
    s.queues.length === 0 ? "no queues yet: enqueue a job or start a worker\n" : formatTable(columns, rows);
  return `${header}\n${body}`;
}

/** `conveyor stats`: a live view of queues, states and throughput, redrawn every second on a terminal. */
export function registerStats(program: Command, ctx: CommandContext): void {
  const { io } = ctx;
  const cmd = program
    .command("stats")
    .description(
      "live view of every queue: jobs per state and attempts of the last minute, redrawn every second " +
        "on a terminal until Ctrl-C (printed once otherwise)",
    )
    .option("--once", "print one frame and exit (the default when stdout is not a terminal)")
    .option("--interval <ms>", "redraw period on a terminal (default 1000)", intParser(100, 60_000))
    .addHelpText(
      "after",
      [
        "",
        "DONE/MIN and FAILED/MIN count the attempts of the last 60 s that completed, and that failed (to be",
        "retried or discarded), estimated from the store's per-minute counts. --json prints one frame.",
        example("conveyor stats --store sqlite:./conveyor.db", "conveyor stats --once --json"),
      ].join("\n"),
    );
  storeOption(cmd);
  jsonOption(cmd);
  cmd.action(async (flags: StatsFlags) => {
    await withApp(
      storeUrl(flags.store, io),
      io,
      async (app) => {
        const live = flags.once !== true && flags.json !== true && isInteractive(io.stdout, io.env);
        if (!live) {
          const frame = await snapshot(app.admin);
          if (flags.json) writeJson(io.stdout, frame);
          else io.stdout.write(formatStats(frame));
          return;
        }
        await liveView(app.admin, io, flags.interval ?? 1_000);
      },
      { mustExist: true },
    );
  });
}

/** Redraws a frame every `intervalMs` until `io.signal` aborts or SIGINT/SIGTERM arrives. */
async function liveView(admin: Admin, io: CliIO, intervalMs: number): Promise<void> {
  let stop!: () => void;
  const stopped = new Promise<void>((resolve) => {
    stop = resolve;
  });
  const ownSignals = io.signal === undefined;
  const onSignal = () => stop();
  if (ownSignals) {
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
  } else if (io.signal?.aborted) stop();
  else io.signal?.addEventListener("abort", onSignal, { once: true });
  let done = false;
  void stopped.then(() => {
    done = true;
  });
  // Alternate screen buffer, cursor hidden: the frame is redrawn in place and the terminal restored at exit.
  io.stdout.write("\u001b[?1049h\u001b[?25l");
  try {
    while (!done) {
      let text: string;
      try {
        text = formatStats(await snapshot(admin));
      } catch (error) {
        text = `error reading the store: ${(error as Error).message.split("\n")[0]} (retrying)\n`;
      }
      if (done) break;
      io.stdout.write(`\u001b[H${text.replace(/\n/g, "\u001b[K\n")}\u001b[J(Ctrl-C to quit)`);
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        stopped,
        new Promise<void>((resolve) => (timer = setTimeout(resolve, intervalMs))),
      ]);
      clearTimeout(timer);
    }
  } finally {
    io.stdout.write("\u001b[?25h\u001b[?1049l");
    if (ownSignals) {
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
    }
  }
  // The last frame stays readable after the alternate screen is left.
  io.stdout.write(formatStats(await snapshot(admin)));
  println(io.stdout);
}
