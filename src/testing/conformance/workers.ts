/**
 * Conformance: the worker registry (`workerBeat`, `workerRemove`, `workerList`). Expiry is judged against the
 * `now` passed in, never the store's own clock (a store that keeps a native TTL must still filter by `now`).
 */
import { describe, expect, it } from "vitest";
import type { WorkerRecord } from "../../store/store.js";
import { type ConformanceContext, T0 } from "./context.js";

/** A worker's announcement (what `workerBeat` takes), with defaults. */
function announce(
  id: string,
  overrides: Partial<Omit<WorkerRecord, "lastBeatAt">> = {},
): Omit<WorkerRecord, "lastBeatAt"> {
  return {
    id,
    hostname: "host-a",
    pid: 4242,
    queues: ["default", "mail"],
    names: ["send-mail", "resize"],
    concurrency: 10,
    executor: "inline",
    startedAt: T0 - 5_000,
    running: ["1", "2"],
    meta: { version: "0.1.0", app: { name: "shop", tags: ["a", "b"] } },
    ...overrides,
  };
}

/** Registers the worker registry tests. */
export function workerTests(ctx: ConformanceContext): void {
  describe("workers", () => {
    it("list returns what a beat announced, with lastBeatAt = now, by id", async () => {
      const { store } = await ctx.setup();
      expect(await store.workerList({ now: T0 })).toEqual([]);
      const b = announce("worker-b", { hostname: "host-b", pid: 7, executor: "process" });
      const a = announce("worker-a");
      await store.workerBeat({ worker: b, ttlMs: 10_000, now: T0 });
      await store.workerBeat({ worker: a, ttlMs: 10_000, now: T0 + 1 });
      expect(await store.workerList({ now: T0 + 2 })).toEqual([
        { ...a, lastBeatAt: T0 + 1 },
        { ...b, lastBeatAt: T0 },
      ]);
    });

    it("empty lists and empty meta round-trip as empty arrays and an empty object", async () => {
      const { store } = await ctx.setup();
      const idle = announce("idle", { running: [], queues: [], names: [], meta: {} });
      await store.workerBeat({ worker: idle, ttlMs: 10_000, now: T0 });
      const [listed] = await store.workerList({ now: T0 });
      expect(listed).toEqual({ ...idle, lastBeatAt: T0 });
      expect(Array.isArray(listed?.running)).toBe(true);
      expect(Array.isArray(listed?.queues)).toBe(true);
      expect(Array.isArray(listed?.names)).toBe(true);
    });

    it("a later beat replaces the record (running jobs, meta) and moves lastBeatAt", async () => {
      const { store } = await ctx.setup();
      await store.workerBeat({ worker: announce("w"), ttlMs: 10_000, now: T0 });
      const next = announce("w", { running: ["9"], concurrency: 20, meta: { version: "0.2.0" } });
      await store.workerBeat({ worker: next, ttlMs: 10_000, now: T0 + 2_500 });
      expect(await store.workerList({ now: T0 + 2_600 })).toEqual([{ ...next, lastBeatAt: T0 + 2_500 }]);
    });

    it("a record is listed while now < lastBeatAt + ttlMs; a new beat extends it", async () => {
      const { store } = await ctx.setup();
      await store.workerBeat({ worker: announce("short"), ttlMs: 1_000, now: T0 });
      await store.workerBeat({ worker: announce("long"), ttlMs: 5_000, now: T0 });
      const ids = async (now: number) => (await store.workerList({ now })).map((w) => w.id);
      expect(await ids(T0 + 999)).toEqual(["long", "short"]);
      expect(await ids(T0 + 1_000)).toEqual(["long"]);
      await store.workerBeat({ worker: announce("long"), ttlMs: 5_000, now: T0 + 4_000 });
      expect(await ids(T0 + 8_999)).toEqual(["long"]);
      expect(await ids(T0 + 9_000)).toEqual([]);
    });

    it("an expired worker that beats again is listed again", async () => {
      const { store } = await ctx.setup();
      await store.workerBeat({ worker: announce("w"), ttlMs: 1_000, now: T0 });
      expect(await store.workerList({ now: T0 + 60_000 })).toEqual([]);
      await store.workerBeat({ worker: announce("w"), ttlMs: 1_000, now: T0 + 60_000 });
      expect(await store.workerList({ now: T0 + 60_500 })).toEqual([
        { ...announce("w"), lastBeatAt: T0 + 60_000 },
      ]);
    });

    it("remove deletes a record at once; removing an unknown worker is not an error", async () => {
      const { store } = await ctx.setup();
      await store.workerBeat({ worker: announce("a"), ttlMs: 10_000, now: T0 });
      await store.workerBeat({ worker: announce("b"), ttlMs: 10_000, now: T0 });
      await store.workerRemove({ id: "a" });
      expect((await store.workerList({ now: T0 })).map((w) => w.id)).toEqual(["b"]);
      await store.workerRemove({ id: "a" });
      await store.workerRemove({ id: "never-seen" });
      await store.workerBeat({ worker: announce("a"), ttlMs: 10_000, now: T0 + 1 });
      expect((await store.workerList({ now: T0 + 1 })).map((w) => w.id)).toEqual(["a", "b"]);
    });

    it("ids with separators and glob characters stay distinct", async () => {
      const { store } = await ctx.setup();
      const ids = ["host:1:*", "host:1:a", "host:1:[ab]", "host{x}"];
      for (const id of ids) await store.workerBeat({ worker: announce(id), ttlMs: 10_000, now: T0 });
      expect((await store.workerList({ now: T0 })).map((w) => w.id)).toEqual([...ids].sort());
      await store.workerRemove({ id: "host:1:*" });
      expect((await store.workerList({ now: T0 })).map((w) => w.id)).toEqual(
        ids.filter((id) => id !== "host:1:*").sort(),
      );
    });

    it("beats from another connection are seen by this one", async () => {
      const { store, connect } = await ctx.setup();
      if (connect === undefined) return;
      const other = await connect();
      await other.workerBeat({ worker: announce("remote"), ttlMs: 10_000, now: T0 });
      expect((await store.workerList({ now: T0 })).map((w) => w.id)).toEqual(["remote"]);
      await store.workerRemove({ id: "remote" });
      expect(await other.workerList({ now: T0 })).toEqual([]);
    });

    it("fail with ClosedError after close", async () => {
      const { store } = await ctx.setup();
      await store.close();
      await expect(store.workerBeat({ worker: announce("w"), ttlMs: 1_000, now: T0 })).rejects.toMatchObject({
        code: "ERR_CLOSED",
      });
      await expect(store.workerRemove({ id: "w" })).rejects.toMatchObject({ code: "ERR_CLOSED" });
      await expect(store.workerList({ now: T0 })).rejects.toMatchObject({ code: "ERR_CLOSED" });
    });
  });
}
