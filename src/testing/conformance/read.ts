/** Conformance: `jobGet`, `jobList` (filters incl. key and group, newest first, cursor pages) and `jobCount`. */
import { describe, expect, it } from "vitest";
import { JOB_STATES } from "../../job/states.js";
import type { JobListParams, Store } from "../../store/store.js";
import { type ConformanceContext, T0 } from "./context.js";
import { jobInsertParams } from "./fixtures.js";

/** Every page of a listing, following cursors. */
async function allPages(store: Store, params: Omit<JobListParams, "cursor">): Promise<string[][]> {
  const pages: string[][] = [];
  let cursor: string | undefined;
  for (let i = 0; i < 100; i++) {
    const page = await store.jobList(cursor === undefined ? params : { ...params, cursor });
    pages.push(page.jobs.map((j) => j.id));
    if (page.nextCursor === null) return pages;
    cursor = page.nextCursor;
  }
  throw new Error("jobList never returned a null nextCursor");
}

/** Registers the read tests. */
export function readTests(ctx: ConformanceContext): void {
  describe("read", () => {
    it("get returns null for an unknown id", async () => {
      const { store } = await ctx.setup();
      expect(await store.jobGet({ id: "999999999" })).toBeNull();
    });

    it("list returns jobs newest first (descending id)", async () => {
      const { store } = await ctx.setup();
      const results = await store.jobInsertMany({ jobs: [1, 2, 3].map((n) => jobInsertParams({ data: n })) });
      const ids = results.map((r) => r.job.id);
      const list = await store.jobList({ limit: 10 });
      expect(list.jobs.map((j) => j.id)).toEqual([...ids].reverse());
      expect(list.jobs.map((j) => j.data)).toEqual([3, 2, 1]);
      expect(list.nextCursor).toBeNull();
      expect(await store.jobList({ limit: 10, queue: "empty" })).toEqual({ jobs: [], nextCursor: null });
    });

    it("list pages with the cursor; the last page has a null cursor, even when exactly full", async () => {
      const { store } = await ctx.setup();
      const results = await store.jobInsertMany({ jobs: Array.from({ length: 5 }, () => jobInsertParams()) });
      const ids = results.map((r) => r.job.id).reverse();
      expect(await allPages(store, { limit: 2 })).toEqual([ids.slice(0, 2), ids.slice(2, 4), ids.slice(4)]);
      await store.jobDelete({ id: ids[0]! });
      expect(await allPages(store, { limit: 2 })).toEqual([ids.slice(1, 3), ids.slice(3, 5)]);
      expect(await allPages(store, { limit: 1000 })).toEqual([ids.slice(1)]);
    });

    it("list filters by queue, state and name, combined, and pages within the filter", async () => {
      const { store, insert } = await ctx.setup();
      const a1 = await insert({ name: "a", queue: "q1" });
      const b1 = await insert({ name: "b", queue: "q1" });
      const a2 = await insert({ name: "a", queue: "q2" });
      const a1Done = await insert({ name: "a", queue: "q1b", state: "completed" });
      const a1Late = await insert({ name: "a", queue: "q1", state: "scheduled" });
      const a1Again = await insert({ name: "a", queue: "q1" });
      const ids = async (params: Omit<JobListParams, "limit">) =>
        (await store.jobList({ limit: 100, ...params })).jobs.map((j) => j.id);
      expect(await ids({ queue: "q1" })).toEqual([a1Again.id, a1Late.id, b1.id, a1.id]);
      expect(await ids({ name: "a" })).toEqual([a1Again.id, a1Late.id, a1Done.id, a2.id, a1.id]);
      expect(await ids({ state: "completed" })).toEqual([a1Done.id]);
      expect(await ids({ queue: "q1", name: "a", state: "available" })).toEqual([a1Again.id, a1.id]);
      expect(await ids({ state: "running" })).toEqual([]);
      expect(await allPages(store, { limit: 1, queue: "q1", name: "a" })).toEqual([
        [a1Again.id],
        [a1Late.id],
        [a1.id],
      ]);
    });

    it("list filters by dedupe key (exact, any queue), alone or with queue and state, and pages within it", async () => {
      const { store, insert } = await ctx.setup();
      const k1 = await insert({ key: "order:1", queue: "q1", name: "a", state: "completed" });
      const other = await insert({ key: "order:10", queue: "q1" });
      const glob = await insert({ key: "order:*", queue: "q1" });
      const k1b = await insert({ key: "order:1", queue: "q2", name: "b", state: "discarded" });
      const k1c = await insert({ key: "order:1", queue: "q1", dedupe: { policy: "reject" } });
      await insert({ queue: "q1" });
      const ids = async (params: Omit<JobListParams, "limit">) =>
        (await store.jobList({ limit: 100, ...params })).jobs.map((j) => j.id);
      expect(await ids({ key: "order:1" })).toEqual([k1c.id, k1b.id, k1.id]);
      expect(await ids({ key: "order:*" })).toEqual([glob.id]);
      expect(await ids({ key: "order:10" })).toEqual([other.id]);
      expect(await ids({ key: "order" })).toEqual([]);
      expect(await ids({ key: "order:1", queue: "q1" })).toEqual([k1c.id, k1.id]);
      expect(await ids({ key: "order:1", state: "discarded" })).toEqual([k1b.id]);
      expect(await ids({ key: "order:1", name: "a" })).toEqual([k1.id]);
      expect(await allPages(store, { limit: 2, key: "order:1" })).toEqual([[k1c.id, k1b.id], [k1.id]]);
      // Deleted and pruned jobs leave the key's listing.
      expect(await store.jobDelete({ id: k1c.id })).toBe(true);
      expect(await store.jobPrune({ finishedBefore: T0 + 1, states: ["completed"], limit: 10 })).toBe(1);
      expect(await ids({ key: "order:1" })).toEqual([k1b.id]);
    });

    it("list filters by group key in every state, within a queue when given, and pages within it", async () => {
      const { store, insert } = await ctx.setup();
      const group = (key: string) => ({ key, concurrency: 1, onFailure: "continue" as const });
      const done = await insert({ group: group("player:1"), queue: "q1", name: "a", state: "completed" });
      const dead = await insert({ group: group("player:1"), queue: "q1", name: "b", state: "discarded" });
      const waiting = await insert({ group: group("player:1"), queue: "q1" });
      const later = await insert({ group: group("player:1"), queue: "q1", state: "scheduled" });
      const elsewhere = await insert({ group: group("player:1"), queue: "q2" });
      const near = await insert({ group: group("player:10"), queue: "q1" });
      const glob = await insert({ group: group("player:*"), queue: "q1" });
      await insert({ queue: "q1" });
      const ids = async (params: Omit<JobListParams, "limit">) =>
        (await store.jobList({ limit: 100, ...params })).jobs.map((j) => j.id);
      expect(await ids({ group: "player:1" })).toEqual([
        elsewhere.id,
        later.id,
        waiting.id,
        dead.id,
        done.id,
      ]);
      expect(await ids({ group: "player:1", queue: "q1" })).toEqual([later.id, waiting.id, dead.id, done.id]);
      expect(await ids({ group: "player:1", queue: "q2" })).toEqual([elsewhere.id]);
      expect(await ids({ group: "player:1", state: "completed" })).toEqual([done.id]);
      expect(await ids({ group: "player:*" })).toEqual([glob.id]);
      expect(await ids({ group: "player:10" })).toEqual([near.id]);
      expect(await ids({ group: "player" })).toEqual([]);
      expect(await ids({ group: "player:1", key: "none" })).toEqual([]);
      expect(await allPages(store, { limit: 2, group: "player:1", queue: "q1" })).toEqual([
        [later.id, waiting.id],
        [dead.id, done.id],
      ]);
      const [listed] = (await store.jobList({ limit: 1, group: "player:1", queue: "q2" })).jobs;
      expect(listed).toMatchObject({ id: elsewhere.id, group: "player:1", queue: "q2" });
      // Deleted and pruned jobs leave the group's listing.
      expect(await store.jobDelete({ id: waiting.id })).toBe(true);
      expect(await store.jobPrune({ finishedBefore: T0 + 1, states: ["discarded"], limit: 10 })).toBe(1);
      expect(await ids({ group: "player:1", queue: "q1" })).toEqual([later.id, done.id]);
    });

    it("list returns full records, data and logs included", async () => {
      const { store, insert } = await ctx.setup();
      const job = await insert({ state: "running", data: { deep: { ok: [1] } } });
      const [listed] = (await store.jobList({ limit: 1 })).jobs;
      expect(listed).toMatchObject({ id: job.id, state: "running", data: { deep: { ok: [1] } } });
      expect(listed?.leaseToken).toBe(job.leaseToken);
    });

    it("count reports every state, per queue or across all", async () => {
      const { store, insert } = await ctx.setup();
      const zero = Object.fromEntries(JOB_STATES.map((s) => [s, 0]));
      expect(await store.jobCount({})).toEqual(zero);
      expect(await store.jobCount({ queue: "nope" })).toEqual(zero);
      for (const state of JOB_STATES) await insert({ state, queue: `q-${state}` });
      await insert({ queue: "q-available" });
      await insert({ queue: "q-running", state: "scheduled", runAt: T0 + 10 });
      expect(await store.jobCount({})).toEqual({
        ...zero,
        ...Object.fromEntries(JOB_STATES.map((s) => [s, 1])),
        available: 2,
        scheduled: 2,
      });
      expect(await store.jobCount({ queue: "q-available" })).toEqual({ ...zero, available: 2 });
      expect(await store.jobCount({ queue: "q-running" })).toEqual({ ...zero, running: 1, scheduled: 1 });
    });
  });
}
