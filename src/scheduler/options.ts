import type { EnqueueByNameOptions } from "../conveyor.js";
import type { CatchUpInput } from "./catch-up.js";

/**
 * Options of `app.schedule()`: the job options every tick's job gets (they override the job type's, as with
 * enqueue), `force` for a job name no worker registered yet, and the catch-up policy after downtime.
 */
export interface ScheduleOptions
  extends Omit<EnqueueByNameOptions, "delayMs" | "runAt" | "key" | "dedupe" | "group"> {
  /**
   * What to enqueue for ticks missed while no scheduler ran: `"skip"` (none; the latest tick only if at most
   * 60 s late), `"last"` (default: the latest one), or `{ policy: "all", max }` (up to `max`, oldest first).
   */
  catchUp?: CatchUpInput;
}

/** Enqueue options that make no sense for a schedule (each tick's job runs at its tick). */
export const NOT_FOR_SCHEDULES = ["delayMs", "runAt", "key", "dedupe", "group"] as const;
