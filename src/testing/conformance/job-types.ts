/** Conformance: `jobTypeRegister` and `jobTypeList`. */
import { describe, expect, it } from "vitest";
import { type ConformanceContext, T0 } from "./context.js";

/** Registers the job type tests. */
export function jobTypeTests(ctx: ConformanceContext): void {
  describe("job types", () => {
    it("lists registered job types by name, with queue and last registration time", async () => {
      const { store } = await ctx.setup();
      expect(await store.jobTypeList()).toEqual([]);
      await store.jobTypeRegister({
        types: [
          { name: "send-email", queue: "mail" },
          { name: "analyse", queue: "default" },
        ],
        now: T0,
      });
      await store.jobTypeRegister({ types: [], now: T0 + 1 });
      expect(await store.jobTypeList()).toEqual([
        { name: "analyse", queue: "default", defaults: {}, seenAt: T0 },
        { name: "send-email", queue: "mail", defaults: {}, seenAt: T0 },
      ]);
    });

    it("a later registration updates seenAt and the queue of a known name", async () => {
      const { store } = await ctx.setup();
      await store.jobTypeRegister({ types: [{ name: "a", queue: "q1" }], now: T0 });
      await store.jobTypeRegister({ types: [{ name: "b", queue: "q1" }], now: T0 + 5 });
      await store.jobTypeRegister({ types: [{ name: "a", queue: "q2" }], now: T0 + 10 });
      expect(await store.jobTypeList()).toEqual([
        { name: "a", queue: "q2", defaults: {}, seenAt: T0 + 10 },
        { name: "b", queue: "q1", defaults: {}, seenAt: T0 + 5 },
      ]);
    });

    it("keeps each type's defaults, replaced whole by a later registration", async () => {
      const { store } = await ctx.setup();
      const defaults = { lifo: true, maxAttempts: 7, maxStalls: 2, priority: -3, timeoutMs: 1_500 };
      await store.jobTypeRegister({ types: [{ name: "a", queue: "q", defaults }], now: T0 });
      expect(await store.jobTypeList()).toEqual([{ name: "a", queue: "q", defaults, seenAt: T0 }]);
      await store.jobTypeRegister({
        types: [{ name: "a", queue: "q", defaults: { maxAttempts: 2 } }],
        now: T0 + 1,
      });
      expect((await store.jobTypeList())[0]?.defaults).toEqual({ maxAttempts: 2 });
    });
  });
}
