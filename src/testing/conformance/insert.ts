/** Conformance: `jobInsert` and `jobInsertMany`. */
import { describe, expect, it } from "vitest";
import { type ConformanceContext, T0 } from "./context.js";
import { jobInsertParams } from "./fixtures.js";

/** Data exercising JSON round trips: nesting, unicode, numbers at their edges, every JSON type. */
export const TRICKY_JSON = {
  nested: { a: [1, [2, [3, { deep: true }]]], empty: {}, emptyList: [] },
  unicode: 'héllo wörld, 世界, 🎉🚀, \u0000 nul, "quotes" and \\ backslash\n\ttab',
  numbers: [0, -1, 1.5, -0.125, 1e-7, 123456789.123, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER, 1e300],
  literals: [true, false, null],
  "key with spaces & ümlauts": "ok",
};

/** Registers the insert tests. */
export function insertTests(ctx: ConformanceContext): void {
  describe("insert", () => {
    it("inserts an available job with every field at its initial value", async () => {
      const { store } = await ctx.setup();
      const params = jobInsertParams({
        name: "send-email",
        queue: "mail",
        data: { to: "a@example.com" },
        priority: 2,
        lifo: true,
        runAt: T0 - 500,
        maxAttempts: 5,
        maxStalls: 7,
        timeoutMs: 1_000,
        meta: { trace: "abc" },
        now: T0,
      });
      const { job } = await store.jobInsert(params);
      expect(job.id).toMatch(/^[1-9][0-9]*$/);
      expect(job).toEqual({
        id: job.id,
        name: "send-email",
        queue: "mail",
        state: "available",
        data: { to: "a@example.com" },
        priority: 2,
        lifo: true,
        attempt: 0,
        maxAttempts: 5,
        stalls: 0,
        maxStalls: 7,
        runAt: T0 - 500,
        createdAt: T0,
        attemptedAt: null,
        finishedAt: null,
        leaseOwner: null,
        leaseToken: null,
        leaseExpiresAt: null,
        cancelRequested: false,
        timeoutMs: 1_000,
        errors: [],
        result: null,
        progress: null,
        logs: [],
        meta: { trace: "abc" },
        key: null,
        group: null,
      });
      expect(await store.jobGet({ id: job.id })).toEqual(job);
    });

    it("inserts scheduled when runAt > now and available when runAt == now", async () => {
      const { store } = await ctx.setup();
      const later = await store.jobInsert(jobInsertParams({ runAt: T0 + 1, now: T0 }));
      const due = await store.jobInsert(jobInsertParams({ runAt: T0, now: T0 }));
      expect(later.job.state).toBe("scheduled");
      expect(later.job.runAt).toBe(T0 + 1);
      expect(due.job.state).toBe("available");
    });

    it("gives decimal integer ids that increase in insert order", async () => {
      const { store } = await ctx.setup();
      const ids: bigint[] = [];
      for (let i = 0; i < 5; i++) ids.push(BigInt((await store.jobInsert(jobInsertParams())).job.id));
      for (let i = 1; i < ids.length; i++) expect(ids[i]! > ids[i - 1]!).toBe(true);
    });

    it("round-trips data and meta as JSON (nesting, unicode, numbers)", async () => {
      const { store } = await ctx.setup();
      const { job } = await store.jobInsert(jobInsertParams({ data: TRICKY_JSON, meta: { m: TRICKY_JSON } }));
      const got = await store.jobGet({ id: job.id });
      expect(got?.data).toEqual(TRICKY_JSON);
      expect(got?.meta).toEqual({ m: TRICKY_JSON });
      expect(job.data).toEqual(TRICKY_JSON);
      for (const data of ["plain string", 42, -3.5, true, null, [1, "two"]]) {
        const { job: scalar } = await store.jobInsert(jobInsertParams({ data }));
        expect((await store.jobGet({ id: scalar.id }))?.data).toEqual(data);
      }
    });

    it("keeps its own copy: mutating inputs or returned records changes nothing stored", async () => {
      const { store } = await ctx.setup();
      const data = { list: [1, 2], inner: { x: 1 } };
      const meta = { tag: "a" };
      const { job } = await store.jobInsert(jobInsertParams({ data, meta }));
      data.list.push(3);
      data.inner.x = 99;
      meta.tag = "changed";
      (job.data as { inner: { x: number } }).inner.x = 100;
      job.errors.push({ attempt: 1, at: T0, kind: "handler", message: "x", name: "Error" });
      const got = await store.jobGet({ id: job.id });
      expect(got?.data).toEqual({ list: [1, 2], inner: { x: 1 } });
      expect(got?.meta).toEqual({ tag: "a" });
      expect(got?.errors).toEqual([]);
      (got!.data as { list: number[] }).list.length = 0;
      expect((await store.jobGet({ id: job.id }))?.data).toEqual({ list: [1, 2], inner: { x: 1 } });
    });

    it("insertMany inserts in order with increasing ids and returns one result per job", async () => {
      const { store } = await ctx.setup();
      const results = await store.jobInsertMany({
        jobs: [
          jobInsertParams({ data: { n: 0 } }),
          jobInsertParams({ data: { n: 1 }, queue: "other", runAt: T0 + 10 }),
          jobInsertParams({ data: { n: 2 }, name: "another" }),
        ],
      });
      expect(results.map((r) => r.job.data)).toEqual([{ n: 0 }, { n: 1 }, { n: 2 }]);
      expect(results.map((r) => r.job.state)).toEqual(["available", "scheduled", "available"]);
      expect(results[1]?.job.queue).toBe("other");
      expect(results[2]?.job.name).toBe("another");
      const ids = results.map((r) => BigInt(r.job.id));
      expect(ids[0]! < ids[1]! && ids[1]! < ids[2]!).toBe(true);
      for (const r of results) expect(await store.jobGet({ id: r.job.id })).toEqual(r.job);
      expect(await store.jobInsertMany({ jobs: [] })).toEqual([]);
    });

    it("insertMany is atomic: one job JSON cannot hold rejects the batch and stores nothing", async () => {
      const { store } = await ctx.setup();
      const jobs = [jobInsertParams({ data: { ok: 1 } }), jobInsertParams({ data: { bad: 10n } })];
      await expect(store.jobInsertMany({ jobs })).rejects.toThrow();
      const cyclic: Record<string, unknown> = {};
      cyclic.self = cyclic;
      await expect(
        store.jobInsertMany({ jobs: [jobInsertParams(), jobInsertParams({ data: cyclic })] }),
      ).rejects.toThrow();
      await expect(store.jobInsert(jobInsertParams({ data: 1n }))).rejects.toThrow();
      expect((await store.jobCount({})).available).toBe(0);
      expect((await store.jobList({ limit: 10 })).jobs).toEqual([]);
    });
  });
}
