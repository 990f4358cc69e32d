/** Conformance: kind, capabilities, `close` and use after close. */
import { describe, expect, it } from "vitest";
import type { Store } from "../../store/store.js";
import { type ConformanceContext, T0 } from "./context.js";
import { jobInsertParams } from "./fixtures.js";

/** One call of every async Store method, with valid params. */
function everyCall(store: Store): Array<[string, () => Promise<unknown>]> {
  const lease = { id: "1", token: "t" };
  const claimParams = { queues: ["default"], names: ["test-job"], owner: "w", limit: 1, leaseMs: 1_000 };
  return [
    ["jobInsert", () => store.jobInsert(jobInsertParams())],
    ["jobInsertMany", () => store.jobInsertMany({ jobs: [jobInsertParams()] })],
    ["jobClaim", () => store.jobClaim({ ...claimParams, now: T0 })],
    ["jobFinishMany", () => store.jobFinishMany({ updates: [], now: T0, claim: claimParams })],
    ["jobLeaseRenew", () => store.jobLeaseRenew({ leases: [lease], leaseMs: 1_000, now: T0 })],
    ["jobReport", () => store.jobReport({ ...lease, progress: 1 })],
    ["jobRescue", () => store.jobRescue({ now: T0, limit: 10 })],
    ["jobStage", () => store.jobStage({ now: T0 })],
    ["jobNextRunAt", () => store.jobNextRunAt({ queues: ["default"] })],
    ["jobGet", () => store.jobGet({ id: "1" })],
    ["jobList", () => store.jobList({ limit: 10 })],
    ["jobCount", () => store.jobCount({})],
    ["jobRetry", () => store.jobRetry({ id: "1", now: T0 })],
    ["jobCancel", () => store.jobCancel({ id: "1", now: T0 })],
    ["jobDelete", () => store.jobDelete({ id: "1" })],
    ["jobPrune", () => store.jobPrune({ finishedBefore: T0, limit: 10 })],
    ["jobTypeRegister", () => store.jobTypeRegister({ types: [{ name: "a", queue: "q" }], now: T0 })],
    ["jobTypeList", () => store.jobTypeList()],
    ["queuePause", () => store.queuePause({ queue: "q" })],
    ["queueResume", () => store.queueResume({ queue: "q" })],
    ["queueList", () => store.queueList()],
  ];
}

/** Registers the lifecycle tests. */
export function lifecycleTests(ctx: ConformanceContext): void {
  describe("lifecycle", () => {
    it("declares its kind and capabilities", async () => {
      const { store } = await ctx.setup();
      expect(typeof store.kind).toBe("string");
      expect(store.kind).not.toBe("");
      expect(typeof store.capabilities.durable).toBe("boolean");
      expect(typeof store.capabilities.crossProcessWatch).toBe("boolean");
      expect(store.capabilities).toMatchObject(ctx.capabilities);
    });

    it("close is idempotent", async () => {
      const { store, insert } = await ctx.setup();
      await insert();
      await store.close();
      await store.close();
      await Promise.all([store.close(), store.close()]);
    });

    it("every method fails with ClosedError after close", async () => {
      const { store } = await ctx.setup();
      await store.jobInsert(jobInsertParams());
      const unwatch = store.watch(["default"], () => {});
      await store.close();
      const codes: Array<[string, unknown]> = [];
      for (const [name, call] of everyCall(store)) {
        try {
          await call();
          codes.push([name, "resolved"]);
        } catch (error) {
          codes.push([name, (error as { code?: unknown }).code]);
        }
      }
      expect(codes).toEqual(everyCall(store).map(([name]) => [name, "ERR_CLOSED"]));
      let thrown: unknown;
      try {
        store.watch(["default"], () => {});
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toMatchObject({ code: "ERR_CLOSED" });
      unwatch();
    });
  });
}
