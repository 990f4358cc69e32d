/**
 * The Store seam: where jobs live. Operations are at the level of a queue ("claim available jobs"), never
 * of a query: no SQL, key names, placeholders or connection handles cross this interface.
 *
 * @internal Unstable until the conformance suite (`describeStore` in `conveyor/testing`) settles; implement it
 * only inside this repository. Any change to the semantics below extends that suite, which every store passes.
 *
 * Conventions:
 * - Methods are noun-first (`jobInsert`, `queuePause`) and take one params object.
 * - Times are epoch milliseconds; `now` is always passed in (the caller's Clock), never read by the store, so
 *   tests drive time with a fake clock.
 * - Job ids are decimal integer strings, unique per store and increasing in insert order.
 * - Every transition of a running job is conditional on its lease (`id` + `token`): a worker whose lease was
 *   rescued cannot complete, fail or otherwise touch the job any more. A lease stays held after it expires
 *   until a rescue takes it (so a late completion still lands if nobody rescued the job first). Lease-conditional
 *   operations on unknown ids do not throw: they report the lease as not held.
 * - Run times: staging keeps `runAt`; release, rescue and operator retry set it to `now`.
 * - Expected failures are typed errors from `../errors.ts` (`JobNotFoundError`, `InvalidStateTransitionError`).
 */
import type { JobState } from "../job/states.js";

/** Why an attempt ended without success. */
export type AttemptErrorKind =
  | "cancel" // the job was cancelled while running
  | "crash" // the thread or process running it died
  | "handler" // the handler threw or rejected
  | "stall" // the lease expired: the worker died or blocked its event loop
  | "timeout" // the attempt ran past timeoutMs
  | "validation"; // data failed the schema just before the handler ran

/** One failed attempt, kept on the job in order. */
export interface AttemptError {
  /** The attempt number this error ended (1-based). */
  attempt: number;
  at: number;
  kind: AttemptErrorKind;
  message: string;
  name: string;
  stack?: string;
}

export type LogLevel = "debug" | "info" | "warn" | "error";

/** A line written by `ctx.log` during an attempt. */
export interface JobLogEntry {
  at: number;
  attempt: number;
  level: LogLevel;
  message: string;
}

/** A job as the store holds it. */
export interface JobRecord {
  id: string;
  /** The job type (the name given to `defineJob`). */
  name: string;
  queue: string;
  state: JobState;
  /** JSON data, as enqueued. */
  data: unknown;
  /** Lower runs first. Default 0; negative values jump ahead. */
  priority: number;
  /** Newest-first within its priority instead of oldest-first. */
  lifo: boolean;
  /**
   * Attempts that count against `maxAttempts`: incremented by claim, given back by snooze, release and
   * rescue (a stall is counted in `stalls` instead).
   */
  attempt: number;
  maxAttempts: number;
  /** Times the job's lease expired while running (rescues). */
  stalls: number;
  /** Rescues allowed before the job is discarded with a stall error. */
  maxStalls: number;
  /** When the job may run (scheduled, retryable) or became runnable (available, running). */
  runAt: number;
  createdAt: number;
  /** When the current or last attempt was claimed (its handler may start a little later, after prefetch). */
  attemptedAt: number | null;
  /** When it reached completed, cancelled or discarded. */
  finishedAt: number | null;
  /** Worker id holding the lease (running only). */
  leaseOwner: string | null;
  /** Opaque token of the current lease (running only). */
  leaseToken: string | null;
  leaseExpiresAt: number | null;
  /** An operator or app asked to cancel this running job; the worker aborts its `ctx.signal`. */
  cancelRequested: boolean;
  timeoutMs: number | null;
  /** Every failed attempt, oldest first. */
  errors: AttemptError[];
  /** The handler's return value once completed (JSON), else null. */
  result: unknown;
  /** The last value passed to `ctx.progress` (JSON), else null. */
  progress: unknown;
  /** Lines from `ctx.log`, oldest first. Claim may return this empty; `jobGet` returns all. */
  logs: JobLogEntry[];
  /** Free JSON metadata carried with the job (trace context, enqueue source...). */
  meta: Record<string, unknown>;
  /** Dedupe key given at enqueue (see {@link DedupeSpec}), else null. Keys are global to the store. */
  key: string | null;
  /** The job's group within its queue (see {@link GroupSpec}), else null. */
  group: string | null;
}

/**
 * A job's group: jobs of one group in one queue run in id (enqueue) order, at most `concurrency` at a time.
 * The group's window is its first `concurrency` *occupying* jobs by id: available and running jobs, and
 * scheduled or retryable jobs whose `onFailure` is "hold". A job is claimable iff it is available, inside its
 * group's window, and fewer than `concurrency` jobs of the group are running. Claims serve ready groups
 * round-robin (least recently served first), so a big group cannot starve a small one.
 */
export interface GroupSpec {
  /** 1-255 characters; scoped to the job's queue. */
  key: string;
  /** Jobs of the group that may run at once, 1-1000. The group takes the value of its latest insert. */
  concurrency: number;
  /**
   * "hold": while this job waits as scheduled or retryable (a retry after a failure, a snooze, a delay) it
   * keeps its place and blocks the jobs after it. "continue": it steps out of the window while it waits, so
   * later jobs run; it rejoins at its id when it becomes available again.
   */
  onFailure: GroupOnFailure;
}

/** See {@link GroupSpec.onFailure}. */
export type GroupOnFailure = "hold" | "continue";

/**
 * What an insert with a `key` does when jobs with that key already exist. "Pending" means scheduled,
 * available or retryable; when several jobs qualify, the newest (highest id) is the one acted on.
 * - `reject`: a pending or running job with the key → nothing stored, that job returned (`duplicate`).
 * - `replace`: a pending job with the key → its `data` and `meta` replaced, nothing else (`replaced`); when
 *   only a running one exists (or none), a new job is inserted.
 * - `debounce`: a pending job with the key → its `data` and `meta` replaced and `runAt = now + windowMs`
 *   (it becomes scheduled, or available when `windowMs` is 0) (`debounced`); otherwise a new job is inserted
 *   with `runAt = now + windowMs` (the params' own `runAt` is ignored).
 * - `throttle`: a job with the key (any state) created after `now - windowMs` → nothing stored, the newest
 *   such job returned (`throttled`); otherwise a new job is inserted.
 * The check and the write are atomic per store: two concurrent inserts with one key see each other.
 */
export type DedupeSpec =
  | { policy: "reject" }
  | { policy: "replace" }
  | { policy: "debounce"; windowMs: number }
  | { policy: "throttle"; windowMs: number };

/** What an insert did: stored a new job, or acted on an existing one (see {@link DedupeSpec}). */
export type InsertOutcome = "inserted" | "duplicate" | "replaced" | "debounced" | "throttled";

export interface JobInsertParams {
  name: string;
  queue: string;
  data: unknown;
  priority: number;
  lifo: boolean;
  /** `runAt > now` inserts `scheduled`, otherwise `available`. */
  runAt: number;
  maxAttempts: number;
  maxStalls: number;
  timeoutMs: number | null;
  meta: Record<string, unknown>;
  now: number;
  /** Dedupe key; absent or null: no key, always inserted. */
  key?: string | null;
  /** How to treat existing jobs with `key`; default `{ policy: "reject" }`. Ignored without a key. */
  dedupe?: DedupeSpec;
  /** The job's group (per-group FIFO, see {@link GroupSpec}); absent or null: ungrouped. */
  group?: GroupSpec | null;
}

export interface JobInsertResult {
  /** The new job, or the existing job that the dedupe policy returned or changed. */
  job: JobRecord;
  outcome: InsertOutcome;
}

export interface JobInsertManyParams {
  /** Inserted atomically: all of them or none. */
  jobs: JobInsertParams[];
}

export interface JobClaimParams {
  /** Queues to claim from. Paused queues are skipped. */
  queues: string[];
  /** Only jobs whose name is in this list (the job types the worker can run). */
  names: string[];
  /** Worker id recorded as the lease owner. */
  owner: string;
  /** At most this many jobs. 0 claims nothing. */
  limit: number;
  leaseMs: number;
  now: number;
}

/**
 * How a running job's attempt ended. Each is applied only if the job is still running under `token`.
 * - `complete`: → completed, `result` stored, `finishedAt = now`.
 * - `retry`: → retryable at `runAt`, `error` appended.
 * - `discard`: → discarded, `error` appended, `finishedAt = now`.
 * - `snooze`: → scheduled at `runAt`; the attempt is given back (`attempt - 1`).
 * - `cancel`: → cancelled, `error` (kind "cancel") appended, `finishedAt = now`.
 * - `release`: → available at `now`; the attempt is given back (graceful shutdown).
 * All clear the lease and `cancelRequested`. `progress`, when given, is stored as the final progress.
 */
export type JobOutcome =
  | { type: "complete"; result: unknown }
  | { type: "retry"; runAt: number; error: AttemptError }
  | { type: "discard"; error: AttemptError }
  | { type: "snooze"; runAt: number }
  | { type: "cancel"; error: AttemptError }
  | { type: "release" };

export interface JobFinishUpdate {
  id: string;
  token: string;
  outcome: JobOutcome;
  progress?: unknown;
  /** Log lines not yet flushed, appended before the outcome is applied. */
  logs?: JobLogEntry[];
}

export interface JobFinishManyParams {
  updates: JobFinishUpdate[];
  now: number;
  /** Claim more jobs in the same transaction or round trip, after the updates are applied. */
  claim?: Omit<JobClaimParams, "now">;
}

export interface JobFinishManyResult {
  /** One per update, in order: `false` where the lease was no longer held (the update was ignored). */
  applied: boolean[];
  /** Jobs claimed by `claim`, if given. */
  claimed: JobRecord[];
  /**
   * When `claim` was given and claimed fewer jobs than its `limit`: what {@link Store.jobNextRunAt} returns
   * for the claim's queues and names at `now`, read in the same call, so a worker that runs out of jobs learns
   * when to look again without another round trip. Absent otherwise (a full claim, no claim).
   */
  nextRunAt?: number | null;
}

export interface JobLeaseRenewParams {
  leases: Array<{ id: string; token: string }>;
  leaseMs: number;
  now: number;
}

export interface JobLeaseRenewResult {
  /** Ids whose lease is no longer held: the worker must abandon them. */
  lost: string[];
  /** Ids still held but with `cancelRequested` set: the worker aborts their signal. */
  cancelRequested: string[];
}

export interface JobReportParams {
  id: string;
  token: string;
  progress?: unknown;
  logs?: JobLogEntry[];
}

export interface JobRescueParams {
  now: number;
  /** At most this many jobs per call. */
  limit: number;
}

/**
 * Running jobs whose lease expired before `now`. Each gets its attempt given back (`attempt - 1`), a `stall`
 * error appended (numbered with the attempt that stalled) and `stalls + 1`; if `stalls` then exceeds
 * `maxStalls` it is discarded (`finishedAt = now`), otherwise it becomes available at `now`. A job with `cancelRequested` is cancelled instead (`finishedAt = now`, no stall
 * counted). Each id appears in exactly one list.
 */
export interface JobRescueResult {
  cancelled: string[];
  discarded: string[];
  rescued: string[];
}

export interface JobListParams {
  queue?: string;
  state?: JobState;
  name?: string;
  /** 1 to 1000. */
  limit: number;
  /** Return jobs with an id lower than this (the previous page's `nextCursor`). */
  cursor?: string;
  /** Only jobs with this dedupe key (exact; see {@link JobRecord.key}). */
  key?: string;
  /** Only jobs of this group key (exact; within `queue` when given, else in any queue). */
  group?: string;
}

export interface JobListResult {
  /** Newest first (descending id). */
  jobs: JobRecord[];
  /** Pass as `cursor` for the next page; null on the last page. */
  nextCursor: string | null;
}

export type JobCounts = Record<JobState, number>;

/**
 * A rate limit: at most `max` claims in any window of `windowMs` milliseconds (a sliding window: a claim at
 * `t` counts until `t + windowMs`). Enforced by the store at claim, atomically with the claim.
 */
export interface RateLimit {
  /** Claims per window, 1 to 10,000. */
  max: number;
  /** The window, 1 ms to 7 days. */
  windowMs: number;
}

export interface QueueInfo {
  name: string;
  paused: boolean;
  counts: JobCounts;
  /** The queue's rate limit (see {@link Store.queueRateLimit}), absent when it has none. */
  rateLimit?: RateLimit;
}

/**
 * A job type's defaults as its definition states them, kept with the registration so that a job enqueued by
 * name (from the CLI or another service) gets the same options as one enqueued with the definition.
 */
export interface JobTypeDefaults {
  lifo?: boolean;
  maxAttempts?: number;
  maxStalls?: number;
  priority?: number;
  timeoutMs?: number;
  /**
   * Group policy of grouped jobs of this type (see {@link GroupSpec}). `rateLimit` applies to each group
   * (queue and key) separately: claims of this type's jobs in one group are limited by one log per group.
   */
  group?: { concurrency?: number; onFailure?: GroupOnFailure; rateLimit?: RateLimit };
  /**
   * Most jobs of this type running at once across every worker of the store, enforced at claim from the
   * latest registration of the type. Absent: unlimited (claims do not count running jobs).
   */
  maxConcurrency?: number;
  /** Most claims of jobs of this type in any window, store-wide, from the latest registration. Absent: none. */
  rateLimit?: RateLimit;
}

/** A job type registered by a worker. */
export interface JobTypeRegistration {
  name: string;
  queue: string;
  /** Default `{}`. Replaced whole by a later registration of the same name. */
  defaults?: JobTypeDefaults;
}

export interface JobTypeInfo {
  name: string;
  queue: string;
  defaults: JobTypeDefaults;
  /** Last time a worker registered it. */
  seenAt: number;
}

/**
 * Which final-state jobs (completed, cancelled, discarded) to delete: those matching either criterion given.
 * At least one of `finishedBefore` and `keepLast` should be given; with neither, nothing is deleted.
 */
export interface JobPruneParams {
  /** Jobs that finished before this time are deleted. */
  finishedBefore?: number;
  /**
   * Jobs beyond the newest `keepLast` of their state (by `finishedAt`, then id) are deleted: counted per state
   * in `states`, store-wide, or per queue with `perQueue`.
   */
  keepLast?: number;
  /** Count `keepLast` per queue rather than store-wide. */
  perQueue?: boolean;
  /** Only these final states; default all three. */
  states?: JobState[];
  /** At most this many per call (callers loop until fewer come back); within each criterion, oldest finish first. */
  limit: number;
}

/** What a store can do beyond the required operations. */
export interface StoreCapabilities {
  /**
   * Outcome writes block the calling thread for an fsync (an embedded database). The worker then claims new
   * jobs in their own un-synced call before writing outcomes, so a new job never waits for an older job's
   * fsync; otherwise it claims in the same call as the outcomes (one round trip).
   */
  blockingWrites: boolean;
  /** Survives a process restart. */
  durable: boolean;
  /** `watch` delivers hints from other processes too, not only this one. */
  crossProcessWatch: boolean;
}

/** Stops a `watch`. */
export type Unwatch = () => void;

/** A worker as it last announced itself (see {@link Store.workerBeat}). */
export interface WorkerRecord {
  /** The worker id (the lease owner of the jobs it claims). */
  id: string;
  hostname: string;
  pid: number;
  queues: string[];
  /** Job types it runs. */
  names: string[];
  concurrency: number;
  /** "inline" | "thread" | "process" (or "mixed"). */
  executor: string;
  startedAt: number;
  /** Set by the store to the `now` of the latest beat. */
  lastBeatAt: number;
  /** Ids of the jobs it runs at the time of the beat. */
  running: string[];
  /** Free JSON (the conveyor version, the app's name...). */
  meta: Record<string, unknown>;
}

/** Attempt outcomes of one queue in one minute (see {@link Store.statsList}). */
export interface QueueMinuteStats {
  queue: string;
  /** Start of the minute, epoch ms (a multiple of 60,000). */
  minute: number;
  completed: number;
  /** Failed attempts that will run again (outcome retry). */
  retried: number;
  discarded: number;
  cancelled: number;
  /** Expired leases the rescuer acted on. */
  rescued: number;
}

/** One check `conveyor doctor` prints (see {@link Store.storeHealth}). */
export interface StoreCheck {
  /** Short stable name: "connection", "schema", "journal", "durability", "eviction", "persistence"... */
  name: string;
  status: "ok" | "warn" | "fail";
  /** One line for people: what was found and, unless ok, what to do. */
  detail: string;
}

export interface Store extends ScheduleStore {
  /** "memory", "sqlite", "redis". */
  readonly kind: string;
  readonly capabilities: StoreCapabilities;

  /**
   * Inserts one job: `scheduled` if `runAt > now`, else `available`; with a `key`, the dedupe policy decides
   * first, atomically with the insert (see {@link DedupeSpec}).
   */
  jobInsert(params: JobInsertParams): Promise<JobInsertResult>;
  /**
   * Inserts many jobs atomically, in order (their ids increase in array order). Each keyed item sees the
   * items before it in the same call.
   */
  jobInsertMany(params: JobInsertManyParams): Promise<JobInsertResult[]>;
  /**
   * Stages due jobs, then leases up to `limit` available jobs from unpaused `queues` whose name is in `names`,
   * in claim order: lower `priority` first; within a priority, LIFO jobs newest first (highest id, i.e. latest
   * inserted), then the rest by `runAt` then id. Grouped jobs are claimable only inside their group's window
   * (see {@link GroupSpec}); they come from ready groups least recently served first (then by id within a
   * group, ignoring `lifo`), merged with ungrouped jobs by priority, then `runAt`, then id. Job types whose
   * latest registration has `maxConcurrency` are not claimed beyond it (running jobs of that name counted
   * store-wide). Rate limits (see {@link RateLimit}) of the job's queue ({@link Store.queueRateLimit}), of its
   * type (`defaults.rateLimit`) and of its group (`defaults.group.rateLimit` of its type, per queue and group
   * key) are all applied: a claim takes a job only if every one of them has room, and records the claim in
   * each of them atomically with the claim. A job a limit holds back is left as it was. Each claimed job
   * becomes running with `attempt + 1`, `attemptedAt = now`, a fresh `leaseToken`, `leaseOwner = owner` and
   * `leaseExpiresAt = now + leaseMs`. Two concurrent claims never
   * return the same job.
   */
  jobClaim(params: JobClaimParams): Promise<JobRecord[]>;
  /** Applies attempt outcomes (see {@link JobOutcome}), then optionally claims more, atomically per call. */
  jobFinishMany(params: JobFinishManyParams): Promise<JobFinishManyResult>;
  /** Extends the leases still held to `now + leaseMs`. */
  jobLeaseRenew(params: JobLeaseRenewParams): Promise<JobLeaseRenewResult>;
  /** Stores progress and appends log lines of a running job; returns false if the lease is no longer held. */
  jobReport(params: JobReportParams): Promise<boolean>;
  /** Rescues running jobs whose lease expired (see {@link JobRescueResult}). */
  jobRescue(params: JobRescueParams): Promise<JobRescueResult>;
  /** Moves scheduled and retryable jobs whose `runAt <= now` to available; returns how many. */
  jobStage(params: { now: number }): Promise<number>;
  /**
   * When a worker should look again, or null: the earliest `runAt` of scheduled or retryable jobs in these
   * queues and, when `now` is given, the earliest time after `now` at which a full rate limit frees that can
   * hold back these queues' jobs (the rate limits of `queues`, of the job types in `names`, and of groups in
   * `queues`).
   */
  jobNextRunAt(params: { queues: string[]; names?: string[]; now?: number }): Promise<number | null>;
  /** The job with its logs, or null. */
  jobGet(params: { id: string }): Promise<JobRecord | null>;
  /** Jobs newest first, filtered, with cursor pagination. */
  jobList(params: JobListParams): Promise<JobListResult>;
  /** Job counts per state, in one queue or all. Every state is present (0 when none). */
  jobCount(params: { queue?: string }): Promise<JobCounts>;
  /**
   * Operator retry: a scheduled, retryable, completed, cancelled or discarded job becomes available at `now`;
   * `maxAttempts` is raised to `attempt + 1` when exhausted, so it gets one more attempt. An available job is
   * returned unchanged. Throws JobNotFoundError, or InvalidStateTransitionError for a running job.
   */
  jobRetry(params: { id: string; now: number }): Promise<JobRecord>;
  /**
   * Cancel: a scheduled, available or retryable job becomes cancelled (`finishedAt = now`); a running job gets
   * `cancelRequested` (its worker aborts it and finishes it as cancelled); a final job is returned unchanged.
   * Throws JobNotFoundError.
   */
  jobCancel(params: { id: string; now: number }): Promise<JobRecord>;
  /** Deletes a job that is not running; false if it did not exist. Throws InvalidStateTransitionError if running. */
  jobDelete(params: { id: string }): Promise<boolean>;
  /** Deletes old or excess final-state jobs (see {@link JobPruneParams}); returns how many. Idempotent. */
  jobPrune(params: JobPruneParams): Promise<number>;
  /**
   * Promote: a scheduled or retryable job becomes available now (`runAt = now`; attempts unchanged); an
   * available job is returned unchanged. Throws JobNotFoundError, or InvalidStateTransitionError for a
   * running or final job (use `jobRetry` to run a final job again).
   */
  jobPromote(params: { id: string; now: number }): Promise<JobRecord>;

  /** Records the job types a worker can run (the store remembers known job names). */
  jobTypeRegister(params: { types: JobTypeRegistration[]; now: number }): Promise<void>;
  jobTypeList(): Promise<JobTypeInfo[]>;

  /** Claims skip a paused queue until it is resumed; jobs can still be enqueued into it. */
  queuePause(params: { queue: string }): Promise<void>;
  queueResume(params: { queue: string }): Promise<void>;
  /**
   * Sets the queue's rate limit (claims from the queue, any job type), or lifts it with null. Persisted;
   * claims in every process apply it from their next call. Changing a limit keeps the claims already counted.
   */
  queueRateLimit(params: { queue: string; limit: RateLimit | null }): Promise<void>;
  /** Every queue that holds jobs, is paused or has a registered job type, by name. */
  queueList(): Promise<QueueInfo[]>;

  /**
   * Upserts the worker's record with `lastBeatAt = now`; it is listed until `now + ttlMs` unless beaten
   * again. A beat replaces every field of the record (`startedAt` included: the worker sends the same one).
   */
  workerBeat(params: { worker: Omit<WorkerRecord, "lastBeatAt">; ttlMs: number; now: number }): Promise<void>;
  /** Removes a worker's record (a worker that stops cleanly); no error if absent. */
  workerRemove(params: { id: string }): Promise<void>;
  /**
   * Workers whose latest beat has not expired at `now` (`now < lastBeatAt + ttlMs`), by id (code-unit order).
   * Expiry is judged against `now`, not the store's own clock. Stores may delete expired records at any time.
   */
  workerList(params: { now: number }): Promise<WorkerRecord[]>;

  /**
   * Counts by queue and minute of `now`: every applied jobFinishMany update counts its outcome (complete →
   * completed, retry → retried, discard → discarded, cancel → cancelled; snooze and release are not
   * counted); every job jobRescue acts on counts `rescued`, plus `discarded` or `cancelled` when that is what
   * it did. Returns the minutes in [from, to) that have any count, by minute then queue; `queue` filters.
   * Counts older than 24 hours may be dropped by the store. Written atomically with the transitions they count.
   */
  statsList(params: { from: number; to: number; queue?: string }): Promise<QueueMinuteStats[]>;

  /**
   * The store's own health checks (see {@link StoreCheck}) and its clock: `serverTime` in epoch ms, or null
   * when the store has no clock of its own (memory). Never throws for a finding: a bad setting is a check
   * with status "warn" or "fail".
   */
  storeHealth(params: { now: number }): Promise<{ checks: StoreCheck[]; serverTime: number | null }>;

  /**
   * Calls `listener` when jobs may have become available in one of `queues` (an insert, a retry, a resume).
   * A hint only, possibly spurious or coalesced: workers still look again at `jobNextRunAt` and on a slow poll.
   */
  watch(queues: string[], listener: () => void): Unwatch;

  /** Releases connections and files. Idempotent. Later calls to other methods throw ClosedError. */
  close(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------------------
// Schedules: persisted, named cron and interval rules that enqueue jobs (see docs/guides/schedules.md).

/** When a schedule ticks: a cron expression in a time zone, or a fixed interval. */
export type ScheduleSpec =
  | {
      kind: "cron";
      /** 5 fields (minute precision) or 6 (a leading seconds field); nicknames such as "@daily" too. */
      cron: string;
      /** IANA time zone the expression is read in, e.g. "Asia/Seoul". "UTC" when none was given. */
      tz: string;
    }
  | {
      kind: "interval";
      /** Ticks at every multiple of `everyMs` since the Unix epoch (so every instance computes the same ticks). */
      everyMs: number;
    };

/**
 * What a scheduler does with ticks that fell due while no scheduler ran (downtime, a pause of the process):
 * - `skip`: missed ticks are dropped; only the latest due tick is enqueued, and only if it is at most 60 s
 *   late (`SCHEDULE_SKIP_GRACE_MS`).
 * - `last`: the latest due tick is enqueued, however late; older missed ticks are dropped.
 * - `all`: the latest `max` due ticks are enqueued, one job each, oldest first.
 * In normal operation exactly one tick is due at a time and every policy enqueues it.
 */
export type CatchUpPolicy = { policy: "skip" } | { policy: "last" } | { policy: "all"; max: number };

/** The options every tick job is inserted with, resolved when the schedule was defined. */
export interface ScheduleJobOptions {
  priority: number;
  lifo: boolean;
  maxAttempts: number;
  maxStalls: number;
  timeoutMs: number | null;
  /** Copied into each tick job's meta, under the `schedule` and `tickAt` keys the scheduler adds. */
  meta: Record<string, unknown>;
}

/** A schedule as the store holds it. */
export interface ScheduleRecord {
  /** Stable, user-chosen name (same characters as job names), unique per store. */
  id: string;
  /** The job type each tick enqueues. */
  jobName: string;
  queue: string;
  /** JSON data of every tick job. */
  data: unknown;
  options: ScheduleJobOptions;
  spec: ScheduleSpec;
  catchUp: CatchUpPolicy;
  /** A paused schedule is never due; resuming it sets its next run after the resume. */
  paused: boolean;
  /** The next tick to enqueue, or null when the spec has no tick left. */
  nextRunAt: number | null;
  /** The latest tick a job was enqueued for, or null. */
  lastTickAt: number | null;
  createdAt: number;
  updatedAt: number;
}

/**
 * Inserts a schedule or replaces its definition. A replaced schedule keeps `createdAt`, `lastTickAt` and
 * `paused`; it keeps its `nextRunAt` too when `spec` is unchanged (so an app that upserts its schedules at
 * every start never postpones or repeats a tick), and takes the given `nextRunAt` when the spec changed.
 */
export interface ScheduleUpsertParams {
  id: string;
  jobName: string;
  queue: string;
  data: unknown;
  options: ScheduleJobOptions;
  spec: ScheduleSpec;
  catchUp: CatchUpPolicy;
  /** The first tick after `now`, computed by the caller from `spec`. */
  nextRunAt: number | null;
  now: number;
}

export interface ScheduleUpsertResult {
  schedule: ScheduleRecord;
  /** False when an existing schedule was replaced. */
  created: boolean;
}

/** One tick to enqueue: its time and the job to insert for it. */
export interface ScheduleTick {
  tickAt: number;
  job: JobInsertParams;
}

/**
 * Fires a due schedule, atomically and only if it is unpaused and its `nextRunAt` still equals
 * `expectNextRunAt` (compare-and-set): inserts the jobs of `ticks` later than its `lastTickAt`, sets
 * `lastTickAt` to the latest of them (unchanged when none) and `nextRunAt` to the given one. When the
 * compare fails nothing is written: another scheduler fired this tick first.
 */
export interface ScheduleFireParams {
  id: string;
  expectNextRunAt: number;
  /** Ascending `tickAt`; may be empty (the catch-up policy dropped every missed tick). */
  ticks: ScheduleTick[];
  nextRunAt: number | null;
  now: number;
}

export interface ScheduleFireResult {
  /** Whether this call won the compare-and-set (and advanced the schedule). */
  fired: boolean;
  /** The jobs inserted, in tick order (empty when not fired). */
  jobs: JobRecord[];
}

/** The schedule operations of a {@link Store}. */
export interface ScheduleStore {
  /** Inserts or replaces a schedule (see {@link ScheduleUpsertParams}); `updatedAt = now`. */
  scheduleUpsert(params: ScheduleUpsertParams): Promise<ScheduleUpsertResult>;
  /** The schedule, or null. */
  scheduleGet(params: { id: string }): Promise<ScheduleRecord | null>;
  /** Every schedule, by id (code-unit order). */
  scheduleList(): Promise<ScheduleRecord[]>;
  /** Deletes a schedule (jobs it enqueued stay); false if it did not exist. */
  scheduleDelete(params: { id: string }): Promise<boolean>;
  /** Pauses a schedule (idempotent; `updatedAt = now` when it changes); null if it does not exist. */
  schedulePause(params: { id: string; now: number }): Promise<ScheduleRecord | null>;
  /**
   * Resumes a paused schedule with the given `nextRunAt` (the caller's first tick after `now`, so ticks
   * missed while paused are not caught up); an unpaused schedule is returned unchanged. Null if it does not
   * exist.
   */
  scheduleResume(params: {
    id: string;
    nextRunAt: number | null;
    now: number;
  }): Promise<ScheduleRecord | null>;
  /** Unpaused schedules with `nextRunAt <= now`, earliest first (then by id), at most `limit`. */
  scheduleDue(params: { now: number; limit: number }): Promise<ScheduleRecord[]>;
  /** Fires a due schedule with compare-and-set (see {@link ScheduleFireParams}). */
  scheduleFire(params: ScheduleFireParams): Promise<ScheduleFireResult>;
}
