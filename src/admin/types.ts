/**
 * The admin API's types: what the dashboard and the CLI read and act on. Store-independent: everything here
 * is built from Store operations (see `admin.ts`), never from a store's internals.
 */
import type { Clock } from "../clock.js";
import type { JobState } from "../job/states.js";
import type { ProcessNode } from "../process/node.js";
import type { JobCounts, JobRecord, RateLimit, Store, StoreCheck } from "../store/store.js";

export type {
  JobCounts,
  JobRecord,
  RateLimit,
  ScheduleRecord,
  StoreCheck,
  WorkerRecord,
} from "../store/store.js";

/** Options of {@link import("./admin.js").Admin}. */
export interface AdminOptions {
  /** The store to read and act on. The admin never closes it. */
  store: Store;
  /** The clock actions are stamped with and the doctor's clock check compares against. Default: the system clock. */
  clock?: Clock;
  /**
   * The local process runtime, for the processes page, or a function returning it (null while there is none,
   * e.g. an app whose `processes` runtime was never used); `processes()` returns null without one.
   */
  processes?: ProcessNode | (() => ProcessNode | null);
}

/** One queue as the dashboard's queue list shows it. */
export interface QueueSummary {
  name: string;
  paused: boolean;
  /** Jobs per state; every state present. */
  counts: JobCounts;
  /** The queue's rate limit, absent when it has none. */
  rateLimit?: RateLimit;
  /** Job types registered into this queue by workers, by name. */
  jobTypes: string[];
}

/**
 * Attempt outcomes of one minute (every queue, or the queue asked for). `failed` is `retried + discarded`:
 * attempts that failed, whether or not the job will run again.
 */
export interface MinutePoint {
  /** Start of the minute, epoch ms (a multiple of 60,000). */
  minute: number;
  completed: number;
  failed: number;
  retried: number;
  discarded: number;
  cancelled: number;
  rescued: number;
}

/** One queue's throughput (see {@link import("./admin.js").Admin.queueThroughput}). */
export interface QueueThroughput {
  queue: string;
  /** Oldest first, zero-filled. */
  points: MinutePoint[];
}

/** The dashboard's front page in one call. */
export interface Overview {
  /** The admin clock's time when the overview was read. */
  now: number;
  storeKind: string;
  queues: QueueSummary[];
  /** Jobs per state across every queue. */
  totals: JobCounts;
  /** Live workers (whose heartbeat has not expired). */
  workers: number;
  schedules: number;
  /** The last 60 minutes, oldest first, zero-filled; the last point is the current (partial) minute. */
  throughput: MinutePoint[];
}

/** Which jobs {@link import("./admin.js").Admin.jobs} lists; every filter given must match. */
export interface JobQuery {
  queue?: string;
  state?: JobState;
  /** Job type. */
  name?: string;
  /** Dedupe key, exact. */
  key?: string;
  /** Group key, exact (within `queue` when given). */
  group?: string;
  /**
   * One box for people: an exact job id if a job with that id matches the other filters; else the jobs whose
   * dedupe key equals it; else the jobs whose group key equals it. {@link JobPage.matchedBy} says which.
   */
  search?: string;
  /** Page size: 1 to 500, default 50. */
  limit?: number;
  /** The previous page's `nextCursor`. */
  cursor?: string;
}

/** One page of jobs, newest first. */
export interface JobPage {
  jobs: JobRecord[];
  /** Pass as `cursor` (with the same query) for the next page; null on the last page. */
  nextCursor: string | null;
  /** With `search`: what it matched ("id", "key", "group"), or null when it matched nothing. */
  matchedBy?: "id" | "key" | "group" | null;
}

/** A live process of the local runtime. */
export interface ProcessSummary {
  pid: string;
  /** Names registered for it (empty when none). */
  names: string[];
}

/** The final states (and retryable) that {@link import("./admin.js").Admin.retryAll} can retry in bulk. */
export type RetryAllState = "discarded" | "cancelled" | "retryable" | "completed";

export interface RetryAllParams {
  /** Only this queue; every queue when absent. */
  queue?: string;
  state: RetryAllState;
  /** Called after each job (retried or skipped) with how many are done and how many there are. */
  onProgress?: (done: number, total: number) => void;
}

export interface RetryAllResult {
  /** Jobs made available again. */
  retried: number;
  /** Jobs passed over because they left `state` (run, retried or deleted by someone else) after being listed. */
  skipped: number;
}

/** One line of `conveyor doctor`: a store check, or one of the admin's own ("reachable", "clock"). */
export interface DoctorCheck extends StoreCheck {
  /** Round-trip time of the call the check made, when it made one. */
  latencyMs?: number;
}

export interface DoctorReport {
  storeKind: string;
  /** The admin clock's time when the doctor ran. */
  at: number;
  /** "reachable" first, then the store's own checks, then "clock". */
  checks: DoctorCheck[];
  /** The worst status of the checks. */
  verdict: "ok" | "warn" | "fail";
}
