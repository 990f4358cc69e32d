/**
 * Fixture builders for store tests: valid insert params with defaults, and jobs driven to any state through
 * the Store's own operations (never by writing its internals), so they work against every store.
 */
import type { JobState } from "../../job/states.js";
import type { AttemptError, JobInsertParams, JobRecord, Store } from "../../store/store.js";

/** The time fixtures use when no `now` is given: a fixed instant, so tests never read the wall clock. */
export const FIXTURE_NOW = 1_700_000_000_000;

/**
 * Builds valid {@link JobInsertParams}: name "test-job", queue "default", data null, priority 0, FIFO,
 * `runAt = now`, maxAttempts 3, maxStalls 2, no timeout, empty meta, `now` = {@link FIXTURE_NOW}; any field
 * can be overridden. `runAt` defaults to the (overridden) `now`.
 */
export function jobInsertParams(overrides: Partial<JobInsertParams> = {}): JobInsertParams {
  const now = overrides.now ?? FIXTURE_NOW;
  return {
    name: "test-job",
    queue: "default",
    data: null,
    priority: 0,
    lifo: false,
    runAt: now,
    maxAttempts: 3,
    maxStalls: 2,
    timeoutMs: null,
    meta: {},
    ...overrides,
    now,
  };
}

/** Options of {@link insertJobFixture}: insert params plus the state to reach and how to reach it. */
export interface JobFixtureOptions extends Partial<JobInsertParams> {
  /**
   * The state to leave the job in; default `scheduled` when `runAt > now`, else `available`.
   * - `scheduled`: inserted with `runAt` (default `now + 60_000`; must be after `now`).
   * - `available`: inserted with `runAt <= now`.
   * - `running`: inserted available, then claimed by `owner` for `leaseMs` at `now`.
   * - `completed`, `retryable`, `discarded`, `cancelled`: claimed, then finished with the matching outcome
   *   (`result`, `retryAt`, `error`) at `now`.
   */
  state?: JobState;
  /** Lease owner when claiming. Default "fixture-worker". */
  owner?: string;
  /** Lease length when claiming. Default 30_000. */
  leaseMs?: number;
  /** Result of a `completed` job. Default null. */
  result?: unknown;
  /** Run time of a `retryable` job. Default `now + 60_000`. */
  retryAt?: number;
  /** Error of a `retryable`, `discarded` or `cancelled` job. Default a handler (or cancel) error. */
  error?: AttemptError;
}

/**
 * Inserts a job and drives it to `options.state` through the store's operations; returns the job as the
 * store then holds it (a running job's `leaseToken` is the token to finish it with).
 *
 * Reaching `running` (and the states after it) claims from the job's queue and name with limit 1, so the
 * job must come first in claim order there: if another available job of the same name and queue would be
 * claimed first, that job is released back and this throws. Give such fixtures their own queue or name.
 */
export async function insertJobFixture(store: Store, options: JobFixtureOptions = {}): Promise<JobRecord> {
  const {
    state,
    owner = "fixture-worker",
    leaseMs = 30_000,
    result = null,
    retryAt,
    error,
    ...insert
  } = options;
  const now = insert.now ?? FIXTURE_NOW;
  const target: JobState =
    state ?? (insert.runAt !== undefined && insert.runAt > now ? "scheduled" : "available");
  if (target === "scheduled") {
    const runAt = insert.runAt ?? now + 60_000;
    if (runAt <= now)
      throw new Error(`insertJobFixture: a scheduled job needs runAt > now (${runAt} <= ${now})`);
    return (await store.jobInsert(jobInsertParams({ ...insert, now, runAt }))).job;
  }
  const runAt = insert.runAt ?? now;
  if (runAt > now)
    throw new Error(`insertJobFixture: a ${target} job needs runAt <= now (${runAt} > ${now})`);
  const { job } = await store.jobInsert(jobInsertParams({ ...insert, now, runAt }));
  if (target === "available") return job;

  const claimed = await store.jobClaim({
    queues: [job.queue],
    names: [job.name],
    owner,
    limit: 1,
    leaseMs,
    now,
  });
  const first = claimed[0];
  if (first === undefined || first.id !== job.id) {
    if (first !== undefined) {
      await store.jobFinishMany({
        updates: [{ id: first.id, token: first.leaseToken!, outcome: { type: "release" } }],
        now,
      });
    }
    throw new Error(
      `insertJobFixture: job ${job.id} was not first in claim order in queue "${job.queue}" for name ` +
        `"${job.name}"; give the fixture its own queue or name`,
    );
  }
  if (target === "running") return first;

  const token = first.leaseToken!;
  const failure = (kind: AttemptError["kind"]): AttemptError =>
    error ?? { attempt: first.attempt, at: now, kind, message: `fixture ${kind} error`, name: "Error" };
  const outcome =
    target === "completed"
      ? ({ type: "complete", result } as const)
      : target === "retryable"
        ? ({ type: "retry", runAt: retryAt ?? now + 60_000, error: failure("handler") } as const)
        : target === "discarded"
          ? ({ type: "discard", error: failure("handler") } as const)
          : target === "cancelled"
            ? ({ type: "cancel", error: failure("cancel") } as const)
            : undefined;
  if (outcome === undefined) throw new Error(`insertJobFixture: unknown state "${String(target)}"`);
  const { applied } = await store.jobFinishMany({ updates: [{ id: job.id, token, outcome }], now });
  if (applied[0] !== true) throw new Error(`insertJobFixture: finishing job ${job.id} was not applied`);
  const finished = await store.jobGet({ id: job.id });
  if (finished === null) throw new Error(`insertJobFixture: job ${job.id} vanished`);
  return finished;
}
