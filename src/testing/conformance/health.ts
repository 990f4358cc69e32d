/**
 * Conformance: `storeHealth`, shape only. What each store checks is its own (and tested with it); every store
 * answers with well-formed checks and a clock that is either absent or the real time.
 */
import { describe, expect, it } from "vitest";
import { type ConformanceContext, T0 } from "./context.js";

/** Registers the health tests. */
export function healthTests(ctx: ConformanceContext): void {
  describe("health", () => {
    it("returns well-formed checks with unique names, and a real clock or none", async () => {
      const { store } = await ctx.setup();
      const before = Date.now();
      const health = await store.storeHealth({ now: before });
      const after = Date.now();
      expect(Array.isArray(health.checks)).toBe(true);
      expect(health.checks.length).toBeGreaterThan(0);
      for (const check of health.checks) {
        expect(Object.keys(check).sort()).toEqual(["detail", "name", "status"]);
        expect(check.name).toMatch(/^[a-z][a-z0-9-]*$/);
        expect(["ok", "warn", "fail"]).toContain(check.status);
        expect(typeof check.detail).toBe("string");
        expect(check.detail.trim()).not.toBe("");
        expect(check.detail).not.toContain("\n");
      }
      const names = health.checks.map((c) => c.name);
      expect(new Set(names).size).toBe(names.length);
      if (health.serverTime !== null) {
        expect(Number.isFinite(health.serverTime)).toBe(true);
        // The store's clock is a wall clock (the test's store runs beside it), not the `now` passed in.
        expect(health.serverTime).toBeGreaterThan(before - 60_000);
        expect(health.serverTime).toBeLessThan(after + 60_000);
      }
    });

    it("does not depend on the now passed in, and leaves the jobs alone", async () => {
      const { store, insert } = await ctx.setup();
      const job = await insert();
      const first = await store.storeHealth({ now: T0 });
      const second = await store.storeHealth({ now: T0 + 86_400_000 });
      expect(second.checks.map((c) => [c.name, c.status])).toEqual(
        first.checks.map((c) => [c.name, c.status]),
      );
      expect(await store.jobGet({ id: job.id })).toEqual(job);
    });

    it("fails with ClosedError after close", async () => {
      const { store } = await ctx.setup();
      await store.close();
      await expect(store.storeHealth({ now: T0 })).rejects.toMatchObject({ code: "ERR_CLOSED" });
    });
  });
}
