import { OptionsError } from "../errors.js";

/**
 * How long to wait before the next attempt after a failure.
 * - `"exponential"` (default): `delayMs * 2^(attempt-1)`, capped at `maxDelayMs`.
 * - `"fixed"`: always `delayMs`.
 * - an object to tune either, or a function `(attempt, error) => ms` for anything else.
 * `jitter` (0 to 1, default 0.1) spreads each delay by up to ±jitter of itself, so failures that happened
 * together do not retry together.
 */
export type BackoffOption =
  | "exponential"
  | "fixed"
  | { type: "exponential" | "fixed"; delayMs?: number; jitter?: number; maxDelayMs?: number }
  | ((attempt: number, error: Error) => number);

export interface RetryOptions {
  /** Total attempts including the first. Default 3. 1 means never retry. */
  attempts?: number;
  backoff?: BackoffOption;
}

const DEFAULT_DELAY_MS = 1_000;
const DEFAULT_MAX_DELAY_MS = 3_600_000;
const DEFAULT_JITTER = 0.1;

/** Checks a backoff option once, at definition time, so a typo fails fast with the field named. */
export function validateBackoff(backoff: BackoffOption | undefined, field: string): void {
  if (backoff === undefined || typeof backoff === "function") return;
  if (backoff === "exponential" || backoff === "fixed") return;
  if (typeof backoff !== "object" || backoff === null) {
    throw new OptionsError(`${field} must be "exponential", "fixed", an object or a function`);
  }
  if (backoff.type !== "exponential" && backoff.type !== "fixed") {
    throw new OptionsError(
      `${field}.type must be "exponential" or "fixed", got ${JSON.stringify(backoff.type)}`,
    );
  }
  for (const key of ["delayMs", "maxDelayMs"] as const) {
    const v = backoff[key];
    if (v !== undefined && (!Number.isFinite(v) || v < 0)) {
      throw new OptionsError(`${field}.${key} must be a number >= 0, got ${String(v)}`);
    }
  }
  if (backoff.jitter !== undefined && !(backoff.jitter >= 0 && backoff.jitter <= 1)) {
    throw new OptionsError(`${field}.jitter must be between 0 and 1, got ${String(backoff.jitter)}`);
  }
}

/**
 * The delay before the attempt after `attempt` (1-based) failed with `error`. `random` is injectable for tests.
 */
export function backoffDelay(
  backoff: BackoffOption | undefined,
  attempt: number,
  error: Error,
  random: () => number = Math.random,
): number {
  if (typeof backoff === "function") {
    const ms = backoff(attempt, error);
    return Number.isFinite(ms) && ms > 0 ? ms : 0;
  }
  const spec = typeof backoff === "object" ? backoff : { type: backoff ?? "exponential" };
  const base = spec.delayMs ?? DEFAULT_DELAY_MS;
  const max = spec.maxDelayMs ?? DEFAULT_MAX_DELAY_MS;
  const raw = spec.type === "fixed" ? base : base * 2 ** Math.max(0, attempt - 1);
  const capped = Math.min(raw, max);
  const jitter = spec.jitter ?? DEFAULT_JITTER;
  const spread = capped * jitter * (random() * 2 - 1);
  return Math.max(0, Math.round(capped + spread));
}
