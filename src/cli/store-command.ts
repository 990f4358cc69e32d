import type { Command } from "commander";
import type { Conveyor } from "../conveyor.js";
import { withApp } from "./app.js";
import { writeJson } from "./format.js";
import { type CliIO, println } from "./io.js";
import { jsonOption, storeOption, storeUrl } from "./options.js";
import type { CommandContext } from "./run.js";

/** The help text's example block: each line as a shell prompt. */
export function example(...lines: string[]): string {
  return `\nExample:\n${lines.map((l) => `  $ ${l}`).join("\n")}`;
}

/** A subcommand that acts on an existing store: `--store`, optionally `--json` and one positional argument. */
export interface StoreCommandSpec {
  name: string;
  description: string;
  examples: string[];
  /** One positional argument; `parse` is commander's parser, `check` runs first in the action (usage errors). */
  argument?: {
    name: string;
    description: string;
    parse?: (value: string) => string;
    check?: (value: string) => void;
  };
  /** Offer `--json`. Default false. */
  json?: boolean;
  run(app: Conveyor, arg: string, flags: { json: boolean }): Promise<void>;
}

/**
 * Declares a subcommand of `parent` that opens the store named by `--store` (which must already exist, so a
 * typo does not create an empty database), runs `spec.run`, and closes it. Returns the command so callers can
 * add options.
 */
export function storeCommand(parent: Command, { io }: CommandContext, spec: StoreCommandSpec): Command {
  const cmd = parent.command(spec.name).description(spec.description);
  const arg = spec.argument;
  if (arg) {
    if (arg.parse) cmd.argument(`<${arg.name}>`, arg.description, arg.parse);
    else cmd.argument(`<${arg.name}>`, arg.description);
  }
  cmd.addHelpText("after", example(...spec.examples));
  storeOption(cmd);
  if (spec.json) jsonOption(cmd);
  cmd.action(async (...args: unknown[]) => {
    const value = arg ? String(args[0]) : "";
    const flags = (arg ? args[1] : args[0]) as { store?: string; json?: boolean };
    arg?.check?.(value);
    await withApp(
      storeUrl(flags.store, io),
      io,
      (app) => spec.run(app, value, { json: flags.json === true }),
      {
        mustExist: true,
      },
    );
  });
  return cmd;
}

/** Prints a list: as JSON with `--json`, `empty` when there is nothing, else the table `table` renders. */
export function writeList<T>(
  io: CliIO,
  list: readonly T[],
  options: { json: boolean; empty: string; table: (list: readonly T[]) => string },
): void {
  if (options.json) writeJson(io.stdout, list);
  else if (list.length === 0) println(io.stdout, options.empty);
  else io.stdout.write(options.table(list));
}
