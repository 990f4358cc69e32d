/** Conformance: `jobLeaseRenew` and `jobReport` (lease held, lost, cancel requested). */
import { describe, expect, it } from "vitest";
import { type ConformanceContext, finishOne, mustGet, T0 } from "./context.js";

/** Registers the lease tests. */
export function leaseTests(ctx: ConformanceContext): void {
  describe("lease", () => {
    it("renew extends held leases to now + leaseMs", async () => {
      const { store, insert } = await ctx.setup();
      const a = await insert({ state: "running", leaseMs: 1_000 });
      const b = await insert({ state: "running", queue: "b", leaseMs: 1_000 });
      const result = await store.jobLeaseRenew({
        leases: [
          { id: a.id, token: a.leaseToken! },
          { id: b.id, token: b.leaseToken! },
        ],
        leaseMs: 5_000,
        now: T0 + 500,
      });
      expect(result).toEqual({ lost: [], cancelRequested: [] });
      expect((await mustGet(store, a.id)).leaseExpiresAt).toBe(T0 + 5_500);
      expect((await mustGet(store, b.id)).leaseExpiresAt).toBe(T0 + 5_500);
    });

    it("renew reports leases no longer held as lost, and leaves those jobs alone", async () => {
      const { store, insert } = await ctx.setup();
      const held = await insert({ state: "running" });
      const wrongToken = await insert({ state: "running", queue: "q2" });
      const finished = await insert({ state: "running", queue: "q3" });
      await finishOne(store, finished, { type: "complete", result: null }, T0);
      const wrongBefore = await mustGet(store, wrongToken.id);
      const result = await store.jobLeaseRenew({
        leases: [
          { id: wrongToken.id, token: "not-it" },
          { id: held.id, token: held.leaseToken! },
          { id: finished.id, token: finished.leaseToken! },
          { id: "999999999", token: "x" },
        ],
        leaseMs: 1_000,
        now: T0 + 10,
      });
      expect(result.lost).toEqual([wrongToken.id, finished.id, "999999999"]);
      expect(result.cancelRequested).toEqual([]);
      expect(await mustGet(store, wrongToken.id)).toEqual(wrongBefore);
      expect((await mustGet(store, finished.id)).leaseExpiresAt).toBeNull();
    });

    it("renew lists held leases whose job has a cancel request", async () => {
      const { store, insert } = await ctx.setup();
      const a = await insert({ state: "running" });
      const b = await insert({ state: "running", queue: "b" });
      const cancelled = await store.jobCancel({ id: b.id, now: T0 + 1 });
      expect(cancelled).toMatchObject({ state: "running", cancelRequested: true });
      const result = await store.jobLeaseRenew({
        leases: [
          { id: a.id, token: a.leaseToken! },
          { id: b.id, token: b.leaseToken! },
        ],
        leaseMs: 1_000,
        now: T0 + 2,
      });
      expect(result).toEqual({ lost: [], cancelRequested: [b.id] });
      expect((await mustGet(store, b.id)).leaseExpiresAt).toBe(T0 + 1_002);
    });

    it("an expired lease is still held until a rescue takes it", async () => {
      const { store, insert } = await ctx.setup();
      const job = await insert({ state: "running", leaseMs: 1_000 });
      const late = T0 + 10_000;
      const renewed = await store.jobLeaseRenew({
        leases: [{ id: job.id, token: job.leaseToken! }],
        leaseMs: 1_000,
        now: late,
      });
      expect(renewed.lost).toEqual([]);
      expect((await mustGet(store, job.id)).leaseExpiresAt).toBe(late + 1_000);
      expect(await store.jobReport({ id: job.id, token: job.leaseToken!, progress: 1 })).toBe(true);
      expect(await finishOne(store, job, { type: "complete", result: "late" }, late + 50_000)).toBe(true);
    });

    it("report stores progress and appends logs while the lease is held", async () => {
      const { store, insert } = await ctx.setup();
      const job = await insert({ state: "running" });
      const log = (message: string) => ({ at: T0, attempt: 1, level: "debug" as const, message });
      expect(
        await store.jobReport({ id: job.id, token: job.leaseToken!, progress: 10, logs: [log("one")] }),
      ).toBe(true);
      expect(
        await store.jobReport({ id: job.id, token: job.leaseToken!, logs: [log("two"), log("three")] }),
      ).toBe(true);
      expect(await mustGet(store, job.id)).toMatchObject({
        state: "running",
        progress: 10,
        logs: [log("one"), log("two"), log("three")],
      });
      expect(
        await store.jobReport({ id: job.id, token: job.leaseToken!, progress: { pct: 50, note: "½" } }),
      ).toBe(true);
      expect((await mustGet(store, job.id)).progress).toEqual({ pct: 50, note: "½" });
      expect(await store.jobReport({ id: job.id, token: job.leaseToken!, progress: null })).toBe(true);
      expect((await mustGet(store, job.id)).progress).toBeNull();
    });

    it("report returns false and changes nothing without the lease", async () => {
      const { store, insert } = await ctx.setup();
      const job = await insert({ state: "running" });
      const log = { at: T0, attempt: 1, level: "info" as const, message: "x" };
      expect(await store.jobReport({ id: job.id, token: "not-it", progress: 1, logs: [log] })).toBe(false);
      await finishOne(store, job, { type: "complete", result: null }, T0);
      expect(await store.jobReport({ id: job.id, token: job.leaseToken!, progress: 2, logs: [log] })).toBe(
        false,
      );
      expect(await store.jobReport({ id: "999999999", token: "x", progress: 3 })).toBe(false);
      expect(await mustGet(store, job.id)).toMatchObject({ progress: null, logs: [] });
    });
  });
}
