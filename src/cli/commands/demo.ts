import type { Command } from "commander";
import { runDemo } from "../../demo/demo.js";
import { intParser, parseStoreUrl } from "../options.js";
import type { CommandContext } from "../run.js";

interface DemoFlags {
  store?: string;
  jobs?: number;
  concurrency?: number;
  /** commander's `--no-dashboard` sets it false; `--dashboard-port` sets the port. */
  dashboard?: boolean;
  dashboardPort?: number;
}

/** `conveyor demo`. */
export function registerDemo(program: Command, ctx: CommandContext): void {
  program
    .command("demo")
    .description(
      "enqueue a mix of demo jobs, run them with live progress and the web dashboard, and print a summary",
    )
    .option("--store <url>", "store to use (default: a fresh SQLite file in a temp directory)", parseStoreUrl)
    .option("--jobs <n>", "how many jobs to enqueue (default 200)", intParser(1, 100_000))
    .option("--concurrency <n>", "worker concurrency (default 8)", intParser(1, 1_000))
    .option(
      "--dashboard-port <port>",
      "serve the dashboard on 127.0.0.1 at this port (default 4300, else a free one)",
      intParser(1, 65_535),
    )
    .option("--no-dashboard", "do not serve the dashboard")
    .addHelpText(
      "after",
      [
        "",
        "It serves the web dashboard on 127.0.0.1 and prints its URL. On a terminal it keeps the worker and the",
        "dashboard running after the summary until Ctrl-C; otherwise (or with CI=true)",
        "it exits after the summary: 0 if every job reached the state it should, 1 if not.",
        "",
        "Example:",
        "  $ conveyor demo --jobs 500 --concurrency 16",
      ].join("\n"),
    )
    .action(async (flags: DemoFlags) => {
      ctx.exit(
        await runDemo(
          {
            ...(flags.store !== undefined ? { store: flags.store } : {}),
            ...(flags.jobs !== undefined ? { jobs: flags.jobs } : {}),
            ...(flags.concurrency !== undefined ? { concurrency: flags.concurrency } : {}),
            ...(flags.dashboard === false
              ? { dashboard: false as const }
              : flags.dashboardPort !== undefined
                ? { dashboard: { port: flags.dashboardPort } }
                : {}),
          },
          ctx.io,
        ),
      );
    });
}
