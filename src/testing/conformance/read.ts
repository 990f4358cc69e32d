/** Conformance: `jobGet`, `jobList` (filters, newest first, cursor pages) and `jobCount`. */
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
