import { isAbsolute, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { HandlerLoadError, OptionsError } from "../errors.js";
import type { HandlerModule } from "./executor.js";

/**
 * Normalises a job type's `module` option: a URL (or URL string with a scheme such as `file:`) is kept; a
 * path is resolved against the current directory now, at definition time.
 */
export function handlerModuleOf(module: unknown, exportName: unknown, field: string): HandlerModule {
  const name = exportName ?? "default";
  if (typeof name !== "string" || name === "") {
    throw new OptionsError(`${field}.export must be a non-empty string (the handler's export name)`);
  }
  if (module instanceof URL) return { url: module.href, export: name };
  if (typeof module !== "string" || module === "") {
    throw new OptionsError(
      `${field}.module must be a URL or a path, e.g. new URL("./resize.js", import.meta.url)`,
    );
  }
  // A scheme of two or more letters is a URL; "C:\\..." (one letter) is a Windows path.
  if (/^[a-z][a-z0-9+.-]+:/i.test(module)) return { url: module, export: name };
  const path = isAbsolute(module) ? module : resolve(module);
  return { url: pathToFileURL(path).href, export: name };
}

type Loaded = (data: unknown, ctx: unknown) => unknown;

/**
 * Imports a handler module and returns the export. Rejects with {@link HandlerLoadError} when the module
 * cannot be imported or the export is not a function. Callers cache the promise (once per thread/process).
 */
export async function loadHandler(ref: HandlerModule): Promise<Loaded> {
  let mod: Record<string, unknown>;
  try {
    mod = (await import(ref.url)) as Record<string, unknown>;
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    throw new HandlerLoadError(`cannot load handler module ${ref.url}: ${msg}`, { cause: err });
  }
  const fn = mod[ref.export];
  if (typeof fn !== "function") {
    throw new HandlerLoadError(`handler module ${ref.url} has no function export "${ref.export}"`);
  }
  return fn as Loaded;
}
