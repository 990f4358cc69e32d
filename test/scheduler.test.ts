import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { Conveyor, defineJob, MemoryStore, type Scheduler, type Store } from "../src/index.js";
import { openSqliteStore } from "../src/sqlite/index.js";
import { FakeClock } from "../src/testing/fake-clock.js";
import { STORE_KINDS, type StoreKind } from "./helpers/stores.js";

const START = Date.UTC(2026, 0, 1);

const report = defineJob<{ kind: string }>({ name: "report", queue: "reports", async handler() {} });

/** Tick jobs of a schedule, oldest first. */
async function tickJobs(app: Conveyor, schedule = "s") {
  const { jobs } = await app.listJobs({ limit: 1_000 });
  return jobs.filter((j) => j.meta.schedule === schedule).reverse();
}

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

/** A seeded generator in [0, 1), so a failing interleaving can be replayed. */
function seeded(seed: number): () => number {
  let x = seed;
  return () => {
    x = (x * 1_103_515_245 + 12_345) % 2 ** 31;
    return x / 2 ** 31;
  };
}

/**
 * Wraps a store so its schedule reads and fires take a random number of event-loop turns before and after:
 * the instances' due reads and fires then interleave in every order. Counts the fires that lost the race.
 */
function jittery(store: Store, random: () => number, lost: { count: number }): Store {
  const turns = async () => {
    for (let i = Math.floor(random() * 4); i > 0; i--) await new Promise((r) => setImmediate(r));
  };
  return new Proxy(store, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (prop === "scheduleDue" || prop === "scheduleFire") {
        return async (params: never) => {
          await turns();
          const result = await (value as (p: never) => Promise<unknown>).call(target, params);
          if (prop === "scheduleFire" && !(result as { fired: boolean }).fired) lost.count++;
          await turns();
          return result;
        };
      }
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

/** `count` apps on one fresh store of `kind` (one memory store, or one SQLite file through separate connections). */
async function openApps(
  kind: StoreKind,
  clock: FakeClock,
  count = 1,
  wrap: (store: Store) => Store = (store) => store,
): Promise<Conveyor[]> {
  const apps: Conveyor[] = [];
  const stores: Store[] = [];
  const dir = mkdtempSync(join(tmpdir(), "conveyor-sched-"));
  const shared = kind === "memory" ? new MemoryStore() : null;
  for (let i = 0; i < count; i++) {
    const store = shared ?? (await openSqliteStore({ path: join(dir, "jobs.db") }));
    if (shared === null || i === 0) stores.push(store);
    apps.push(await Conveyor.open({ store: wrap(store), clock }));
  }
  closers.push(async () => {
    for (const app of apps) await app.close({ graceMs: 0 });
    for (const store of stores) await store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return apps;
}

/** Waits until no scheduler has a pass in flight (each pass has armed its next timer). */
async function settle(schedulers: Scheduler[]): Promise<void> {
  for (let i = 0; i < 3; i++) {
    await Promise.all(schedulers.map((s) => s.whenIdle()));
    await new Promise((r) => setImmediate(r));
  }
}

/**
 * Moves the fake clock by `ms` in steps of at most `chunk` (the schedulers' poll), settling before and after
 * each step, as real time would let every pass finish before the next timer.
 */
async function advance(clock: FakeClock, schedulers: Scheduler[], ms: number, chunk = 1_000): Promise<void> {
  await settle(schedulers);
  let left = ms;
  do {
    const step = Math.min(chunk, left);
    clock.advance(step);
    left -= step;
    await settle(schedulers);
  } while (left > 0);
}

describe.each(STORE_KINDS)("schedules and the scheduler on the %s store", (kind) => {
  it("enqueues one job per tick with the schedule's data, options and meta", async () => {
    const clock = new FakeClock(START);
    const [app] = await openApps(kind, clock);
    const schedule = await app!.schedule(
      "s",
      { cron: "*/10 * * * * *" },
      report,
      { kind: "daily" },
      {
        priority: -3,
        attempts: 5,
        meta: { owner: "ops" },
      },
    );
    expect(schedule).toMatchObject({
      id: "s",
      jobName: "report",
      queue: "reports",
      nextRunAt: START + 10_000,
      spec: { kind: "cron", cron: "*/10 * * * * *", tz: "UTC" },
      catchUp: { policy: "last" },
      options: { priority: -3, maxAttempts: 5, meta: { owner: "ops" } },
    });
    const scheduler = app!.scheduler();
    await scheduler.start();
    await advance(clock, [scheduler], 9_999);
    expect(await tickJobs(app!)).toEqual([]);
    await advance(clock, [scheduler], 1);
    for (let i = 0; i < 5; i++) await advance(clock, [scheduler], 10_000);
    const jobs = await tickJobs(app!);
    expect(jobs.map((j) => j.meta.tickAt)).toEqual([1, 2, 3, 4, 5, 6].map((k) => START + k * 10_000));
    expect(jobs[0]).toMatchObject({
      name: "report",
      queue: "reports",
      data: { kind: "daily" },
      priority: -3,
      maxAttempts: 5,
      state: "available",
      runAt: START + 10_000,
      meta: { owner: "ops", schedule: "s", tickAt: START + 10_000 },
    });
    expect(await app!.getSchedule("s")).toMatchObject({
      lastTickAt: START + 60_000,
      nextRunAt: START + 70_000,
    });
  });

  it("reads cron in its time zone", async () => {
    const clock = new FakeClock(Date.parse("2026-01-01T12:00:00Z"));
    const [app] = await openApps(kind, clock);
    const seoul = await app!.schedule("seoul", { cron: "0 3 * * *", tz: "Asia/Seoul" }, report, {
      kind: "x",
    });
    const utc = await app!.schedule("utc", { cron: "0 3 * * *" }, report, { kind: "x" });
    expect(new Date(seoul.nextRunAt!).toISOString()).toBe("2026-01-01T18:00:00.000Z");
    expect(new Date(utc.nextRunAt!).toISOString()).toBe("2026-01-02T03:00:00.000Z");
    const scheduler = app!.scheduler({ pollMs: 60_000 });
    await scheduler.start();
    await advance(clock, [scheduler], 6 * 3_600_000, 60_000);
    expect((await tickJobs(app!, "seoul")).length).toBe(1);
    expect((await tickJobs(app!, "utc")).length).toBe(0);
  });

  it.each([
    ["skip", [] as number[]],
    ["last", [10]],
    [{ policy: "all", max: 3 } as const, [8, 9, 10]],
    [{ policy: "all", max: 100 } as const, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]],
  ] as const)("after downtime, catch-up %j enqueues the ticks it says", async (catchUp, expected) => {
    const clock = new FakeClock(START);
    const [app] = await openApps(kind, clock);
    const every = 120_000;
    await app!.schedule("s", { everyMs: every }, report, { kind: "x" }, { catchUp });
    // No scheduler runs for 21.5 minutes: ten ticks missed, the latest 90 s ago.
    clock.advance(10 * every + 90_000);
    const scheduler = app!.scheduler();
    await scheduler.start();
    await scheduler.whenIdle();
    const ticks = (await tickJobs(app!)).map((j) => ((j.meta.tickAt as number) - START) / every);
    expect(ticks).toEqual(expected);
    expect(await app!.getSchedule("s")).toMatchObject({ nextRunAt: START + 11 * every });
    // Back to normal: the next tick is enqueued under every policy.
    await advance(clock, [scheduler], 30_000);
    expect((await tickJobs(app!)).map((j) => j.meta.tickAt)).toContain(START + 11 * every);
  });

  it("upserting an unchanged schedule keeps its next run; a changed spec moves it", async () => {
    const clock = new FakeClock(START);
    const [app] = await openApps(kind, clock);
    await app!.schedule("s", { everyMs: 60_000 }, report, { kind: "a" });
    clock.advance(90_000); // a restart of the app, later, upserts it again
    const again = await app!.schedule("s", { everyMs: 60_000 }, report, { kind: "b" });
    expect(again).toMatchObject({ nextRunAt: START + 60_000, data: { kind: "b" }, createdAt: START });
    const changed = await app!.schedule("s", { everyMs: 50_000 }, report, { kind: "b" });
    expect(changed.nextRunAt).toBe(START + 100_000);
    expect((await app!.listSchedules()).map((s) => s.id)).toEqual(["s"]);
  });

  it("a paused schedule enqueues nothing, and resumes from its next tick without catching up", async () => {
    const clock = new FakeClock(START);
    const [app] = await openApps(kind, clock);
    await app!.schedule(
      "s",
      { everyMs: 1_000 },
      report,
      { kind: "x" },
      { catchUp: { policy: "all", max: 100 } },
    );
    const scheduler = app!.scheduler();
    await scheduler.start();
    await advance(clock, [scheduler], 1_000);
    expect(await app!.pauseSchedule("s")).toMatchObject({ paused: true });
    for (let i = 0; i < 10; i++) await advance(clock, [scheduler], 1_000);
    expect((await tickJobs(app!)).length).toBe(1);
    const resumed = await app!.resumeSchedule("s");
    expect(resumed).toMatchObject({ paused: false, nextRunAt: START + 12_000 });
    await advance(clock, [scheduler], 1_000);
    expect((await tickJobs(app!)).map((j) => (j.meta.tickAt as number) - START)).toEqual([1_000, 12_000]);
    await expect(app!.pauseSchedule("nope")).rejects.toMatchObject({ code: "ERR_SCHEDULE_NOT_FOUND" });
    await expect(app!.resumeSchedule("nope")).rejects.toMatchObject({ code: "ERR_SCHEDULE_NOT_FOUND" });
    expect(await app!.unschedule("s")).toBe(true);
    expect(await app!.unschedule("s")).toBe(false);
    await advance(clock, [scheduler], 5_000);
    expect((await tickJobs(app!)).length).toBe(2);
  });

  it("rejects invalid definitions at once and stores nothing", async () => {
    const clock = new FakeClock(START);
    const [app] = await openApps(kind, clock);
    const bad = [
      () => app!.schedule("s", { cron: "0 25 * * *" }, report, { kind: "x" }),
      () => app!.schedule("s", { cron: "0 3 * * *", tz: "Asia/Nowhere" }, report, { kind: "x" }),
      () => app!.schedule("s", { everyMs: 0 }, report, { kind: "x" }),
      () => app!.schedule("bad id!", { everyMs: 1_000 }, report, { kind: "x" }),
      () => app!.schedule("s", { everyMs: 1_000 }, report, { kind: "x" }, { catchUp: "maybe" as "skip" }),
      () => app!.schedule("s", { everyMs: 1_000 }, report, { kind: "x" }, { delayMs: 5 } as object),
    ];
    for (const call of bad) await expect(call()).rejects.toMatchObject({ code: "ERR_INVALID_OPTIONS" });
    await expect(app!.schedule("s", { cron: "0 25 * * *" }, report, { kind: "x" })).rejects.toThrow(
      /schedule spec\.cron.*"0 25 \* \* \*"/,
    );
    await expect(app!.schedule("s", { everyMs: 1_000 }, "unknown-job", {})).rejects.toMatchObject({
      code: "ERR_UNKNOWN_JOB",
    });
    expect(await app!.listSchedules()).toEqual([]);
    const forced = await app!.schedule("s", { everyMs: 1_000 }, "unknown-job", {}, { force: true });
    expect(forced).toMatchObject({ jobName: "unknown-job", queue: "default" });
  });

  it("three schedulers on one schedule enqueue every tick exactly once over 200 ticks", async () => {
    const clock = new FakeClock(START);
    const random = seeded(42);
    const lost = { count: 0 };
    // Three apps, each with its own connection to one SQLite file (or all on one memory store).
    const apps = await openApps(kind, clock, 3, (store) => jittery(store, random, lost));
    await apps[0]!.schedule(
      "s",
      { everyMs: 1_000 },
      report,
      { kind: "x" },
      { catchUp: { policy: "all", max: 10 } },
    );
    const schedulers = apps.map((app) => app.scheduler());
    const wins = [0, 0, 0];
    for (const [i, app] of apps.entries()) {
      app.events.on("schedule:fired", (e) => {
        wins[i]! += e.jobs.length;
      });
    }
    for (const s of schedulers) await s.start();
    // Steps of 1 to 1,000 ms, so the instances' passes land at every phase of a tick.
    while (clock.now() < START + 200_000) {
      const step = Math.min(1 + Math.floor(random() * 1_000), START + 200_000 - clock.now());
      await advance(clock, schedulers, step);
      // Now and then one instance also looks at once, outside its timer.
      if (random() < 0.2) await schedulers[Math.floor(random() * 3)]!.runOnce();
    }
    await advance(clock, schedulers, 2_000);
    const ticks = (await tickJobs(apps[0]!))
      .map((j) => j.meta.tickAt as number)
      .filter((t) => t <= START + 200_000);
    expect(ticks.length).toBe(200);
    expect(new Set(ticks).size).toBe(200);
    expect(ticks).toEqual(Array.from({ length: 200 }, (_, k) => START + (k + 1) * 1_000));
    expect(wins.reduce((a, b) => a + b, 0)).toBe((await tickJobs(apps[0]!)).length);
    // Every instance won some ticks and lost others: the race was real.
    for (const w of wins) expect(w).toBeGreaterThan(0);
    expect(lost.count).toBeGreaterThan(100);
  });
});

describe("the scheduler service", () => {
  it("wakes exactly at the next run, and survives store errors", async () => {
    const clock = new FakeClock(START);
    const [app] = await openApps("memory", clock);
    await app!.schedule("s", { everyMs: 250 }, report, { kind: "x" });
    const scheduler = app!.scheduler({ pollMs: 1_000 });
    const errors: string[] = [];
    app!.events.on("scheduler:error", (e) => errors.push(e.error.message));
    await scheduler.start();
    await advance(clock, [scheduler], 250);
    expect((await tickJobs(app!)).length).toBe(1);
    const store = app!.store;
    const due = store.scheduleDue.bind(store);
    store.scheduleDue = async () => {
      throw new Error("store down");
    };
    await advance(clock, [scheduler], 250);
    expect(errors).toEqual(["store down"]);
    store.scheduleDue = due;
    await advance(clock, [scheduler], 1_000);
    // Back after its backoff with the missed ticks caught up by the default policy (the last one).
    expect((await tickJobs(app!)).length).toBe(2);
    await scheduler.stop();
    expect(scheduler.state).toBe("stopped");
    await expect(scheduler.runOnce()).rejects.toMatchObject({ code: "ERR_CLOSED" });
  });

  it("a schedule created after start is seen at the next poll, or at once in the same app", async () => {
    const clock = new FakeClock(START);
    const [a, b] = await openApps("memory", clock, 2);
    const scheduler = a!.scheduler({ pollMs: 500 });
    await scheduler.start();
    await b!.schedule("s", { everyMs: 100 }, report, { kind: "x" });
    await advance(clock, [scheduler], 100);
    expect((await tickJobs(a!)).length).toBe(0); // another app: seen at the next poll only
    await advance(clock, [scheduler], 400);
    expect((await tickJobs(a!)).length).toBe(1);
  });
});
