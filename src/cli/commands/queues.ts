import { type Command, InvalidArgumentError } from "commander";
import { OptionsError } from "../../errors.js";
import { JOB_STATES } from "../../job/states.js";
import { withApp } from "../app.js";
import { type Column, formatTable } from "../format.js";
import { println } from "../io.js";
import { parseName, storeOption, storeUrl } from "../options.js";
import type { CommandContext } from "../run.js";
import { storeCommand, writeList } from "../store-command.js";

interface StoreFlags {
  store?: string;
  json?: boolean;
}

interface LimitFlags extends StoreFlags {
  max?: number;
  window?: number;
  clear?: boolean;
}

/** commander parser for a positive integer. */
function parsePositiveInt(value: string): number {
  const n = Number(value);
  if (!/^[0-9]+$/.test(value) || !Number.isSafeInteger(n) || n < 1) {
    throw new InvalidArgumentError("Give a positive integer, e.g. 100.");
  }
  return n;
}

/** "5/200ms", or "-" without a limit. */
function formatRate(limit: { max: number; windowMs: number } | undefined): string {
  return limit === undefined ? "-" : `${limit.max}/${limit.windowMs}ms`;
}

/** `conveyor queues ls|pause|resume|limit` (ls, pause and resume through the admin API). */
export function registerQueues(program: Command, ctx: CommandContext): void {
  const { io } = ctx;
  const queues = program
    .command("queues")
    .description("list queues with their job counts; pause, resume and rate-limit them")
    .addHelpText("after", "\nExample:\n  $ conveyor queues ls\n  $ conveyor queues pause emails");

  storeCommand(queues, ctx, {
    name: "ls",
    description: "list queues: paused or not, job counts per state and rate limit (--json adds job types)",
    examples: ["conveyor queues ls", "conveyor queues ls --json"],
    json: true,
    async run(app, _arg, { json }) {
      writeList(io, await app.admin.queues(), {
        json,
        empty: "no queues yet: enqueue a job or start a worker",
        table: (list) =>
          formatTable(
            [
              { header: "QUEUE" },
              { header: "PAUSED" },
              ...JOB_STATES.map((s): Column => ({ header: s.toUpperCase(), align: "right" })),
              { header: "RATE LIMIT" },
            ],
            list.map((q) => [
              q.name,
              q.paused ? "yes" : "no",
              ...JOB_STATES.map((s) => String(q.counts[s] ?? 0)),
              formatRate(q.rateLimit),
            ]),
          ),
      });
    },
  });

  const QUEUE = { name: "queue", description: "queue name", parse: parseName };
  storeCommand(queues, ctx, {
    name: "pause",
    description: "stop workers from claiming jobs of a queue (running jobs finish; enqueue still works)",
    examples: ["conveyor queues pause emails"],
    argument: QUEUE,
    async run(app, queue) {
      await app.admin.pauseQueue(queue);
      println(
        io.stdout,
        `queue ${queue} paused: workers claim nothing from it until "conveyor queues resume ${queue}"`,
      );
    },
  });

  storeCommand(queues, ctx, {
    name: "resume",
    description: "let workers claim jobs of a paused queue again",
    examples: ["conveyor queues resume emails"],
    argument: QUEUE,
    async run(app, queue) {
      await app.admin.resumeQueue(queue);
      println(io.stdout, `queue ${queue} resumed`);
    },
  });

  const limit = queues
    .command("limit")
    .description(
      "set a queue's rate limit: at most --max jobs start in any window of --window ms, across all workers",
    )
    .argument("<queue>", "queue name", parseName)
    .option("--max <n>", "jobs per window (1-10000)", parsePositiveInt)
    .option("--window <ms>", "window length in milliseconds", parsePositiveInt)
    .option("--clear", "lift the queue's rate limit")
    .addHelpText(
      "after",
      "\nExample:\n  $ conveyor queues limit emails --max 100 --window 60000\n  $ conveyor queues limit emails --clear",
    );
  storeOption(limit);
  limit.action(async (queue: string, flags: LimitFlags) => {
    const given = flags.max !== undefined || flags.window !== undefined;
    if (flags.clear === true && given)
      throw new OptionsError("give either --clear or --max and --window, not both");
    if (flags.clear !== true && (flags.max === undefined || flags.window === undefined)) {
      throw new OptionsError("give --max <n> and --window <ms> (or --clear to lift the limit)");
    }
    await withApp(
      storeUrl(flags.store, io),
      io,
      async (app) => {
        if (flags.clear === true) {
          await app.setQueueRateLimit(queue, null);
          println(io.stdout, `queue ${queue}: rate limit lifted`);
          return;
        }
        const rate = { max: flags.max!, windowMs: flags.window! };
        await app.setQueueRateLimit(queue, rate);
        println(
          io.stdout,
          `queue ${queue}: at most ${rate.max} jobs start in any ${rate.windowMs} ms window, across all workers`,
        );
      },
      { mustExist: true },
    );
  });
}
