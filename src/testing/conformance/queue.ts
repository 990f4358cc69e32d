/** Conformance: `queuePause`, `queueResume` and `queueList`. */
import { describe, expect, it } from "vitest";
import { JOB_STATES } from "../../job/states.js";
import { type ConformanceContext, claim, T0 } from "./context.js";

/** Registers the queue tests. */
export function queueTests(ctx: ConformanceContext): void {
  describe("queue", () => {
    it("claims skip a paused queue until it is resumed; inserts still go in", async () => {
      const { store, insert } = await ctx.setup();
      await insert({ queue: "p", data: "before" });
      await insert({ queue: "open", data: "open" });
      await store.queuePause({ queue: "p" });
      await store.queuePause({ queue: "p" });
      const during = await insert({ queue: "p", data: "during" });
      expect(during.state).toBe("available");
      expect((await claim(store, T0, { queues: ["p", "open"] })).map((j) => j.data)).toEqual(["open"]);
      await store.queueResume({ queue: "p" });
      expect((await claim(store, T0, { queues: ["p", "open"] })).map((j) => j.data)).toEqual([
        "before",
        "during",
      ]);
      await store.queueResume({ queue: "p" });
      await store.queueResume({ queue: "never-paused" });
    });

    it("finish + claim also skips paused queues", async () => {
      const { store, insert } = await ctx.setup();
      await insert({ queue: "p" });
      await store.queuePause({ queue: "p" });
      const { claimed } = await store.jobFinishMany({
        updates: [],
        now: T0,
        claim: { queues: ["p"], names: ["test-job"], owner: "w", limit: 10, leaseMs: 1_000 },
      });
      expect(claimed).toEqual([]);
    });

    it("lists every queue that holds jobs, is paused or has a job type, by name, with counts", async () => {
      const { store, insert } = await ctx.setup();
      expect(await store.queueList()).toEqual([]);
      const zero = Object.fromEntries(JOB_STATES.map((s) => [s, 0]));
      await insert({ queue: "zeta" });
      await insert({ queue: "alpha", state: "running" });
      await insert({ queue: "alpha", state: "scheduled" });
      await store.queuePause({ queue: "mid" });
      await store.queuePause({ queue: "zeta" });
      await store.jobTypeRegister({ types: [{ name: "t", queue: "beta" }], now: T0 });
      await store.queuePause({ queue: "gone" });
      await store.queueResume({ queue: "gone" });
      expect(await store.queueList()).toEqual([
        { name: "alpha", paused: false, counts: { ...zero, running: 1, scheduled: 1 } },
        { name: "beta", paused: false, counts: zero },
        { name: "mid", paused: true, counts: zero },
        { name: "zeta", paused: true, counts: { ...zero, available: 1 } },
      ]);
    });

    it("keeps listing a queue whose jobs are all final, and drops one whose jobs were all deleted", async () => {
      const { store, insert } = await ctx.setup();
      await insert({ queue: "done", state: "completed" });
      const job = await insert({ queue: "emptied" });
      await store.jobDelete({ id: job.id });
      expect((await store.queueList()).map((q) => q.name)).toEqual(["done"]);
    });
  });
}
