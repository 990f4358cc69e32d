/** Conformance: operator actions `jobRetry`, `jobCancel`, `jobDelete` and `jobPrune`. */
import { describe, expect, it } from "vitest";
import {
  attemptError,
  type ConformanceContext,
  claim,
  expectCode,
  finishOne,
  mustGet,
  T0,
} from "./context.js";

/** Registers the operator tests. */
export function operatorTests(ctx: ConformanceContext): void {
  describe("operator", () => {
    it("retry makes scheduled, retryable and final jobs available at now", async () => {
      const { store, insert } = await ctx.setup();
      for (const state of ["scheduled", "retryable", "completed", "cancelled", "discarded"] as const) {
        const job = await insert({ state, queue: state, result: { r: 1 } });
        const retried = await store.jobRetry({ id: job.id, now: T0 + 500 });
        expect(retried).toMatchObject({
          state: "available",
          runAt: T0 + 500,
          finishedAt: null,
          result: null,
        });
        expect(retried.errors).toEqual(job.errors);
        expect(await mustGet(store, job.id)).toEqual(retried);
        const [claimed] = await claim(store, T0 + 500, { queues: [state] });
        expect(claimed).toMatchObject({ id: job.id, attempt: job.attempt + 1 });
      }
    });

    it("retry raises maxAttempts to attempt + 1 only when attempts are used up", async () => {
      const { store, insert } = await ctx.setup();
      const exhausted = await insert({ state: "running", maxAttempts: 1 });
      await finishOne(store, exhausted, { type: "discard", error: attemptError(1, T0) }, T0);
      expect(await store.jobRetry({ id: exhausted.id, now: T0 })).toMatchObject({
        attempt: 1,
        maxAttempts: 2,
      });
      const spare = await insert({ state: "discarded", queue: "spare", maxAttempts: 3 });
      expect(await store.jobRetry({ id: spare.id, now: T0 })).toMatchObject({ attempt: 1, maxAttempts: 3 });
    });

    it("retry returns an available job unchanged, refuses a running one, and needs an existing job", async () => {
      const { store, insert } = await ctx.setup();
      const available = await insert({ runAt: T0 - 10 });
      expect(await store.jobRetry({ id: available.id, now: T0 + 99 })).toEqual(available);
      const running = await insert({ state: "running", queue: "r" });
      await expectCode(store.jobRetry({ id: running.id, now: T0 }), "ERR_INVALID_STATE_TRANSITION");
      expect(await mustGet(store, running.id)).toEqual(running);
      await expectCode(store.jobRetry({ id: "999999999", now: T0 }), "ERR_JOB_NOT_FOUND");
    });

    it("cancel makes scheduled, available and retryable jobs cancelled at now", async () => {
      const { store, insert } = await ctx.setup();
      for (const state of ["scheduled", "available", "retryable"] as const) {
        const job = await insert({ state, queue: state });
        const cancelled = await store.jobCancel({ id: job.id, now: T0 + 7 });
        expect(cancelled).toMatchObject({ state: "cancelled", finishedAt: T0 + 7, attempt: job.attempt });
        expect(await mustGet(store, job.id)).toEqual(cancelled);
      }
      expect(await store.jobStage({ now: T0 + 10_000_000 })).toBe(0);
      expect(
        await claim(store, T0 + 10_000_000, { queues: ["scheduled", "available", "retryable"] }),
      ).toEqual([]);
    });

    it("cancel of a running job only sets cancelRequested; the worker then finishes it", async () => {
      const { store, insert } = await ctx.setup();
      const job = await insert({ state: "running" });
      const requested = await store.jobCancel({ id: job.id, now: T0 + 1 });
      expect(requested).toMatchObject({ state: "running", cancelRequested: true, finishedAt: null });
      expect(requested.leaseToken).toBe(job.leaseToken);
      expect(await store.jobCancel({ id: job.id, now: T0 + 2 })).toEqual(requested);
      const error = attemptError(1, T0 + 3, "cancel");
      expect(await finishOne(store, job, { type: "cancel", error }, T0 + 3)).toBe(true);
      expect(await mustGet(store, job.id)).toMatchObject({ state: "cancelled", cancelRequested: false });
    });

    it("cancel leaves a final job unchanged and needs an existing job", async () => {
      const { store, insert } = await ctx.setup();
      for (const state of ["completed", "cancelled", "discarded"] as const) {
        const job = await insert({ state, queue: state });
        expect(await store.jobCancel({ id: job.id, now: T0 + 100 })).toEqual(job);
        expect(await mustGet(store, job.id)).toEqual(job);
      }
      await expectCode(store.jobCancel({ id: "999999999", now: T0 }), "ERR_JOB_NOT_FOUND");
    });

    it("delete removes a job that is not running; false when it does not exist", async () => {
      const { store, insert } = await ctx.setup();
      for (const state of [
        "scheduled",
        "available",
        "retryable",
        "completed",
        "cancelled",
        "discarded",
      ] as const) {
        const job = await insert({ state, queue: state });
        expect(await store.jobDelete({ id: job.id })).toBe(true);
        expect(await store.jobGet({ id: job.id })).toBeNull();
        expect(await store.jobDelete({ id: job.id })).toBe(false);
      }
      expect(await store.jobDelete({ id: "999999999" })).toBe(false);
      expect(Object.values(await store.jobCount({})).every((n) => n === 0)).toBe(true);
    });

    it("delete refuses a running job", async () => {
      const { store, insert } = await ctx.setup();
      const job = await insert({ state: "running" });
      await expectCode(store.jobDelete({ id: job.id }), "ERR_INVALID_STATE_TRANSITION");
      expect(await mustGet(store, job.id)).toEqual(job);
    });

    it("prune deletes final jobs finished before the cutoff, of the given states, up to limit", async () => {
      const { store, insert } = await ctx.setup();
      const at = (offset: number) => T0 + offset;
      const c1 = await insert({ state: "completed", queue: "c1", now: at(0) });
      const c2 = await insert({ state: "completed", queue: "c2", now: at(10) });
      const x1 = await insert({ state: "cancelled", queue: "x1", now: at(5) });
      const d1 = await insert({ state: "discarded", queue: "d1", now: at(20) });
      const boundary = await insert({ state: "completed", queue: "b", now: at(100) });
      const kept = [
        await insert({ state: "scheduled", queue: "s", now: at(0) }),
        await insert({ state: "available", queue: "a", now: at(0) }),
        await insert({ state: "running", queue: "r", now: at(0) }),
        await insert({ state: "retryable", queue: "y", now: at(0) }),
      ];
      expect(await store.jobPrune({ finishedBefore: at(100), states: ["discarded"], limit: 100 })).toBe(1);
      expect(await store.jobGet({ id: d1.id })).toBeNull();
      expect(await store.jobPrune({ finishedBefore: at(100), limit: 2 })).toBe(2);
      expect(await store.jobPrune({ finishedBefore: at(100), limit: 0 })).toBe(0);
      expect(await store.jobPrune({ finishedBefore: at(100), limit: 100 })).toBe(1);
      for (const job of [c1, c2, x1]) expect(await store.jobGet({ id: job.id })).toBeNull();
      expect(await store.jobGet({ id: boundary.id })).not.toBeNull();
      for (const job of kept) expect(await store.jobGet({ id: job.id })).not.toBeNull();
      expect(await store.jobPrune({ finishedBefore: at(1_000_000_000), limit: 100 })).toBe(1);
      expect(await store.jobCount({})).toMatchObject({ completed: 0, cancelled: 0, discarded: 0 });
    });

    it("promote makes a scheduled or retryable job available at now, attempts unchanged", async () => {
      const { store, insert } = await ctx.setup();
      for (const state of ["scheduled", "retryable"] as const) {
        const job = await insert({ state, queue: state, runAt: state === "scheduled" ? T0 + 60_000 : T0 });
        const promoted = await store.jobPromote({ id: job.id, now: T0 + 5 });
        expect(promoted).toEqual({ ...job, state: "available", runAt: T0 + 5 });
        expect(await mustGet(store, job.id)).toEqual(promoted);
        expect(await store.jobNextRunAt({ queues: [state] })).toBeNull();
        const [claimed] = await claim(store, T0 + 5, { queues: [state] });
        expect(claimed).toMatchObject({ id: job.id, attempt: job.attempt + 1 });
      }
    });

    it("promote returns an available job unchanged, refuses running and final jobs, needs an existing job", async () => {
      const { store, insert } = await ctx.setup();
      const available = await insert({ runAt: T0 - 10 });
      expect(await store.jobPromote({ id: available.id, now: T0 + 99 })).toEqual(available);
      for (const state of ["running", "completed", "cancelled", "discarded"] as const) {
        const job = await insert({ state, queue: state });
        await expectCode(store.jobPromote({ id: job.id, now: T0 }), "ERR_INVALID_STATE_TRANSITION");
        expect(await mustGet(store, job.id)).toEqual(job);
      }
      await expectCode(store.jobPromote({ id: "999999999", now: T0 }), "ERR_JOB_NOT_FOUND");
    });

    it("prune keepLast keeps the newest N per state (by finish time, then id), store-wide", async () => {
      const { store, insert } = await ctx.setup();
      const at = (offset: number) => T0 + offset;
      const completed = [];
      for (const [i, offset] of [30, 10, 20, 10, 40].entries()) {
        completed.push(await insert({ state: "completed", queue: `q${i % 2}`, now: at(offset) }));
      }
      const cancelled = await insert({ state: "cancelled", queue: "x", now: at(0) });
      const live = await insert({ state: "scheduled", queue: "s", now: at(0) });
      // Newest first: 40 (#4), 30 (#0), 20 (#2), 10 (#3, the higher id), 10 (#1).
      expect(await store.jobPrune({ keepLast: 3, states: ["completed"], limit: 100 })).toBe(2);
      for (const i of [1, 3]) expect(await store.jobGet({ id: completed[i]!.id })).toBeNull();
      for (const i of [0, 2, 4]) expect(await store.jobGet({ id: completed[i]!.id })).not.toBeNull();
      expect(await store.jobPrune({ keepLast: 3, states: ["completed"], limit: 100 })).toBe(0);
      expect(await store.jobPrune({ keepLast: 1, limit: 1 })).toBe(1);
      expect(await store.jobPrune({ keepLast: 1, limit: 100 })).toBe(1);
      expect(await store.jobGet({ id: completed[4]!.id })).not.toBeNull();
      expect(await store.jobGet({ id: cancelled.id })).not.toBeNull();
      expect(await store.jobPrune({ keepLast: 0, states: ["cancelled"], limit: 100 })).toBe(1);
      expect(await store.jobGet({ id: live.id })).not.toBeNull();
      expect(await store.jobPrune({ limit: 100 })).toBe(0);
    });

    it("prune keepLast with perQueue counts per queue; with finishedBefore either rule prunes", async () => {
      const { store, insert } = await ctx.setup();
      const at = (offset: number) => T0 + offset;
      const a = [await insert({ state: "discarded", queue: "a", now: at(1) })];
      a.push(await insert({ state: "discarded", queue: "a", now: at(2) }));
      a.push(await insert({ state: "discarded", queue: "a", now: at(3) }));
      const b = await insert({ state: "discarded", queue: "b", now: at(0) });
      expect(await store.jobPrune({ keepLast: 1, perQueue: true, limit: 100 })).toBe(2);
      expect(await store.jobGet({ id: a[2]!.id })).not.toBeNull();
      expect(await store.jobGet({ id: b.id })).not.toBeNull();
      const c = await insert({ state: "discarded", queue: "c", now: at(50) });
      // Store-wide, c and a[2] are the newest two: b goes (the age rule alone would keep it).
      expect(await store.jobPrune({ keepLast: 2, finishedBefore: at(0), limit: 100 })).toBe(1);
      expect(await store.jobGet({ id: b.id })).toBeNull();
      // Age alone prunes a job that the count keeps.
      expect(await store.jobPrune({ keepLast: 10, finishedBefore: at(10), limit: 100 })).toBe(1);
      expect(await store.jobGet({ id: a[2]!.id })).toBeNull();
      expect(await store.jobGet({ id: c.id })).not.toBeNull();
    });
  });
}
