import { afterEach, describe, expect, it, vi } from "vitest";
import {
  type AnyJobDefinition,
  type Conveyor,
  defineJob,
  type JobRecord,
  OptionsError,
  type Worker,
} from "../src/index.js";
import { eventually } from "./helpers/eventually.js";
import { openApp, STORE_KINDS } from "./helpers/stores.js";

/** Most claims (by `attemptedAt`) in any window of `windowMs`: each claim opens a window. */
function maxPerWindow(jobs: JobRecord[], windowMs: number): number {
  const times = jobs.map((j) => j.attemptedAt ?? 0).sort((a, b) => a - b);
  let max = 0;
  for (let i = 0, j = 0; i < times.length; i++) {
    while (times[i]! - times[j]! >= windowMs) j++;
    max = Math.max(max, i - j + 1);
  }
  return max;
}

describe.each(STORE_KINDS)("rate limits on the %s store (real clock)", (kind) => {
  let app: Conveyor;
  let cleanup: () => Promise<void>;
  const workers: Worker[] = [];

  afterEach(async () => {
    await Promise.all(workers.splice(0).map((w) => w.stop({ graceMs: 0 })));
    await cleanup?.();
  });

  async function runAll(jobs: AnyJobDefinition, n: number, worker: () => Worker) {
    await app.enqueueMany(
      jobs,
      Array.from({ length: n }, (_, i) => ({ data: { i } })),
    );
    const claimSpy = vi.spyOn(app.store, "jobClaim");
    const started = Date.now();
    const w = worker();
    workers.push(w);
    await w.start();
    await eventually(async () => expect((await app.store.jobCount({})).completed).toBe(n), {
      timeoutMs: 5_000,
    });
    const elapsed = Date.now() - started;
    const done = (await app.store.jobList({ state: "completed", limit: 1000 })).jobs;
    return { elapsed, done, claims: claimSpy.mock.calls.length };
  }

  it("a queue limit of 5 per 200 ms: a worker with 10 slots starts at most 5 per window, and sleeps between", async () => {
    ({ app, cleanup } = await openApp(kind));
    const job = defineJob<{ i: number }>({ name: "ping", queue: "api", handler: async () => null });
    await app.setQueueRateLimit("api", { max: 5, windowMs: 200 });
    const { elapsed, done, claims } = await runAll(job, 25, () =>
      app.worker({ jobs: [job], concurrency: 10 }),
    );
    expect(done).toHaveLength(25);
    expect(maxPerWindow(done, 200)).toBe(5);
    // Five windows: claims at ~0, 200, 400, 600 and 800 ms.
    expect(elapsed).toBeGreaterThanOrEqual(790);
    // No hot spinning: a short claim puts the worker to sleep until the window frees.
    expect(claims).toBeLessThan(40);
  });

  it("a job type limit and a per-group limit hold across two workers", async () => {
    ({ app, cleanup } = await openApp(kind));
    const typed = defineJob<{ i: number }>({
      name: "typed",
      rateLimit: { max: 4, windowMs: 200 },
      handler: async () => null,
    });
    await app.enqueueMany(
      typed,
      Array.from({ length: 12 }, (_, i) => ({ data: { i } })),
    );
    for (const _ of [1, 2]) {
      const w = app.worker({ jobs: [typed], concurrency: 10 });
      workers.push(w);
      await w.start();
    }
    await eventually(async () => expect((await app.store.jobCount({})).completed).toBe(12), {
      timeoutMs: 5_000,
    });
    const done = (await app.store.jobList({ state: "completed", limit: 1000 })).jobs;
    expect(maxPerWindow(done, 200)).toBe(4);

    const perGroup = defineJob<{ i: number }>({
      name: "per-group",
      group: { concurrency: 10, rateLimit: { max: 2, windowMs: 200 } },
      handler: async () => null,
    });
    for (const key of ["a", "b"]) {
      await app.enqueueMany(
        perGroup,
        Array.from({ length: 6 }, (_, i) => ({ data: { i }, options: { group: key } })),
      );
    }
    const w = app.worker({ jobs: [perGroup], concurrency: 10 });
    workers.push(w);
    await w.start();
    await eventually(async () => expect((await app.store.jobCount({})).completed).toBe(24), {
      timeoutMs: 5_000,
    });
    const grouped = (await app.store.jobList({ state: "completed", name: "per-group", limit: 1000 })).jobs;
    for (const key of ["a", "b"])
      expect(
        maxPerWindow(
          grouped.filter((j) => j.group === key),
          200,
        ),
      ).toBe(2);
  });
});

describe("rate limit options", () => {
  it("are validated with OptionsError naming the field", async () => {
    expect(() => defineJob({ name: "x", rateLimit: { max: 0, windowMs: 10 }, handler: () => null })).toThrow(
      /defineJob options\.rateLimit\.max/,
    );
    expect(() =>
      defineJob({ name: "x", group: { rateLimit: { max: 1 } as never }, handler: () => null }),
    ).toThrow(/defineJob options\.group\.rateLimit\.windowMs/);
    const { app, cleanup } = await openApp("memory");
    try {
      expect(() => app.setQueueRateLimit("q", { max: 5, windowMs: 0 })).toThrow(OptionsError);
      expect(() => app.setQueueRateLimit("q", { max: 5, windowMs: 0 })).toThrow(
        /setQueueRateLimit limit\.windowMs/,
      );
      const job = defineJob({ name: "x", handler: () => null });
      await expect(app.enqueue(job, null, { rateLimit: { max: 1, windowMs: 1 } } as never)).rejects.toThrow(
        /rateLimit is a job type or queue option/,
      );
    } finally {
      await cleanup();
    }
  });
});
