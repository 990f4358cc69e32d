import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { AnyJobDefinition } from "../job/define.js";
import { UsageError } from "./io.js";

/** True for a job definition: an object with a string `name` and a function `handler`. */
export function isJobDefinition(value: unknown): value is AnyJobDefinition {
  if (typeof value !== "object" || value === null) return false;
  const v = value as { name?: unknown; handler?: unknown };
  return typeof v.name === "string" && typeof v.handler === "function";
}

/**
 * Imports the module at `path` (relative to `cwd`) and returns its job definitions: every export that is one,
 * and the elements of an exported array of them (typically `export default [a, b]`). The same definition
 * exported twice counts once; two different definitions with one name are an error.
 */
export async function loadJobModule(path: string, cwd: string): Promise<AnyJobDefinition[]> {
  const abs = resolve(cwd, path);
  if (!existsSync(abs)) {
    throw new UsageError(
      `--jobs: no file at ${abs}; give the path of a JavaScript module that exports job definitions, e.g. --jobs ./dist/jobs.js`,
    );
  }
  let mod: Record<string, unknown>;
  try {
    mod = (await import(pathToFileURL(abs).href)) as Record<string, unknown>;
  } catch (err) {
    const hint = /\.(c|m)?tsx?$/.test(abs)
      ? " (compile TypeScript to JavaScript first, or run the CLI with tsx)"
      : "";
    throw new Error(`--jobs: importing ${abs} failed: ${(err as Error).message}${hint}`, { cause: err });
  }
  const found: AnyJobDefinition[] = [];
  const add = (value: unknown): void => {
    if (isJobDefinition(value) && !found.includes(value)) found.push(value);
  };
  for (const value of Object.values(mod)) {
    if (Array.isArray(value)) for (const item of value) add(item);
    else add(value);
  }
  if (found.length === 0) {
    throw new UsageError(
      `--jobs: ${abs} exports no job definitions; export the results of defineJob(), or a default array of them`,
    );
  }
  const byName = new Map<string, AnyJobDefinition>();
  for (const def of found) {
    if (byName.has(def.name))
      throw new UsageError(`--jobs: ${abs} exports two different job types named "${def.name}"`);
    byName.set(def.name, def);
  }
  return found;
}
