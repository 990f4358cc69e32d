/**
 * Conformance: groups (per-group FIFO). Jobs of one group in one queue run in id order, at most the group's
 * concurrency at a time; a waiting job holds its group ("hold") or steps aside ("continue"); ready groups are
 * served least recently served first. Every transition of a grouped job keeps the group right.
 */
import { describe, expect, it } from "vitest";
import type { GroupOnFailure, JobInsertParams, JobRecord, Store } from "../../store/store.js";
import {
  attemptError,
  type ConformanceContext,
  claim,
  eventually,
  finishOne,
  mustGet,
  T0,
} from "./context.js";
import { jobInsertParams } from "./fixtures.js";

interface GroupedOptions extends Partial<JobInsertParams> {
  concurrency?: number;
  onFailure?: GroupOnFailure;
}

/** Inserts a job tagged `data: tag` into group `key`. */
async function grouped(store: Store, key: string, tag: string, options: GroupedOptions = {}) {
  const { concurrency = 1, onFailure = "hold", ...rest } = options;
  const { job } = await store.jobInsert(
    jobInsertParams({ data: tag, group: { key, concurrency, onFailure }, ...rest }),
  );
  return job;
}

/** The tags of a claim at `now`. */
async function tags(store: Store, now: number, limit = 100): Promise<string[]> {
  return (await claim(store, now, { limit })).map((j) => j.data as string);
}

const complete = (store: Store, job: JobRecord, now = T0) =>
  finishOne(store, job, { type: "complete", result: null }, now);

/** Registers the group tests. */
export function groupTests(ctx: ConformanceContext): void {
  describe("groups", () => {
    it("records the group on the job; ungrouped jobs have null", async () => {
      const { store, insert } = await ctx.setup();
      const job = await grouped(store, "player:42", "a");
      expect(job.group).toBe("player:42");
      expect((await mustGet(store, job.id)).group).toBe("player:42");
      expect((await insert()).group).toBeNull();
    });

    it("runs one job of a group at a time, in enqueue order", async () => {
      const { store } = await ctx.setup();
      for (const tag of ["a1", "a2", "a3"]) await grouped(store, "a", tag);
      const [first, ...rest] = await claim(store, T0);
      expect(first?.data).toBe("a1");
      expect(rest).toEqual([]);
      expect(await claim(store, T0)).toEqual([]);
      await complete(store, first!);
      const [second] = await claim(store, T0);
      expect(second?.data).toBe("a2");
      await complete(store, second!);
      expect(await tags(store, T0)).toEqual(["a3"]);
    });

    it("runs different groups in parallel, next to ungrouped jobs", async () => {
      const { store, insert } = await ctx.setup();
      await grouped(store, "a", "a1");
      await grouped(store, "a", "a2");
      await grouped(store, "b", "b1");
      await insert({ data: "u1" });
      await grouped(store, "b", "b2");
      expect((await tags(store, T0)).sort()).toEqual(["a1", "b1", "u1"]);
    });

    it("runs up to the group's concurrency at once, the first ones by id", async () => {
      const { store } = await ctx.setup();
      for (let i = 1; i <= 5; i++) await grouped(store, "a", `a${i}`, { concurrency: 2 });
      const claimed = await claim(store, T0);
      expect(claimed.map((j) => j.data)).toEqual(["a1", "a2"]);
      await complete(store, claimed[1]!);
      expect(await tags(store, T0)).toEqual(["a3"]);
      await complete(store, claimed[0]!);
      expect(await tags(store, T0)).toEqual(["a4"]);
    });

    it("takes the concurrency of the group's latest insert", async () => {
      const { store } = await ctx.setup();
      await grouped(store, "a", "a1");
      await grouped(store, "a", "a2");
      await grouped(store, "a", "a3", { concurrency: 3 });
      expect(await tags(store, T0)).toEqual(["a1", "a2", "a3"]);
    });

    it("scopes groups to their queue", async () => {
      const { store } = await ctx.setup();
      await grouped(store, "g", "d1");
      await grouped(store, "g", "d2");
      await grouped(store, "g", "o1", { queue: "other" });
      const claimed = await claim(store, T0, { queues: ["default", "other"] });
      expect(claimed.map((j) => j.data).sort()).toEqual(["d1", "o1"]);
    });

    it("keeps id order within a group whatever the priority, lifo and runAt of its jobs", async () => {
      const { store } = await ctx.setup();
      await grouped(store, "a", "a1", { priority: 5, runAt: T0 - 10 });
      await grouped(store, "a", "a2", { priority: -5, lifo: true, runAt: T0 - 1_000 });
      const [first] = await claim(store, T0);
      expect(first?.data).toBe("a1");
      await complete(store, first!);
      expect(await tags(store, T0)).toEqual(["a2"]);
    });

    it("claims a ready group with a lower head priority first", async () => {
      const { store } = await ctx.setup();
      await grouped(store, "a", "a1", { priority: 3 });
      await grouped(store, "b", "b1", { priority: -1 });
      await grouped(store, "c", "c1", { priority: 1 });
      expect(await tags(store, T0, 1)).toEqual(["b1"]);
      expect(await tags(store, T0, 1)).toEqual(["c1"]);
      expect(await tags(store, T0, 1)).toEqual(["a1"]);
    });

    it("never claims one group's jobs beyond its concurrency in concurrent claims", async () => {
      const { store } = await ctx.setup();
      for (let i = 0; i < 10; i++) await grouped(store, "a", `a${i}`, { concurrency: 2 });
      const results = await Promise.all(
        Array.from({ length: 5 }, (_, i) => claim(store, T0, { owner: `w${i}`, limit: 3 })),
      );
      expect(results.flat().map((j) => j.data)).toEqual(expect.arrayContaining(["a0", "a1"]));
      expect(results.flat()).toHaveLength(2);
    });

    it("holds the group while the head is not in `names`", async () => {
      const { store } = await ctx.setup();
      await grouped(store, "a", "x1", { name: "other-job" });
      await grouped(store, "a", "a2");
      expect(await claim(store, T0)).toEqual([]);
      expect(await tags(store, T0, 10)).toEqual([]);
      const [x] = await claim(store, T0, { names: ["other-job", "test-job"] });
      expect(x?.data).toBe("x1");
    });

    it("claims the next job of the group in the same call that finishes the head", async () => {
      const { store } = await ctx.setup();
      await grouped(store, "a", "a1");
      await grouped(store, "a", "a2");
      const [head] = await claim(store, T0);
      const { applied, claimed } = await store.jobFinishMany({
        updates: [{ id: head!.id, token: head!.leaseToken!, outcome: { type: "complete", result: 1 } }],
        now: T0,
        claim: { queues: ["default"], names: ["test-job"], owner: "w", limit: 10, leaseMs: 30_000 },
      });
      expect(applied).toEqual([true]);
      expect(claimed.map((j) => j.data)).toEqual(["a2"]);
    });

    describe("fairness", () => {
      it("a group with 10,000 jobs does not starve a group with one", async () => {
        const { store } = await ctx.setup();
        const big = Array.from({ length: 10_000 }, (_, i) =>
          jobInsertParams({ data: `big${i}`, group: { key: "big", concurrency: 1, onFailure: "hold" } }),
        );
        await store.jobInsertMany({ jobs: big });
        await grouped(store, "small", "small");
        const order: string[] = [];
        for (let i = 0; i < 3; i++) {
          const [job] = await claim(store, T0, { limit: 1 });
          order.push(job!.data as string);
          await complete(store, job!);
        }
        expect(order.slice(0, 2)).toContain("small");
        expect(order.filter((t) => t.startsWith("big"))).toEqual(["big0", "big1"]);
      });

      it("serves ready groups round-robin, least recently served first", async () => {
        const { store } = await ctx.setup();
        for (const key of ["a", "b", "c"]) {
          for (let i = 0; i < 4; i++) await grouped(store, key, `${key}${i}`);
        }
        const order: string[] = [];
        for (let i = 0; i < 12; i++) {
          const [job] = await claim(store, T0, { limit: 1 });
          order.push(job!.data as string);
          await complete(store, job!);
        }
        for (let round = 0; round < 4; round++) {
          const slice = order.slice(round * 3, round * 3 + 3);
          expect(new Set(slice.map((t) => t[0])).size).toBe(3);
          for (const tag of slice) expect(tag.slice(1)).toBe(String(round));
        }
      });
    });

    describe('onFailure "hold" (default)', () => {
      it("a retryable head holds its group; its retry runs before the next job", async () => {
        const { store } = await ctx.setup();
        await grouped(store, "a", "a1");
        await grouped(store, "a", "a2");
        const [head] = await claim(store, T0);
        await finishOne(store, head!, { type: "retry", runAt: T0 + 1_000, error: attemptError(1, T0) }, T0);
        expect(await claim(store, T0 + 500)).toEqual([]);
        const [again] = await claim(store, T0 + 1_000);
        expect(again).toMatchObject({ data: "a1", attempt: 2 });
        await complete(store, again!, T0 + 1_000);
        expect(await tags(store, T0 + 1_000)).toEqual(["a2"]);
      });

      it("a discarded head lets the group move on", async () => {
        const { store } = await ctx.setup();
        await grouped(store, "a", "a1");
        await grouped(store, "a", "a2");
        const [head] = await claim(store, T0);
        await finishOne(store, head!, { type: "discard", error: attemptError(1, T0) }, T0);
        expect(await tags(store, T0)).toEqual(["a2"]);
      });

      it("a snoozed head holds its group until it runs again", async () => {
        const { store } = await ctx.setup();
        await grouped(store, "a", "a1");
        await grouped(store, "a", "a2");
        const [head] = await claim(store, T0);
        await finishOne(store, head!, { type: "snooze", runAt: T0 + 1_000 }, T0);
        expect(await claim(store, T0 + 999)).toEqual([]);
        expect(await tags(store, T0 + 1_000)).toEqual(["a1"]);
      });

      it("a delayed job holds the jobs enqueued after it", async () => {
        const { store } = await ctx.setup();
        await grouped(store, "a", "a1", { runAt: T0 + 1_000 });
        await grouped(store, "a", "a2");
        expect(await claim(store, T0)).toEqual([]);
        expect(await tags(store, T0 + 1_000)).toEqual(["a1"]);
      });

      it("a released head is claimed again before the next job", async () => {
        const { store } = await ctx.setup();
        await grouped(store, "a", "a1");
        await grouped(store, "a", "a2");
        const [head] = await claim(store, T0);
        await finishOne(store, head!, { type: "release" }, T0);
        expect(await tags(store, T0)).toEqual(["a1"]);
      });

      it("a cancelled running head lets the group move on once it finishes as cancelled", async () => {
        const { store } = await ctx.setup();
        await grouped(store, "a", "a1");
        await grouped(store, "a", "a2");
        const [head] = await claim(store, T0);
        await store.jobCancel({ id: head!.id, now: T0 });
        expect(await claim(store, T0)).toEqual([]);
        await finishOne(store, head!, { type: "cancel", error: attemptError(1, T0, "cancel") }, T0);
        expect(await tags(store, T0)).toEqual(["a2"]);
      });
    });

    describe('onFailure "continue"', () => {
      it("a retryable job steps aside; later jobs run; it rejoins when due", async () => {
        const { store } = await ctx.setup();
        await grouped(store, "a", "a1", { onFailure: "continue" });
        await grouped(store, "a", "a2", { onFailure: "continue" });
        await grouped(store, "a", "a3", { onFailure: "continue" });
        const [head] = await claim(store, T0);
        await finishOne(store, head!, { type: "retry", runAt: T0 + 1_000, error: attemptError(1, T0) }, T0);
        const [second] = await claim(store, T0);
        expect(second?.data).toBe("a2");
        await complete(store, second!);
        // a1 is due again and comes before a3 (lower id).
        expect(await tags(store, T0 + 1_000)).toEqual(["a1"]);
      });

      it("a returning job waits for a free slot: the concurrency is never exceeded", async () => {
        const { store } = await ctx.setup();
        await grouped(store, "a", "a1", { onFailure: "continue" });
        await grouped(store, "a", "a2", { onFailure: "continue" });
        const [head] = await claim(store, T0);
        await finishOne(store, head!, { type: "retry", runAt: T0 + 1_000, error: attemptError(1, T0) }, T0);
        const [second] = await claim(store, T0);
        expect(second?.data).toBe("a2");
        expect(await claim(store, T0 + 1_000)).toEqual([]);
        await complete(store, second!, T0 + 1_000);
        expect(await tags(store, T0 + 1_000)).toEqual(["a1"]);
      });

      it("a delayed job does not hold the jobs after it", async () => {
        const { store } = await ctx.setup();
        await grouped(store, "a", "a1", { runAt: T0 + 1_000, onFailure: "continue" });
        await grouped(store, "a", "a2");
        expect(await tags(store, T0)).toEqual(["a2"]);
      });
    });

    describe("rescue", () => {
      it("a stalled head becomes available and keeps its place", async () => {
        const { store } = await ctx.setup();
        await grouped(store, "a", "a1");
        await grouped(store, "a", "a2");
        await claim(store, T0, { leaseMs: 1_000 });
        const res = await store.jobRescue({ now: T0 + 2_000, limit: 10 });
        expect(res.rescued).toHaveLength(1);
        expect(await tags(store, T0 + 2_000)).toEqual(["a1"]);
      });

      it("a head discarded for stalling lets the group move on", async () => {
        const { store } = await ctx.setup();
        await grouped(store, "a", "a1", { maxStalls: 0 });
        await grouped(store, "a", "a2");
        await claim(store, T0, { leaseMs: 1_000 });
        const res = await store.jobRescue({ now: T0 + 2_000, limit: 10 });
        expect(res.discarded).toHaveLength(1);
        expect(await tags(store, T0 + 2_000)).toEqual(["a2"]);
      });

      it("a cancel-requested head cancelled by rescue lets the group move on", async () => {
        const { store } = await ctx.setup();
        await grouped(store, "a", "a1");
        await grouped(store, "a", "a2");
        const [head] = await claim(store, T0, { leaseMs: 1_000 });
        await store.jobCancel({ id: head!.id, now: T0 });
        const res = await store.jobRescue({ now: T0 + 2_000, limit: 10 });
        expect(res.cancelled).toEqual([head!.id]);
        expect(await tags(store, T0 + 2_000)).toEqual(["a2"]);
      });
    });

    describe("operator actions", () => {
      it("cancelling a waiting head lets the next job run", async () => {
        const { store } = await ctx.setup();
        await grouped(store, "a", "a1");
        await grouped(store, "a", "a2");
        const [head] = await claim(store, T0);
        await finishOne(store, head!, { type: "retry", runAt: T0 + 60_000, error: attemptError(1, T0) }, T0);
        await store.jobCancel({ id: head!.id, now: T0 });
        expect(await tags(store, T0)).toEqual(["a2"]);
      });

      it("promoting a delayed head runs it now", async () => {
        const { store } = await ctx.setup();
        const head = await grouped(store, "a", "a1", { runAt: T0 + 60_000 });
        await grouped(store, "a", "a2");
        expect(await claim(store, T0)).toEqual([]);
        await store.jobPromote({ id: head.id, now: T0 });
        expect(await tags(store, T0)).toEqual(["a1"]);
      });

      it("deleting a waiting head lets the next job run", async () => {
        const { store } = await ctx.setup();
        const head = await grouped(store, "a", "a1", { runAt: T0 + 60_000 });
        await grouped(store, "a", "a2");
        expect(await store.jobDelete({ id: head.id })).toBe(true);
        expect(await tags(store, T0)).toEqual(["a2"]);
      });

      it("retrying a finished job puts it back at its place in the group", async () => {
        const { store } = await ctx.setup();
        await grouped(store, "a", "a1");
        await grouped(store, "a", "a2");
        const [head] = await claim(store, T0);
        await complete(store, head!);
        await store.jobRetry({ id: head!.id, now: T0 });
        expect(await tags(store, T0)).toEqual(["a1"]);
      });

      it("retrying a finished job of an emptied group runs it", async () => {
        const { store } = await ctx.setup();
        const job = await grouped(store, "a", "a1", { concurrency: 2 });
        const [head] = await claim(store, T0);
        await finishOne(store, head!, { type: "discard", error: attemptError(1, T0) }, T0);
        await store.jobRetry({ id: job.id, now: T0 });
        await grouped(store, "a", "a2");
        expect(await tags(store, T0)).toEqual(["a1"]);
      });

      it("pruning finished jobs of a group leaves the group working", async () => {
        const { store } = await ctx.setup();
        await grouped(store, "a", "a1");
        await grouped(store, "a", "a2");
        await grouped(store, "a", "a3");
        const [head] = await claim(store, T0);
        await complete(store, head!);
        expect(await store.jobPrune({ finishedBefore: T0 + 1, limit: 10 })).toBe(1);
        const [second] = await claim(store, T0);
        expect(second?.data).toBe("a2");
        await complete(store, second!);
        expect(await store.jobPrune({ finishedBefore: T0 + 1, limit: 10 })).toBe(1);
        expect(await tags(store, T0)).toEqual(["a3"]);
      });

      it("a debounced head that becomes scheduled holds its group", async () => {
        const { store } = await ctx.setup();
        await grouped(store, "a", "a1", { key: "k" });
        await grouped(store, "a", "a2");
        await store.jobInsert(
          jobInsertParams({
            data: "a1'",
            key: "k",
            dedupe: { policy: "debounce", windowMs: 1_000 },
            group: { key: "a", concurrency: 1, onFailure: "hold" },
          }),
        );
        expect(await claim(store, T0)).toEqual([]);
        expect(await tags(store, T0 + 1_000)).toEqual(["a1'"]);
      });
    });

    it("counts grouped jobs in their states, waiting in the group or not", async () => {
      const { store } = await ctx.setup();
      await grouped(store, "a", "a1");
      await grouped(store, "a", "a2");
      await grouped(store, "b", "b1", { queue: "other" });
      expect((await store.jobCount({})).available).toBe(3);
      expect((await store.jobCount({ queue: "default" })).available).toBe(2);
      await claim(store, T0);
      expect(await store.jobCount({ queue: "default" })).toMatchObject({ available: 1, running: 1 });
      const queues = await store.queueList();
      expect(queues.find((q) => q.name === "default")?.counts).toMatchObject({ available: 1, running: 1 });
    });

    it("wakes watchers when finishing a head makes the group's next job claimable", async () => {
      const { store } = await ctx.setup();
      await grouped(store, "a", "a1");
      await grouped(store, "a", "a2");
      const [head] = await claim(store, T0);
      await new Promise((resolve) => setTimeout(resolve, 20));
      let calls = 0;
      const unwatch = store.watch(["default"], () => calls++);
      try {
        await complete(store, head!);
        await eventually(() => expect(calls).toBeGreaterThan(0));
      } finally {
        unwatch();
      }
    });
  });
}
