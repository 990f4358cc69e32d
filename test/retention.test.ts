import { afterEach, describe, expect, it } from "vitest";
import { type Conveyor, DEFAULT_RETENTION, defineJob, OptionsError } from "../src/index.js";
import { pruneOnce, resolveRetention } from "../src/maintenance/pruner.js";
import { FakeClock, insertJobFixture } from "../src/testing/index.js";
import { eventually } from "./helpers/eventually.js";
import { openApp, STORE_KINDS } from "./helpers/stores.js";

const noop = defineJob({ name: "noop", handler: () => null });

describe("retention options", () => {
  it("defaults: completed 24 h / 100k, cancelled and discarded 7 days / 100k, every 60 s", () => {
    const policy = resolveRetention(undefined)!;
    expect(policy.intervalMs).toBe(60_000);
    expect(policy.rules).toEqual([
      { state: "completed", maxAgeMs: 86_400_000, maxCount: 100_000 },
      { state: "cancelled", maxAgeMs: 7 * 86_400_000, maxCount: 100_000 },
      { state: "discarded", maxAgeMs: 7 * 86_400_000, maxCount: 100_000 },
    ]);
    expect(DEFAULT_RETENTION.completed.maxAgeMs).toBe(86_400_000);
  });

  it("merges each rule over the default; false and null lift limits; false turns pruning off", () => {
    const policy = resolveRetention({
      completed: { maxAgeMs: 1_000 },
      cancelled: false,
      discarded: { maxAgeMs: null },
      perQueue: true,
    })!;
    expect(policy.perQueue).toBe(true);
    expect(policy.rules).toEqual([
      { state: "completed", maxAgeMs: 1_000, maxCount: 100_000 },
      { state: "discarded", maxAgeMs: null, maxCount: 100_000 },
    ]);
    expect(resolveRetention(false)).toBeNull();
  });

  it("rejects bad values with an OptionsError naming the field", async () => {
    for (const [retention, field] of [
      [{ completed: { maxAgeMs: -1 } }, "retention.completed.maxAgeMs"],
      [{ discarded: { maxCount: 1.5 } }, "retention.discarded.maxCount"],
      [{ intervalMs: 0 }, "retention.intervalMs"],
      [{ completd: {} }, "retention.completd"],
      [{ cancelled: 5 }, "retention.cancelled"],
    ] as const) {
      const err = await openApp("memory", { retention: retention as never }).catch((e) => e);
      expect(err).toBeInstanceOf(OptionsError);
      expect(err.message).toContain(field);
    }
  });
});

describe.each(STORE_KINDS)("background pruning on the %s store", (kind) => {
  let app: Conveyor;
  let cleanup: () => Promise<void>;
  afterEach(async () => cleanup?.());

  it("a running worker prunes finished jobs by age and by count on its interval", async () => {
    const clock = new FakeClock();
    ({ app, cleanup } = await openApp(kind, {
      clock,
      retention: {
        completed: { maxAgeMs: 10_000, maxCount: 2 },
        discarded: { maxAgeMs: null, maxCount: 1 },
        intervalMs: 5_000,
      },
    }));
    const t0 = clock.now();
    const insert = (state: "completed" | "discarded" | "cancelled", offset: number) =>
      insertJobFixture(app.store, { state, name: "noop", queue: `q${offset}`, now: t0 + offset });
    const completed = [
      await insert("completed", -20_000),
      await insert("completed", -3),
      await insert("completed", -2),
    ];
    const newest = await insert("completed", -1);
    const discarded = [await insert("discarded", -5), await insert("discarded", -4)];
    const cancelled = await insert("cancelled", -30_000);
    const worker = app.worker({ jobs: [noop] });
    await worker.start();
    clock.advance(4_999);
    await new Promise((r) => setTimeout(r, 20));
    expect((await app.countJobs()).completed).toBe(4);
    clock.advance(1);
    await eventually(async () => expect((await app.countJobs()).completed).toBe(2));
    // By age: the 20 s old job; by count (2): the older of the remaining three.
    expect(await app.getJob(completed[0]!.id)).toBeNull();
    expect(await app.getJob(completed[1]!.id)).toBeNull();
    expect(await app.getJob(completed[2]!.id)).not.toBeNull();
    expect(await app.getJob(newest.id)).not.toBeNull();
    await eventually(async () => expect(await app.getJob(discarded[0]!.id)).toBeNull());
    expect(await app.getJob(discarded[1]!.id)).not.toBeNull();
    // Cancelled keeps the default 7 days.
    expect(await app.getJob(cancelled.id)).not.toBeNull();
    // The next interval: age catches up with the survivors.
    clock.advance(10_000);
    await eventually(async () => expect((await app.countJobs()).completed).toBe(0));
    await worker.stop();
  });

  it("retention: false keeps everything", async () => {
    const clock = new FakeClock();
    ({ app, cleanup } = await openApp(kind, { clock, retention: false }));
    const old = await insertJobFixture(app.store, {
      state: "completed",
      name: "noop",
      now: clock.now() - 1e10,
    });
    const worker = app.worker({ jobs: [noop] });
    await worker.start();
    clock.advance(3_600_000);
    await new Promise((r) => setTimeout(r, 20));
    expect(await app.getJob(old.id)).not.toBeNull();
    await worker.stop();
  });

  it("pruneOnce deletes in batches until the policy holds", async () => {
    const clock = new FakeClock();
    ({ app, cleanup } = await openApp(kind, { clock, retention: false }));
    const jobs = await app.enqueueMany(
      noop,
      Array.from({ length: 2_500 }, () => ({ data: null })),
    );
    const claimed = await app.store.jobClaim({
      queues: ["default"],
      names: ["noop"],
      owner: "w",
      limit: 3_000,
      leaseMs: 60_000,
      now: clock.now(),
    });
    await app.store.jobFinishMany({
      updates: claimed.map((j) => ({
        id: j.id,
        token: j.leaseToken!,
        outcome: { type: "complete", result: null },
      })),
      now: clock.now(),
    });
    expect(jobs).toHaveLength(2_500);
    const policy = resolveRetention({ completed: { maxAgeMs: null, maxCount: 100 } })!;
    expect(await pruneOnce(app.store, policy, clock.now())).toBe(2_400);
    expect((await app.countJobs()).completed).toBe(100);
  });
});
