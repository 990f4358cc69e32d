/**
 * The seven job states and the transitions between them. docs/state-machine.md draws this table; the
 * conformance suite checks that every store follows it.
 */
export const JOB_STATES = [
  "scheduled",
  "available",
  "running",
  "retryable",
  "completed",
  "cancelled",
  "discarded",
] as const;

/**
 * - `scheduled`: waiting for its run time (delayed, or snoozed).
 * - `available`: ready to be claimed.
 * - `running`: leased by a worker.
 * - `retryable`: failed; will run again at its run time.
 * - `completed`, `cancelled`, `discarded`: final (until an operator retries them).
 */
export type JobState = (typeof JOB_STATES)[number];

/** States a job never leaves on its own. */
export const FINAL_STATES: readonly JobState[] = ["completed", "cancelled", "discarded"];

/** Every allowed transition, with the operation that makes it. */
export const TRANSITIONS: ReadonlyArray<{ from: JobState; to: JobState; by: string }> = [
  { from: "scheduled", to: "available", by: "stage (run time reached)" },
  { from: "retryable", to: "available", by: "stage (retry time reached)" },
  { from: "available", to: "running", by: "claim (lease taken)" },
  { from: "running", to: "completed", by: "complete (handler returned)" },
  { from: "running", to: "retryable", by: "fail with attempts left" },
  {
    from: "running",
    to: "discarded",
    by: "fail with no attempts left, invalid data, discard outcome, or rescue after too many stalls",
  },
  { from: "running", to: "scheduled", by: "snooze outcome" },
  { from: "running", to: "cancelled", by: "cancel outcome, or rescue of a job with a cancel request" },
  { from: "running", to: "available", by: "rescue (lease expired) or release (graceful shutdown)" },
  { from: "scheduled", to: "cancelled", by: "cancel" },
  { from: "available", to: "cancelled", by: "cancel" },
  { from: "retryable", to: "cancelled", by: "cancel" },
  { from: "scheduled", to: "available", by: "promote / retry now" },
  { from: "retryable", to: "available", by: "promote / retry now" },
  { from: "available", to: "scheduled", by: "debounce (enqueue with the same key)" },
  { from: "retryable", to: "scheduled", by: "debounce (enqueue with the same key)" },
  { from: "discarded", to: "available", by: "retry (operator)" },
  { from: "cancelled", to: "available", by: "retry (operator)" },
  { from: "completed", to: "available", by: "retry (operator)" },
];

export function isJobState(value: unknown): value is JobState {
  return typeof value === "string" && (JOB_STATES as readonly string[]).includes(value);
}
