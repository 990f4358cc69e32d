import { Command, CommanderError } from "commander";
import { ConveyorError } from "../errors.js";
import { packageVersion } from "../version.js";
import { registerDashboard } from "./commands/dashboard.js";
import { registerDemo } from "./commands/demo.js";
import { registerDoctor } from "./commands/doctor.js";
import { registerEnqueue } from "./commands/enqueue.js";
import { registerJobs } from "./commands/jobs.js";
import { registerQueues } from "./commands/queues.js";
import { registerSchedules } from "./commands/schedules.js";
import { registerStats } from "./commands/stats.js";
import { registerWorker } from "./commands/worker.js";
import { type CliIO, println, UsageError } from "./io.js";

/** Exit codes of the CLI. */
export const EXIT = {
  ok: 0,
  /** A library error (`error [CODE]: ...`) or anything unexpected. */
  failure: 1,
  /** A bad flag, argument or value; nothing was touched. */
  usage: 2,
} as const;

/** What command actions get: the injected IO and a way to set the exit code. */
export interface CommandContext {
  io: CliIO;
  /** Sets the exit code `run` returns (the last call wins). */
  exit(code: number): void;
}

/** Builds the `conveyor` program. Output goes to `io`; errors throw instead of exiting (exitOverride). */
export function buildProgram(ctx: CommandContext): Command {
  const { io } = ctx;
  const program = new Command("conveyor");
  program
    .description("Durable background jobs for Node.js: run workers, enqueue jobs, and inspect or steer them.")
    .version(packageVersion() ?? "0.0.0", "-V, --version", "print the version")
    .helpOption("-h, --help", "show help for a command")
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
      outputError: (s, write) => write(s),
      getOutHelpWidth: () => io.stdout.columns ?? 100,
      getErrHelpWidth: () => io.stderr.columns ?? 100,
      getOutHasColors: () => false,
      getErrHasColors: () => false,
    })
    .showHelpAfterError("(add --help for usage and an example)")
    .showSuggestionAfterError(true)
    .addHelpText(
      "after",
      [
        "",
        "Store: every command that touches jobs takes --store <url>; the default is $CONVEYOR_STORE,",
        "else sqlite:./conveyor.db.",
        "",
        "Example:",
        "  $ conveyor demo",
        "  $ conveyor jobs ls --state discarded --store sqlite:./conveyor.db",
        "  $ conveyor doctor",
      ].join("\n"),
    );
  registerDemo(program, ctx);
  registerDashboard(program, ctx);
  registerWorker(program, ctx);
  registerEnqueue(program, ctx);
  registerJobs(program, ctx);
  registerQueues(program, ctx);
  registerSchedules(program, ctx);
  registerStats(program, ctx);
  registerDoctor(program, ctx);
  return program;
}

/**
 * Runs the CLI with `argv` (without the node and script paths) and returns its exit code:
 * 0 success, 1 a library error or failure, 2 a bad flag or value (nothing touched).
 */
export async function run(argv: readonly string[], io: CliIO): Promise<number> {
  let code: number = EXIT.ok;
  const ctx: CommandContext = {
    io,
    exit: (c) => {
      code = c;
    },
  };
  try {
    await buildProgram(ctx).parseAsync([...argv], { from: "user" });
    return code;
  } catch (err) {
    return reportError(err, io);
  }
}

/** Prints an error the way the CLI promises and returns the exit code for it. */
export function reportError(err: unknown, io: CliIO): number {
  if (err instanceof CommanderError) {
    // commander already printed its message (and the help hint); help and version exit 0.
    return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
  }
  if (err instanceof UsageError) {
    println(io.stderr, `error: ${err.message}`);
    println(io.stderr, "(add --help for usage and an example)");
    return EXIT.usage;
  }
  if (err instanceof ConveyorError) {
    println(io.stderr, `error [${err.code}]: ${err.message}`);
    if (io.env.CONVEYOR_DEBUG && err.stack) println(io.stderr, err.stack);
    return EXIT.failure;
  }
  const e = err instanceof Error ? err : new Error(String(err));
  println(io.stderr, `error: ${e.message}`);
  if (io.env.CONVEYOR_DEBUG && e.stack) println(io.stderr, e.stack);
  else println(io.stderr, "(set CONVEYOR_DEBUG=1 for the stack trace)");
  return EXIT.failure;
}
