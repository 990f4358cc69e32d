/**
 * Versioned schema migrations of the SQLite store. Append only: a released migration is never edited or
 * reordered, a schema change is a new entry with the next version. `openSqliteStore` applies the pending ones
 * in one `BEGIN IMMEDIATE` transaction (so two processes opening a new file at once cannot both apply them)
 * and refuses a database whose version is newer than {@link LATEST_VERSION}.
 */

/** One schema step. `sql` may hold several statements; it runs inside the migration transaction. */
export interface Migration {
  /** 1, 2, 3... in order, without gaps. */
  readonly version: number;
  /** Short description, recorded in `conveyor_migrations`. */
  readonly name: string;
  readonly sql: string;
}

/**
 * Schema overview (version 1):
 * - `jobs`: one row per job, a column per {@link import("../store/store.js").JobRecord} field; JSON fields
 *   (`data`, `result`, `progress`, `meta`, `errors`) as text; `lifo_key` is 0 for FIFO jobs and the job id for
 *   LIFO jobs, so `lifo_key DESC` puts LIFO jobs first, newest first.
 * - Partial indexes keep each hot query on the rows it needs only: claim order of available jobs per queue,
 *   due scheduled/retryable jobs (globally, and per queue for `jobNextRunAt`), leases of running jobs, and
 *   finish time of final jobs (pruning). Finished jobs are in none of the hot indexes.
 * - `jobs_key`: dedupe keys, every state (throttle looks at finished jobs too). Partial on `key IS NOT NULL`
 *   and free of `state`, so unkeyed jobs never enter it and no state change ever touches it.
 * - `job_logs`: log lines, appended without rewriting the job row; deleted with their job.
 * - Groups (per-group FIFO): `group_key` (null for ungrouped jobs, which the claim index `jobs_claim` alone
 *   holds), `group_hold` (onFailure "hold") and `group_concurrency` on the job. `jobs_group` orders a group's
 *   non-final jobs by id (a window read never scans a big group's backlog), `jobs_group_running` counts its
 *   running jobs. `job_groups` keeps one row per group with non-final jobs: its concurrency, whether it has a
 *   claimable job (`ready`, with that job's priority) and the sequence number of the claim that last served it,
 *   recomputed in the transaction of every change to one of its jobs; `job_groups_ready` lists ready groups
 *   least recently served first. `counters` holds that sequence.
 * - `queues`: per-queue flags (paused) and rate limit (`rate_max` per `rate_window_ms`). `job_types`: names
 *   registered by workers, with `max_concurrency` and the type's and its groups' rate limits copied out of
 *   their defaults, so a claim finds limited types without parsing JSON.
 * - `rate_windows`: one sliding-window log per limit that took claims (`key` as in `rate-window.ts`), with
 *   `free_at` (when a full limit has room again, for `jobNextRunAt`) and `expires_at` (after it the log is
 *   empty; such rows are deleted a few at a time by claims that write logs).
 * - `schedules`: one row per schedule; `spec`, `catch_up`, `options` and `data` as JSON text; a fire is a
 *   compare-and-set on `next_run_at`. `schedules_due` holds unpaused schedules with a next run.
 *
 * Version 2 (the admin API):
 * - `workers`: one row per worker that beat (`record` is the WorkerRecord as JSON), listed while
 *   `expires_at > now`; expired rows are deleted by later beats.
 * - `queue_stats`: attempt outcomes per (minute, queue), upserted by one statement per finish or rescue
 *   transaction; rows older than 24 hours are deleted when a transaction first counts in a new minute.
 * - `jobs_group_all`: every grouped job by group key and id, in every state, for listing a group's jobs
 *   (`jobs_group` holds non-final jobs only). Neither column changes after insert, so no transition touches it.
 */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: "initial schema",
    sql: `
CREATE TABLE jobs (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  name TEXT NOT NULL,
  queue TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN
    ('scheduled', 'available', 'running', 'retryable', 'completed', 'cancelled', 'discarded')),
  data TEXT,
  priority INTEGER NOT NULL DEFAULT 0,
  lifo INTEGER NOT NULL DEFAULT 0,
  lifo_key INTEGER NOT NULL DEFAULT 0,
  attempt INTEGER NOT NULL DEFAULT 0,
  max_attempts INTEGER NOT NULL,
  stalls INTEGER NOT NULL DEFAULT 0,
  max_stalls INTEGER NOT NULL,
  run_at INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  attempted_at INTEGER,
  finished_at INTEGER,
  lease_owner TEXT,
  lease_token TEXT,
  lease_expires_at INTEGER,
  cancel_requested INTEGER NOT NULL DEFAULT 0,
  timeout_ms INTEGER,
  errors TEXT NOT NULL DEFAULT '[]',
  result TEXT,
  progress TEXT,
  meta TEXT NOT NULL DEFAULT '{}',
  key TEXT,
  group_key TEXT,
  group_hold INTEGER NOT NULL DEFAULT 1,
  group_concurrency INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX jobs_claim ON jobs (queue, priority, lifo_key DESC, run_at, id)
  WHERE state = 'available' AND group_key IS NULL;
CREATE INDEX jobs_due ON jobs (run_at) WHERE state IN ('scheduled', 'retryable');
CREATE INDEX jobs_due_queue ON jobs (queue, state, run_at) WHERE state IN ('scheduled', 'retryable');
CREATE INDEX jobs_running ON jobs (queue, lease_expires_at) WHERE state = 'running';
CREATE INDEX jobs_finished ON jobs (queue, state, finished_at) WHERE state IN ('completed', 'cancelled', 'discarded');
CREATE INDEX jobs_key ON jobs (key, id) WHERE key IS NOT NULL;
CREATE INDEX jobs_group ON jobs (queue, group_key, id)
  WHERE group_key IS NOT NULL AND state IN ('scheduled', 'available', 'running', 'retryable');
CREATE INDEX jobs_group_running ON jobs (queue, group_key) WHERE group_key IS NOT NULL AND state = 'running';

CREATE TABLE job_groups (
  queue TEXT NOT NULL,
  key TEXT NOT NULL,
  concurrency INTEGER NOT NULL DEFAULT 1,
  ready INTEGER NOT NULL DEFAULT 0,
  priority INTEGER NOT NULL DEFAULT 0,
  served INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (queue, key)
) WITHOUT ROWID;
CREATE INDEX job_groups_ready ON job_groups (queue, priority, served) WHERE ready = 1;

CREATE TABLE counters (
  name TEXT PRIMARY KEY,
  value INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE job_logs (
  id INTEGER PRIMARY KEY,
  job_id INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
  at INTEGER NOT NULL,
  attempt INTEGER NOT NULL,
  level TEXT NOT NULL,
  message TEXT NOT NULL
);
CREATE INDEX job_logs_job ON job_logs (job_id, id);

CREATE TABLE queues (
  name TEXT PRIMARY KEY,
  paused INTEGER NOT NULL DEFAULT 0,
  rate_max INTEGER,
  rate_window_ms INTEGER
) WITHOUT ROWID;

CREATE TABLE job_types (
  name TEXT PRIMARY KEY,
  queue TEXT NOT NULL,
  defaults TEXT NOT NULL DEFAULT '{}',
  seen_at INTEGER NOT NULL,
  max_concurrency INTEGER,
  rate_max INTEGER,
  rate_window_ms INTEGER,
  group_rate_max INTEGER,
  group_rate_window_ms INTEGER
) WITHOUT ROWID;

CREATE TABLE rate_windows (
  key TEXT PRIMARY KEY,
  kind TEXT NOT NULL CHECK (kind IN ('queue', 'type', 'group')),
  queue TEXT,
  name TEXT,
  log TEXT NOT NULL DEFAULT '[]',
  free_at INTEGER,
  expires_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX rate_windows_free ON rate_windows (free_at) WHERE free_at IS NOT NULL;
CREATE INDEX rate_windows_expires ON rate_windows (expires_at);

CREATE TABLE schedules (
  id TEXT PRIMARY KEY,
  job_name TEXT NOT NULL,
  queue TEXT NOT NULL,
  data TEXT,
  options TEXT NOT NULL,
  spec TEXT NOT NULL,
  catch_up TEXT NOT NULL,
  paused INTEGER NOT NULL DEFAULT 0,
  next_run_at INTEGER,
  last_tick_at INTEGER,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX schedules_due ON schedules (next_run_at) WHERE paused = 0 AND next_run_at IS NOT NULL;
`,
  },
  {
    version: 2,
    name: "worker registry, outcome counts, group listing",
    sql: `
CREATE TABLE workers (
  id TEXT PRIMARY KEY,
  record TEXT NOT NULL,
  last_beat_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX workers_expires ON workers (expires_at);

CREATE TABLE queue_stats (
  minute INTEGER NOT NULL,
  queue TEXT NOT NULL,
  completed INTEGER NOT NULL DEFAULT 0,
  retried INTEGER NOT NULL DEFAULT 0,
  discarded INTEGER NOT NULL DEFAULT 0,
  cancelled INTEGER NOT NULL DEFAULT 0,
  rescued INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (minute, queue)
) WITHOUT ROWID;

CREATE INDEX jobs_group_all ON jobs (group_key, id) WHERE group_key IS NOT NULL;
`,
  },
];

/** The schema version this code writes and understands. */
export const LATEST_VERSION: number = MIGRATIONS.reduce((max, m) => Math.max(max, m.version), 0);

/** Where a database stands against the migrations this code knows. */
export interface MigrationStatus {
  /** Highest version applied to the database (0 for an empty file). */
  current: number;
  /** Highest version this code knows ({@link LATEST_VERSION}). */
  latest: number;
}
