/** Conformance: `jobFinishMany` (every outcome, lease conditions, attempts, errors, logs, finish + claim). */
import { describe, expect, it } from "vitest";
import type { JobRecord } from "../../store/store.js";
import { attemptError, type ConformanceContext, claim, finishOne, mustGet, T0 } from "./context.js";
import { TRICKY_JSON } from "./insert.js";

/** The lease fields of a job that is no longer running. */
const NO_LEASE = { leaseOwner: null, leaseToken: null, leaseExpiresAt: null, cancelRequested: false };

/** Registers the finish tests. */
export function finishTests(ctx: ConformanceContext): void {
  describe("finish", () => {
    it("complete: completed with its result, finishedAt = now, lease cleared, attempt kept", async () => {
      const { store, insert } = await ctx.setup();
      const job = await insert({ state: "running" });
      expect(await finishOne(store, job, { type: "complete", result: TRICKY_JSON }, T0 + 10)).toBe(true);
      expect(await mustGet(store, job.id)).toMatchObject({
        state: "completed",
        result: TRICKY_JSON,
        finishedAt: T0 + 10,
        attempt: 1,
        attemptedAt: T0,
        errors: [],
        ...NO_LEASE,
      });
    });

    it("complete with an undefined result stores null", async () => {
      const { store, insert } = await ctx.setup();
      const job = await insert({ state: "running" });
      expect(await finishOne(store, job, { type: "complete", result: undefined }, T0)).toBe(true);
      expect((await mustGet(store, job.id)).result).toBeNull();
    });

    it("retry: retryable at runAt with the error appended, not finished", async () => {
      const { store, insert } = await ctx.setup();
      const job = await insert({ state: "running" });
      const error = attemptError(1, T0 + 5);
      expect(await finishOne(store, job, { type: "retry", runAt: T0 + 1_000, error }, T0 + 5)).toBe(true);
      expect(await mustGet(store, job.id)).toMatchObject({
        state: "retryable",
        runAt: T0 + 1_000,
        errors: [error],
        finishedAt: null,
        attempt: 1,
        ...NO_LEASE,
      });
    });

    it("discard: discarded with the error appended, finishedAt = now", async () => {
      const { store, insert } = await ctx.setup();
      const job = await insert({ state: "running" });
      const error = attemptError(1, T0 + 5);
      expect(await finishOne(store, job, { type: "discard", error }, T0 + 5)).toBe(true);
      expect(await mustGet(store, job.id)).toMatchObject({
        state: "discarded",
        errors: [error],
        finishedAt: T0 + 5,
        attempt: 1,
        ...NO_LEASE,
      });
    });

    it("snooze: scheduled at runAt, attempt given back, no error", async () => {
      const { store, insert } = await ctx.setup();
      const job = await insert({ state: "running" });
      expect(await finishOne(store, job, { type: "snooze", runAt: T0 + 60_000 }, T0 + 5)).toBe(true);
      expect(await mustGet(store, job.id)).toMatchObject({
        state: "scheduled",
        runAt: T0 + 60_000,
        attempt: 0,
        errors: [],
        finishedAt: null,
        ...NO_LEASE,
      });
    });

    it("cancel: cancelled with the cancel error appended, finishedAt = now", async () => {
      const { store, insert } = await ctx.setup();
      const job = await insert({ state: "running" });
      const error = attemptError(1, T0 + 5, "cancel");
      expect(await finishOne(store, job, { type: "cancel", error }, T0 + 5)).toBe(true);
      expect(await mustGet(store, job.id)).toMatchObject({
        state: "cancelled",
        errors: [error],
        finishedAt: T0 + 5,
        attempt: 1,
        ...NO_LEASE,
      });
    });

    it("release: available at now, attempt given back, cancel request cleared", async () => {
      const { store, insert } = await ctx.setup();
      const job = await insert({ state: "running", runAt: T0 - 100 });
      await store.jobCancel({ id: job.id, now: T0 + 1 });
      expect(await finishOne(store, job, { type: "release" }, T0 + 7)).toBe(true);
      expect(await mustGet(store, job.id)).toMatchObject({
        state: "available",
        runAt: T0 + 7,
        attempt: 0,
        errors: [],
        finishedAt: null,
        ...NO_LEASE,
      });
    });

    it("stores progress as the final progress when given, and keeps it when not", async () => {
      const { store, insert } = await ctx.setup();
      const a = await insert({ state: "running" });
      const b = await insert({ state: "running", queue: "b" });
      expect(await store.jobReport({ id: a.id, token: a.leaseToken!, progress: 40 })).toBe(true);
      expect(await store.jobReport({ id: b.id, token: b.leaseToken!, progress: { step: "two" } })).toBe(true);
      await finishOne(store, a, { type: "complete", result: 1 }, T0, { progress: TRICKY_JSON });
      await finishOne(store, b, { type: "complete", result: 1 }, T0);
      expect((await mustGet(store, a.id)).progress).toEqual(TRICKY_JSON);
      expect((await mustGet(store, b.id)).progress).toEqual({ step: "two" });
    });

    it("appends finish logs after the reported ones, across attempts", async () => {
      const { store, insert } = await ctx.setup();
      const job = await insert({ state: "running" });
      const line = (attempt: number, message: string, at = T0) => ({
        at,
        attempt,
        level: "info" as const,
        message,
      });
      await store.jobReport({ id: job.id, token: job.leaseToken!, logs: [line(1, "a"), line(1, "b")] });
      const retry = { type: "retry" as const, runAt: T0, error: attemptError(1, T0) };
      await finishOne(store, job, retry, T0, { logs: [line(1, "c")] });
      const [again] = await claim(store, T0 + 1);
      await store.jobReport({
        id: job.id,
        token: again!.leaseToken!,
        logs: [{ ...line(2, "d"), level: "warn" }],
      });
      await finishOne(store, again!, { type: "complete", result: null }, T0 + 2, {
        logs: [line(2, "é 🎉", T0 + 2)],
      });
      expect((await mustGet(store, job.id)).logs).toEqual([
        line(1, "a"),
        line(1, "b"),
        line(1, "c"),
        { ...line(2, "d"), level: "warn" },
        line(2, "é 🎉", T0 + 2),
      ]);
    });

    it("counts attempts: claim adds one, snooze and release give it back, failures keep it", async () => {
      const { store, insert } = await ctx.setup();
      const job = await insert({ state: "running", maxAttempts: 10 });
      const attemptAfter = async (
        outcome: Parameters<typeof finishOne>[2],
        now: number,
      ): Promise<JobRecord> => {
        const current = await mustGet(store, job.id);
        expect(await finishOne(store, current, outcome, now)).toBe(true);
        const [next] = await claim(store, now);
        expect(next?.id).toBe(job.id);
        return next!;
      };
      expect((await attemptAfter({ type: "retry", runAt: T0, error: attemptError(1, T0) }, T0)).attempt).toBe(
        2,
      );
      expect((await attemptAfter({ type: "snooze", runAt: T0 }, T0)).attempt).toBe(2);
      expect((await attemptAfter({ type: "release" }, T0)).attempt).toBe(2);
      expect((await attemptAfter({ type: "retry", runAt: T0, error: attemptError(2, T0) }, T0)).attempt).toBe(
        3,
      );
    });

    it("keeps the error history oldest first", async () => {
      const { store, insert } = await ctx.setup();
      const job = await insert({ state: "running" });
      const e1 = attemptError(1, T0);
      await finishOne(store, job, { type: "retry", runAt: T0 + 10, error: e1 }, T0);
      const [second] = await claim(store, T0 + 10);
      const e2 = { ...attemptError(2, T0 + 10), kind: "timeout" as const, name: "JobTimeoutError" };
      await finishOne(store, second!, { type: "retry", runAt: T0 + 20, error: e2 }, T0 + 10);
      const [third] = await claim(store, T0 + 20);
      const e3 = { attempt: 3, at: T0 + 20, kind: "crash" as const, message: "exit 1", name: "CrashError" };
      await finishOne(store, third!, { type: "discard", error: e3 }, T0 + 20);
      expect((await mustGet(store, job.id)).errors).toEqual([e1, e2, e3]);
    });

    it("applies nothing without the current lease; reports it per update, in order", async () => {
      const { store, insert } = await ctx.setup();
      const running = await insert({ state: "running" });
      const other = await insert({ state: "running", queue: "other" });
      const before = await mustGet(store, running.id);
      const { applied } = await store.jobFinishMany({
        updates: [
          { id: running.id, token: "not-the-token", outcome: { type: "complete", result: 1 } },
          { id: other.id, token: other.leaseToken!, outcome: { type: "complete", result: 2 } },
          { id: "999999999", token: "x", outcome: { type: "complete", result: 3 } },
          {
            id: other.id,
            token: other.leaseToken!,
            outcome: { type: "discard", error: attemptError(1, T0) },
          },
        ],
        now: T0 + 1,
      });
      expect(applied).toEqual([false, true, false, false]);
      expect(await mustGet(store, running.id)).toEqual(before);
      expect(await mustGet(store, other.id)).toMatchObject({ state: "completed", result: 2, errors: [] });
    });

    it("refuses every outcome for a job that is not running, leaving it unchanged", async () => {
      const { store, insert } = await ctx.setup();
      const outcomes = [
        { type: "complete", result: 1 },
        { type: "retry", runAt: T0, error: attemptError(1, T0) },
        { type: "discard", error: attemptError(1, T0) },
        { type: "snooze", runAt: T0 },
        { type: "cancel", error: attemptError(1, T0, "cancel") },
        { type: "release" },
      ] as const;
      for (const state of [
        "scheduled",
        "available",
        "retryable",
        "completed",
        "cancelled",
        "discarded",
      ] as const) {
        const job = await insert({ state, queue: state });
        // A finished job's old token must not work either.
        const token = (await mustGet(store, job.id)).leaseToken ?? "stale-token";
        for (const outcome of outcomes) {
          expect(await finishOne(store, { id: job.id, leaseToken: token }, outcome, T0 + 1)).toBe(false);
        }
        expect(await mustGet(store, job.id)).toEqual(job);
      }
    });

    it("ignores a token from an earlier attempt of the same job", async () => {
      const { store, insert } = await ctx.setup();
      const first = await insert({ state: "running" });
      await finishOne(store, first, { type: "release" }, T0);
      const [second] = await claim(store, T0);
      expect(await finishOne(store, first, { type: "complete", result: "old" }, T0)).toBe(false);
      expect(await finishOne(store, second!, { type: "complete", result: "new" }, T0)).toBe(true);
      expect(await finishOne(store, second!, { type: "complete", result: "twice" }, T0)).toBe(false);
      expect((await mustGet(store, first.id)).result).toBe("new");
    });

    it("claims in the same call after applying the updates", async () => {
      const { store, insert } = await ctx.setup();
      const done = await insert({ state: "running" });
      const released = await insert({ state: "running", queue: "q2" });
      const waiting = await insert({ runAt: T0 - 10 });
      const due = await insert({ state: "scheduled", runAt: T0 + 50 });
      const { applied, claimed } = await store.jobFinishMany({
        updates: [
          { id: done.id, token: done.leaseToken!, outcome: { type: "complete", result: null } },
          { id: released.id, token: released.leaseToken!, outcome: { type: "release" } },
        ],
        now: T0 + 50,
        claim: { queues: ["default", "q2"], names: ["test-job"], owner: "w2", limit: 10, leaseMs: 1_000 },
      });
      expect(applied).toEqual([true, true]);
      expect(claimed.map((j) => j.id).sort()).toEqual([waiting.id, released.id, due.id].sort());
      expect(claimed.map((j) => j.id)[0]).toBe(waiting.id);
      for (const job of claimed) {
        expect(job).toMatchObject({ state: "running", leaseOwner: "w2", leaseExpiresAt: T0 + 1_050 });
      }
      expect((await mustGet(store, released.id)).attempt).toBe(1);
      const none = await store.jobFinishMany({
        updates: [],
        now: T0,
        claim: { queues: ["default"], names: ["test-job"], owner: "w2", limit: 10, leaseMs: 1_000 },
      });
      expect(none).toEqual({ applied: [], claimed: [], nextRunAt: null });
    });

    it("a short claim also answers jobNextRunAt for its queues; a full one leaves nextRunAt out", async () => {
      const { store, insert } = await ctx.setup();
      const claimOf = (limit: number) => ({
        queues: ["default", "q2"],
        names: ["test-job"],
        owner: "w2",
        limit,
        leaseMs: 1_000,
      });
      const running = await insert({ state: "running" });
      await insert({ runAt: T0 - 10 });
      await insert({ runAt: T0 - 5 });
      await insert({ state: "scheduled", runAt: T0 + 900, queue: "q2" });
      await insert({ state: "scheduled", runAt: T0 + 700, queue: "elsewhere" });
      const full = await store.jobFinishMany({
        updates: [
          {
            id: running.id,
            token: running.leaseToken!,
            outcome: { type: "retry", runAt: T0 + 500, error: attemptError(1, T0) },
          },
        ],
        now: T0,
        claim: claimOf(2),
      });
      expect(full.claimed).toHaveLength(2);
      expect(full.nextRunAt).toBeUndefined();
      // The retry just written (T0 + 500) is the earliest in the claim's queues ("elsewhere" is not one).
      const short = await store.jobFinishMany({ updates: [], now: T0 + 1, claim: claimOf(5) });
      expect(short).toEqual({ applied: [], claimed: [], nextRunAt: T0 + 500 });
      expect(short.nextRunAt).toBe(
        await store.jobNextRunAt({ queues: ["default", "q2"], names: ["test-job"], now: T0 + 1 }),
      );
      const withoutClaim = await store.jobFinishMany({ updates: [], now: T0 + 1 });
      expect(withoutClaim.nextRunAt).toBeUndefined();
    });
  });
}
