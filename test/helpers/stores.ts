import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { afterEach } from "vitest";
import { Conveyor, type ConveyorOptions, type Worker } from "../../src/index.js";
import { RedisServer } from "./redis-server.js";

/**
 * The stores every app-level test runs against: the reference memory store, a real SQLite file, and a real
 * Redis server (the run's, from test/global-redis.ts, or `REDIS_URL`) under a fresh key prefix.
 */
export const STORE_KINDS = ["memory", "sqlite", "redis"] as const;
export type StoreKind = (typeof STORE_KINDS)[number];

/**
 * Opens an app on a fresh store of `kind`; the returned cleanup closes it and removes its files. "redis" uses
 * `REDIS_URL` with a fresh prefix (its keys deleted by cleanup), or else a redis-server of its own.
 */
export async function openApp(
  kind: StoreKind,
  options: Omit<ConveyorOptions, "store"> = {},
): Promise<{ app: Conveyor; url: string; cleanup: () => Promise<void> }> {
  if (kind === "memory") {
    const app = await Conveyor.open({ ...options, store: "memory" });
    return { app, url: "memory", cleanup: () => app.close({ graceMs: 0 }) };
  }
  if (kind === "redis") return openRedisApp(options);
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

async function openRedisApp(
  options: Omit<ConveyorOptions, "store">,
): Promise<{ app: Conveyor; url: string; cleanup: () => Promise<void> }> {
  const server = process.env.REDIS_URL ? null : await RedisServer.start();
  const base = process.env.REDIS_URL ?? server!.url;
  const prefix = `t${randomBytes(6).toString("hex")}`;
  const url = `${base}?prefix=${prefix}`;
  const app = await Conveyor.open({ ...options, store: url });
  return {
    app,
    url,
    cleanup: async () => {
      await app.close({ graceMs: 0 });
      if (server !== null) {
        await server.stop();
        return;
      }
      const admin = new Redis(base);
      try {
        let cursor = "0";
        do {
          const [next, keys] = await admin.scan(cursor, "MATCH", `{${prefix}}:*`, "COUNT", 1000);
          cursor = next;
          if (keys.length > 0) await admin.unlink(...keys);
        } while (cursor !== "0");
      } finally {
        admin.disconnect();
      }
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
