/**
 * Retention: how long and how many finished jobs the store keeps, and the background pruner that enforces it.
 * Every worker runs a pruner on an interval (like the rescuer); a prune is one idempotent store operation, so
 * several workers pruning at once delete each job once and never more than the policy allows.
 */
import type { Clock } from "../clock.js";
import { OptionsError } from "../errors.js";
import { assertInt } from "../job/define.js";
import type { JobState } from "../job/states.js";
import type { Store } from "../store/store.js";

/** Limits for one final state. A job is pruned once it breaks either. `null` lifts a limit. */
export interface RetentionRule {
  /** Delete jobs that finished more than this long ago. */
  maxAgeMs?: number | null;
  /** Keep at most this many (the newest by finish time), store-wide or per queue (`perQueue`). */
  maxCount?: number | null;
}

/**
 * `Conveyor.open({ retention })`. Each state's rule is merged field by field over the default; `false` keeps
 * that state's jobs forever. Defaults: completed 24 h and 100,000 jobs; cancelled and discarded 7 days and
 * 100,000 jobs; pruned every 60 s. `retention: false` turns pruning off.
 */
export interface RetentionOptions {
  completed?: RetentionRule | false;
  cancelled?: RetentionRule | false;
  discarded?: RetentionRule | false;
  /** Count `maxCount` per queue instead of store-wide. Default false. */
  perQueue?: boolean;
  /** How often each worker prunes. Default 60,000 ms. */
  intervalMs?: number;
}

/** A validated retention policy: one rule per pruned state. */
export interface RetentionPolicy {
  rules: ReadonlyArray<{ state: JobState; maxAgeMs: number | null; maxCount: number | null }>;
  perQueue: boolean;
  intervalMs: number;
}

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** The defaults (see {@link RetentionOptions}). */
export const DEFAULT_RETENTION: Readonly<
  Record<"completed" | "cancelled" | "discarded", Required<RetentionRule>>
> = {
  completed: { maxAgeMs: DAY, maxCount: 100_000 },
  cancelled: { maxAgeMs: 7 * DAY, maxCount: 100_000 },
  discarded: { maxAgeMs: 7 * DAY, maxCount: 100_000 },
};
const DEFAULT_INTERVAL_MS = 60_000;
/** Jobs deleted per store call; a run loops until a call deletes fewer. */
export const PRUNE_BATCH = 1_000;
/** Batches per state and run, so one run cannot hold the store for long; the next run goes on. */
const MAX_BATCHES = 100;

/** Validates `retention` (OptionsError naming `field`) and merges it over the defaults; null: no pruning. */
export function resolveRetention(
  options: RetentionOptions | false | undefined,
  field = "Conveyor.open options.retention",
): RetentionPolicy | null {
  if (options === false) return null;
  const o = options ?? {};
  if (typeof o !== "object" || o === null) {
    throw new OptionsError(`${field} must be an object like { completed: { maxAgeMs, maxCount } } or false`);
  }
  for (const name of Object.keys(o)) {
    if (!["completed", "cancelled", "discarded", "perQueue", "intervalMs"].includes(name)) {
      throw new OptionsError(
        `${field}.${name} is not an option; use completed, cancelled, discarded, perQueue or intervalMs`,
      );
    }
  }
  assertInt(o.intervalMs, `${field}.intervalMs`, 10);
  if (o.perQueue !== undefined && typeof o.perQueue !== "boolean") {
    throw new OptionsError(`${field}.perQueue must be a boolean`);
  }
  const rules: Array<{ state: JobState; maxAgeMs: number | null; maxCount: number | null }> = [];
  for (const state of ["completed", "cancelled", "discarded"] as const) {
    const given = o[state];
    if (given === false) continue;
    if (given !== undefined && (typeof given !== "object" || given === null)) {
      throw new OptionsError(`${field}.${state} must be { maxAgeMs?, maxCount? } or false`);
    }
    const maxAgeMs = given?.maxAgeMs === undefined ? DEFAULT_RETENTION[state].maxAgeMs : given.maxAgeMs;
    const maxCount = given?.maxCount === undefined ? DEFAULT_RETENTION[state].maxCount : given.maxCount;
    if (maxAgeMs !== null) assertInt(maxAgeMs, `${field}.${state}.maxAgeMs`, 0);
    if (maxCount !== null) assertInt(maxCount, `${field}.${state}.maxCount`, 0);
    if (maxAgeMs === null && maxCount === null) continue;
    rules.push({ state, maxAgeMs, maxCount });
  }
  return { rules, perQueue: o.perQueue ?? false, intervalMs: o.intervalMs ?? DEFAULT_INTERVAL_MS };
}

/** Applies `policy` once at `now`: deletes what breaks it, in batches; returns how many jobs were deleted. */
export async function pruneOnce(store: Store, policy: RetentionPolicy, now: number): Promise<number> {
  let total = 0;
  for (const rule of policy.rules) {
    for (let batch = 0; batch < MAX_BATCHES; batch++) {
      const n = await store.jobPrune({
        states: [rule.state],
        ...(rule.maxAgeMs !== null ? { finishedBefore: now - rule.maxAgeMs } : {}),
        ...(rule.maxCount !== null ? { keepLast: rule.maxCount, perQueue: policy.perQueue } : {}),
        limit: PRUNE_BATCH,
      });
      total += n;
      if (n < PRUNE_BATCH) break;
    }
  }
  return total;
}

/** Runs {@link pruneOnce} every `policy.intervalMs` on the injected clock, first one interval after `start`. */
export class Pruner {
  readonly #store: Store;
  readonly #clock: Clock;
  readonly #policy: RetentionPolicy;
  readonly #onError: (error: unknown) => void;
  #cancel: (() => void) | null = null;
  #running: Promise<void> | null = null;
  #stopped = false;

  constructor(store: Store, clock: Clock, policy: RetentionPolicy, onError: (error: unknown) => void) {
    this.#store = store;
    this.#clock = clock;
    this.#policy = policy;
    this.#onError = onError;
  }

  start(): void {
    if (this.#stopped || this.#cancel !== null || this.#policy.rules.length === 0) return;
    this.#arm();
  }

  /** Stops the timer and waits for a prune in flight. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#cancel?.();
    this.#cancel = null;
    await this.#running;
  }

  #arm(): void {
    this.#cancel = this.#clock.setTimeout(() => {
      this.#cancel = null;
      this.#running = pruneOnce(this.#store, this.#policy, this.#clock.now()).then(
        () => undefined,
        (error: unknown) => this.#onError(error),
      );
      void this.#running.then(() => {
        this.#running = null;
        if (!this.#stopped) this.#arm();
      });
    }, this.#policy.intervalMs);
  }
}
