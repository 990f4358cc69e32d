import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Conveyor, type ConveyorOptions } from "../../src/index.js";

/** The stores every app-level test runs against: the reference memory store and a real SQLite file. */
export const STORE_KINDS = ["memory", "sqlite"] as const;
export type StoreKind = (typeof STORE_KINDS)[number];

/** Opens an app on a fresh store of `kind`; the returned cleanup closes it and removes its files. */
export async function openApp(
  kind: StoreKind,
  options: Omit<ConveyorOptions, "store"> = {},
): Promise<{ app: Conveyor; url: string; cleanup: () => Promise<void> }> {
  if (kind === "memory") {
    const app = await Conveyor.open({ ...options, store: "memory" });
    return { app, url: "memory", cleanup: () => app.close({ graceMs: 0 }) };
  }
  const dir = mkdtempSync(join(tmpdir(), "conveyor-test-"));
  const url = `sqlite:${join(dir, "jobs.db")}`;
  const app = await Conveyor.open({ ...options, store: url });
  return {
    app,
    url,
    cleanup: async () => {
      await app.close({ graceMs: 0 });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
