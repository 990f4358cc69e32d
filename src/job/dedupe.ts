/**
 * Dedupe keys at enqueue: the option types the app accepts and their validation into the store's
 * {@link DedupeSpec}. The semantics live in the Store contract (`../store/store.ts`).
 */
import { OptionsError } from "../errors.js";
import type { DedupeSpec, InsertOutcome, JobRecord } from "../store/store.js";
import { assertInt } from "./define.js";

/**
 * How an enqueue with a `key` treats jobs already holding that key: `"reject"` (the default), `"replace"`,
 * or `{ policy: "debounce" | "throttle", windowMs }`. `{ policy: "reject" }` and `{ policy: "replace" }` are
 * accepted too. See the dedupe guide (docs/guides/dedupe.md) for what each does.
 */
export type DedupeOption = "reject" | "replace" | DedupeSpec;

/** What an enqueue did; see {@link EnqueuedJob}. */
export type EnqueueOutcome = InsertOutcome;

/**
 * What `enqueue` resolves to: the job as stored (a new one, or the existing one a dedupe policy returned or
 * changed) plus `outcome`, which says which happened. Assignable to {@link JobRecord}.
 */
export type EnqueuedJob = JobRecord & { outcome: EnqueueOutcome };

/** Longest key accepted, in characters. */
export const MAX_KEY_LENGTH = 255;
/** Longest debounce or throttle window: one year. */
const MAX_WINDOW_MS = 366 * 86_400_000;

// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this rejects
const CONTROL_RE = /[\u0000-\u001f\u007f]/;

/**
 * Validates `key` and `dedupe` from enqueue options (`prefix` names where they came from, e.g.
 * "enqueue options."); returns the key (or null) and the store's dedupe spec. Throws OptionsError.
 */
export function parseDedupe(
  key: unknown,
  dedupe: unknown,
  prefix: string,
): { key: string | null; dedupe: DedupeSpec | undefined } {
  if (key === undefined || key === null) {
    if (dedupe !== undefined) {
      throw new OptionsError(`${prefix}dedupe needs ${prefix}key: the policy applies to jobs with that key`);
    }
    return { key: null, dedupe: undefined };
  }
  if (typeof key !== "string" || key.length === 0 || key.length > MAX_KEY_LENGTH || CONTROL_RE.test(key)) {
    throw new OptionsError(
      `${prefix}key must be a string of 1-${MAX_KEY_LENGTH} characters without control characters, ` +
        `got ${JSON.stringify(key)?.slice(0, 80) ?? String(key)}`,
    );
  }
  return { key, dedupe: dedupeSpec(dedupe, `${prefix}dedupe`) };
}

function dedupeSpec(value: unknown, field: string): DedupeSpec {
  if (value === undefined || value === "reject") return { policy: "reject" };
  if (value === "replace") return { policy: "replace" };
  if (typeof value === "object" && value !== null && "policy" in value) {
    const spec = value as { policy: unknown; windowMs?: unknown };
    if (spec.policy === "reject" || spec.policy === "replace") return { policy: spec.policy };
    if (spec.policy === "debounce" || spec.policy === "throttle") {
      if (spec.windowMs === undefined)
        throw new OptionsError(`${field}.windowMs is required for ${spec.policy}`);
      assertInt(spec.windowMs, `${field}.windowMs`, 1, MAX_WINDOW_MS);
      return { policy: spec.policy, windowMs: spec.windowMs as number };
    }
  }
  throw new OptionsError(
    `${field} must be "reject", "replace", { policy: "debounce", windowMs } or { policy: "throttle", windowMs }, ` +
      `got ${JSON.stringify(value)}`,
  );
}

/** The job of an insert result with its outcome, as `enqueue` returns it. */
export function enqueuedJob(result: { job: JobRecord; outcome: InsertOutcome }): EnqueuedJob {
  return Object.assign(result.job, { outcome: result.outcome });
}
