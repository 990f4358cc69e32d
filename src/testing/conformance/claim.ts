/** Conformance: `jobClaim` (lease fields, claim order, filters, staging, concurrency). */
import { describe, expect, it } from "vitest";
import type { JobInsertParams, Store } from "../../store/store.js";
import { type ConformanceContext, claim, finishOne, T0 } from "./context.js";
import { jobInsertParams } from "./fixtures.js";

/** Inserts jobs tagged `data: tag` and returns a claim's tags in order. */
async function claimOrder(store: Store, jobs: Array<Partial<JobInsertParams> & { data: string }>) {
  for (const j of jobs) await store.jobInsert(jobInsertParams(j));
  return (await claim(store, T0, { queues: ["default", "other"] })).map((j) => j.data);
}

/** Registers the claim tests. */
export function claimTests(ctx: ConformanceContext): void {
  describe("claim", () => {
    it("leases a job: running, attempt + 1, attemptedAt, owner, fresh token, expiry", async () => {
      const { store, insert } = await ctx.setup();
      const job = await insert({ data: { x: 1 } });
      const [claimed] = await store.jobClaim({
        queues: ["default"],
        names: ["test-job"],
        owner: "worker-a",
        limit: 1,
        leaseMs: 5_000,
        now: T0 + 100,
      });
      expect(claimed).toMatchObject({
        id: job.id,
        state: "running",
        attempt: 1,
        attemptedAt: T0 + 100,
        leaseOwner: "worker-a",
        leaseExpiresAt: T0 + 5_100,
        cancelRequested: false,
        data: { x: 1 },
      });
      expect(typeof claimed?.leaseToken).toBe("string");
      expect(claimed?.leaseToken).not.toBe("");
      const { logs: _claimLogs, ...stored } = (await store.jobGet({ id: job.id }))!;
      const { logs: _logs, ...fromClaim } = claimed!;
      expect(stored).toEqual(fromClaim);
    });

    it("claims at most limit jobs, and nothing with limit 0", async () => {
      const { store, insert } = await ctx.setup();
      for (let i = 0; i < 5; i++) await insert();
      expect(await claim(store, T0, { limit: 0 })).toEqual([]);
      expect((await store.jobCount({})).available).toBe(5);
      expect(await claim(store, T0, { limit: 2 })).toHaveLength(2);
      expect(await claim(store, T0, { limit: 10 })).toHaveLength(3);
      expect(await claim(store, T0, { limit: 10 })).toEqual([]);
    });

    it("gives each lease a distinct token", async () => {
      const { store, insert } = await ctx.setup();
      await insert();
      await insert();
      const jobs = await claim(store, T0);
      expect(new Set(jobs.map((j) => j.leaseToken)).size).toBe(2);
      const first = jobs[0]!;
      expect(await finishOne(store, first, { type: "release" }, T0)).toBe(true);
      const [again] = await claim(store, T0);
      expect(again?.id).toBe(first.id);
      expect(again?.leaseToken).not.toBe(first.leaseToken);
    });

    it("is FIFO by default: same priority and runAt go in insert order", async () => {
      const { store } = await ctx.setup();
      expect(await claimOrder(store, [{ data: "a" }, { data: "b" }, { data: "c" }])).toEqual(["a", "b", "c"]);
    });

    it("claims lower priority first; negative priorities jump ahead", async () => {
      const { store } = await ctx.setup();
      const order = await claimOrder(store, [
        { data: "p5", priority: 5 },
        { data: "p0", priority: 0 },
        { data: "p-1", priority: -1 },
        { data: "p1", priority: 1 },
      ]);
      expect(order).toEqual(["p-1", "p0", "p1", "p5"]);
    });

    it("orders FIFO jobs of one priority by runAt, then id", async () => {
      const { store } = await ctx.setup();
      const order = await claimOrder(store, [
        { data: "late", runAt: T0 - 10 },
        { data: "early", runAt: T0 - 30 },
        { data: "mid-1", runAt: T0 - 20 },
        { data: "mid-2", runAt: T0 - 20 },
      ]);
      expect(order).toEqual(["early", "mid-1", "mid-2", "late"]);
    });

    it("claims LIFO jobs first within their priority, newest first, whatever their runAt", async () => {
      const { store } = await ctx.setup();
      const order = await claimOrder(store, [
        { data: "fifo-1", runAt: T0 - 100 },
        { data: "lifo-1", lifo: true, runAt: T0 - 50 },
        { data: "lifo-2", lifo: true, runAt: T0 - 60 },
        { data: "fifo-2" },
        { data: "lifo-3", lifo: true },
        { data: "lifo-urgent", lifo: true, priority: -1 },
        { data: "fifo-urgent", priority: -1, runAt: T0 - 200 },
        { data: "lifo-lazy", lifo: true, priority: 1 },
      ]);
      expect(order).toEqual([
        "lifo-urgent",
        "fifo-urgent",
        "lifo-3",
        "lifo-2",
        "lifo-1",
        "fifo-1",
        "fifo-2",
        "lifo-lazy",
      ]);
    });

    it("applies claim order across all the queues of one claim", async () => {
      const { store } = await ctx.setup();
      const order = await claimOrder(store, [
        { data: "other-p1", queue: "other", priority: 1 },
        { data: "default-p1", priority: 1 },
        { data: "other-p0", queue: "other" },
        { data: "default-p0-early", runAt: T0 - 5 },
      ]);
      expect(order).toEqual(["default-p0-early", "other-p0", "other-p1", "default-p1"]);
    });

    it("claims only from the given queues and only the given job names", async () => {
      const { store, insert } = await ctx.setup();
      const a = await insert({ name: "a", queue: "q1" });
      await insert({ name: "b", queue: "q1" });
      const c = await insert({ name: "a", queue: "q2" });
      await insert({ name: "a", queue: "q3" });
      expect(await claim(store, T0, { queues: ["q1", "q2"], names: [] })).toEqual([]);
      expect(await claim(store, T0, { queues: [], names: ["a"] })).toEqual([]);
      const claimed = await claim(store, T0, { queues: ["q1", "q2"], names: ["a", "missing"] });
      expect(claimed.map((j) => j.id)).toEqual([a.id, c.id]);
      expect(await store.jobCount({})).toMatchObject({ available: 2, running: 2 });
    });

    it("stages due scheduled and retryable jobs first, and leaves the others", async () => {
      const { store, insert } = await ctx.setup();
      const due = await insert({ state: "scheduled", runAt: T0 + 1_000 });
      const retry = await insert({ state: "retryable", retryAt: T0 + 500, queue: "retry" });
      const notDue = await insert({ state: "scheduled", runAt: T0 + 5_000 });
      const claimed = await claim(store, T0 + 1_000, { queues: ["default", "retry"] });
      expect(claimed.map((j) => j.id).sort()).toEqual([due.id, retry.id].sort());
      expect((await store.jobGet({ id: retry.id }))?.attempt).toBe(2);
      expect((await store.jobGet({ id: notDue.id }))?.state).toBe("scheduled");
    });

    it("never claims jobs that are not available", async () => {
      const { store, insert } = await ctx.setup();
      for (const state of ["running", "completed", "cancelled", "discarded"] as const) {
        await insert({ state, queue: state });
      }
      await insert({ state: "scheduled" });
      await insert({ state: "retryable", queue: "retryable" });
      const queues = ["default", "running", "completed", "cancelled", "discarded", "retryable"];
      expect(await claim(store, T0, { queues })).toEqual([]);
    });

    it("never gives the same job to two concurrent claims", async () => {
      const { store } = await ctx.setup();
      await store.jobInsertMany({ jobs: Array.from({ length: 50 }, (_, i) => jobInsertParams({ data: i })) });
      const results = await Promise.all(
        Array.from({ length: 25 }, (_, i) => claim(store, T0, { limit: 3, owner: `worker-${i}` })),
      );
      const ids = results.flat().map((j) => j.id);
      expect(ids).toHaveLength(50);
      expect(new Set(ids).size).toBe(50);
      expect(await store.jobCount({})).toMatchObject({ available: 0, running: 50 });
    });
  });
}
