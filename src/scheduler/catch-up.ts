/**
 * Which ticks a scheduler enqueues when it finds a schedule due: normally the one tick that just fell due;
 * after downtime, what the schedule's catch-up policy says (see {@link CatchUpPolicy}).
 */
import { OptionsError } from "../errors.js";
import type { CatchUpPolicy, ScheduleSpec } from "../store/store.js";
import { latestTicks, nextTick } from "./schedule-spec.js";

/** How late the latest due tick may be for the `skip` policy to still enqueue it. */
export const SCHEDULE_SKIP_GRACE_MS = 60_000;

/** Largest `max` of the `all` policy. */
export const CATCH_UP_MAX = 1_000;

/** The catch-up policy used when none is given. */
export const DEFAULT_CATCH_UP: CatchUpPolicy = { policy: "last" };

/** A catch-up policy as the app API takes it: the stored form, or "skip" / "last" for short. */
export type CatchUpInput = CatchUpPolicy | "skip" | "last";

/** Validates a catch-up policy (default `last`); OptionsError naming `field` and the bad value. */
export function parseCatchUp(input: unknown, field = "catchUp"): CatchUpPolicy {
  if (input === undefined) return DEFAULT_CATCH_UP;
  if (input === "skip" || input === "last") return { policy: input };
  if (typeof input === "object" && input !== null) {
    const o = input as Record<string, unknown>;
    if (o.policy === "skip" || o.policy === "last") return { policy: o.policy };
    if (o.policy === "all") {
      const max = o.max;
      if (typeof max !== "number" || !Number.isInteger(max) || max < 1 || max > CATCH_UP_MAX) {
        throw new OptionsError(
          `${field}.max must be an integer from 1 to ${CATCH_UP_MAX} (ticks to enqueue at most), got ${JSON.stringify(max)}`,
        );
      }
      return { policy: "all", max };
    }
  }
  let shown: string;
  try {
    shown = JSON.stringify(input) ?? String(input);
  } catch {
    shown = String(input);
  }
  throw new OptionsError(
    `${field} must be "skip", "last", { policy: "skip" | "last" } or { policy: "all", max: N }, got ${shown}`,
  );
}

/** What to do with a due schedule. */
export interface TickPlan {
  /** Ticks to enqueue, ascending. */
  ticks: number[];
  /** The schedule's next run: the first tick after `now`. */
  nextRunAt: number | null;
}

/**
 * Plans a due schedule whose `nextRunAt` is `from` (`<= now`): the ticks in `[from, now]` to enqueue under
 * `catchUp`, and the next run after `now`.
 */
export function planTicks(spec: ScheduleSpec, catchUp: CatchUpPolicy, from: number, now: number): TickPlan {
  const nextRunAt = nextTick(spec, now);
  if (from > now) return { ticks: [], nextRunAt: from };
  const want = catchUp.policy === "all" ? catchUp.max : 1;
  let ticks = latestTicks(spec, from, now, want);
  if (catchUp.policy === "skip") ticks = ticks.filter((t) => now - t <= SCHEDULE_SKIP_GRACE_MS);
  return { ticks, nextRunAt };
}
