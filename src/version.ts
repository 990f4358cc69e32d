import { createRequire } from "node:module";

/**
 * This package's version, from its package.json (`src/version.ts` and `dist/version.js` both sit one level
 * under the package root); undefined when it cannot be read. Read once.
 */
export function packageVersion(): string | undefined {
  if (cached === null) {
    try {
      cached = (createRequire(import.meta.url)("../package.json") as { version?: string }).version;
    } catch {
      cached = undefined;
    }
  }
  return cached;
}
let cached: string | undefined | null = null;
