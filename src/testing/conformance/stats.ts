/**
 * Conformance: per-queue, per-minute outcome counts (`statsList`), written by `jobFinishMany` and `jobRescue`
 * in the same atomic step as the transitions they count.
 */
import { describe, expect, it } from "vitest";
import type { QueueMinuteStats } from "../../store/store.js";
import { attemptError, type ConformanceContext, finishOne, T0 } from "./context.js";

const MINUTE = 60_000;
/** Start of the minute holding T0 (T0 is not on a minute boundary). */
const M0 = T0 - (T0 % MINUTE);
const ZERO = { completed: 0, retried: 0, discarded: 0, cancelled: 0, rescued: 0 };

/** A row with zeros for the counts not given. */
function row(queue: string, minute: number, counts: Partial<typeof ZERO>): QueueMinuteStats {
  return { queue, minute, ...ZERO, ...counts };
}

/** Registers the stats tests. */
export function statsTests(ctx: ConformanceContext): void {
  describe("stats", () => {
    it("counts each applied outcome in the minute of now, per queue; snooze and release are not counted", async () => {
      const { store, insert } = await ctx.setup();
      expect(await store.statsList({ from: M0 - 10 * MINUTE, to: M0 + 10 * MINUTE })).toEqual([]);
      const at = T0 + 1_000;
      const outcomes = [
        { type: "complete", result: { ok: true } },
        { type: "complete", result: null },
        { type: "retry", runAt: at + 5_000, error: attemptError(1, at) },
        { type: "discard", error: attemptError(1, at) },
        { type: "cancel", error: attemptError(1, at, "cancel") },
        { type: "snooze", runAt: at + 5_000 },
        { type: "release" },
      ] as const;
      for (const [i, outcome] of outcomes.entries()) {
        const job = await insert({ state: "running", queue: "q", name: `job-${i}` });
        expect(await finishOne(store, job, outcome, at)).toBe(true);
      }
      expect(await store.statsList({ from: M0, to: M0 + MINUTE })).toEqual([
        row("q", M0, { completed: 2, retried: 1, discarded: 1, cancelled: 1 }),
      ]);
    });

    it("one batch counts every applied update; updates whose lease is not held count nothing", async () => {
      const { store, insert } = await ctx.setup();
      const a = await insert({ state: "running", queue: "a", name: "x" });
      const a2 = await insert({ state: "running", queue: "a", name: "y" });
      const b = await insert({ state: "running", queue: "b" });
      const gone = await insert({ state: "running", queue: "b", name: "z" });
      expect(await finishOne(store, gone, { type: "complete", result: null }, T0)).toBe(true);
      const { applied } = await store.jobFinishMany({
        updates: [
          { id: a.id, token: a.leaseToken!, outcome: { type: "complete", result: 1 } },
          { id: a2.id, token: a2.leaseToken!, outcome: { type: "complete", result: 2 } },
          { id: b.id, token: b.leaseToken!, outcome: { type: "discard", error: attemptError(1, T0) } },
          { id: gone.id, token: gone.leaseToken!, outcome: { type: "complete", result: 3 } },
          { id: b.id, token: "stale-token", outcome: { type: "complete", result: 4 } },
          { id: "999999999", token: "t", outcome: { type: "cancel", error: attemptError(1, T0, "cancel") } },
        ],
        now: T0,
        claim: { queues: ["a", "b"], names: ["x", "y", "test-job"], owner: "w", limit: 5, leaseMs: 1_000 },
      });
      expect(applied).toEqual([true, true, true, false, false, false]);
      expect(await store.statsList({ from: M0, to: M0 + MINUTE })).toEqual([
        row("a", M0, { completed: 2 }),
        row("b", M0, { completed: 1, discarded: 1 }),
      ]);
    });

    it("rescue counts rescued for every job it acts on, plus discarded or cancelled", async () => {
      const { store, insert } = await ctx.setup();
      await insert({ state: "running", queue: "r", name: "again", leaseMs: 1_000 });
      await insert({ state: "running", queue: "r", name: "dead", maxStalls: 0, leaseMs: 1_000 });
      const stopping = await insert({ state: "running", queue: "c", leaseMs: 1_000 });
      await store.jobCancel({ id: stopping.id, now: T0 });
      await insert({ state: "running", queue: "alive", leaseMs: 600_000 });
      const at = M0 + 2 * MINUTE + 5;
      const result = await store.jobRescue({ now: at, limit: 10 });
      expect(result.rescued).toHaveLength(1);
      expect(result.discarded).toHaveLength(1);
      expect(result.cancelled).toEqual([stopping.id]);
      expect(await store.statsList({ from: M0, to: M0 + 10 * MINUTE })).toEqual([
        row("c", M0 + 2 * MINUTE, { rescued: 1, cancelled: 1 }),
        row("r", M0 + 2 * MINUTE, { rescued: 2, discarded: 1 }),
      ]);
    });

    it("returns the minutes in [from, to) that have counts, by minute then queue; queue filters", async () => {
      const { store, insert } = await ctx.setup();
      const finishAt = async (queue: string, name: string, now: number) => {
        const job = await insert({ state: "running", queue, name, now: T0 });
        expect(await finishOne(store, job, { type: "complete", result: null }, now)).toBe(true);
      };
      await finishAt("b", "j1", M0);
      await finishAt("a", "j2", M0 + MINUTE - 1);
      await finishAt("a", "j3", M0 + MINUTE);
      await finishAt("b", "j4", M0 + 3 * MINUTE + 30_000);
      await finishAt("a", "j5", M0 + 3 * MINUTE + 59_999);
      const all = [
        row("a", M0, { completed: 1 }),
        row("b", M0, { completed: 1 }),
        row("a", M0 + MINUTE, { completed: 1 }),
        row("a", M0 + 3 * MINUTE, { completed: 1 }),
        row("b", M0 + 3 * MINUTE, { completed: 1 }),
      ];
      expect(await store.statsList({ from: M0, to: M0 + 4 * MINUTE })).toEqual(all);
      expect(await store.statsList({ from: M0 - 60 * MINUTE, to: M0 + 60 * MINUTE })).toEqual(all);
      expect(await store.statsList({ from: M0 + MINUTE, to: M0 + 3 * MINUTE })).toEqual([all[2]]);
      expect(await store.statsList({ from: M0 + 1, to: M0 + 3 * MINUTE + 1 })).toEqual(all.slice(2));
      expect(await store.statsList({ from: M0, to: M0 })).toEqual([]);
      expect(await store.statsList({ from: M0, to: M0 + 4 * MINUTE, queue: "a" })).toEqual(
        all.filter((r) => r.queue === "a"),
      );
      expect(await store.statsList({ from: M0, to: M0 + 4 * MINUTE, queue: "none" })).toEqual([]);
    });

    it("queue names with separators and glob characters are counted apart", async () => {
      const { store, insert } = await ctx.setup();
      const queues = ["q:1", "q:1:*", "q{1}"];
      for (const queue of queues) {
        const job = await insert({ state: "running", queue });
        await finishOne(store, job, { type: "complete", result: null }, T0);
      }
      expect(await store.statsList({ from: M0, to: M0 + MINUTE })).toEqual(
        [...queues].sort().map((queue) => row(queue, M0, { completed: 1 })),
      );
      expect(await store.statsList({ from: M0, to: M0 + MINUTE, queue: "q:1:*" })).toEqual([
        row("q:1:*", M0, { completed: 1 }),
      ]);
    });

    it("counts written through another connection are seen by this one", async () => {
      const { store, insert, connect } = await ctx.setup();
      if (connect === undefined) return;
      const other = await connect();
      const job = await insert({ state: "running" });
      expect(await finishOne(other, job, { type: "complete", result: null }, T0)).toBe(true);
      expect(await store.statsList({ from: M0, to: M0 + MINUTE })).toEqual([
        row("default", M0, { completed: 1 }),
      ]);
    });

    it("fails with ClosedError after close", async () => {
      const { store } = await ctx.setup();
      await store.close();
      await expect(store.statsList({ from: M0, to: M0 + MINUTE })).rejects.toMatchObject({
        code: "ERR_CLOSED",
      });
    });
  });
}
