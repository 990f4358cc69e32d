/** Conformance: `jobStage` and `jobNextRunAt`. */
import { describe, expect, it } from "vitest";
import { type ConformanceContext, mustGet, T0 } from "./context.js";

/** Registers the stage tests. */
export function stageTests(ctx: ConformanceContext): void {
  describe("stage", () => {
    it("moves scheduled and retryable jobs with runAt <= now to available, keeping runAt", async () => {
      const { store, insert } = await ctx.setup();
      const scheduled = await insert({ state: "scheduled", runAt: T0 + 100 });
      const retryable = await insert({ state: "retryable", queue: "other", retryAt: T0 + 50 });
      const later = await insert({ state: "scheduled", runAt: T0 + 101 });
      const laterRetry = await insert({ state: "retryable", queue: "third", retryAt: T0 + 500 });
      expect(await store.jobStage({ now: T0 + 49 })).toBe(0);
      expect(await store.jobStage({ now: T0 + 100 })).toBe(2);
      expect(await mustGet(store, scheduled.id)).toMatchObject({ state: "available", runAt: T0 + 100 });
      expect(await mustGet(store, retryable.id)).toMatchObject({
        state: "available",
        runAt: T0 + 50,
        attempt: 1,
      });
      expect((await mustGet(store, later.id)).state).toBe("scheduled");
      expect((await mustGet(store, laterRetry.id)).state).toBe("retryable");
      expect(await store.jobStage({ now: T0 + 100 })).toBe(0);
    });

    it("stages jobs of paused queues too (pausing only stops claims)", async () => {
      const { store, insert } = await ctx.setup();
      const job = await insert({ state: "scheduled", queue: "paused", runAt: T0 + 10 });
      await store.queuePause({ queue: "paused" });
      expect(await store.jobStage({ now: T0 + 10 })).toBe(1);
      expect((await mustGet(store, job.id)).state).toBe("available");
    });

    it("nextRunAt is the earliest runAt of scheduled or retryable jobs in the given queues", async () => {
      const { store, insert } = await ctx.setup();
      expect(await store.jobNextRunAt({ queues: ["default"] })).toBeNull();
      await insert({ state: "scheduled", runAt: T0 + 300 });
      await insert({ state: "retryable", queue: "q2", retryAt: T0 + 200 });
      await insert({ state: "scheduled", queue: "q3", runAt: T0 + 100 });
      await insert({ state: "completed", queue: "q2" });
      await insert({ queue: "q2", runAt: T0 - 1_000 });
      expect(await store.jobNextRunAt({ queues: ["default"] })).toBe(T0 + 300);
      expect(await store.jobNextRunAt({ queues: ["default", "q2"] })).toBe(T0 + 200);
      expect(await store.jobNextRunAt({ queues: ["default", "q2", "q3"] })).toBe(T0 + 100);
      expect(await store.jobNextRunAt({ queues: ["nothing-here"] })).toBeNull();
      expect(await store.jobNextRunAt({ queues: [] })).toBeNull();
      await store.jobStage({ now: T0 + 250 });
      expect(await store.jobNextRunAt({ queues: ["default", "q2", "q3"] })).toBe(T0 + 300);
    });

    it("nextRunAt forgets jobs that were cancelled or deleted", async () => {
      const { store, insert } = await ctx.setup();
      const a = await insert({ state: "scheduled", runAt: T0 + 100 });
      const b = await insert({ state: "scheduled", runAt: T0 + 200 });
      await insert({ state: "scheduled", runAt: T0 + 300 });
      await store.jobCancel({ id: a.id, now: T0 });
      expect(await store.jobNextRunAt({ queues: ["default"] })).toBe(T0 + 200);
      await store.jobDelete({ id: b.id });
      expect(await store.jobNextRunAt({ queues: ["default"] })).toBe(T0 + 300);
    });
  });
}
