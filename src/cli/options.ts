import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { type Command, InvalidArgumentError, Option } from "commander";
import { JOB_STATES } from "../job/states.js";
import { type CliIO, UsageError } from "./io.js";

/** The store URL used when neither `--store` nor `CONVEYOR_STORE` is given. */
export const DEFAULT_STORE = "sqlite:./conveyor.db";

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/;
const ID_RE = /^[1-9][0-9]{0,18}$/;

/** Adds `--store <url>` to a command. */
export function storeOption(cmd: Command): Command {
  return cmd.addOption(
    new Option(
      "--store <url>",
      'store URL: "sqlite:<path>", "redis://host:port/db" or "memory" (default: $CONVEYOR_STORE, else sqlite:./conveyor.db)',
    ).argParser(parseStoreUrl),
  );
}

/** Adds `--json` to a command. */
export function jsonOption(cmd: Command): Command {
  return cmd.option("--json", "print JSON instead of a table");
}

/** The store URL for a command: `--store`, else `CONVEYOR_STORE`, else the default. */
export function storeUrl(flag: string | undefined, io: CliIO): string {
  if (flag !== undefined) return flag;
  const fromEnv = io.env.CONVEYOR_STORE;
  if (fromEnv !== undefined && fromEnv !== "") {
    try {
      return parseStoreUrl(fromEnv);
    } catch (err) {
      throw new UsageError(`CONVEYOR_STORE: ${(err as Error).message}`);
    }
  }
  return DEFAULT_STORE;
}

/** The SQLite file a store URL names, or null for other stores. Mirrors `openStore`'s URL rules. */
export function sqlitePathOf(url: string): string | null {
  if (url.startsWith("sqlite://")) return url.slice("sqlite://".length);
  if (url.startsWith("sqlite:")) return url.slice("sqlite:".length);
  if (/\.(db|sqlite|sqlite3)$/.test(url) && !url.includes("://")) return url;
  return null;
}

/**
 * Commands that inspect or steer jobs must not create an empty database by accident (a typo in a path would
 * otherwise show "no jobs"): they refuse a SQLite path that does not exist.
 */
export function assertStoreExists(url: string, io: CliIO): void {
  const path = sqlitePathOf(url);
  if (path === null || path === ":memory:") return;
  if (!existsSync(resolve(io.cwd ?? process.cwd(), path))) {
    throw new UsageError(
      `--store: no SQLite database at ${path}; check the path, or create one with "conveyor worker" or "conveyor demo"`,
    );
  }
}

/** commander parser for `--store`: a SQLite path, a Redis URL or "memory". */
export function parseStoreUrl(value: string): string {
  if (value === "memory" || value === "memory:") return value;
  if (/^rediss?:\/\/./.test(value)) return value;
  const path = sqlitePathOf(value);
  if (path !== null && path.length > 0) return value;
  throw new InvalidArgumentError(
    `Use "sqlite:<path>" (e.g. sqlite:./conveyor.db), "redis://host:6379/0" or "memory".`,
  );
}

/** A commander parser for an integer flag between `min` and `max`. */
export function intParser(min: number, max: number): (value: string) => number {
  return (value: string) => {
    const n = /^-?\d+$/.test(value.trim()) ? Number(value) : Number.NaN;
    if (!Number.isSafeInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(`Expected an integer from ${min} to ${max}.`);
    }
    return n;
  };
}

/** commander parser for JSON values (`--data`). */
export function parseJson(value: string): unknown {
  try {
    return JSON.parse(value);
  } catch (err) {
    throw new InvalidArgumentError(
      `Not valid JSON (${(err as Error).message}); quote it for the shell, e.g. --data '{"to":"a@example.com"}'.`,
    );
  }
}

/** commander parser for queue and job names. */
export function parseName(value: string): string {
  if (!NAME_RE.test(value)) {
    throw new InvalidArgumentError(
      'Use 1-128 letters, digits, "_", ".", ":" or "-", starting with a letter or digit.',
    );
  }
  return value;
}

/** commander parser for a comma-separated list of queue names. */
export function parseQueueList(value: string): string[] {
  const names = value
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  if (names.length === 0) throw new InvalidArgumentError("Give one or more queue names separated by commas.");
  for (const n of names) {
    if (!NAME_RE.test(n)) throw new InvalidArgumentError(`"${n}" is not a valid queue name.`);
  }
  return [...new Set(names)];
}

/** commander parser for job ids and cursors. */
export function parseId(value: string): string {
  if (!ID_RE.test(value)) throw new InvalidArgumentError("Job ids are positive integers, e.g. 42.");
  return value;
}

/** Checks a job id given as a positional argument. */
export function checkId(value: string): string {
  if (!ID_RE.test(value))
    throw new UsageError(`<id>: "${value}" is not a job id; job ids are positive integers, e.g. 42`);
  return value;
}

/** The `--state` option with its seven allowed values. */
export function stateOption(): Option {
  return new Option("--state <state>", "only jobs in this state").choices([...JOB_STATES]);
}
