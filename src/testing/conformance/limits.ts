/**
 * Conformance: per-type `maxConcurrency` (from the latest registration of the type), enforced at claim across
 * every owner and queue; types without it are not limited.
 */
import { describe, expect, it } from "vitest";
import type { Store } from "../../store/store.js";
import { type ConformanceContext, claim, finishOne, T0 } from "./context.js";
import { jobInsertParams } from "./fixtures.js";

async function register(store: Store, name: string, maxConcurrency?: number, queue = "default") {
  await store.jobTypeRegister({
    types: [{ name, queue, defaults: maxConcurrency === undefined ? {} : { maxConcurrency } }],
    now: T0,
  });
}

async function insertMany(store: Store, name: string, n: number, queue = "default") {
  await store.jobInsertMany({ jobs: Array.from({ length: n }, () => jobInsertParams({ name, queue })) });
}

/** Registers the limit tests. */
export function limitTests(ctx: ConformanceContext): void {
  describe("limits: maxConcurrency", () => {
    it("claims no more running jobs of a type than its maxConcurrency, across owners", async () => {
      const { store } = await ctx.setup();
      await register(store, "test-job", 2);
      await insertMany(store, "test-job", 5);
      const first = await claim(store, T0, { owner: "a" });
      expect(first).toHaveLength(2);
      expect(await claim(store, T0, { owner: "b" })).toEqual([]);
      await finishOne(store, first[0]!, { type: "complete", result: null }, T0);
      expect(await claim(store, T0, { owner: "b" })).toHaveLength(1);
      expect((await store.jobCount({})).running).toBe(2);
    });

    it("counts running jobs of the type in every queue", async () => {
      const { store } = await ctx.setup();
      await register(store, "test-job", 3);
      await insertMany(store, "test-job", 2, "q1");
      await insertMany(store, "test-job", 2, "q2");
      expect(await claim(store, T0, { queues: ["q1"] })).toHaveLength(2);
      expect(await claim(store, T0, { queues: ["q1", "q2"] })).toHaveLength(1);
    });

    it("leaves other types unlimited and claims them while the limited type is full", async () => {
      const { store } = await ctx.setup();
      await register(store, "limited", 1);
      await insertMany(store, "limited", 3);
      await insertMany(store, "free", 3);
      const claimed = await claim(store, T0, { names: ["limited", "free"], limit: 10 });
      expect(claimed.filter((j) => j.name === "limited")).toHaveLength(1);
      expect(claimed.filter((j) => j.name === "free")).toHaveLength(3);
    });

    it("follows the latest registration: a re-registration without it lifts the limit", async () => {
      const { store } = await ctx.setup();
      await register(store, "test-job", 1);
      await insertMany(store, "test-job", 3);
      expect(await claim(store, T0)).toHaveLength(1);
      await register(store, "test-job");
      expect(await claim(store, T0)).toHaveLength(2);
      expect((await store.jobTypeList())[0]?.defaults).toEqual({});
    });

    it("limits grouped jobs of the type too", async () => {
      const { store } = await ctx.setup();
      await register(store, "test-job", 2);
      for (const key of ["a", "b", "c"]) {
        await store.jobInsert(jobInsertParams({ group: { key, concurrency: 1, onFailure: "hold" } }));
      }
      await insertMany(store, "test-job", 2);
      expect(await claim(store, T0)).toHaveLength(2);
      expect(await claim(store, T0)).toEqual([]);
    });
  });
}
