/**
 * Helpers every store's schedule code shares: the canonical text of a spec (to tell whether an upsert
 * changed it) and the serialised form of a schedule definition.
 */
import { OptionsError } from "../errors.js";
import type { CatchUpPolicy, ScheduleJobOptions, ScheduleSpec } from "./store.js";

/** Canonical JSON of a spec, with a fixed key order: equal specs give equal text. */
export function specText(spec: ScheduleSpec): string {
  return spec.kind === "cron"
    ? JSON.stringify({ kind: "cron", cron: spec.cron, tz: spec.tz })
    : JSON.stringify({ kind: "interval", everyMs: spec.everyMs });
}

/** Canonical JSON of a catch-up policy. */
export function catchUpText(catchUp: CatchUpPolicy): string {
  return catchUp.policy === "all"
    ? JSON.stringify({ policy: "all", max: catchUp.max })
    : JSON.stringify({ policy: catchUp.policy });
}

/** JSON of a schedule's job options, with a fixed key order. */
export function scheduleOptionsText(options: ScheduleJobOptions, id: string): string {
  return jsonText(
    {
      priority: options.priority,
      lifo: options.lifo,
      maxAttempts: options.maxAttempts,
      maxStalls: options.maxStalls,
      timeoutMs: options.timeoutMs,
      meta: options.meta ?? {},
    },
    `options of schedule "${id}"`,
  );
}

/** JSON text of `value` (`undefined` as null); OptionsError naming `what` when JSON cannot hold it. */
export function jsonText(value: unknown, what: string): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (cause) {
    throw new OptionsError(`${what} cannot be stored as JSON: ${(cause as Error).message}`, { cause });
  }
  return text ?? "null";
}
