/**
 * Conformance: per-type `maxConcurrency` (from the latest registration of the type), enforced at claim across
 * every owner and queue; types without it are not limited. Rate limits (at most `max` claims in any window of
 * `windowMs`) per queue, per job type and per group, each applied at claim, window refill driven by `now`, and
 * the `jobNextRunAt` hint of when a full limit frees.
 */
import { describe, expect, it } from "vitest";
import type { JobTypeDefaults, Store } from "../../store/store.js";
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
  describe("limits: rate limits", () => {
    const W = 1_000;
    const registerWith = (store: Store, name: string, defaults: JobTypeDefaults, queue = "default") =>
      store.jobTypeRegister({ types: [{ name, queue, defaults }], now: T0 });
    const grouped = (key: string, name = "test-job") =>
      jobInsertParams({ name, group: { key, concurrency: 5, onFailure: "hold" } });

    it("per queue: at most max claims per window; held-back jobs stay available with no attempt used", async () => {
      const { store } = await ctx.setup();
      await store.queueRateLimit({ queue: "default", limit: { max: 3, windowMs: W } });
      await insertMany(store, "test-job", 5);
      expect(await claim(store, T0, { limit: 10 })).toHaveLength(3);
      expect(await claim(store, T0 + W - 1, { owner: "b" })).toEqual([]);
      const waiting = (await store.jobList({ state: "available", limit: 10 })).jobs;
      expect(waiting).toHaveLength(2);
      for (const job of waiting) expect(job).toMatchObject({ attempt: 0, attemptedAt: null });
      expect(await claim(store, T0 + W)).toHaveLength(2);
    });

    it("per queue: applies to every job type of the queue and not to other queues", async () => {
      const { store } = await ctx.setup();
      await store.queueRateLimit({ queue: "q1", limit: { max: 2, windowMs: W } });
      await insertMany(store, "a", 2, "q1");
      await insertMany(store, "b", 2, "q1");
      await insertMany(store, "a", 3, "q2");
      const claimed = await claim(store, T0, { queues: ["q1", "q2"], names: ["a", "b"] });
      expect(claimed.filter((j) => j.queue === "q1")).toHaveLength(2);
      expect(claimed.filter((j) => j.queue === "q2")).toHaveLength(3);
    });

    it("per queue: null lifts the limit; queueList shows it", async () => {
      const { store } = await ctx.setup();
      await store.queueRateLimit({ queue: "default", limit: { max: 1, windowMs: W } });
      expect((await store.queueList()).find((q) => q.name === "default")?.rateLimit).toEqual({
        max: 1,
        windowMs: W,
      });
      await insertMany(store, "test-job", 3);
      expect(await claim(store, T0)).toHaveLength(1);
      await store.queueRateLimit({ queue: "default", limit: null });
      expect((await store.queueList()).find((q) => q.name === "default")?.rateLimit).toBeUndefined();
      expect(await claim(store, T0)).toHaveLength(2);
    });

    it("per job type: from the latest registration, store-wide; other types are not limited", async () => {
      const { store } = await ctx.setup();
      await registerWith(store, "limited", { rateLimit: { max: 2, windowMs: W } });
      await insertMany(store, "limited", 3, "q1");
      await insertMany(store, "limited", 3, "q2");
      await insertMany(store, "free", 3, "q1");
      const first = await claim(store, T0, { queues: ["q1"], names: ["limited", "free"] });
      expect(first.filter((j) => j.name === "limited")).toHaveLength(2);
      expect(first.filter((j) => j.name === "free")).toHaveLength(3);
      expect(await claim(store, T0 + 1, { queues: ["q2"], names: ["limited"], owner: "b" })).toEqual([]);
      expect(await claim(store, T0 + W, { queues: ["q2"], names: ["limited"] })).toHaveLength(2);
      await registerWith(store, "limited", {});
      expect(await claim(store, T0 + W, { queues: ["q1", "q2"], names: ["limited"] })).toHaveLength(2);
    });

    it("per group: each group key has its own window", async () => {
      const { store } = await ctx.setup();
      await registerWith(store, "test-job", {
        group: { concurrency: 5, rateLimit: { max: 1, windowMs: W } },
      });
      for (const key of ["a", "a", "a", "b", "b"]) await store.jobInsert(grouped(key));
      const first = await claim(store, T0);
      expect(first.map((j) => j.group).sort()).toEqual(["a", "b"]);
      expect(await claim(store, T0 + W / 2)).toEqual([]);
      // Running jobs do not matter: the window does.
      const next = await claim(store, T0 + W);
      expect(next.map((j) => j.group).sort()).toEqual(["a", "b"]);
      expect((await claim(store, T0 + 2 * W)).map((j) => j.group)).toEqual(["a"]);
    });

    it("combined: a claim takes only what every applicable limit allows", async () => {
      const { store } = await ctx.setup();
      await store.queueRateLimit({ queue: "default", limit: { max: 3, windowMs: W } });
      await registerWith(store, "x", { rateLimit: { max: 2, windowMs: W } });
      await insertMany(store, "x", 3);
      await insertMany(store, "y", 3);
      const claimed = await claim(store, T0, { names: ["x", "y"], limit: 10 });
      expect(claimed).toHaveLength(3);
      expect(claimed.filter((j) => j.name === "x")).toHaveLength(2);
      expect(await claim(store, T0, { names: ["x", "y"] })).toEqual([]);
      // A claim inside jobFinishMany obeys the limits too.
      const { claimed: more } = await store.jobFinishMany({
        updates: [
          {
            id: claimed[0]!.id,
            token: claimed[0]!.leaseToken ?? "",
            outcome: { type: "complete", result: 1 },
          },
        ],
        now: T0 + 1,
        claim: { queues: ["default"], names: ["x", "y"], owner: "w", limit: 10, leaseMs: 30_000 },
      });
      expect(more).toEqual([]);
    });

    it("a sliding window: each claim frees its place exactly windowMs after it was made", async () => {
      const { store } = await ctx.setup();
      await store.queueRateLimit({ queue: "default", limit: { max: 2, windowMs: W } });
      await insertMany(store, "test-job", 6);
      expect(await claim(store, T0, { limit: 1 })).toHaveLength(1);
      expect(await claim(store, T0 + 600)).toHaveLength(1);
      expect(await claim(store, T0 + 999)).toEqual([]);
      expect(await claim(store, T0 + 1_000)).toHaveLength(1);
      expect(await claim(store, T0 + 1_599)).toEqual([]);
      expect(await claim(store, T0 + 1_600)).toHaveLength(1);
      expect(await claim(store, T0 + 5_000)).toHaveLength(2);
    });

    it("jobNextRunAt with now: when a full limit that applies frees", async () => {
      const { store } = await ctx.setup();
      await store.queueRateLimit({ queue: "q1", limit: { max: 1, windowMs: W } });
      await registerWith(store, "typed", { rateLimit: { max: 1, windowMs: 2 * W } }, "q2");
      await registerWith(store, "test-job", { group: { rateLimit: { max: 1, windowMs: 3 * W } } }, "q3");
      await insertMany(store, "test-job", 2, "q1");
      await insertMany(store, "typed", 2, "q2");
      await store.jobInsert({ ...grouped("g"), queue: "q3" });
      await store.jobInsert({ ...grouped("g"), queue: "q3" });
      const all = { queues: ["q1", "q2", "q3"], names: ["test-job", "typed"] };
      expect(await store.jobNextRunAt({ ...all, now: T0 })).toBeNull();
      expect(await claim(store, T0, { ...all, limit: 10 })).toHaveLength(3);
      expect(await store.jobNextRunAt({ queues: ["q1"], names: ["test-job"], now: T0 + 10 })).toBe(T0 + W);
      expect(await store.jobNextRunAt({ queues: ["q2"], names: ["typed"], now: T0 + 10 })).toBe(T0 + 2 * W);
      expect(await store.jobNextRunAt({ queues: ["q2"], names: [], now: T0 + 10 })).toBeNull();
      expect(await store.jobNextRunAt({ queues: ["q3"], names: ["test-job"], now: T0 + 10 })).toBe(
        T0 + 3 * W,
      );
      expect(await store.jobNextRunAt({ ...all, now: T0 + 10 })).toBe(T0 + W);
      // Without now, only run times; once a limit has freed it is no longer reported.
      expect(await store.jobNextRunAt({ queues: ["q1"] })).toBeNull();
      expect(await store.jobNextRunAt({ ...all, now: T0 + W })).toBe(T0 + 2 * W);
      // A scheduled job due earlier comes first.
      await store.jobInsert(jobInsertParams({ queue: "q1", runAt: T0 + 500, now: T0 + 10 }));
      expect(await store.jobNextRunAt({ ...all, now: T0 + 10 })).toBe(T0 + 500);
    });

    it("a short claim in jobFinishMany reports when a full limit that holds its jobs back frees", async () => {
      const { store } = await ctx.setup();
      await store.queueRateLimit({ queue: "q1", limit: { max: 1, windowMs: W } });
      await insertMany(store, "test-job", 2, "q1");
      const claimOf = { queues: ["q1"], names: ["test-job"], owner: "w", limit: 5, leaseMs: 30_000 };
      const first = await store.jobFinishMany({ updates: [], now: T0, claim: claimOf });
      expect(first.claimed).toHaveLength(1);
      expect(first.nextRunAt).toBe(T0 + W);
      const held = await store.jobFinishMany({ updates: [], now: T0 + 10, claim: claimOf });
      expect(held).toEqual({ applied: [], claimed: [], nextRunAt: T0 + W });
    });

    it("limits and their windows are persisted: a second instance sees them", async () => {
      const bundle = await ctx.setup();
      if (bundle.connect === undefined) return;
      const { store } = bundle;
      await store.queueRateLimit({ queue: "default", limit: { max: 3, windowMs: W } });
      await registerWith(store, "test-job", { rateLimit: { max: 2, windowMs: W } });
      await insertMany(store, "test-job", 5);
      const other = await bundle.connect();
      expect((await other.queueList()).find((q) => q.name === "default")?.rateLimit).toEqual({
        max: 3,
        windowMs: W,
      });
      expect(await claim(store, T0, { limit: 1 })).toHaveLength(1);
      expect(await claim(other, T0 + 1, { owner: "b" })).toHaveLength(1);
      expect(await claim(store, T0 + 2)).toEqual([]);
      expect(await other.jobNextRunAt({ queues: ["default"], names: ["test-job"], now: T0 + 2 })).toBe(
        T0 + W,
      );
    });
  });
}
