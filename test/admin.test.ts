import { describe, expect, it } from "vitest";
import {
  Admin,
  Conveyor,
  defineJob,
  JOB_STATES,
  type JobRecord,
  MemoryStore,
  type Store,
  type Worker,
} from "../src/index.js";
import { createNode, type Self } from "../src/process/index.js";
import { FakeClock } from "../src/testing/index.js";
import { eventually, sleep } from "./helpers/eventually.js";
import { openApp, STORE_KINDS, useApp } from "./helpers/stores.js";

const MINUTE = 60_000;

const ok = defineJob<{ n: number }, { n: number }>({
  name: "ok",
  queue: "work",
  async handler(data, ctx) {
    ctx.log(`handling ${data.n}`);
    ctx.progress({ step: data.n });
    return { n: data.n };
  },
});

const fail = defineJob<{ n: number }>({
  name: "fail",
  queue: "work",
  retry: { attempts: 2, backoff: { type: "fixed", delayMs: 1, jitter: 0 } },
  async handler(data) {
    throw new Error(`nope ${data.n}`);
  },
});

const zero = Object.fromEntries(JOB_STATES.map((s) => [s, 0]));

describe.each(STORE_KINDS)("admin API on the %s store", (kind) => {
  const harness = useApp(kind);
  let app: Conveyor;
  const setup = async () => {
    app = await harness.setup();
    return app.admin;
  };
  const start = (w: Worker) => harness.start(w);

  /** Runs `ok` ×3 and `fail` ×2 (each failing twice) to their final states with a real worker. */
  async function runSome(): Promise<{ done: string[]; dead: string[] }> {
    const done = (
      await app.enqueueMany(
        ok,
        [1, 2, 3].map((n) => ({ data: { n } })),
      )
    ).map((j) => j.id);
    const dead = (
      await app.enqueueMany(
        fail,
        [1, 2].map((n) => ({ data: { n } })),
      )
    ).map((j) => j.id);
    const worker = app.worker({ jobs: [ok, fail], concurrency: 2 });
    await start(worker);
    await eventually(async () => {
      const c = await app.countJobs("work");
      expect(c).toMatchObject({ completed: 3, discarded: 2 });
    });
    await worker.stop();
    return { done, dead };
  }

  it("app.admin is one Admin over the app's store, with its kind", async () => {
    const admin = await setup();
    expect(admin).toBeInstanceOf(Admin);
    expect(app.admin).toBe(admin);
    expect(admin.store).toBe(app.store);
    expect(admin.storeKind).toBe(kind);
  });

  it("queues: counts per state, paused, rate limit and registered job types", async () => {
    const admin = await setup();
    await app.store.jobTypeRegister({
      types: [
        { name: "b-type", queue: "mail" },
        { name: "a-type", queue: "mail" },
        { name: "lonely", queue: "empty" },
      ],
      now: Date.now(),
    });
    await app.enqueue("a-type", { x: 1 });
    await app.enqueue("a-type", { x: 2 }, { delayMs: 60_000 });
    await admin.pauseQueue("mail");
    await app.setQueueRateLimit("mail", { max: 5, windowMs: 1_000 });
    expect(await admin.queues()).toEqual([
      { name: "empty", paused: false, counts: zero, jobTypes: ["lonely"] },
      {
        name: "mail",
        paused: true,
        counts: { ...zero, available: 1, scheduled: 1 },
        rateLimit: { max: 5, windowMs: 1_000 },
        jobTypes: ["a-type", "b-type"],
      },
    ]);
    await admin.resumeQueue("mail");
    expect((await admin.queues()).find((q) => q.name === "mail")?.paused).toBe(false);
    expect(() => admin.pauseQueue("bad queue")).toThrow(/pauseQueue queue/);
  });

  it("jobs: filters, cursor pages and page size limits", async () => {
    const admin = await setup();
    const ids: string[] = [];
    for (let n = 0; n < 7; n++) {
      ids.push((await app.enqueue(ok, { n }, n % 2 === 0 ? { key: `k${n}` } : { queue: "other" })).id);
    }
    const first = await admin.jobs({ limit: 3 });
    expect(first.jobs.map((j) => j.id)).toEqual(ids.slice(4).reverse());
    expect(first.nextCursor).toBe(ids[4]);
    const second = await admin.jobs({ limit: 3, cursor: first.nextCursor! });
    expect(second.jobs.map((j) => j.id)).toEqual(ids.slice(1, 4).reverse());
    const last = await admin.jobs({ limit: 3, cursor: second.nextCursor! });
    expect(last).toEqual({ jobs: [expect.objectContaining({ id: ids[0] })], nextCursor: null });
    expect((await admin.jobs({ queue: "other" })).jobs.map((j) => j.id)).toEqual([ids[5], ids[3], ids[1]]);
    expect((await admin.jobs({ key: "k4" })).jobs.map((j) => j.id)).toEqual([ids[4]]);
    expect((await admin.jobs()).jobs).toHaveLength(7);
    await expect(admin.jobs({ limit: 501 })).rejects.toMatchObject({ code: "ERR_INVALID_OPTIONS" });
    await expect(admin.jobs({ limit: 0 })).rejects.toMatchObject({ code: "ERR_INVALID_OPTIONS" });
    await expect(admin.jobs({ state: "stuck" as never })).rejects.toThrow(/query\.state/);
    await expect(admin.jobs({ cursor: "abc" })).rejects.toThrow(/query\.cursor/);
    expect((await admin.jobs({ limit: 500 })).jobs).toHaveLength(7);
  });

  it("jobs search: an exact id, else a dedupe key, else a group key, within the other filters", async () => {
    const admin = await setup();
    const keyed = await app.enqueue(ok, { n: 1 }, { key: "order-7" });
    const grouped1 = await app.enqueue(ok, { n: 2 }, { group: "player-7" });
    const grouped2 = await app.enqueue(ok, { n: 3 }, { group: "player-7", queue: "other" });
    // A key that looks like an id: the id wins when such a job exists.
    const numericKey = await app.enqueue(ok, { n: 4 }, { key: keyed.id });

    expect(await admin.jobs({ search: keyed.id })).toMatchObject({
      jobs: [{ id: keyed.id }],
      nextCursor: null,
      matchedBy: "id",
    });
    expect(await admin.jobs({ search: ` ${grouped1.id} ` })).toMatchObject({ matchedBy: "id" });
    // With filters the id's job does not match, the key and then the group are tried (none match here).
    expect(await admin.jobs({ search: keyed.id, queue: "other" })).toEqual({
      jobs: [],
      nextCursor: null,
      matchedBy: null,
    });
    expect((await admin.jobs({ search: keyed.id, state: "available", name: "fail" })).matchedBy).toBeNull();
    const byNumericKey = await admin.jobs({ search: keyed.id, queue: "work", state: "available" });
    expect(byNumericKey.matchedBy).toBe("id");
    await app.cancelJob(keyed.id);
    const keyNow = await admin.jobs({ search: keyed.id, state: "available" });
    expect(keyNow).toMatchObject({ matchedBy: "key", jobs: [{ id: numericKey.id }] });

    expect(await admin.jobs({ search: "order-7" })).toMatchObject({
      matchedBy: "key",
      jobs: [{ id: keyed.id }],
    });
    const group = await admin.jobs({ search: "player-7" });
    expect(group.matchedBy).toBe("group");
    expect(group.jobs.map((j) => j.id)).toEqual([grouped2.id, grouped1.id]);
    expect((await admin.jobs({ search: "player-7", queue: "work" })).jobs.map((j) => j.id)).toEqual([
      grouped1.id,
    ]);
    // Pages of a search keep matching the same way.
    const page1 = await admin.jobs({ search: "player-7", limit: 1 });
    expect(page1).toMatchObject({ matchedBy: "group", jobs: [{ id: grouped2.id }], nextCursor: grouped2.id });
    const page2 = await admin.jobs({ search: "player-7", limit: 1, cursor: page1.nextCursor! });
    expect(page2).toMatchObject({ matchedBy: "group", jobs: [{ id: grouped1.id }], nextCursor: null });
    expect(await admin.jobs({ search: "nothing-like-it" })).toEqual({
      jobs: [],
      nextCursor: null,
      matchedBy: null,
    });
  });

  it("job: data, options, result, progress, logs and every attempt's error with its stack", async () => {
    const admin = await setup();
    const { done, dead } = await runSome();
    const completed = (await admin.job(done[1]!)) as JobRecord;
    expect(completed).toMatchObject({
      state: "completed",
      data: { n: 2 },
      result: { n: 2 },
      progress: { step: 2 },
      maxAttempts: 3,
      queue: "work",
    });
    expect(completed.logs.map((l) => l.message)).toEqual(["handling 2"]);
    const discarded = (await admin.job(dead[0]!)) as JobRecord;
    expect(discarded.state).toBe("discarded");
    expect(discarded.errors.map((e) => [e.attempt, e.kind, e.message])).toEqual([
      [1, "handler", "nope 1"],
      [2, "handler", "nope 1"],
    ]);
    for (const e of discarded.errors) expect(e.stack).toContain("nope 1");
    expect(await admin.job("999999")).toBeNull();
  });

  it("throughput and overview count real outcomes in the current minute, zero-filled", async () => {
    const admin = await setup();
    await runSome();
    const points = await admin.throughput();
    expect(points).toHaveLength(60);
    for (let i = 1; i < points.length; i++) expect(points[i]!.minute - points[i - 1]!.minute).toBe(MINUTE);
    const now = Date.now();
    expect(points.at(-1)!.minute).toBe(now - (now % MINUTE));
    const total = points.reduce(
      (sum, p) => ({
        completed: sum.completed + p.completed,
        retried: sum.retried + p.retried,
        discarded: sum.discarded + p.discarded,
        failed: sum.failed + p.failed,
      }),
      { completed: 0, retried: 0, discarded: 0, failed: 0 },
    );
    expect(total).toEqual({ completed: 3, retried: 2, discarded: 2, failed: 4 });
    expect(points.slice(0, 58).every((p) => p.completed + p.failed === 0)).toBe(true);
    expect(await admin.throughput({ minutes: 5, queue: "elsewhere" })).toEqual(
      (await admin.throughput({ minutes: 5 })).map((p) => ({
        ...p,
        completed: 0,
        failed: 0,
        retried: 0,
        discarded: 0,
      })),
    );
    expect(() => admin.throughput({ minutes: 0 })).toThrow(/throughput minutes/);
    expect(() => admin.throughput({ minutes: 1441 })).toThrow(/throughput minutes/);

    const byQueue = await admin.queueThroughput({ minutes: 3 });
    expect(byQueue.map((q) => q.queue)).toEqual(["work"]);
    expect(byQueue[0]!.points).toHaveLength(3);
    expect(byQueue[0]!.points.reduce((n, p) => n + p.completed, 0)).toBe(3);

    await app.schedule("every-hour", { everyMs: 3_600_000 }, ok, { n: 0 });
    const overview = await admin.overview();
    expect(overview).toMatchObject({
      storeKind: kind,
      totals: { ...zero, completed: 3, discarded: 2 },
      workers: 0,
      schedules: 1,
    });
    expect(overview.queues.map((q) => q.name)).toEqual(["work"]);
    expect(overview.throughput).toHaveLength(60);
    expect(overview.throughput.reduce((n, p) => n + p.completed, 0)).toBe(3);
  });

  it("workers: a running worker is listed with its heartbeat and running jobs, and gone after stop", async () => {
    const admin = await setup();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const slow = defineJob({
      name: "slow",
      queue: "slow-q",
      async handler() {
        await gate;
      },
    });
    expect(await admin.workers()).toEqual([]);
    const worker = app.worker({ jobs: [slow, ok], concurrency: 3, leaseMs: 400, heartbeatMs: 50 });
    await start(worker);
    const [first] = await admin.workers();
    expect(first).toMatchObject({
      id: worker.id,
      pid: process.pid,
      queues: ["slow-q", "work"],
      names: ["slow", "ok"],
      concurrency: 3,
      executor: "inline",
      running: [],
      meta: { leaseMs: 400, heartbeatMs: 50, node: process.version },
    });
    expect(typeof first!.hostname).toBe("string");
    expect(first!.meta.conveyor).toMatch(/^\d+\.\d+\.\d+/);
    const job = await app.enqueue(slow, {});
    await eventually(async () => expect((await admin.workers())[0]?.running).toEqual([job.id]));
    const beat = (await admin.workers())[0]!;
    await eventually(async () =>
      expect((await admin.workers())[0]!.lastBeatAt).toBeGreaterThan(beat.lastBeatAt),
    );
    expect(beat.startedAt).toBeLessThanOrEqual(beat.lastBeatAt);
    release();
    await eventually(async () => expect((await admin.workers())[0]?.running).toEqual([]));
    expect((await admin.overview()).workers).toBe(1);
    await worker.stop();
    expect(await admin.workers()).toEqual([]);
  });

  it("a worker whose beats fail reports worker:error and keeps running jobs", async () => {
    await setup();
    const errors: Error[] = [];
    app.events.on("worker:error", (e) => errors.push(e.error));
    const store = app.store;
    const original = store.workerBeat.bind(store);
    let failing = true;
    store.workerBeat = async (params) => {
      if (failing) throw new Error("registry down");
      return original(params);
    };
    try {
      const worker = app.worker({ jobs: [ok], heartbeatMs: 20, leaseMs: 200 });
      await start(worker);
      const job = await app.enqueue(ok, { n: 5 });
      await eventually(async () => expect((await app.getJob(job.id))?.state).toBe("completed"));
      expect(errors.length).toBeGreaterThan(0);
      expect(errors[0]?.message).toBe("registry down");
      failing = false;
      await eventually(async () => expect((await app.admin.workers()).map((w) => w.id)).toEqual([worker.id]));
    } finally {
      store.workerBeat = original;
    }
  });

  it("actions: retry, cancel, delete and promote, with the app's typed errors", async () => {
    const admin = await setup();
    const { dead } = await runSome();
    const retried = await admin.retryJob(dead[0]!);
    expect(retried).toMatchObject({ id: dead[0], state: "available", maxAttempts: 3 });
    const later = await app.enqueue(ok, { n: 9 }, { delayMs: 3_600_000 });
    expect(await admin.promoteJob(later.id)).toMatchObject({ state: "available" });
    await expect(admin.promoteJob(dead[1]!)).rejects.toMatchObject({ code: "ERR_INVALID_STATE_TRANSITION" });
    expect(await admin.cancelJob(later.id)).toMatchObject({ state: "cancelled" });
    expect(await admin.deleteJob(later.id)).toBe(true);
    expect(await admin.deleteJob(later.id)).toBe(false);
    for (const action of [admin.retryJob("424242"), admin.cancelJob("424242"), admin.promoteJob("424242")]) {
      await expect(action).rejects.toMatchObject({ code: "ERR_JOB_NOT_FOUND" });
    }
  });

  it("schedules: listed, paused and resumed from the next tick; unknown ids throw", async () => {
    const admin = await setup();
    await app.schedule("hourly", { everyMs: 3_600_000 }, ok, { n: 1 });
    await app.schedule("daily", { cron: "0 3 * * *", tz: "Asia/Seoul" }, ok, { n: 2 });
    expect((await admin.schedules()).map((s) => s.id)).toEqual(["daily", "hourly"]);
    expect(await admin.schedule("hourly")).toMatchObject({ id: "hourly", paused: false });
    expect(await admin.pauseSchedule("hourly")).toMatchObject({ paused: true });
    const resumed = await admin.resumeSchedule("hourly");
    expect(resumed.paused).toBe(false);
    expect(resumed.nextRunAt).toBeGreaterThan(Date.now());
    expect(await admin.resumeSchedule("hourly")).toEqual(resumed);
    await expect(admin.pauseSchedule("nope")).rejects.toMatchObject({ code: "ERR_SCHEDULE_NOT_FOUND" });
    await expect(admin.resumeSchedule("nope")).rejects.toMatchObject({ code: "ERR_SCHEDULE_NOT_FOUND" });
    expect(await admin.schedule("nope")).toBeNull();
  });

  it("retryAll retries a queue's jobs in a state page by page, reports progress, skips changed jobs", async () => {
    const admin = await setup();
    const dead = await app.enqueueMany(
      fail,
      Array.from({ length: 230 }, (_, n) => ({ data: { n } })),
    );
    const elsewhere = await app.enqueue(fail, { n: -1 }, { queue: "elsewhere" });
    const worker = app.worker({ jobs: [fail], queues: ["work", "elsewhere"], concurrency: 20 });
    await start(worker);
    await eventually(
      async () => {
        expect((await app.countJobs()).discarded).toBe(231);
      },
      { timeoutMs: 30_000 },
    );
    await worker.stop();

    const progress: Array<[number, number]> = [];
    // Newest first: the first page (200 jobs) ends with dead[30]; these two are on it, late in its order.
    const changed = dead[40]!.id;
    const deleted = dead[41]!.id;
    const result = await admin.retryAll({
      queue: "work",
      state: "discarded",
      onProgress: (done, total) => {
        progress.push([done, total]);
        if (done === 1) {
          // Meanwhile someone else retries one job and deletes another: both are skipped.
          void app.store.jobRetry({ id: changed, now: Date.now() });
          void app.store.jobDelete({ id: deleted });
        }
      },
    });
    expect(result).toEqual({ retried: 228, skipped: 2 });
    expect(progress).toHaveLength(230);
    expect(progress.at(-1)).toEqual([230, 230]);
    expect(progress.map(([d]) => d)).toEqual(Array.from({ length: 230 }, (_, i) => i + 1));
    expect(progress.every(([, t]) => t === 230)).toBe(true);
    const counts = await app.countJobs("work");
    expect(counts).toMatchObject({ available: 229, discarded: 0 });
    expect((await app.getJob(elsewhere.id))?.state).toBe("discarded");

    expect(await admin.retryAll({ state: "discarded" })).toEqual({ retried: 1, skipped: 0 });
    expect(await admin.retryAll({ state: "discarded" })).toEqual({ retried: 0, skipped: 0 });
    await expect(admin.retryAll({ state: "running" as never })).rejects.toThrow(/retryAll state/);
  });

  it("doctor: reachable with latency, the store's checks, the clock, and the worst status as verdict", async () => {
    const admin = await setup();
    const report = await admin.doctor();
    expect(report.storeKind).toBe(kind);
    const names = report.checks.map((c) => c.name);
    expect(names[0]).toBe("reachable");
    expect(names.at(-1)).toBe("clock");
    expect(report.checks[0]).toMatchObject({ status: "ok" });
    expect(report.checks[0]!.latencyMs).toBeGreaterThanOrEqual(0);
    const clock = report.checks.at(-1)!;
    if (kind === "memory") {
      expect(names).toEqual(["reachable", "durability", "clock"]);
      expect(report.checks[1]).toMatchObject({
        status: "warn",
        detail: expect.stringContaining("memory store"),
      });
      expect(clock).toMatchObject({ status: "ok", detail: expect.stringMatching(/^skipped: /) });
      expect(report.verdict).toBe("warn");
    } else if (kind === "redis") {
      // The run's redis-server keeps nothing on disk (test/global-redis.ts), so persistence fails there; a
      // REDIS_URL server may persist.
      expect(names).toEqual(["reachable", "connection", "eviction", "persistence", "schema", "clock"]);
      const by = Object.fromEntries(report.checks.map((c) => [c.name, c]));
      expect(by.connection).toMatchObject({ status: "ok", detail: expect.stringMatching(/^Redis \d+\.\d+/) });
      expect(by.schema).toMatchObject({ status: "ok", detail: expect.stringContaining("current") });
      if (by.persistence!.status === "fail") expect(by.persistence!.detail).toContain("appendonly yes");
      expect(clock).toMatchObject({ status: "ok", detail: expect.stringMatching(/^skew [+-]?\d+ ms/) });
      const rank = { ok: 0, warn: 1, fail: 2 } as const;
      const worst = report.checks.reduce(
        (w, c) => (rank[c.status] > rank[w] ? c.status : w),
        "ok" as "ok" | "warn" | "fail",
      );
      expect(report.verdict).toBe(worst);
    } else {
      expect(names).toEqual(["reachable", "schema", "journal", "durability", "file", "disk", "clock"]);
      const by = Object.fromEntries(report.checks.map((c) => [c.name, c]));
      expect(by.schema).toMatchObject({ status: "ok", detail: "schema version 2, current" });
      expect(by.journal).toMatchObject({ status: "ok", detail: expect.stringContaining("WAL") });
      expect(by.durability).toMatchObject({
        status: "ok",
        detail: expect.stringContaining("synchronous=FULL"),
      });
      expect(by.file!.detail).toContain("jobs.db");
      expect(clock).toMatchObject({ status: "ok", detail: expect.stringMatching(/^ok, same machine/) });
      const worst = report.checks.some((c) => c.status === "warn") ? "warn" : "ok";
      expect(report.verdict).toBe(worst);
    }
  });
});

describe("admin doctor verdicts", () => {
  it("SQLite with durability normal warns, naming what a power loss can lose", async () => {
    const { app, cleanup } = await openApp("sqlite", { durability: "normal" });
    try {
      const report = await app.admin.doctor();
      const durability = report.checks.find((c) => c.name === "durability");
      expect(durability).toMatchObject({ status: "warn" });
      expect(durability!.detail).toMatch(/synchronous=NORMAL.*power loss/);
      expect(report.verdict).not.toBe("ok");
    } finally {
      await cleanup();
    }
  });

  it("a clock far from the store's fails the clock check; a little off warns", async () => {
    const { app, cleanup } = await openApp("sqlite");
    try {
      const far = new Admin({ store: app.store, clock: new FakeClock(Date.now() - 5 * MINUTE) });
      const farReport = await far.doctor();
      expect(farReport.checks.at(-1)).toMatchObject({ name: "clock", status: "fail" });
      expect(farReport.checks.at(-1)!.detail).toMatch(/^skew \+3000\d\d ms/);
      expect(farReport.verdict).toBe("fail");
      const near = new Admin({ store: app.store, clock: new FakeClock(Date.now() + 5_000) });
      const nearReport = await near.doctor();
      expect(nearReport.checks.at(-1)).toMatchObject({ name: "clock", status: "warn" });
      expect(nearReport.checks.at(-1)!.detail).toMatch(/^skew -(49|50)\d\d ms/);
    } finally {
      await cleanup();
    }
  });

  it("an unreachable store fails reachable and stops there; failing health checks are a check too", async () => {
    const closed = new MemoryStore();
    await closed.close();
    const down = await new Admin({ store: closed }).doctor();
    expect(down.checks).toEqual([
      {
        name: "reachable",
        status: "fail",
        detail: expect.stringMatching(/^memory store did not answer: .*ERR_CLOSED/),
      },
    ]);
    expect(down.verdict).toBe("fail");

    const store = new MemoryStore();
    const broken: Store = Object.create(store, {
      storeHealth: { value: async () => Promise.reject(new Error("INFO denied")) },
    });
    const report = await new Admin({ store: broken }).doctor();
    expect(report.checks.map((c) => [c.name, c.status])).toEqual([
      ["reachable", "ok"],
      ["health", "fail"],
    ]);
    expect(report.checks[1]!.detail).toContain("INFO denied");
    await store.close();
  });
});

describe("admin processes", () => {
  it("null without a process runtime; live pids with their registered names with one", async () => {
    const store = new MemoryStore();
    expect(() => new Admin({} as never)).toThrow(/options\.store must be a Store/);
    expect(new Admin({ store }).processes()).toBeNull();
    const node = createNode({ name: "adm" });
    const admin = new Admin({ store, processes: node });
    const idle = async (self: Self) => {
      await self.listen("stop").receive();
    };
    const a = node.spawn(idle, [], { name: "mailer" });
    const b = node.spawn(idle);
    node.register("mailer-2", a);
    expect(admin.processes()).toEqual([
      { pid: a, names: ["mailer", "mailer-2"] },
      { pid: b, names: [] },
    ]);
    node.send(a, "stop");
    await eventually(() => expect(admin.processes()).toEqual([{ pid: b, names: [] }]));
    await node.shutdown();
    await sleep(1);
    await store.close();
  });
});

describe("app.processes", () => {
  it("is created on first use, listed by app.admin, and its processes are killed by app.close()", async () => {
    const app = await Conveyor.open({ store: "memory" });
    expect(app.admin.processes()).toBeNull();
    const node = app.processes;
    expect(app.processes).toBe(node);
    const pid = node.spawn(
      async (self: Self) => {
        await self.listen("stop").receive();
      },
      [],
      { name: "echo" },
    );
    expect(app.admin.processes()).toEqual([{ pid, names: ["echo"] }]);
    const exited = node.waitExit(pid);
    await app.close();
    expect((await exited).error?.message).toMatch(/kill/);
    expect(node.alive(pid)).toBe(false);
  });
});
