import { describe, expect, expectTypeOf, it } from "vitest";
import { z } from "zod";
import {
  type BatchContext,
  type BatchItem,
  type Conveyor,
  cancel,
  defineJob,
  discard,
  type JobDefinition,
  JobTimeoutError,
  OptionsError,
  snooze,
  type Worker,
} from "../src/index.js";
import { eventually, sleep } from "./helpers/eventually.js";
import { STORE_KINDS, useApp } from "./helpers/stores.js";

describe("defineJob with a batch handler", () => {
  it("infers item data from the schema or the type argument, and enqueue takes the schema's input", () => {
    const withSchema = defineJob({
      name: "typed-batch",
      schema: z.object({ n: z.number(), tag: z.string().default("x") }),
      batch: { size: 10, waitMs: 5 },
      async batchHandler(items, ctx) {
        expectTypeOf(items).toEqualTypeOf<BatchItem<{ n: number; tag: string }>[]>();
        expectTypeOf(items[0]!.data).toEqualTypeOf<{ n: number; tag: string }>();
        expectTypeOf(items[0]!.signal).toEqualTypeOf<AbortSignal>();
        expectTypeOf(ctx).toEqualTypeOf<BatchContext>();
        return items.map((i) =>
          i.data.n < 0 ? new Error("negative") : i.data.n === 0 ? snooze(10) : i.data.n,
        );
      },
    });
    expectTypeOf(withSchema).toEqualTypeOf<
      JobDefinition<{ n: number; tag?: string | undefined }, { n: number; tag: string }, number>
    >();
    const explicit = defineJob<{ id: string }>({
      name: "explicit-batch",
      batch: { size: 2, waitMs: 0 },
      batchHandler: (items) => items.map((i) => i.data.id),
    });
    expectTypeOf(explicit).toEqualTypeOf<JobDefinition<{ id: string }, { id: string }, unknown>>();
    expect(explicit.batch).toEqual({ size: 2, waitMs: 0 });
    expect(typeof explicit.handler).toBe("function");
  });

  it("refuses both handlers, neither, a batch without batchHandler and bad sizes", () => {
    const handler = () => 1;
    const batchHandler = () => [];
    expect(() =>
      // @ts-expect-error handler and batchHandler together
      defineJob({ name: "both", handler, batch: { size: 1, waitMs: 0 }, batchHandler }),
    ).toThrow(OptionsError);
    // @ts-expect-error neither
    expect(() => defineJob({ name: "neither" })).toThrow(/handler/);
    // @ts-expect-error batch without batchHandler
    expect(() => defineJob({ name: "half", batch: { size: 1, waitMs: 0 } })).toThrow(/batchHandler/);
    // @ts-expect-error batchHandler without batch
    expect(() => defineJob({ name: "half2", batchHandler })).toThrow(/options\.batch must be an object/);
    expect(() => defineJob({ name: "big", batch: { size: 0, waitMs: 0 }, batchHandler })).toThrow(
      /batch\.size must be an integer from 1 to 10000/,
    );
    expect(() => defineJob({ name: "neg", batch: { size: 5, waitMs: -1 }, batchHandler })).toThrow(
      /batch\.waitMs/,
    );
  });

  it("runs a batch of one through the derived handler", async () => {
    const job = defineJob<{ n: number }>({
      name: "one",
      batch: { size: 10, waitMs: 0 },
      batchHandler: (items) => items.map((i) => (i.data.n < 0 ? new Error("neg") : i.data.n * 2)),
    });
    const ctx = {
      id: "1",
      name: "one",
      queue: "default",
      attempt: 1,
      maxAttempts: 1,
      signal: new AbortController().signal,
      // biome-ignore lint/suspicious/noExplicitAny: a bare context for a direct call
      job: {} as any,
      progress() {},
      log() {},
    };
    await expect(job.handler({ n: 2 }, ctx)).resolves.toBe(4);
    await expect(job.handler({ n: -1 }, ctx)).rejects.toThrow("neg");
  });
});

describe.each(STORE_KINDS)("batch handlers on the %s store", (kind) => {
  let app: Conveyor;
  const harness = useApp(kind);
  const start = (w: Worker) => harness.start(w);
  async function setup() {
    app = await harness.setup();
    return app;
  }

  it("runs full batches, then flushes the rest after waitMs, and stores each job's result", async () => {
    await setup();
    const sizes: number[] = [];
    const job = defineJob<{ n: number }, { doubled: number }>({
      name: "double-many",
      batch: { size: 10, waitMs: 150 },
      async batchHandler(items) {
        sizes.push(items.length);
        return items.map((i) => ({ doubled: i.data.n * 2 }));
      },
    });
    const records = await app.enqueueMany(
      job,
      Array.from({ length: 25 }, (_, n) => ({ data: { n } })),
    );
    const completed: string[] = [];
    app.events.on("job:completed", (e) => completed.push(e.job.id));
    const t0 = Date.now();
    await start(app.worker({ jobs: [job], concurrency: 1 }));
    await eventually(async () => expect((await app.countJobs()).completed).toBe(25));
    expect(sizes).toEqual([10, 10, 5]);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(140); // the last 5 waited for waitMs
    expect(completed).toHaveLength(25);
    for (const [n, rec] of records.entries()) {
      const stored = await app.getJob(rec.id);
      expect(stored?.result).toEqual({ doubled: n * 2 });
      expect(stored?.attempt).toBe(1);
    }
  });

  it("flushes a partial batch after waitMs, with jobs that arrive while it waits", async () => {
    await setup();
    const batches: number[][] = [];
    const job = defineJob<{ n: number }>({
      name: "partial",
      batch: { size: 100, waitMs: 200 },
      batchHandler: (items) => {
        batches.push(items.map((i) => i.data.n));
        return items.map(() => null);
      },
    });
    await start(app.worker({ jobs: [job], pollMs: 20 }));
    const t0 = Date.now();
    await app.enqueue(job, { n: 1 });
    await sleep(30);
    await app.enqueue(job, { n: 2 });
    await eventually(() => batches.length === 1);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(190);
    expect(batches).toEqual([[1, 2]]);
  });

  it("fails only the jobs whose entry is an Error, with their retry policy and error history", async () => {
    await setup();
    const seen: Array<[number, number]> = [];
    const job = defineJob<{ n: number; failTimes: number }>({
      name: "some-fail",
      retry: { attempts: 3, backoff: { type: "fixed", delayMs: 20, jitter: 0 } },
      batch: { size: 10, waitMs: 20 },
      batchHandler: (items) =>
        items.map((i) => {
          seen.push([i.data.n, i.attempt]);
          return i.attempt <= i.data.failTimes ? new Error(`boom ${i.data.n}/${i.attempt}`) : i.data.n;
        }),
    });
    const ok = await app.enqueue(job, { n: 1, failTimes: 0 });
    const recovers = await app.enqueue(job, { n: 2, failTimes: 2 });
    const dies = await app.enqueue(job, { n: 3, failTimes: 9 });
    const failed: Array<{ id: string; willRetry: boolean }> = [];
    app.events.on("job:failed", (e) => failed.push({ id: e.job.id, willRetry: e.willRetry }));
    await start(app.worker({ jobs: [job], pollMs: 10 }));
    await eventually(async () => {
      expect((await app.getJob(recovers.id))?.state).toBe("completed");
      expect((await app.getJob(dies.id))?.state).toBe("discarded");
    });
    const first = await app.getJob(ok.id);
    expect(first?.state).toBe("completed");
    expect(first?.errors).toEqual([]);
    expect(seen.filter(([n]) => n === 1)).toEqual([[1, 1]]); // not run again when another job failed
    const second = await app.getJob(recovers.id);
    expect(second?.result).toBe(2);
    expect(second?.errors.map((e) => [e.attempt, e.kind, e.message])).toEqual([
      [1, "handler", "boom 2/1"],
      [2, "handler", "boom 2/2"],
    ]);
    const third = await app.getJob(dies.id);
    expect(third?.attempt).toBe(3);
    expect(third?.errors).toHaveLength(3);
    expect(failed.filter((f) => f.id === dies.id).map((f) => f.willRetry)).toEqual([true, true, false]);
    expect(failed.filter((f) => f.id === ok.id)).toEqual([]);
  });

  it("takes snooze, cancel and discard entries per job", async () => {
    await setup();
    let snoozed = 0;
    const job = defineJob<{ kind: string }>({
      name: "batch-outcomes",
      batch: { size: 10, waitMs: 20 },
      batchHandler: (items) =>
        items.map((i) => {
          if (i.data.kind === "snooze" && snoozed++ === 0) return snooze(30);
          if (i.data.kind === "cancel") return cancel("not needed");
          if (i.data.kind === "discard") return discard("bad input");
          return i.data.kind;
        }),
    });
    const s = await app.enqueue(job, { kind: "snooze" });
    const c = await app.enqueue(job, { kind: "cancel" });
    const d = await app.enqueue(job, { kind: "discard" });
    const plain = await app.enqueue(job, { kind: "plain" });
    await start(app.worker({ jobs: [job], pollMs: 10 }));
    await eventually(async () => {
      expect((await app.getJob(s.id))?.state).toBe("completed");
      expect((await app.getJob(c.id))?.state).toBe("cancelled");
      expect((await app.getJob(d.id))?.state).toBe("discarded");
      expect((await app.getJob(plain.id))?.state).toBe("completed");
    });
    const snoozedJob = await app.getJob(s.id);
    expect(snoozedJob?.attempt).toBe(1);
    expect(snoozedJob?.result).toBe("snooze");
    expect((await app.getJob(c.id))?.errors[0]?.kind).toBe("cancel");
    expect((await app.getJob(d.id))?.errors[0]?.message).toBe("bad input");
  });

  it("fails every job of the batch when the batch handler throws", async () => {
    await setup();
    const job = defineJob<{ n: number }>({
      name: "all-fail",
      retry: { attempts: 2, backoff: { type: "fixed", delayMs: 10, jitter: 0 } },
      batch: { size: 10, waitMs: 20 },
      batchHandler: () => {
        throw new Error("database down");
      },
    });
    const recs = await app.enqueueMany(
      job,
      Array.from({ length: 4 }, (_, n) => ({ data: { n } })),
    );
    await start(app.worker({ jobs: [job], pollMs: 10 }));
    await eventually(async () => expect((await app.countJobs()).discarded).toBe(4));
    for (const rec of recs) {
      const stored = await app.getJob(rec.id);
      expect(stored?.errors.map((e) => [e.attempt, e.kind, e.message])).toEqual([
        [1, "handler", "database down"],
        [2, "handler", "database down"],
      ]);
    }
  });

  it("fails every job with a clear error when the handler returns the wrong number of entries", async () => {
    await setup();
    const job = defineJob<{ n: number }>({
      name: "short-return",
      retry: { attempts: 1 },
      batch: { size: 10, waitMs: 20 },
      batchHandler: (items) => items.slice(1).map(() => "ok"),
    });
    await app.enqueueMany(
      job,
      Array.from({ length: 3 }, (_, n) => ({ data: { n } })),
    );
    await start(app.worker({ jobs: [job], pollMs: 10 }));
    await eventually(async () => expect((await app.countJobs()).discarded).toBe(3));
    const { jobs } = await app.listJobs({ state: "discarded", limit: 10 });
    for (const j of jobs) {
      expect(j.errors[0]?.message).toContain(
        'the batch handler of "short-return" returned an array of 2 for 3',
      );
      expect(j.errors[0]?.message).toContain("one entry per item");
    }
  });

  it("runs one batch per concurrency slot: two batches at once with concurrency 2", async () => {
    await setup();
    let active = 0;
    let maxActive = 0;
    const sizes: number[] = [];
    const job = defineJob<{ n: number }>({
      name: "parallel-batches",
      batch: { size: 5, waitMs: 20 },
      async batchHandler(items) {
        active++;
        maxActive = Math.max(maxActive, active);
        sizes.push(items.length);
        await sleep(80);
        active--;
        return items.map((i) => i.data.n);
      },
    });
    await app.enqueueMany(
      job,
      Array.from({ length: 20 }, (_, n) => ({ data: { n } })),
    );
    const w = app.worker({ jobs: [job], concurrency: 2 });
    await start(w);
    await eventually(() => active === 2);
    expect(w.activeCount).toBe(10); // two batches of five jobs
    await eventually(async () => expect((await app.countJobs()).completed).toBe(20));
    expect(maxActive).toBe(2);
    expect(sizes).toEqual([5, 5, 5, 5]);
  });

  it("runs batch and single job types side by side in one worker", async () => {
    await setup();
    const batched = defineJob<{ n: number }>({
      name: "side-batch",
      batch: { size: 50, waitMs: 30 },
      batchHandler: (items) => items.map((i) => i.data.n),
    });
    const single = defineJob<{ n: number }>({ name: "side-single", handler: (d) => d.n });
    await app.enqueueMany(
      batched,
      Array.from({ length: 30 }, (_, n) => ({ data: { n } })),
    );
    await app.enqueueMany(
      single,
      Array.from({ length: 30 }, (_, n) => ({ data: { n } })),
    );
    await start(app.worker({ jobs: [batched, single], concurrency: 3 }));
    await eventually(async () => expect((await app.countJobs()).completed).toBe(60));
  });

  it("graceful stop lets a running batch finish and releases jobs still waiting for a batch", async () => {
    await setup();
    let release = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const ran: number[] = [];
    const job = defineJob<{ n: number }>({
      name: "stop-batch",
      batch: { size: 3, waitMs: 60_000 },
      async batchHandler(items) {
        ran.push(...items.map((i) => i.data.n));
        await gate;
        return items.map(() => "done");
      },
    });
    await app.enqueueMany(
      job,
      Array.from({ length: 5 }, (_, n) => ({ data: { n } })),
    );
    const released: number[] = [];
    app.events.on("worker:stopped", (e) => released.push(e.released));
    const w = app.worker({ jobs: [job], concurrency: 1 });
    await start(w);
    await eventually(() => ran.length === 3);
    // The other two wait for a full batch (waitMs is a minute away) and hold no slot.
    const stopping = w.stop({ graceMs: 5_000 });
    await sleep(20);
    release();
    await stopping;
    const counts = await app.countJobs();
    expect(counts.completed).toBe(3);
    expect(counts.available).toBe(2);
    expect(counts.running).toBe(0);
    expect(released).toEqual([2]);
    const { jobs } = await app.listJobs({ state: "available", limit: 10 });
    expect(jobs.every((j) => j.attempt === 0 && j.leaseOwner === null)).toBe(true);
  });

  it("past the grace period aborts the batch signal and releases its jobs", async () => {
    await setup();
    let aborted: unknown = null;
    const job = defineJob<{ n: number }>({
      name: "stuck-batch",
      batch: { size: 2, waitMs: 0 },
      batchHandler: (items, ctx) =>
        new Promise((resolve) => {
          ctx.signal.addEventListener("abort", () => {
            aborted = ctx.signal.reason;
            resolve(items.map(() => "late"));
          });
        }),
    });
    await app.enqueueMany(job, [{ data: { n: 1 } }, { data: { n: 2 } }]);
    const w = app.worker({ jobs: [job] });
    await start(w);
    await eventually(async () => expect((await app.countJobs()).running).toBe(2));
    await sleep(20);
    await w.stop({ graceMs: 30 });
    expect((aborted as Error)?.name).toBe("ShutdownError");
    const counts = await app.countJobs();
    expect(counts.available).toBe(2);
    expect(counts.completed).toBe(0);
  });

  it("times out the whole batch with the type's timeoutMs", async () => {
    await setup();
    let reason: unknown = null;
    const job = defineJob<{ n: number }>({
      name: "slow-batch",
      timeoutMs: 60,
      retry: { attempts: 1 },
      batch: { size: 10, waitMs: 10 },
      batchHandler: (items, ctx) =>
        new Promise((resolve) => {
          items[0]!.signal.addEventListener("abort", () => {
            reason = items[0]!.signal.reason;
            resolve(items.map(() => "late"));
          });
          void ctx;
        }),
    });
    await app.enqueueMany(job, [{ data: { n: 1 } }, { data: { n: 2 } }]);
    await start(app.worker({ jobs: [job] }));
    await eventually(async () => expect((await app.countJobs()).discarded).toBe(2));
    expect(reason).toBeInstanceOf(JobTimeoutError);
    const { jobs } = await app.listJobs({ state: "discarded", limit: 10 });
    expect(jobs.map((j) => j.errors[0]?.kind)).toEqual(["timeout", "timeout"]);
  });

  it("discards an invalid item with a validation error and still runs the rest of the batch", async () => {
    await setup();
    const seen: string[] = [];
    const job = defineJob({
      name: "validated-batch",
      schema: z.object({ email: z.string().email() }),
      batch: { size: 10, waitMs: 30 },
      batchHandler: (items) => {
        seen.push(...items.map((i) => i.data.email));
        return items.map((i) => i.data.email.length);
      },
    });
    const good = await app.enqueue(job, { email: "a@example.com" });
    // Stored by name with force (an old producer), so it skipped the schema at enqueue.
    const bad = await app.enqueue("validated-batch", { email: "nope" }, { force: true });
    const good2 = await app.enqueue(job, { email: "b@example.com" });
    await start(app.worker({ jobs: [job] }));
    await eventually(async () => {
      expect((await app.getJob(bad.id))?.state).toBe("discarded");
      expect((await app.getJob(good2.id))?.state).toBe("completed");
    });
    expect(seen).toEqual(["a@example.com", "b@example.com"]);
    expect((await app.getJob(good.id))?.result).toBe(13);
    const invalid = await app.getJob(bad.id);
    expect(invalid?.errors).toHaveLength(1);
    expect(invalid?.errors[0]?.kind).toBe("validation");
    expect(invalid?.errors[0]?.message).toContain("email");
  });

  it("cancels one job of a running batch: its signal aborts and it ends cancelled; the others complete", async () => {
    await setup();
    let release = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let itemAborted = false;
    const job = defineJob<{ n: number }>({
      name: "cancel-in-batch",
      batch: { size: 3, waitMs: 10 },
      async batchHandler(items) {
        items[1]!.signal.addEventListener("abort", () => {
          itemAborted = true;
        });
        await gate;
        return items.map((i) => i.data.n);
      },
    });
    const recs = await app.enqueueMany(
      job,
      Array.from({ length: 3 }, (_, n) => ({ data: { n } })),
    );
    await start(app.worker({ jobs: [job], leaseMs: 400, heartbeatMs: 30 }));
    await eventually(async () => expect((await app.countJobs()).running).toBe(3));
    await app.cancelJob(recs[1]!.id);
    await eventually(() => itemAborted);
    release();
    await eventually(async () => expect((await app.countJobs()).completed).toBe(2));
    const cancelled = await app.getJob(recs[1]!.id);
    expect(cancelled?.state).toBe("cancelled");
    expect(cancelled?.result).toBeNull();
    expect((await app.getJob(recs[0]!.id))?.result).toBe(0);
  });

  it("renews the leases of jobs waiting for their batch, so a long waitMs does not get them rescued", async () => {
    await setup();
    const stalled: string[] = [];
    app.events.on("job:stalled", (e) => stalled.push(e.jobId));
    const job = defineJob<{ n: number }>({
      name: "long-wait",
      batch: { size: 100, waitMs: 600 },
      batchHandler: (items) => items.map((i) => i.data.n),
    });
    const rec = await app.enqueue(job, { n: 7 });
    await start(app.worker({ jobs: [job], leaseMs: 200, heartbeatMs: 40, rescueIntervalMs: 20 }));
    await eventually(async () => expect((await app.getJob(rec.id))?.state).toBe("completed"));
    expect(stalled).toEqual([]);
    expect((await app.getJob(rec.id))?.stalls).toBe(0);
  });

  it("cancels a job that waits for its batch without running it", async () => {
    await setup();
    const ran: number[] = [];
    const job = defineJob<{ n: number }>({
      name: "cancel-waiting",
      batch: { size: 100, waitMs: 300 },
      batchHandler: (items) => items.map((i) => ran.push(i.data.n)),
    });
    const [a, b] = await app.enqueueMany(job, [{ data: { n: 1 } }, { data: { n: 2 } }]);
    await start(app.worker({ jobs: [job], leaseMs: 1_000, heartbeatMs: 30 }));
    await eventually(async () => expect((await app.countJobs()).running).toBe(2));
    await app.cancelJob(a!.id);
    await eventually(async () => expect((await app.getJob(b!.id))?.state).toBe("completed"));
    expect((await app.getJob(a!.id))?.state).toBe("cancelled");
    expect(ran).toEqual([2]);
  });

  it("refuses batch types in a worker whose executor is not inline", async () => {
    await setup();
    const job = defineJob({ name: "no-threads", batch: { size: 2, waitMs: 0 }, batchHandler: () => [] });
    const executor = { kind: "thread" as const, run: async () => null, close: async () => {} };
    expect(() => app.worker({ jobs: [job], executor })).toThrow(/batch job types run inline only/);
  });

  it("stores progress and logs per item", async () => {
    await setup();
    const progress: Array<[string, unknown]> = [];
    app.events.on("job:progress", (e) => progress.push([e.job.id, e.progress]));
    const job = defineJob<{ n: number }>({
      name: "reporting-batch",
      batch: { size: 5, waitMs: 10 },
      batchHandler: (items) =>
        items.map((i) => {
          i.progress(i.data.n * 10);
          i.log(`item ${i.data.n}`);
          return null;
        }),
    });
    const recs = await app.enqueueMany(job, [{ data: { n: 1 } }, { data: { n: 2 } }]);
    await start(app.worker({ jobs: [job] }));
    await eventually(async () => expect((await app.countJobs()).completed).toBe(2));
    for (const [i, rec] of recs.entries()) {
      const stored = await app.getJob(rec.id);
      expect(stored?.progress).toBe((i + 1) * 10);
      expect(stored?.logs.map((l) => l.message)).toEqual([`item ${i + 1}`]);
    }
    expect(progress).toEqual([
      [recs[0]!.id, 10],
      [recs[1]!.id, 20],
    ]);
  });

  it("runs middleware per job around its share of the batch", async () => {
    await setup();
    const trail: string[] = [];
    const job = defineJob<{ n: number }>({
      name: "wrapped-batch",
      batch: { size: 5, waitMs: 20 },
      batchHandler: (items) => {
        trail.push(`batch:${items.map((i) => i.data.n).join(",")}`);
        return items.map((i) => i.data.n * 10);
      },
    });
    const w = app.worker({ jobs: [job] });
    w.use(async (ctx, next) => {
      const n = (ctx.job.data as { n: number }).n;
      if (n === 3) throw new Error("refused by middleware");
      trail.push(`before:${n}`);
      const r = await next();
      trail.push(`after:${n}:${String(r)}`);
    });
    const recs = await app.enqueueMany(
      job,
      [1, 2, 3].map((n) => ({ data: { n } })),
    );
    await start(w);
    await eventually(async () => expect((await app.getJob(recs[1]!.id))?.state).toBe("completed"));
    expect(trail).toEqual(["before:1", "before:2", "batch:1,2", "after:1:10", "after:2:20"]);
    expect((await app.getJob(recs[0]!.id))?.result).toBe(10);
    await eventually(async () =>
      expect((await app.getJob(recs[2]!.id))?.errors[0]?.message).toBe("refused by middleware"),
    );
  });
});
