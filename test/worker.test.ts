import { describe, expect, it } from "vitest";
import {
  type AttemptError,
  type Conveyor,
  cancel,
  defineJob,
  discard,
  JobTimeoutError,
  snooze,
  type Worker,
} from "../src/index.js";
import { eventually, sleep } from "./helpers/eventually.js";
import { STORE_KINDS, useApp } from "./helpers/stores.js";

describe.each(STORE_KINDS)("worker on the %s store", (kind) => {
  let app: Conveyor;
  const harness = useApp(kind);
  const start = (w: Worker) => harness.start(w);
  async function setup() {
    app = await harness.setup();
    return app;
  }

  it("runs every job once, stores results, and never exceeds its concurrency", async () => {
    await setup();
    let active = 0;
    let maxActive = 0;
    const job = defineJob<{ n: number }, { doubled: number }>({
      name: "double",
      async handler(data) {
        active++;
        maxActive = Math.max(maxActive, active);
        await sleep(2);
        active--;
        return { doubled: data.n * 2 };
      },
    });
    const records = await app.enqueueMany(
      job,
      Array.from({ length: 60 }, (_, n) => ({ data: { n } })),
    );
    const w = app.worker({ jobs: [job], concurrency: 4 });
    await start(w);
    await eventually(async () => expect((await app.countJobs()).completed).toBe(60));
    expect(maxActive).toBe(4);
    const one = await app.getJob(records[7]!.id);
    expect(one?.result).toEqual({ doubled: 14 });
    expect(one?.attempt).toBe(1);
  });

  it("retries with backoff, keeps an error per attempt, and discards when attempts run out", async () => {
    await setup();
    const attempts: number[] = [];
    const flaky = defineJob<{ failTimes: number }>({
      name: "flaky",
      retry: { attempts: 3, backoff: { type: "fixed", delayMs: 20, jitter: 0 } },
      handler(data, ctx) {
        attempts.push(ctx.attempt);
        if (ctx.attempt <= data.failTimes) throw new Error(`boom ${ctx.attempt}`);
        return "ok";
      },
    });
    const recovers = await app.enqueue(flaky, { failTimes: 2 });
    const dies = await app.enqueue(flaky, { failTimes: 5 });
    const failed: Array<{ willRetry: boolean }> = [];
    app.events.on("job:failed", (e) => failed.push({ willRetry: e.willRetry }));
    await start(app.worker({ jobs: [flaky], concurrency: 2, pollMs: 10 }));
    await eventually(async () => {
      expect((await app.getJob(recovers.id))?.state).toBe("completed");
      expect((await app.getJob(dies.id))?.state).toBe("discarded");
    });
    const ok = await app.getJob(recovers.id);
    expect(ok?.errors.map((e: AttemptError) => [e.attempt, e.kind, e.message])).toEqual([
      [1, "handler", "boom 1"],
      [2, "handler", "boom 2"],
    ]);
    expect(ok?.errors[0]?.stack).toContain("boom 1");
    const bad = await app.getJob(dies.id);
    expect(bad?.errors).toHaveLength(3);
    expect(bad?.attempt).toBe(3);
    expect(bad?.finishedAt).not.toBeNull();
    expect(failed.filter((f) => !f.willRetry)).toHaveLength(1);
    expect(failed.filter((f) => f.willRetry)).toHaveLength(4);
  });

  it("takes snooze, cancel and discard as return values", async () => {
    await setup();
    let snoozed = 0;
    const outcomes = defineJob<{ kind: string }>({
      name: "outcomes",
      handler(data) {
        if (data.kind === "snooze" && snoozed++ === 0) return snooze(30);
        if (data.kind === "cancel") return cancel("not needed");
        if (data.kind === "discard") return discard("bad input");
        return data.kind;
      },
    });
    const s = await app.enqueue(outcomes, { kind: "snooze" });
    const c = await app.enqueue(outcomes, { kind: "cancel" });
    const d = await app.enqueue(outcomes, { kind: "discard" });
    await start(app.worker({ jobs: [outcomes], pollMs: 10 }));
    await eventually(async () => {
      expect((await app.getJob(s.id))?.state).toBe("completed");
      expect((await app.getJob(c.id))?.state).toBe("cancelled");
      expect((await app.getJob(d.id))?.state).toBe("discarded");
    });
    const snoozedJob = await app.getJob(s.id);
    expect(snoozedJob?.attempt).toBe(1); // the snoozed attempt was given back
    expect(snoozedJob?.errors).toEqual([]);
    expect((await app.getJob(c.id))?.errors[0]?.kind).toBe("cancel");
    expect((await app.getJob(d.id))?.errors[0]?.message).toBe("bad input");
  });

  it("stores progress and logs and emits job:progress", async () => {
    await setup();
    const seen: unknown[] = [];
    app.events.on("job:progress", (e) => seen.push(e.progress));
    const job = defineJob({
      name: "reporter",
      async handler(_data, ctx) {
        ctx.log("starting");
        for (const p of [10, 50, 100]) {
          ctx.progress(p);
          await sleep(1);
        }
        ctx.log("done", "warn");
        return null;
      },
    });
    const rec = await app.enqueue(job, {});
    await start(app.worker({ jobs: [job] }));
    await eventually(async () => expect((await app.getJob(rec.id))?.state).toBe("completed"));
    const done = await app.getJob(rec.id);
    expect(done?.progress).toBe(100);
    expect(done?.logs.map((l) => [l.level, l.message, l.attempt])).toEqual([
      ["info", "starting", 1],
      ["warn", "done", 1],
    ]);
    expect(seen).toEqual([10, 50, 100]);
  });

  it("aborts ctx.signal on timeout and fails the attempt with a timeout error", async () => {
    await setup();
    let sawAbort: unknown = null;
    const slow = defineJob({
      name: "slow",
      timeoutMs: 50,
      retry: { attempts: 1 },
      handler: (_d, ctx) =>
        new Promise((resolve) => {
          ctx.signal.addEventListener("abort", () => {
            sawAbort = ctx.signal.reason;
            resolve("late");
          });
        }),
    });
    const rec = await app.enqueue(slow, {});
    await start(app.worker({ jobs: [slow] }));
    await eventually(async () => expect((await app.getJob(rec.id))?.state).toBe("discarded"));
    expect(sawAbort).toBeInstanceOf(JobTimeoutError);
    const job = await app.getJob(rec.id);
    expect(job?.errors[0]?.kind).toBe("timeout");
  });

  it("validates data again before the handler runs and discards invalid data without retrying", async () => {
    await setup();
    const { z } = await import("zod");
    let ran = 0;
    const typed = defineJob({
      name: "typed",
      schema: z.object({ email: z.string().email() }),
      handler: () => {
        ran++;
      },
    });
    // Stored by name with force (as an old producer or the CLI might), so it skipped the schema at enqueue.
    const rec = await app.enqueue("typed", { email: "not-an-email" }, { force: true });
    await start(app.worker({ jobs: [typed] }));
    await eventually(async () => expect((await app.getJob(rec.id))?.state).toBe("discarded"));
    expect(ran).toBe(0);
    const job = await app.getJob(rec.id);
    expect(job?.errors).toHaveLength(1);
    expect(job?.errors[0]?.kind).toBe("validation");
    expect(job?.errors[0]?.message).toContain("email");
  });

  it("runs middleware outermost first around the handler", async () => {
    await setup();
    const trail: string[] = [];
    const job = defineJob({
      name: "wrapped",
      handler: () => {
        trail.push("handler");
        return 42;
      },
    });
    const w = app.worker({ jobs: [job] });
    w.use(async (ctx, next) => {
      trail.push(`a:before:${ctx.name}`);
      const r = await next();
      trail.push(`a:after:${String(r)}`);
    });
    w.use(async (_ctx, next) => {
      trail.push("b:before");
      await next();
      trail.push("b:after");
    });
    const rec = await app.enqueue(job, {});
    await start(w);
    await eventually(async () => expect((await app.getJob(rec.id))?.state).toBe("completed"));
    expect(trail).toEqual(["a:before:wrapped", "b:before", "handler", "b:after", "a:after:42"]);
    expect((await app.getJob(rec.id))?.result).toBe(42);
  });

  it("cancels a running job through its signal", async () => {
    await setup();
    let started = false;
    const long = defineJob({
      name: "long",
      handler: (_d, ctx) =>
        new Promise((_resolve, reject) => {
          started = true;
          ctx.signal.addEventListener("abort", () => reject(ctx.signal.reason));
        }),
    });
    const rec = await app.enqueue(long, {});
    await start(app.worker({ jobs: [long], leaseMs: 300, heartbeatMs: 50 }));
    await eventually(() => started);
    const requested = await app.cancelJob(rec.id);
    expect(requested.state).toBe("running");
    expect(requested.cancelRequested).toBe(true);
    await eventually(async () => expect((await app.getJob(rec.id))?.state).toBe("cancelled"));
  });

  it("renews leases by heartbeat so a job longer than its lease is not rescued", async () => {
    await setup();
    const stalled: string[] = [];
    app.events.on("job:stalled", (e) => stalled.push(e.jobId));
    const job = defineJob({ name: "longer-than-lease", handler: () => sleep(700) });
    const rec = await app.enqueue(job, {});
    await start(app.worker({ jobs: [job], leaseMs: 200, heartbeatMs: 50, rescueIntervalMs: 20 }));
    await eventually(async () => expect((await app.getJob(rec.id))?.state).toBe("completed"));
    expect(stalled).toEqual([]);
    expect((await app.getJob(rec.id))?.stalls).toBe(0);
  });

  it("rescues a job whose worker died (expired lease) and runs it again", async () => {
    await setup();
    const job = defineJob({ name: "orphan", handler: () => "second time lucky" });
    const rec = await app.enqueue(job, {});
    // A worker that claimed the job and died: its lease expires and is never renewed.
    const [claimed] = await app.store.jobClaim({
      queues: ["default"],
      names: ["orphan"],
      owner: "dead-worker",
      limit: 1,
      leaseMs: 100,
      now: Date.now(),
    });
    expect(claimed?.id).toBe(rec.id);
    const stalled: string[] = [];
    app.events.on("job:stalled", (e) => stalled.push(`${e.jobId}:${e.outcome}`));
    await start(app.worker({ jobs: [job], rescueIntervalMs: 20, pollMs: 10 }));
    await eventually(async () => expect((await app.getJob(rec.id))?.state).toBe("completed"));
    const done = await app.getJob(rec.id);
    expect(stalled).toEqual([`${rec.id}:rescued`]);
    expect(done?.stalls).toBe(1);
    expect(done?.errors.map((e) => e.kind)).toEqual(["stall"]);
    expect(done?.result).toBe("second time lucky");
  });

  it("stops gracefully: waits for running jobs, releases the rest, loses nothing", async () => {
    await setup();
    let finished = 0;
    const job = defineJob({
      name: "graceful",
      handler: async () => {
        await sleep(50);
        finished++;
      },
    });
    await app.enqueueMany(
      job,
      Array.from({ length: 20 }, () => ({ data: {} })),
    );
    const w = app.worker({ jobs: [job], concurrency: 2, prefetch: 4 });
    await start(w);
    await eventually(() => finished >= 1);
    await w.stop({ graceMs: 5_000 });
    const counts = await app.countJobs();
    expect(counts.running).toBe(0);
    expect(counts.completed + counts.available).toBe(20);
    expect(counts.completed).toBe(finished);
    // Released jobs did not use up an attempt.
    const { jobs } = await app.listJobs({ state: "available", limit: 100 });
    expect(jobs.every((j) => j.attempt === 0)).toBe(true);
  });

  it("past the grace period aborts running handlers and releases their jobs without counting an attempt", async () => {
    await setup();
    let aborted = 0;
    const stuck = defineJob({
      name: "stuck",
      handler: (_d, ctx) =>
        new Promise((resolve) => {
          ctx.signal.addEventListener("abort", () => {
            aborted++;
            resolve(null);
          });
        }),
    });
    const rec = await app.enqueue(stuck, {});
    const w = app.worker({ jobs: [stuck] });
    await start(w);
    await eventually(async () => expect((await app.getJob(rec.id))?.state).toBe("running"));
    await w.stop({ graceMs: 50 });
    expect(aborted).toBe(1);
    const job = await app.getJob(rec.id);
    expect(job?.state).toBe("available");
    expect(job?.attempt).toBe(0);
    expect(job?.leaseOwner).toBeNull();
  });

  it("runs a delayed job when it is due, without waiting for a poll", async () => {
    await setup();
    const started: number[] = [];
    const job = defineJob({ name: "later", handler: () => void started.push(Date.now()) });
    await start(app.worker({ jobs: [job], pollMs: 60_000 }));
    const t0 = Date.now();
    const rec = await app.enqueue(job, {}, { delayMs: 150 });
    expect(rec.state).toBe("scheduled");
    await eventually(() => started.length === 1);
    expect(started[0]! - t0).toBeGreaterThanOrEqual(140);
    expect(started[0]! - t0).toBeLessThan(2_000);
  });

  it("wakes an idle worker at once when a job is enqueued", async () => {
    await setup();
    const started: number[] = [];
    const job = defineJob({ name: "now", handler: () => void started.push(Date.now()) });
    await start(app.worker({ jobs: [job], pollMs: 60_000 }));
    await sleep(20);
    const t0 = Date.now();
    await app.enqueue(job, {});
    await eventually(() => started.length === 1);
    expect(started[0]! - t0).toBeLessThan(500);
  });

  it("claims by priority, then FIFO; LIFO jobs newest first", async () => {
    await setup();
    const order: string[] = [];
    const job = defineJob<{ tag: string }>({ name: "ordered", handler: (d) => void order.push(d.tag) });
    await app.enqueue(job, { tag: "fifo-1" });
    await app.enqueue(job, { tag: "fifo-2" });
    await app.enqueue(job, { tag: "urgent" }, { priority: -5 });
    await app.enqueue(job, { tag: "lifo-1" }, { lifo: true });
    await app.enqueue(job, { tag: "lifo-2" }, { lifo: true });
    await app.enqueue(job, { tag: "low" }, { priority: 5 });
    await start(app.worker({ jobs: [job], concurrency: 1, prefetch: 0 }));
    await eventually(() => order.length === 6);
    expect(order).toEqual(["urgent", "lifo-2", "lifo-1", "fifo-1", "fifo-2", "low"]);
  });

  it("skips paused queues until resumed", async () => {
    await setup();
    const ran: string[] = [];
    const job = defineJob<{ id: string }>({
      name: "pausable",
      queue: "emails",
      handler: (d) => void ran.push(d.id),
    });
    await app.pauseQueue("emails");
    await app.enqueue(job, { id: "a" });
    await start(app.worker({ jobs: [job], pollMs: 20 }));
    await sleep(100);
    expect(ran).toEqual([]);
    await app.resumeQueue("emails");
    await eventually(() => ran.length === 1);
  });
});
