import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach } from "vitest";
import { Conveyor, type ConveyorOptions, type Worker } from "../../src/index.js";

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

/**
 * A test's app and workers on a fresh store of `kind`: `setup()` opens the app, `start(worker)` starts a worker;
 * after each test every started worker is stopped (grace 0) and the store removed.
 */
export function useApp(kind: StoreKind, options: Omit<ConveyorOptions, "store"> = {}) {
  const workers: Worker[] = [];
  let cleanup: (() => Promise<void>) | null = null;
  afterEach(async () => {
    await Promise.all(workers.splice(0).map((w) => w.stop({ graceMs: 0 })));
    await cleanup?.();
    cleanup = null;
  });
  return {
    async setup(): Promise<Conveyor> {
      const opened = await openApp(kind, options);
      cleanup = opened.cleanup;
      return opened.app;
    },
    start(worker: Worker): Promise<void> {
      workers.push(worker);
      return worker.start();
    },
  };
}
