import type { Command } from "commander";
import { JOB_STATES } from "../../job/states.js";
import { withApp } from "../app.js";
import { type Column, formatTable, writeJson } from "../format.js";
import { println } from "../io.js";
import { jsonOption, parseName, storeOption, storeUrl } from "../options.js";
import type { CommandContext } from "../run.js";

interface StoreFlags {
  store?: string;
  json?: boolean;
}

/** `conveyor queues ls|pause|resume`. */
export function registerQueues(program: Command, ctx: CommandContext): void {
  const { io } = ctx;
  const queues = program
    .command("queues")
    .description("list queues with their job counts; pause and resume them")
    .addHelpText("after", "\nExample:\n  $ conveyor queues ls\n  $ conveyor queues pause emails");

  const ls = queues
    .command("ls")
    .description("list queues: paused or not, and job counts per state")
    .addHelpText("after", "\nExample:\n  $ conveyor queues ls --json");
  storeOption(ls);
  jsonOption(ls);
  ls.action(async (flags: StoreFlags) => {
    await withApp(
      storeUrl(flags.store, io),
      io,
      async (app) => {
        const list = await app.listQueues();
        if (flags.json) {
          writeJson(io.stdout, list);
          return;
        }
        if (list.length === 0) {
          println(io.stdout, "no queues yet: enqueue a job or start a worker");
          return;
        }
        const columns: Column[] = [
          { header: "QUEUE" },
          { header: "PAUSED" },
          ...JOB_STATES.map((s): Column => ({ header: s.toUpperCase(), align: "right" })),
        ];
        io.stdout.write(
          formatTable(
            columns,
            list.map((q) => [
              q.name,
              q.paused ? "yes" : "no",
              ...JOB_STATES.map((s) => String(q.counts[s] ?? 0)),
            ]),
          ),
        );
      },
      { mustExist: true },
    );
  });

  const pause = queues
    .command("pause")
    .description("stop workers from claiming jobs of a queue (running jobs finish; enqueue still works)")
    .argument("<queue>", "queue name", parseName)
    .addHelpText("after", "\nExample:\n  $ conveyor queues pause emails");
  storeOption(pause);
  pause.action(async (queue: string, flags: StoreFlags) => {
    await withApp(
      storeUrl(flags.store, io),
      io,
      async (app) => {
        await app.pauseQueue(queue);
        println(
          io.stdout,
          `queue ${queue} paused: workers claim nothing from it until "conveyor queues resume ${queue}"`,
        );
      },
      { mustExist: true },
    );
  });

  const resume = queues
    .command("resume")
    .description("let workers claim jobs of a paused queue again")
    .argument("<queue>", "queue name", parseName)
    .addHelpText("after", "\nExample:\n  $ conveyor queues resume emails");
  storeOption(resume);
  resume.action(async (queue: string, flags: StoreFlags) => {
    await withApp(
      storeUrl(flags.store, io),
      io,
      async (app) => {
        await app.resumeQueue(queue);
        println(io.stdout, `queue ${queue} resumed`);
      },
      { mustExist: true },
    );
  });
}
