/**
 * Schedule specs: parsing and validation of what users write (`{ cron, tz? }` or `{ everyMs }`), and the tick
 * arithmetic the scheduler needs (the next tick after a time, the latest ticks up to a time). Cron
 * expressions are read by croner: 5 fields (minute precision) or 6 (a leading seconds field), nicknames such as
 * `@daily`, in an IANA time zone (UTC when none is given).
 */
import { Cron } from "croner";
import { OptionsError } from "../errors.js";
import type { ScheduleSpec } from "../store/store.js";

/** A schedule's timing as the app API takes it. */
export type ScheduleSpecInput =
  | {
      /** A cron expression: "0 3 * * *", or with seconds "*\/10 * * * * *". */
      cron: string;
      /** IANA time zone, e.g. "Asia/Seoul". Default "UTC". */
      tz?: string;
    }
  | {
      /** Fixed interval in milliseconds; ticks fall on multiples of it since the Unix epoch. */
      everyMs: number;
    };

/** Largest interval accepted (about ten years). */
const MAX_EVERY_MS = 10 * 366 * 86_400_000;

/** Checks an IANA time zone name; OptionsError naming `field` when unknown. */
export function assertTimeZone(tz: unknown, field: string): asserts tz is string {
  if (typeof tz !== "string" || tz.trim() === "") {
    throw new OptionsError(
      `${field} must be an IANA time zone such as "Asia/Seoul", got ${JSON.stringify(tz)}`,
    );
  }
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: tz });
  } catch {
    throw new OptionsError(
      `${field}: unknown time zone ${JSON.stringify(tz)}; use an IANA name such as "UTC", "Europe/Paris" or "Asia/Seoul"`,
    );
  }
}

function cronOf(expr: string, tz: string): Cron {
  return new Cron(expr, { paused: true, timezone: tz, mode: "5-or-6-parts" });
}

/**
 * Validates a user's spec and returns the stored form. Throws OptionsError naming `field` and the bad value:
 * an unparsable cron expression, an unknown time zone, an expression that never fires, or a bad interval.
 */
export function parseScheduleSpec(input: unknown, field = "schedule spec"): ScheduleSpec {
  if (typeof input !== "object" || input === null) {
    throw new OptionsError(`${field} must be { cron: "0 3 * * *", tz?: "Asia/Seoul" } or { everyMs: 60000 }`);
  }
  const o = input as Record<string, unknown>;
  const hasCron = o.cron !== undefined;
  const hasEvery = o.everyMs !== undefined;
  if (hasCron === hasEvery) {
    throw new OptionsError(`${field} must have exactly one of cron and everyMs, got ${describe(input)}`);
  }
  if (hasEvery) {
    if (o.tz !== undefined)
      throw new OptionsError(`${field}.tz applies to cron expressions only, not everyMs`);
    const every = o.everyMs;
    if (typeof every !== "number" || !Number.isInteger(every) || every < 1 || every > MAX_EVERY_MS) {
      throw new OptionsError(
        `${field}.everyMs must be an integer from 1 to ${MAX_EVERY_MS} (milliseconds), got ${JSON.stringify(every)}`,
      );
    }
    return { kind: "interval", everyMs: every };
  }
  const expr = o.cron;
  if (typeof expr !== "string" || expr.trim() === "") {
    throw new OptionsError(
      `${field}.cron must be a cron expression such as "0 3 * * *", got ${JSON.stringify(expr)}`,
    );
  }
  const tz = o.tz === undefined ? "UTC" : o.tz;
  assertTimeZone(tz, `${field}.tz`);
  const cron = expr.trim().replace(/\s+/g, " ");
  let parsed: Cron;
  try {
    parsed = cronOf(cron, tz);
  } catch (error) {
    const reason = (error instanceof Error ? error.message : String(error)).replace(/^CronPattern: /, "");
    throw new OptionsError(
      `${field}.cron: invalid cron expression ${JSON.stringify(expr)}: ${reason}. Use 5 fields ` +
        '("minute hour day-of-month month day-of-week") or 6 with a leading seconds field',
      { cause: error },
    );
  }
  if (parsed.nextRun(new Date(0)) === null) {
    throw new OptionsError(`${field}.cron: the expression ${JSON.stringify(expr)} never fires`);
  }
  return { kind: "cron", cron, tz };
}

function describe(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/** A parsed cron per stored spec, reused across passes. */
const cronCache = new Map<string, Cron>();

function cachedCron(spec: Extract<ScheduleSpec, { kind: "cron" }>): Cron {
  const key = `${spec.tz}\u0000${spec.cron}`;
  let cron = cronCache.get(key);
  if (cron === undefined) {
    if (cronCache.size > 1_000) cronCache.clear();
    cron = cronOf(spec.cron, spec.tz);
    cronCache.set(key, cron);
  }
  return cron;
}

/** The first tick strictly after `after`, or null when the spec has none left. */
export function nextTick(spec: ScheduleSpec, after: number): number | null {
  if (spec.kind === "interval") return (Math.floor(after / spec.everyMs) + 1) * spec.everyMs;
  return cachedCron(spec).nextRun(new Date(after))?.getTime() ?? null;
}

/** The latest `n` ticks `t` with `from <= t <= to`, ascending. */
export function latestTicks(spec: ScheduleSpec, from: number, to: number, n: number): number[] {
  if (n <= 0 || to < from) return [];
  const ticks: number[] = [];
  if (spec.kind === "interval") {
    const e = spec.everyMs;
    for (let t = Math.floor(to / e) * e; t >= from && ticks.length < n; t -= e) ticks.push(t);
  } else {
    // croner lists runs strictly before its reference: +1 ms makes `to` itself count.
    for (const d of cachedCron(spec).previousRuns(n, new Date(to + 1))) {
      const t = d.getTime();
      if (t >= from && t <= to) ticks.push(t);
    }
  }
  return ticks.reverse();
}

/** A spec as people read it: "cron 0 3 * * * (Asia/Seoul)" or "every 60000ms". */
export function describeSpec(spec: ScheduleSpec): string {
  return spec.kind === "cron" ? `cron ${spec.cron} (${spec.tz})` : `every ${spec.everyMs}ms`;
}
