import { describe, expect, it } from "vitest";
import { OptionsError } from "../src/errors.js";
import { parseCatchUp, planTicks, SCHEDULE_SKIP_GRACE_MS } from "../src/scheduler/catch-up.js";
import { latestTicks, nextTick, parseScheduleSpec } from "../src/scheduler/schedule-spec.js";
import type { ScheduleSpec } from "../src/store/store.js";

const at = (iso: string): number => Date.parse(iso);

function optionsError(fn: () => unknown): OptionsError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(OptionsError);
    return error as OptionsError;
  }
  throw new Error("expected an OptionsError");
}

describe("parseScheduleSpec", () => {
  it("reads cron (5 or 6 fields, default UTC, whitespace normalised) and intervals", () => {
    expect(parseScheduleSpec({ cron: " 0  3 * * * " })).toEqual({
      kind: "cron",
      cron: "0 3 * * *",
      tz: "UTC",
    });
    expect(parseScheduleSpec({ cron: "*/10 * * * * *", tz: "Asia/Seoul" })).toEqual({
      kind: "cron",
      cron: "*/10 * * * * *",
      tz: "Asia/Seoul",
    });
    expect(parseScheduleSpec({ cron: "@daily" })).toMatchObject({ kind: "cron", cron: "@daily" });
    expect(parseScheduleSpec({ everyMs: 1_000 })).toEqual({ kind: "interval", everyMs: 1_000 });
  });

  it("rejects invalid cron expressions, naming the field and the value", () => {
    const e = optionsError(() => parseScheduleSpec({ cron: "61 * * * *" }, "schedule spec"));
    expect(e.message).toContain("schedule spec.cron");
    expect(e.message).toContain('"61 * * * *"');
    expect(e.message).toMatch(/minute/);
    expect(optionsError(() => parseScheduleSpec({ cron: "hello" })).message).toContain('"hello"');
    expect(optionsError(() => parseScheduleSpec({ cron: "* * * * * * *" })).message).toContain("cron");
    expect(optionsError(() => parseScheduleSpec({ cron: "" })).message).toContain("cron");
    expect(optionsError(() => parseScheduleSpec({ cron: "0 0 30 2 *" })).message).toContain("never fires");
  });

  it("rejects unknown time zones, naming the field and the value", () => {
    const e = optionsError(() =>
      parseScheduleSpec({ cron: "0 3 * * *", tz: "Mars/Olympus" }, "schedule spec"),
    );
    expect(e.message).toContain("schedule spec.tz");
    expect(e.message).toContain('"Mars/Olympus"');
    expect(optionsError(() => parseScheduleSpec({ cron: "0 3 * * *", tz: "" })).message).toContain("tz");
  });

  it("rejects bad intervals and mixed or empty specs", () => {
    for (const everyMs of [0, -1, 1.5, "1000", Number.NaN]) {
      expect(optionsError(() => parseScheduleSpec({ everyMs })).message).toContain("everyMs");
    }
    expect(optionsError(() => parseScheduleSpec({ everyMs: 1_000, tz: "UTC" })).message).toContain("tz");
    expect(optionsError(() => parseScheduleSpec({ cron: "* * * * *", everyMs: 5 })).message).toContain(
      "exactly one",
    );
    expect(optionsError(() => parseScheduleSpec({})).message).toContain("exactly one");
    expect(optionsError(() => parseScheduleSpec(null)).message).toContain("cron");
  });
});

describe("nextTick and latestTicks", () => {
  it("cron with a seconds field ticks on the second", () => {
    const spec = parseScheduleSpec({ cron: "*/10 * * * * *" });
    const t = at("2026-01-01T00:00:00.000Z");
    expect(nextTick(spec, t)).toBe(t + 10_000);
    expect(nextTick(spec, t + 9_999)).toBe(t + 10_000);
    expect(nextTick(spec, t + 10_000)).toBe(t + 20_000);
    expect(latestTicks(spec, t, t + 35_000, 3)).toEqual([t + 10_000, t + 20_000, t + 30_000]);
    expect(latestTicks(spec, t + 15_000, t + 35_000, 10)).toEqual([t + 20_000, t + 30_000]);
    expect(latestTicks(spec, t, t + 30_000, 1)).toEqual([t + 30_000]);
  });

  it("reads cron in its time zone: 03:00 in Seoul is 18:00 UTC the day before", () => {
    const seoul = parseScheduleSpec({ cron: "0 3 * * *", tz: "Asia/Seoul" });
    const utc = parseScheduleSpec({ cron: "0 3 * * *" });
    const t = at("2026-01-01T12:00:00.000Z");
    expect(new Date(nextTick(seoul, t)!).toISOString()).toBe("2026-01-01T18:00:00.000Z");
    expect(new Date(nextTick(utc, t)!).toISOString()).toBe("2026-01-02T03:00:00.000Z");
  });

  it("follows daylight saving time in zones that have it", () => {
    const ny = parseScheduleSpec({ cron: "30 8 * * *", tz: "America/New_York" });
    // 2026-03-08: clocks spring forward; 08:30 local is 13:30 UTC before, 12:30 UTC after.
    expect(new Date(nextTick(ny, at("2026-03-07T00:00:00Z"))!).toISOString()).toBe(
      "2026-03-07T13:30:00.000Z",
    );
    expect(new Date(nextTick(ny, at("2026-03-08T00:00:00Z"))!).toISOString()).toBe(
      "2026-03-08T12:30:00.000Z",
    );
  });

  it("intervals tick on multiples of everyMs since the epoch", () => {
    const spec: ScheduleSpec = { kind: "interval", everyMs: 60_000 };
    expect(nextTick(spec, 0)).toBe(60_000);
    expect(nextTick(spec, 59_999)).toBe(60_000);
    expect(nextTick(spec, 60_000)).toBe(120_000);
    expect(nextTick(spec, 61_234)).toBe(120_000);
    expect(latestTicks(spec, 60_000, 300_000, 2)).toEqual([240_000, 300_000]);
    expect(latestTicks(spec, 60_001, 119_999, 5)).toEqual([]);
  });
});

describe("catch-up after downtime", () => {
  // An hourly schedule due at 01:00; the scheduler comes back at 04:30.
  const hourly = parseScheduleSpec({ cron: "0 * * * *" });
  const from = at("2026-01-01T01:00:00Z");
  const now = at("2026-01-01T04:30:00Z");
  const iso = (ticks: number[]) => ticks.map((t) => new Date(t).toISOString().slice(11, 16));

  it("skip drops every missed tick", () => {
    const plan = planTicks(hourly, { policy: "skip" }, from, now);
    expect(plan.ticks).toEqual([]);
    expect(plan.nextRunAt).toBe(at("2026-01-01T05:00:00Z"));
  });

  it("skip still enqueues the latest tick when it is only a little late", () => {
    const lateBy = at("2026-01-01T04:00:00Z") + SCHEDULE_SKIP_GRACE_MS;
    expect(iso(planTicks(hourly, { policy: "skip" }, from, lateBy).ticks)).toEqual(["04:00"]);
    expect(planTicks(hourly, { policy: "skip" }, from, lateBy + 1).ticks).toEqual([]);
  });

  it("last enqueues the latest missed tick only", () => {
    const plan = planTicks(hourly, { policy: "last" }, from, now);
    expect(iso(plan.ticks)).toEqual(["04:00"]);
    expect(plan.nextRunAt).toBe(at("2026-01-01T05:00:00Z"));
  });

  it("all enqueues up to max missed ticks, the latest ones, oldest first", () => {
    expect(iso(planTicks(hourly, { policy: "all", max: 2 }, from, now).ticks)).toEqual(["03:00", "04:00"]);
    expect(iso(planTicks(hourly, { policy: "all", max: 100 }, from, now).ticks)).toEqual([
      "01:00",
      "02:00",
      "03:00",
      "04:00",
    ]);
  });

  it("in normal operation every policy enqueues the one tick that just fell due", () => {
    const tick = at("2026-01-01T01:00:00Z");
    for (const policy of [{ policy: "skip" }, { policy: "last" }, { policy: "all", max: 5 }] as const) {
      expect(planTicks(hourly, policy, tick, tick + 3).ticks).toEqual([tick]);
    }
  });

  it("parseCatchUp accepts the short forms and rejects bad ones", () => {
    expect(parseCatchUp(undefined)).toEqual({ policy: "last" });
    expect(parseCatchUp("skip")).toEqual({ policy: "skip" });
    expect(parseCatchUp({ policy: "all", max: 3 })).toEqual({ policy: "all", max: 3 });
    expect(optionsError(() => parseCatchUp({ policy: "all", max: 0 }, "x.catchUp")).message).toContain(
      "x.catchUp.max",
    );
    expect(optionsError(() => parseCatchUp("sometimes")).message).toContain('"sometimes"');
  });
});
