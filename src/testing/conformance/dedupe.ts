/** Conformance: dedupe keys on `jobInsert` / `jobInsertMany` (policies reject, replace, debounce, throttle). */
import { describe, expect, it } from "vitest";
import type { DedupeSpec } from "../../store/store.js";
import { type ConformanceContext, claim, mustGet, T0 } from "./context.js";
import { jobInsertParams } from "./fixtures.js";

const REJECT: DedupeSpec = { policy: "reject" };
const REPLACE: DedupeSpec = { policy: "replace" };
const debounce = (windowMs: number): DedupeSpec => ({ policy: "debounce", windowMs });
const throttle = (windowMs: number): DedupeSpec => ({ policy: "throttle", windowMs });

/** Registers the dedupe tests. */
export function dedupeTests(ctx: ConformanceContext): void {
  describe("dedupe", () => {
    it("without a key every insert stores a job (key null, outcome inserted)", async () => {
      const { store } = await ctx.setup();
      const a = await store.jobInsert(jobInsertParams());
      const b = await store.jobInsert(jobInsertParams({ key: null, dedupe: REJECT }));
      expect([a.outcome, b.outcome]).toEqual(["inserted", "inserted"]);
      expect(a.job.key).toBeNull();
      expect(a.job.id).not.toBe(b.job.id);
    });

    it("stores the key on the job and returns it from every read", async () => {
      const { store } = await ctx.setup();
      const { job, outcome } = await store.jobInsert(jobInsertParams({ key: "order:1 ✓" }));
      expect(outcome).toBe("inserted");
      expect(job.key).toBe("order:1 ✓");
      expect(await mustGet(store, job.id)).toEqual(job);
      expect((await store.jobList({ limit: 10 })).jobs[0]?.key).toBe("order:1 ✓");
      const [claimed] = await claim(store, T0);
      expect(claimed?.key).toBe("order:1 ✓");
    });

    it("reject (the default) returns a pending or running job with the key and stores nothing", async () => {
      const { store, insert } = await ctx.setup();
      for (const state of ["scheduled", "available", "retryable", "running"] as const) {
        const key = `k-${state}`;
        const existing = await insert({ state, queue: state, key, data: { v: 1 } });
        const before = await store.jobCount({});
        for (const dedupe of [undefined, REJECT]) {
          const again = await store.jobInsert(
            jobInsertParams({ key, data: { v: 2 }, ...(dedupe ? { dedupe } : {}) }),
          );
          expect(again.outcome).toBe("duplicate");
          expect(again.job).toEqual(await mustGet(store, existing.id));
          expect(again.job.data).toEqual({ v: 1 });
        }
        expect(await store.jobCount({})).toEqual(before);
      }
    });

    it("reject inserts again once the job with the key is final or deleted", async () => {
      const { store, insert } = await ctx.setup();
      for (const state of ["completed", "cancelled", "discarded"] as const) {
        const old = await insert({ state, queue: state, key: state });
        const next = await store.jobInsert(jobInsertParams({ key: state, queue: state }));
        expect(next.outcome).toBe("inserted");
        expect(next.job.id).not.toBe(old.id);
      }
      const pending = await insert({ key: "gone", queue: "gone" });
      expect(await store.jobDelete({ id: pending.id })).toBe(true);
      expect((await store.jobInsert(jobInsertParams({ key: "gone" }))).outcome).toBe("inserted");
    });

    it("keys are global: the same key in another queue or job name is a duplicate", async () => {
      const { store } = await ctx.setup();
      const first = await store.jobInsert(jobInsertParams({ key: "shared", queue: "a", name: "one" }));
      const second = await store.jobInsert(jobInsertParams({ key: "shared", queue: "b", name: "two" }));
      expect(second).toMatchObject({ outcome: "duplicate", job: { id: first.job.id, queue: "a" } });
    });

    it("replace swaps the data and meta of a pending job and keeps everything else", async () => {
      const { store, insert } = await ctx.setup();
      for (const state of ["scheduled", "available", "retryable"] as const) {
        const key = `r-${state}`;
        const existing = await insert({
          state,
          queue: state,
          key,
          data: { v: 1 },
          meta: { m: 1 },
          priority: 3,
        });
        const replaced = await store.jobInsert(
          jobInsertParams({ key, dedupe: REPLACE, data: { v: 2 }, meta: { m: 2 }, priority: 9, now: T0 + 5 }),
        );
        expect(replaced.outcome).toBe("replaced");
        expect(replaced.job).toEqual({ ...existing, data: { v: 2 }, meta: { m: 2 } });
        expect(await mustGet(store, existing.id)).toEqual(replaced.job);
      }
      expect((await store.jobCount({})).available).toBe(1);
    });

    it("replace inserts a new job when only a running job (or none) has the key", async () => {
      const { store, insert } = await ctx.setup();
      const running = await insert({ state: "running", key: "r", data: { v: 1 } });
      const fresh = await store.jobInsert(jobInsertParams({ key: "r", dedupe: REPLACE, data: { v: 2 } }));
      expect(fresh.outcome).toBe("inserted");
      expect(fresh.job).toMatchObject({ state: "available", data: { v: 2 }, key: "r" });
      expect((await mustGet(store, running.id)).data).toEqual({ v: 1 });
      // Now a pending one exists: the next replace acts on it, not on the running one.
      const again = await store.jobInsert(jobInsertParams({ key: "r", dedupe: REPLACE, data: { v: 3 } }));
      expect(again).toMatchObject({ outcome: "replaced", job: { id: fresh.job.id, data: { v: 3 } } });
      const none = await store.jobInsert(jobInsertParams({ key: "new", dedupe: REPLACE }));
      expect(none.outcome).toBe("inserted");
    });

    it("debounce inserts a new job at now + windowMs and ignores the params' runAt", async () => {
      const { store } = await ctx.setup();
      const { job, outcome } = await store.jobInsert(
        jobInsertParams({ key: "d", dedupe: debounce(1_000), runAt: T0, now: T0 }),
      );
      expect(outcome).toBe("inserted");
      expect(job).toMatchObject({ state: "scheduled", runAt: T0 + 1_000, key: "d" });
      expect(await claim(store, T0 + 999)).toEqual([]);
      expect((await claim(store, T0 + 1_000)).map((j) => j.id)).toEqual([job.id]);
    });

    it("debounce replaces a pending job's data and pushes its run time back; it becomes scheduled", async () => {
      const { store, insert } = await ctx.setup();
      for (const state of ["scheduled", "available", "retryable"] as const) {
        const key = `d-${state}`;
        const existing = await insert({ state, queue: state, key, data: { v: 1 } });
        const pushed = await store.jobInsert(
          jobInsertParams({ key, dedupe: debounce(500), data: { v: 2 }, now: T0 + 100 }),
        );
        expect(pushed.outcome).toBe("debounced");
        expect(pushed.job).toMatchObject({
          id: existing.id,
          state: "scheduled",
          runAt: T0 + 600,
          data: { v: 2 },
          attempt: existing.attempt,
          errors: existing.errors,
          createdAt: existing.createdAt,
        });
        expect(await mustGet(store, existing.id)).toEqual(pushed.job);
        expect(await claim(store, T0 + 599, { queues: [state] })).toEqual([]);
        expect(await store.jobNextRunAt({ queues: [state] })).toBe(T0 + 600);
        expect((await claim(store, T0 + 600, { queues: [state] })).map((j) => j.id)).toEqual([existing.id]);
      }
    });

    it("debounce inserts a new job when only a running job has the key", async () => {
      const { store, insert } = await ctx.setup();
      const running = await insert({ state: "running", key: "d" });
      const next = await store.jobInsert(jobInsertParams({ key: "d", dedupe: debounce(50) }));
      expect(next).toMatchObject({ outcome: "inserted", job: { state: "scheduled", runAt: T0 + 50 } });
      expect(next.job.id).not.toBe(running.id);
    });

    it("throttle stores nothing while a job with the key was created within the window, in any state", async () => {
      const { store, insert } = await ctx.setup();
      const done = await insert({ state: "completed", key: "t", now: T0 });
      const within = await store.jobInsert(
        jobInsertParams({ key: "t", dedupe: throttle(1_000), now: T0 + 999 }),
      );
      expect(within).toMatchObject({ outcome: "throttled", job: { id: done.id, state: "completed" } });
      expect((await store.jobCount({})).available).toBe(0);
      // The window is [createdAt, createdAt + windowMs): at createdAt + windowMs a new job goes in.
      const after = await store.jobInsert(
        jobInsertParams({ key: "t", dedupe: throttle(1_000), now: T0 + 1_000 }),
      );
      expect(after.outcome).toBe("inserted");
      const newest = await store.jobInsert(
        jobInsertParams({ key: "t", dedupe: throttle(5_000), now: T0 + 1_001 }),
      );
      expect(newest).toMatchObject({ outcome: "throttled", job: { id: after.job.id } });
    });

    it("insertMany applies policies in order: each item sees the items before it", async () => {
      const { store } = await ctx.setup();
      const results = await store.jobInsertMany({
        jobs: [
          jobInsertParams({ key: "m", data: 1 }),
          jobInsertParams({ key: "m", data: 2 }),
          jobInsertParams({ key: "m", dedupe: REPLACE, data: 3 }),
          jobInsertParams({ key: "m", dedupe: debounce(10), data: 4 }),
          jobInsertParams({ data: 5 }),
          jobInsertParams({ key: "other", dedupe: throttle(10), data: 6 }),
          jobInsertParams({ key: "other", dedupe: throttle(10), data: 7 }),
        ],
      });
      expect(results.map((r) => r.outcome)).toEqual([
        "inserted",
        "duplicate",
        "replaced",
        "debounced",
        "inserted",
        "inserted",
        "throttled",
      ]);
      const first = results[0]!.job.id;
      expect(results.slice(1, 4).map((r) => r.job.id)).toEqual([first, first, first]);
      expect(await mustGet(store, first)).toMatchObject({ data: 4, state: "scheduled", runAt: T0 + 10 });
      expect(results[6]!.job.id).toBe(results[5]!.job.id);
      const counts = await store.jobCount({});
      expect(counts.available + counts.scheduled).toBe(3);
    });

    it("insertMany with dedupe is atomic: a bad item leaves existing jobs unchanged", async () => {
      const { store, insert } = await ctx.setup();
      const existing = await insert({ key: "a", data: { v: 1 } });
      const jobs = [
        jobInsertParams({ key: "a", dedupe: REPLACE, data: { v: 2 } }),
        jobInsertParams({ key: "b", data: { bad: 1n } }),
      ];
      await expect(store.jobInsertMany({ jobs })).rejects.toThrow();
      expect(await mustGet(store, existing.id)).toEqual(existing);
      expect((await store.jobList({ limit: 10 })).jobs).toHaveLength(1);
    });

    it("concurrent inserts with one key store exactly one job (reject)", async () => {
      const { store } = await ctx.setup();
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) => store.jobInsert(jobInsertParams({ key: "race", data: i }))),
      );
      expect(results.filter((r) => r.outcome === "inserted")).toHaveLength(1);
      expect(new Set(results.map((r) => r.job.id)).size).toBe(1);
      expect((await store.jobCount({})).available).toBe(1);
    });
  });
}
