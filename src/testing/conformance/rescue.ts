/** Conformance: `jobRescue` (expired leases, stalls, maxStalls, cancel requests, limit). */
import { describe, expect, it } from "vitest";
import { type ConformanceContext, claim, finishOne, mustGet, T0 } from "./context.js";

const NO_LEASE = { leaseOwner: null, leaseToken: null, leaseExpiresAt: null, cancelRequested: false };

/** Registers the rescue tests. */
export function rescueTests(ctx: ConformanceContext): void {
  describe("rescue", () => {
    it("rescues only leases that expired before now (leaseExpiresAt < now)", async () => {
      const { store, insert } = await ctx.setup();
      const job = await insert({ state: "running", leaseMs: 1_000 });
      const none = { cancelled: [], discarded: [], rescued: [] };
      expect(await store.jobRescue({ now: T0 + 999, limit: 10 })).toEqual(none);
      expect(await store.jobRescue({ now: T0 + 1_000, limit: 10 })).toEqual(none);
      expect((await mustGet(store, job.id)).state).toBe("running");
      expect(await store.jobRescue({ now: T0 + 1_001, limit: 10 })).toEqual({ ...none, rescued: [job.id] });
    });

    it("makes a rescued job available at now, counts a stall, gives the attempt back", async () => {
      const { store, insert } = await ctx.setup();
      const job = await insert({ state: "running", leaseMs: 1_000, runAt: T0 - 50 });
      await store.jobRescue({ now: T0 + 2_000, limit: 10 });
      const rescued = await mustGet(store, job.id);
      expect(rescued).toMatchObject({
        state: "available",
        runAt: T0 + 2_000,
        attempt: 0,
        stalls: 1,
        finishedAt: null,
        ...NO_LEASE,
      });
      expect(rescued.errors).toHaveLength(1);
      expect(rescued.errors[0]).toMatchObject({ attempt: 1, at: T0 + 2_000, kind: "stall" });
      expect(typeof rescued.errors[0]?.message).toBe("string");
      expect(typeof rescued.errors[0]?.name).toBe("string");
      const [again] = await claim(store, T0 + 2_000);
      expect(again).toMatchObject({ id: job.id, attempt: 1 });
    });

    it("takes the lease away: the old worker can no longer finish, renew or report", async () => {
      const { store, insert } = await ctx.setup();
      const job = await insert({ state: "running", leaseMs: 1_000 });
      await store.jobRescue({ now: T0 + 2_000, limit: 10 });
      const lease = { id: job.id, token: job.leaseToken! };
      expect(await finishOne(store, job, { type: "complete", result: null }, T0 + 2_001)).toBe(false);
      expect((await store.jobLeaseRenew({ leases: [lease], leaseMs: 1_000, now: T0 + 2_001 })).lost).toEqual([
        job.id,
      ]);
      expect(await store.jobReport({ ...lease, progress: 5 })).toBe(false);
      expect((await mustGet(store, job.id)).state).toBe("available");
    });

    it("does not rescue a job whose lease was renewed", async () => {
      const { store, insert } = await ctx.setup();
      const job = await insert({ state: "running", leaseMs: 1_000 });
      await store.jobLeaseRenew({
        leases: [{ id: job.id, token: job.leaseToken! }],
        leaseMs: 1_000,
        now: T0 + 900,
      });
      expect((await store.jobRescue({ now: T0 + 1_500, limit: 10 })).rescued).toEqual([]);
      expect((await store.jobRescue({ now: T0 + 1_901, limit: 10 })).rescued).toEqual([job.id]);
    });

    it("discards a job once its stalls exceed maxStalls, keeping every stall error", async () => {
      const { store, insert } = await ctx.setup();
      const job = await insert({ state: "running", leaseMs: 1_000, maxStalls: 2 });
      let now = T0;
      for (const expected of ["rescued", "rescued", "discarded"] as const) {
        now += 2_000;
        const result = await store.jobRescue({ now, limit: 10 });
        expect(result[expected]).toEqual([job.id]);
        if (expected === "rescued") {
          const [claimed] = await claim(store, now, { leaseMs: 1_000 });
          expect(claimed?.id).toBe(job.id);
        }
      }
      const discarded = await mustGet(store, job.id);
      expect(discarded).toMatchObject({
        state: "discarded",
        stalls: 3,
        attempt: 0,
        finishedAt: now,
        ...NO_LEASE,
      });
      expect(discarded.errors.map((e) => [e.kind, e.attempt])).toEqual([
        ["stall", 1],
        ["stall", 1],
        ["stall", 1],
      ]);
    });

    it("discards at the first stall when maxStalls is 0", async () => {
      const { store, insert } = await ctx.setup();
      const job = await insert({ state: "running", leaseMs: 1_000, maxStalls: 0 });
      expect(await store.jobRescue({ now: T0 + 2_000, limit: 10 })).toEqual({
        cancelled: [],
        discarded: [job.id],
        rescued: [],
      });
      expect(await mustGet(store, job.id)).toMatchObject({
        state: "discarded",
        stalls: 1,
        finishedAt: T0 + 2_000,
      });
    });

    it("cancels an expired job that had a cancel request, without counting a stall", async () => {
      const { store, insert } = await ctx.setup();
      const job = await insert({ state: "running", leaseMs: 1_000, maxStalls: 0 });
      await store.jobCancel({ id: job.id, now: T0 + 10 });
      expect(await store.jobRescue({ now: T0 + 2_000, limit: 10 })).toEqual({
        cancelled: [job.id],
        discarded: [],
        rescued: [],
      });
      const cancelled = await mustGet(store, job.id);
      expect(cancelled).toMatchObject({
        state: "cancelled",
        stalls: 0,
        attempt: 1,
        finishedAt: T0 + 2_000,
        ...NO_LEASE,
      });
      expect(cancelled.errors.map((e) => [e.kind, e.attempt, e.at])).toEqual([["cancel", 1, T0 + 2_000]]);
    });

    it("rescues at most limit jobs per call, each id in exactly one list", async () => {
      const { store, insert } = await ctx.setup();
      const a = await insert({ state: "running", queue: "a", leaseMs: 1_000 });
      const b = await insert({ state: "running", queue: "b", leaseMs: 1_000, maxStalls: 0 });
      const c = await insert({ state: "running", queue: "c", leaseMs: 1_000 });
      await store.jobCancel({ id: c.id, now: T0 });
      await insert({ state: "running", queue: "d", leaseMs: 60_000 });
      const first = await store.jobRescue({ now: T0 + 2_000, limit: 2 });
      const second = await store.jobRescue({ now: T0 + 2_000, limit: 2 });
      const third = await store.jobRescue({ now: T0 + 2_000, limit: 2 });
      const all = [first, second].flatMap((r) => [...r.cancelled, ...r.discarded, ...r.rescued]);
      expect(all.sort()).toEqual([a.id, b.id, c.id].sort());
      expect(first.cancelled.length + first.discarded.length + first.rescued.length).toBe(2);
      expect([...first.rescued, ...second.rescued]).toEqual([a.id]);
      expect([...first.discarded, ...second.discarded]).toEqual([b.id]);
      expect([...first.cancelled, ...second.cancelled]).toEqual([c.id]);
      expect(third).toEqual({ cancelled: [], discarded: [], rescued: [] });
      expect(await store.jobCount({})).toMatchObject({
        running: 1,
        available: 1,
        discarded: 1,
        cancelled: 1,
      });
    });

    it("leaves jobs that are not running alone", async () => {
      const { store, insert } = await ctx.setup();
      const jobs = [];
      for (const state of [
        "scheduled",
        "available",
        "retryable",
        "completed",
        "cancelled",
        "discarded",
      ] as const) {
        jobs.push(await insert({ state, queue: state }));
      }
      expect(await store.jobRescue({ now: T0 + 10_000_000, limit: 100 })).toEqual({
        cancelled: [],
        discarded: [],
        rescued: [],
      });
      for (const job of jobs) expect(await mustGet(store, job.id)).toEqual(job);
    });
  });
}
