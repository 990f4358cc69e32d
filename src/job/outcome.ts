/**
 * Handler outcomes other than success or failure are return values, never thrown control errors:
 * `return snooze(60_000)`, `return cancel("user deleted")`, `return discard("bad input")`.
 */
const OUTCOME = Symbol.for("conveyor.outcome");

export type HandlerOutcome =
  | { readonly [OUTCOME]: "snooze"; readonly delayMs: number }
  | { readonly [OUTCOME]: "cancel"; readonly reason: string }
  | { readonly [OUTCOME]: "discard"; readonly reason: string };

/** Run the job again after `delayMs`; the attempt is not counted against `attempts`. */
export function snooze(delayMs: number): HandlerOutcome {
  if (!Number.isFinite(delayMs) || delayMs < 0) {
    throw new RangeError(`snooze(delayMs): delayMs must be a finite number >= 0, got ${String(delayMs)}`);
  }
  return { [OUTCOME]: "snooze", delayMs };
}

/** Stop the job for good as `cancelled` (not a failure: no retry). */
export function cancel(reason = "cancelled by handler"): HandlerOutcome {
  return { [OUTCOME]: "cancel", reason };
}

/** Stop the job for good as `discarded` (a failure that retrying cannot fix). */
export function discard(reason = "discarded by handler"): HandlerOutcome {
  return { [OUTCOME]: "discard", reason };
}

export function isHandlerOutcome(value: unknown): value is HandlerOutcome {
  return typeof value === "object" && value !== null && OUTCOME in value;
}

export function outcomeKind(value: HandlerOutcome): "snooze" | "cancel" | "discard" {
  return value[OUTCOME];
}
