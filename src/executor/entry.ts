import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

/**
 * The compiled child entry next to this module (dist/executor/<name>.js). Running from the TypeScript sources
 * (tests), the entry is taken from dist/, which `npm test` builds first.
 * @internal
 */
export function childEntry(name: "child-thread" | "child-process"): URL {
  const here = new URL(`./${name}.js`, import.meta.url);
  if (existsSync(fileURLToPath(here))) return here;
  return new URL(`../../dist/executor/${name}.js`, import.meta.url);
}
