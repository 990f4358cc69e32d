/**
 * Conformance: schedules (`scheduleUpsert`, `scheduleGet`, `scheduleList`, `scheduleDelete`, `schedulePause`,
 * `scheduleResume`, `scheduleDue`, `scheduleFire`). The fire's compare-and-set on `nextRunAt` is what lets
 * any number of schedulers share a store with exactly one job per tick.
 */
import { describe, expect, it } from "vitest";
import type { ScheduleFireParams, ScheduleRecord, ScheduleUpsertParams, Store } from "../../store/store.js";
import { type ConformanceContext, eventually, T0 } from "./context.js";
import { jobInsertParams } from "./fixtures.js";

/** Valid upsert params: schedule "s1" enqueueing "test-job" every second, next run at T0 + 1000. */
export function scheduleUpsertParams(overrides: Partial<ScheduleUpsertParams> = {}): ScheduleUpsertParams {
  return {
    id: "s1",
    jobName: "test-job",
    queue: "default",
    data: { n: 1 },
    options: { priority: 0, lifo: false, maxAttempts: 3, maxStalls: 2, timeoutMs: null, meta: {} },
    spec: { kind: "interval", everyMs: 1_000 },
    catchUp: { policy: "last" },
    nextRunAt: T0 + 1_000,
    now: T0,
    ...overrides,
  };
}

/** Fire params for `schedule` at `ticks`, each tick's job carrying `{ schedule, tickAt }` in its meta. */
function fireParams(
  schedule: Pick<ScheduleRecord, "id" | "nextRunAt">,
  ticks: number[],
  nextRunAt: number | null,
  now: number,
  extra: Partial<ScheduleFireParams> = {},
): ScheduleFireParams {
  return {
    id: schedule.id,
    expectNextRunAt: schedule.nextRunAt!,
    ticks: ticks.map((tickAt) => ({
      tickAt,
      job: jobInsertParams({ data: { n: 1 }, runAt: tickAt, now, meta: { schedule: schedule.id, tickAt } }),
    })),
    nextRunAt,
    now,
    ...extra,
  };
}

async function jobsOf(store: Store): Promise<Array<{ id: string; meta: Record<string, unknown> }>> {
  const { jobs } = await store.jobList({ limit: 1_000 });
  return jobs.reverse().map((j) => ({ id: j.id, meta: j.meta }));
}

/** Registers the schedule tests. */
export function scheduleTests(ctx: ConformanceContext): void {
  describe("schedule", () => {
    it("upsert inserts a schedule that get and list return as given", async () => {
      const { store } = await ctx.setup();
      const params = scheduleUpsertParams({
        options: {
          priority: -5,
          lifo: true,
          maxAttempts: 7,
          maxStalls: 4,
          timeoutMs: 9_000,
          meta: { a: [1] },
        },
        spec: { kind: "cron", cron: "*/5 * * * * *", tz: "Asia/Seoul" },
        catchUp: { policy: "all", max: 10 },
      });
      const { schedule, created } = await store.scheduleUpsert(params);
      const expected: ScheduleRecord = {
        id: "s1",
        jobName: "test-job",
        queue: "default",
        data: { n: 1 },
        options: params.options,
        spec: params.spec,
        catchUp: params.catchUp,
        paused: false,
        nextRunAt: T0 + 1_000,
        lastTickAt: null,
        createdAt: T0,
        updatedAt: T0,
      };
      expect(created).toBe(true);
      expect(schedule).toEqual(expected);
      expect(await store.scheduleGet({ id: "s1" })).toEqual(expected);
      expect(await store.scheduleGet({ id: "nope" })).toBeNull();
      await store.scheduleUpsert(scheduleUpsertParams({ id: "a-first", data: null }));
      const list = await store.scheduleList();
      expect(list.map((s) => s.id)).toEqual(["a-first", "s1"]);
      expect(list[0]!.data).toBeNull();
    });

    it("replacing keeps createdAt, lastTickAt, paused and, with an unchanged spec, nextRunAt", async () => {
      const { store } = await ctx.setup();
      const first = (await store.scheduleUpsert(scheduleUpsertParams())).schedule;
      await store.scheduleFire(fireParams(first, [T0 + 1_000], T0 + 2_000, T0 + 1_000));
      await store.schedulePause({ id: "s1", now: T0 + 1_100 });
      const { schedule, created } = await store.scheduleUpsert(
        scheduleUpsertParams({
          jobName: "other-job",
          queue: "q2",
          data: { n: 2 },
          catchUp: { policy: "skip" },
          nextRunAt: T0 + 9_000,
          now: T0 + 1_500,
        }),
      );
      expect(created).toBe(false);
      expect(schedule).toMatchObject({
        jobName: "other-job",
        queue: "q2",
        data: { n: 2 },
        catchUp: { policy: "skip" },
        paused: true,
        nextRunAt: T0 + 2_000,
        lastTickAt: T0 + 1_000,
        createdAt: T0,
        updatedAt: T0 + 1_500,
      });
      const changed = await store.scheduleUpsert(
        scheduleUpsertParams({
          spec: { kind: "interval", everyMs: 5_000 },
          nextRunAt: T0 + 5_000,
          now: T0 + 1_600,
        }),
      );
      expect(changed.schedule).toMatchObject({
        spec: { kind: "interval", everyMs: 5_000 },
        nextRunAt: T0 + 5_000,
        lastTickAt: T0 + 1_000,
        paused: true,
      });
    });

    it("deletes a schedule, leaving the jobs it enqueued", async () => {
      const { store } = await ctx.setup();
      const s = (await store.scheduleUpsert(scheduleUpsertParams())).schedule;
      await store.scheduleFire(fireParams(s, [T0 + 1_000], T0 + 2_000, T0 + 1_000));
      expect(await store.scheduleDelete({ id: "s1" })).toBe(true);
      expect(await store.scheduleDelete({ id: "s1" })).toBe(false);
      expect(await store.scheduleGet({ id: "s1" })).toBeNull();
      expect(await store.scheduleList()).toEqual([]);
      expect(await jobsOf(store)).toHaveLength(1);
    });

    it("pause and resume: a paused schedule is never due; resume sets the next run given", async () => {
      const { store } = await ctx.setup();
      await store.scheduleUpsert(scheduleUpsertParams());
      const paused = await store.schedulePause({ id: "s1", now: T0 + 10 });
      expect(paused).toMatchObject({ paused: true, nextRunAt: T0 + 1_000, updatedAt: T0 + 10 });
      expect(await store.schedulePause({ id: "s1", now: T0 + 20 })).toMatchObject({ updatedAt: T0 + 10 });
      expect(await store.scheduleDue({ now: T0 + 60_000, limit: 10 })).toEqual([]);
      const resumed = await store.scheduleResume({ id: "s1", nextRunAt: T0 + 61_000, now: T0 + 60_500 });
      expect(resumed).toMatchObject({ paused: false, nextRunAt: T0 + 61_000, updatedAt: T0 + 60_500 });
      // Resuming an unpaused schedule changes nothing.
      expect(await store.scheduleResume({ id: "s1", nextRunAt: T0 + 99_000, now: T0 + 70_000 })).toEqual(
        resumed,
      );
      expect(await store.schedulePause({ id: "nope", now: T0 })).toBeNull();
      expect(await store.scheduleResume({ id: "nope", nextRunAt: T0, now: T0 })).toBeNull();
    });

    it("due lists unpaused schedules with nextRunAt <= now, earliest first, then by id, up to limit", async () => {
      const { store } = await ctx.setup();
      await store.scheduleUpsert(scheduleUpsertParams({ id: "c", nextRunAt: T0 + 300 }));
      await store.scheduleUpsert(scheduleUpsertParams({ id: "b", nextRunAt: T0 + 100 }));
      await store.scheduleUpsert(scheduleUpsertParams({ id: "a", nextRunAt: T0 + 300 }));
      await store.scheduleUpsert(scheduleUpsertParams({ id: "later", nextRunAt: T0 + 301 }));
      await store.scheduleUpsert(scheduleUpsertParams({ id: "never", nextRunAt: null }));
      await store.scheduleUpsert(scheduleUpsertParams({ id: "paused", nextRunAt: T0 }));
      await store.schedulePause({ id: "paused", now: T0 });
      const ids = async (now: number, limit: number) =>
        (await store.scheduleDue({ now, limit })).map((s) => s.id);
      expect(await ids(T0 + 300, 10)).toEqual(["b", "a", "c"]);
      expect(await ids(T0 + 300, 2)).toEqual(["b", "a"]);
      expect(await ids(T0 + 99, 10)).toEqual([]);
      expect(await ids(T0 + 300, 0)).toEqual([]);
    });

    it("fire inserts one job per tick with its meta, and moves nextRunAt and lastTickAt", async () => {
      const { store } = await ctx.setup();
      const s = (await store.scheduleUpsert(scheduleUpsertParams())).schedule;
      const now = T0 + 3_500;
      const result = await store.scheduleFire(
        fireParams(s, [T0 + 1_000, T0 + 2_000, T0 + 3_000], T0 + 4_000, now),
      );
      expect(result.fired).toBe(true);
      expect(result.jobs.map((j) => [j.state, j.runAt, j.meta])).toEqual([
        ["available", T0 + 1_000, { schedule: "s1", tickAt: T0 + 1_000 }],
        ["available", T0 + 2_000, { schedule: "s1", tickAt: T0 + 2_000 }],
        ["available", T0 + 3_000, { schedule: "s1", tickAt: T0 + 3_000 }],
      ]);
      const ids = result.jobs.map((j) => Number(j.id));
      expect([...ids].sort((a, b) => a - b)).toEqual(ids);
      expect(result.jobs[0]).toMatchObject({
        name: "test-job",
        queue: "default",
        data: { n: 1 },
        createdAt: now,
      });
      expect(await store.scheduleGet({ id: "s1" })).toMatchObject({
        nextRunAt: T0 + 4_000,
        lastTickAt: T0 + 3_000,
      });
      expect((await jobsOf(store)).map((j) => j.id)).toEqual(result.jobs.map((j) => j.id));
    });

    it("fire is a compare-and-set: of two fires expecting the same nextRunAt, exactly one inserts", async () => {
      const { store } = await ctx.setup();
      const s = (await store.scheduleUpsert(scheduleUpsertParams())).schedule;
      const fire = () => store.scheduleFire(fireParams(s, [T0 + 1_000], T0 + 2_000, T0 + 1_000));
      const [a, b] = await Promise.all([fire(), fire()]);
      expect([a!.fired, b!.fired].sort()).toEqual([false, true]);
      const loser = a!.fired ? b! : a!;
      expect(loser.jobs).toEqual([]);
      expect(await fire()).toEqual({ fired: false, jobs: [] });
      const jobs = await jobsOf(store);
      expect(jobs.map((j) => j.meta)).toEqual([{ schedule: "s1", tickAt: T0 + 1_000 }]);
      expect(await store.scheduleGet({ id: "s1" })).toMatchObject({
        nextRunAt: T0 + 2_000,
        lastTickAt: T0 + 1_000,
      });
    });

    it("fire does nothing on a paused, deleted or unknown schedule", async () => {
      const { store } = await ctx.setup();
      const s = (await store.scheduleUpsert(scheduleUpsertParams())).schedule;
      await store.schedulePause({ id: "s1", now: T0 });
      expect((await store.scheduleFire(fireParams(s, [T0 + 1_000], T0 + 2_000, T0 + 1_000))).fired).toBe(
        false,
      );
      expect(await store.scheduleGet({ id: "s1" })).toMatchObject({
        nextRunAt: T0 + 1_000,
        lastTickAt: null,
      });
      await store.scheduleDelete({ id: "s1" });
      expect((await store.scheduleFire(fireParams(s, [T0 + 1_000], T0 + 2_000, T0 + 1_000))).fired).toBe(
        false,
      );
      expect(await jobsOf(store)).toEqual([]);
    });

    it("fire without ticks only moves nextRunAt; ticks at or before lastTickAt are never inserted again", async () => {
      const { store } = await ctx.setup();
      const s = (await store.scheduleUpsert(scheduleUpsertParams())).schedule;
      await store.scheduleFire(fireParams(s, [T0 + 1_000], T0 + 2_000, T0 + 1_000));
      const skipped = await store.scheduleFire(
        fireParams({ id: "s1", nextRunAt: T0 + 2_000 }, [], T0 + 9_000, T0 + 8_500),
      );
      expect(skipped).toEqual({ fired: true, jobs: [] });
      expect(await store.scheduleGet({ id: "s1" })).toMatchObject({
        nextRunAt: T0 + 9_000,
        lastTickAt: T0 + 1_000,
      });
      const again = await store.scheduleFire(
        fireParams({ id: "s1", nextRunAt: T0 + 9_000 }, [T0 + 1_000, T0 + 9_000], T0 + 10_000, T0 + 9_000),
      );
      expect(again.jobs.map((j) => j.meta.tickAt)).toEqual([T0 + 9_000]);
      expect(await store.scheduleGet({ id: "s1" })).toMatchObject({
        nextRunAt: T0 + 10_000,
        lastTickAt: T0 + 9_000,
      });
      const last = await store.scheduleFire(
        fireParams({ id: "s1", nextRunAt: T0 + 10_000 }, [], null, T0 + 10_000),
      );
      expect(last.fired).toBe(true);
      expect(await store.scheduleGet({ id: "s1" })).toMatchObject({ nextRunAt: null });
      expect(await store.scheduleDue({ now: Number.MAX_SAFE_INTEGER, limit: 10 })).toEqual([]);
    });

    it("the jobs a fire inserts wake watchers of their queue", async () => {
      const { store } = await ctx.setup();
      const s = (await store.scheduleUpsert(scheduleUpsertParams())).schedule;
      let calls = 0;
      const unwatch = store.watch(["default"], () => {
        calls++;
      });
      await store.scheduleFire(fireParams(s, [T0 + 1_000], T0 + 2_000, T0 + 1_000));
      await eventually(() => expect(calls).toBeGreaterThan(0));
      unwatch();
    });
  });
}
