import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { type Conveyor, defineJob, NotSupportedError, OptionsError, ValidationError } from "../src/index.js";
import { eventually } from "./helpers/eventually.js";
import { openApp } from "./helpers/stores.js";

const receipt = defineJob({
  name: "send-receipt",
  schema: z.object({ orderId: z.string() }),
  handler: (data) => ({ sent: data.orderId }),
});

describe("transactional enqueue on SQLite", () => {
  let app: Conveyor;
  let db: Database.Database;
  let cleanup: () => Promise<void>;
  afterEach(async () => {
    db?.close();
    await cleanup?.();
  });

  async function setup() {
    let url: string;
    ({ app, url, cleanup } = await openApp("sqlite", { retention: false }));
    db = new Database(url.slice("sqlite:".length));
    db.pragma("busy_timeout = 5000");
    db.exec("CREATE TABLE IF NOT EXISTS orders (id TEXT PRIMARY KEY)");
  }

  it("a rolled back transaction leaves no job and emits nothing", async () => {
    await setup();
    const enqueued: string[] = [];
    app.events.on("job:enqueued", (e) => enqueued.push(e.job.id));
    const place = db.transaction((orderId: string) => {
      db.prepare("INSERT INTO orders (id) VALUES (?)").run(orderId);
      const job = app.enqueueInTransaction(db, receipt, { orderId });
      expect(job).toMatchObject({ outcome: "inserted", state: "available", data: { orderId } });
      throw new Error("payment declined");
    });
    expect(() => place.immediate("o-1")).toThrow("payment declined");
    await new Promise((r) => setTimeout(r, 20));
    expect((await app.listJobs()).jobs).toEqual([]);
    expect(db.prepare("SELECT COUNT(*) FROM orders").pluck().get()).toBe(0);
    expect(enqueued).toEqual([]);
  });

  it("a committed transaction makes a job that a worker then runs", async () => {
    await setup();
    const enqueued: string[] = [];
    app.events.on("job:enqueued", (e) => enqueued.push(e.job.id));
    const worker = app.worker({ jobs: [receipt], pollMs: 60_000 });
    await worker.start();
    const job = db
      .transaction((orderId: string) => {
        db.prepare("INSERT INTO orders (id) VALUES (?)").run(orderId);
        return app.enqueueInTransaction(db, receipt, { orderId }, { key: `receipt:${orderId}` });
      })
      .immediate("o-2");
    // Woken by the after-commit hint, not by the (one minute) poll.
    await eventually(async () => expect(await app.getJob(job.id)).toMatchObject({ state: "completed" }), {
      timeoutMs: 5_000,
    });
    expect((await app.getJob(job.id))?.result).toEqual({ sent: "o-2" });
    expect(enqueued).toEqual([job.id]);
    await worker.stop();
  });

  it("applies dedupe inside the app's transaction", async () => {
    await setup();
    const [a, b] = db
      .transaction(() => [
        app.enqueueInTransaction(db, receipt, { orderId: "o-3" }, { key: "r3" }),
        app.enqueueInTransaction(db, receipt, { orderId: "o-3" }, { key: "r3" }),
      ])
      .immediate();
    expect([a?.outcome, b?.outcome]).toEqual(["inserted", "duplicate"]);
    expect(b?.id).toBe(a?.id);
    // Outside a transaction it is a plain (autocommitted) insert.
    const c = app.enqueueInTransaction(db, receipt, { orderId: "o-4" });
    expect(await app.getJob(c.id)).not.toBeNull();
  });

  it("refuses what it cannot do with clear errors, storing nothing", async () => {
    await setup();
    const asyncSchema = defineJob({
      name: "async-schema",
      schema: z.object({ n: z.number() }).refine(async () => true),
      handler: () => null,
    });
    expect(() => app.enqueueInTransaction(db, asyncSchema, { n: 1 })).toThrow(/validates asynchronously/);
    expect(() => app.enqueueInTransaction(db, receipt, { orderId: 5 } as never)).toThrow(ValidationError);
    expect(() => app.enqueueInTransaction(db, "send-receipt" as never, {} as never)).toThrow(OptionsError);
    const other = new Database(":memory:");
    expect(() => app.enqueueInTransaction(other, receipt, { orderId: "x" })).toThrow(/database file/);
    other.close();
    expect((await app.listJobs()).jobs).toEqual([]);

    const memory = await openApp("memory");
    try {
      expect(() => memory.app.enqueueInTransaction(db, receipt, { orderId: "x" })).toThrow(NotSupportedError);
    } finally {
      await memory.cleanup();
    }
  });
});
