/** Row shapes of the SQLite store, their conversion to Store records, and SQLite error mapping. */
import Database from "better-sqlite3";
import { StoreUnavailableError } from "../errors.js";
import { JOB_STATES, type JobState } from "../job/states.js";
import type { AttemptError, JobCounts, JobFinishUpdate, JobLogEntry, JobRecord } from "../store/store.js";
import { fromJsonColumn, toJsonText } from "./json.js";
import { JOB_COLUMNS } from "./statements.js";
/**
 * A jobs row as an array in {@link JOB_COLUMNS} order. Job statements run in better-sqlite3's raw mode:
 * building a 25-key object per row costs more than the SQL itself on the claim path.
 */
export type JobRow = [
  id: number,
  name: string,
  queue: string,
  state: JobState,
  data: string | null,
  priority: number,
  lifo: number,
  lifoKey: number,
  attempt: number,
  maxAttempts: number,
  stalls: number,
  maxStalls: number,
  runAt: number,
  createdAt: number,
  attemptedAt: number | null,
  finishedAt: number | null,
  leaseOwner: string | null,
  leaseToken: string | null,
  leaseExpiresAt: number | null,
  cancelRequested: number,
  timeoutMs: number | null,
  errors: string,
  result: string | null,
  progress: string | null,
  meta: string,
  key: string | null,
  groupKey: string | null,
];

/** Claim-order fields: id, priority, lifo_key, run_at (raw mode). */
export type Candidate = [id: number, priority: number, lifoKey: number, runAt: number];

/** A claimable job of a ready group. */
export interface GroupCandidate {
  id: number;
  name: string;
  priority: number;
  runAt: number;
  queue: string;
  key: string;
  /** The group's `served` sequence number (round-robin order across queues). */
  served: number;
}

/** Between a grouped and an ungrouped candidate: lower priority first, then earlier run_at, then id. */
export function compareMerge(g: GroupCandidate, u: Candidate): number {
  return g.priority - u[1] || g.runAt - u[3] || g.id - u[0];
}

export interface LogRow {
  job_id: number;
  at: number;
  attempt: number;
  level: JobLogEntry["level"];
  message: string;
}

/** What operator operations read of a job first. */
export interface StateRow {
  state: JobState;
  queue: string;
  group_key: string | null;
}

export interface ExpiredRow {
  id: number;
  queue: string;
  group_key: string | null;
  attempt: number;
  stalls: number;
  max_stalls: number;
  cancel_requested: number;
  lease_owner: string | null;
  lease_token: string;
  lease_expires_at: number;
}

export interface Watcher {
  queues: ReadonlySet<string>;
  listener: () => void;
}

/** An update serialised up front, so a JSON failure throws before anything is written. */
export interface PreparedUpdate {
  id: number | null;
  token: string;
  type: JobFinishUpdate["outcome"]["type"];
  setProgress: number;
  progress: string | null;
  result: string | null;
  error: string | null;
  runAt: number;
  logs: JobLogEntry[] | undefined;
}

/** Parses a job id ("12") to its row id; null when it cannot be one (such a job does not exist). */
export function rowId(id: string): number | null {
  if (typeof id !== "string" || !/^[1-9][0-9]{0,15}$/.test(id)) return null;
  const n = Number(id);
  return Number.isSafeInteger(n) ? n : null;
}

export function toRecord(row: JobRow, logs: JobLogEntry[]): JobRecord {
  const errors = row[21];
  const meta = row[24];
  return {
    id: String(row[0]),
    name: row[1],
    queue: row[2],
    state: row[3],
    data: fromJsonColumn(row[4]),
    priority: row[5],
    lifo: row[6] !== 0,
    attempt: row[8],
    maxAttempts: row[9],
    stalls: row[10],
    maxStalls: row[11],
    runAt: row[12],
    createdAt: row[13],
    attemptedAt: row[14],
    finishedAt: row[15],
    leaseOwner: row[16],
    leaseToken: row[17],
    leaseExpiresAt: row[18],
    cancelRequested: row[19] !== 0,
    timeoutMs: row[20],
    // Fast paths for the common empty values: no JSON.parse on the claim hot path.
    errors: errors === "[]" ? [] : (JSON.parse(errors) as AttemptError[]),
    result: fromJsonColumn(row[22]),
    progress: fromJsonColumn(row[23]),
    logs,
    meta: meta === "{}" ? {} : (JSON.parse(meta) as Record<string, unknown>),
    key: row[25],
    group: row[26],
  };
}

export function toLog(row: LogRow): JobLogEntry {
  return { at: row.at, attempt: row.attempt, level: row.level, message: row.message };
}

/** Claim order: lower priority first; LIFO (higher lifo_key) first within a priority; then run_at, then id. */
export function compareClaimOrder(a: Candidate, b: Candidate): number {
  return a[1] - b[1] || b[2] - a[2] || a[3] - b[3] || a[0] - b[0];
}

/** {@link compareClaimOrder} on full rows. */
export function compareRowClaimOrder(a: JobRow, b: JobRow): number {
  return a[5] - b[5] || b[7] - a[7] || a[12] - b[12] || a[0] - b[0];
}

export function emptyCounts(): JobCounts {
  const counts = {} as JobCounts;
  for (const state of JOB_STATES) counts[state] = 0;
  return counts;
}

export function errorText(error: AttemptError, id: string): string {
  return toJsonText(error, `error of job ${id}`, "null");
}

/**
 * Turns SQLite failures a caller can act on into typed errors: lock waits past `busyTimeoutMs` become a
 * retryable StoreUnavailableError, I/O and file problems a non-retryable one. Everything else is rethrown.
 */
export function mapError(error: unknown, path: string): unknown {
  if (!(error instanceof Database.SqliteError)) return error;
  const code = error.code;
  if (code.startsWith("SQLITE_BUSY") || code.startsWith("SQLITE_LOCKED")) {
    return new StoreUnavailableError(
      `sqlite database ${path} is locked by another connection for longer than busyTimeoutMs (${code})`,
      true,
      { cause: error },
    );
  }
  if (/^SQLITE_(IOERR|FULL|CANTOPEN|READONLY|CORRUPT|NOTADB|PERM|AUTH)/.test(code)) {
    return new StoreUnavailableError(`sqlite database ${path}: ${error.message} (${code})`, false, {
      cause: error,
    });
  }
  return error;
}

/** A lock held by another connection (`SQLITE_BUSY*`): worth retrying. */
export function isBusy(error: unknown): boolean {
  return error instanceof Database.SqliteError && error.code.startsWith("SQLITE_BUSY");
}
