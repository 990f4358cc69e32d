/**
 * Conformance: `watch`. Hints may be spurious or coalesced, so these tests only check that a hint arrives
 * after each kind of event (waiting with `eventually`), and that an unwatched listener stays silent.
 */
import { describe, expect, it } from "vitest";
import type { Store } from "../../store/store.js";
import type { StoreBundle } from "./context.js";
import { type ConformanceContext, eventually, finishOne, T0 } from "./context.js";
import { jobInsertParams } from "./fixtures.js";

/** Watches `queues` and counts calls. */
function watchCount(store: Store, queues: string[]) {
  const counter = { calls: 0, unwatch: () => {} };
  counter.unwatch = store.watch(queues, () => {
    counter.calls++;
  });
  return counter;
}

/** Prepares a store, watches "default", runs `trigger`, and expects a hint. */
async function expectHint(
  ctx: ConformanceContext,
  prepare: (b: StoreBundle) => Promise<void>,
  trigger: (b: StoreBundle) => Promise<unknown>,
): Promise<void> {
  const bundle = await ctx.setup();
  await prepare(bundle);
  const counter = watchCount(bundle.store, ["other", "default"]);
  await trigger(bundle);
  await eventually(() => expect(counter.calls).toBeGreaterThan(0));
  counter.unwatch();
}

/** Registers the watch tests. */
export function watchTests(ctx: ConformanceContext): void {
  describe("watch", () => {
    it("hints after an insert into a watched queue: available, scheduled or in a batch", async () => {
      await expectHint(
        ctx,
        async () => {},
        (b) => b.insert(),
      );
      await expectHint(
        ctx,
        async () => {},
        (b) => b.insert({ state: "scheduled", runAt: T0 + 60_000 }),
      );
      await expectHint(
        ctx,
        async () => {},
        (b) => b.store.jobInsertMany({ jobs: [jobInsertParams({ queue: "other" })] }),
      );
    });

    it("hints after a resume of a watched queue", async () => {
      await expectHint(
        ctx,
        async (b) => {
          await b.insert();
          await b.store.queuePause({ queue: "default" });
        },
        (b) => b.store.queueResume({ queue: "default" }),
      );
    });

    it("hints after an operator retry", async () => {
      let id = "";
      await expectHint(
        ctx,
        async (b) => {
          id = (await b.insert({ state: "discarded" })).id;
        },
        (b) => b.store.jobRetry({ id, now: T0 + 1 }),
      );
    });

    it("hints after a release", async () => {
      let job = { id: "", leaseToken: "" as string | null };
      await expectHint(
        ctx,
        async (b) => {
          job = await b.insert({ state: "running" });
        },
        (b) => finishOne(b.store, job, { type: "release" }, T0 + 1),
      );
    });

    it("hints after a rescue makes a job available", async () => {
      await expectHint(
        ctx,
        async (b) => {
          await b.insert({ state: "running", leaseMs: 1_000 });
        },
        (b) => b.store.jobRescue({ now: T0 + 5_000, limit: 10 }),
      );
    });

    it("stops hinting after unwatch", async () => {
      const { store, insert } = await ctx.setup();
      const stopped = watchCount(store, ["default"]);
      const live = watchCount(store, ["default"]);
      stopped.unwatch();
      stopped.unwatch();
      await insert();
      await eventually(() => expect(live.calls).toBeGreaterThan(0));
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(stopped.calls).toBe(0);
      live.unwatch();
    });

    it("keeps working when a listener throws", async () => {
      const { store, insert } = await ctx.setup();
      const unwatch = store.watch(["default"], () => {
        throw new Error("listener bug");
      });
      const live = watchCount(store, ["default"]);
      await insert();
      await eventually(() => expect(live.calls).toBeGreaterThan(0));
      const before = live.calls;
      await insert();
      await eventually(() => expect(live.calls).toBeGreaterThan(before));
      unwatch();
      live.unwatch();
    });
  });
}
