/** The SQLite store's SQL: fragments, prepared statements, and the insert path shared with app transactions. */
import type Database from "better-sqlite3";
import type { JobState } from "../job/states.js";
import { freshJobRecord } from "../store/fresh-record.js";
import type { DedupeSpec, InsertOutcome, JobInsertParams, JobRecord } from "../store/store.js";
import { fromJsonColumn, toJsonColumn, toJsonText } from "./json.js";

import { type JobRow, type LogRow, toLog, toRecord } from "./rows.js";
import type { SqliteStore } from "./sqlite-store.js";
export const JOB_COLUMNS =
  "id, name, queue, state, data, priority, lifo, lifo_key, attempt, max_attempts, stalls, max_stalls, run_at, " +
  "created_at, attempted_at, finished_at, lease_owner, lease_token, lease_expires_at, cancel_requested, " +
  "timeout_ms, errors, result, progress, meta, key, group_key";

/** Clears the lease and stores the final progress when given; the common tail of every outcome. */
export const END_LEASE =
  "lease_owner = NULL, lease_token = NULL, lease_expires_at = NULL, cancel_requested = 0, " +
  "progress = CASE WHEN @setProgress THEN @progress ELSE progress END";
export const HELD = "WHERE id = @id AND lease_token = @token AND state = 'running'";
export const APPEND_ERROR = "errors = json_insert(errors, '$[#]', json(@error))";
export const DUE_STATES = "state IN ('scheduled', 'retryable')";
/** The condition of the `jobs_group` index, repeated verbatim so SQLite's planner can use it. */
export const GROUP_LIVE =
  "group_key IS NOT NULL AND state IN ('scheduled', 'available', 'running', 'retryable')";
/** Jobs that take a place in their group's window (see `GroupSpec`). */
export const OCCUPIES = "(state IN ('available', 'running') OR group_hold = 1)";
export const FINAL_SQL = "state IN ('completed', 'cancelled', 'discarded')";

export const COUNT_BY_STATE =
  "SELECT queue, 'available' AS state, COUNT(*) AS n FROM jobs WHERE state = 'available' AND group_key IS NULL " +
  "GROUP BY queue " +
  `UNION ALL SELECT queue, 'available', COUNT(*) FROM jobs WHERE ${GROUP_LIVE} AND state = 'available' GROUP BY queue ` +
  "UNION ALL SELECT queue, state, COUNT(*) FROM jobs WHERE state IN ('scheduled', 'retryable') GROUP BY queue, state " +
  "UNION ALL SELECT queue, 'running', COUNT(*) FROM jobs WHERE state = 'running' GROUP BY queue " +
  "UNION ALL SELECT queue, state, COUNT(*) FROM jobs WHERE state IN ('completed', 'cancelled', 'discarded') " +
  "GROUP BY queue, state";

/**
 * The statements of an insert with dedupe. Prepared on the store's connection, and on an app's own connection
 * for {@link SqliteStore.insertWithConnection}.
 * @internal
 */
export function prepareInsertStatements(db: Database.Database) {
  const p = db.prepare.bind(db);
  return {
    insert: p(
      "INSERT INTO jobs (name, queue, state, data, priority, lifo, max_attempts, max_stalls, run_at, created_at, " +
        "timeout_ms, meta, key, group_key, group_hold, group_concurrency) VALUES (@name, @queue, @state, @data, " +
        "@priority, @lifo, @maxAttempts, @maxStalls, @runAt, @now, @timeoutMs, @meta, @key, @groupKey, " +
        "@groupHold, @groupConcurrency)",
    ),
    setLifoKey: p("UPDATE jobs SET lifo_key = id WHERE id = ?"),
    // The dedupe look-ups read the partial index jobs_key (key, id), newest first.
    keyLive: p(
      "SELECT id FROM jobs WHERE key = ? AND state IN ('scheduled', 'available', 'retryable', 'running') " +
        "ORDER BY id DESC LIMIT 1",
    ).pluck(),
    keyPending: p(
      "SELECT id FROM jobs WHERE key = ? AND state IN ('scheduled', 'available', 'retryable') " +
        "ORDER BY id DESC LIMIT 1",
    ).pluck(),
    keyRecent: p("SELECT id FROM jobs WHERE key = ? AND created_at > ? ORDER BY id DESC LIMIT 1").pluck(),
    keyReplace: p("UPDATE jobs SET data = @data, meta = @meta WHERE id = @id"),
    keyDebounce: p(
      "UPDATE jobs SET data = @data, meta = @meta, run_at = @runAt, state = @state WHERE id = @id " +
        "RETURNING queue, group_key",
    ).raw(),
    getJob: p(`SELECT ${JOB_COLUMNS} FROM jobs WHERE id = ?`).raw(),
    jobLogs: p("SELECT job_id, at, attempt, level, message FROM job_logs WHERE job_id = ? ORDER BY id"),
    // Groups: every change to a grouped job recomputes its group's row (see refreshGroup).
    groupUpsert: p(
      "INSERT INTO job_groups (queue, key, concurrency) VALUES (?, ?, ?) " +
        "ON CONFLICT (queue, key) DO UPDATE SET concurrency = excluded.concurrency",
    ),
    groupConcurrency: p("SELECT concurrency FROM job_groups WHERE queue = ? AND key = ?").pluck(),
    groupLastConcurrency: p(
      `SELECT group_concurrency FROM jobs WHERE ${GROUP_LIVE} AND queue = ? AND group_key = ? ` +
        "ORDER BY id DESC LIMIT 1",
    ).pluck(),
    // The window: the first `limit` occupying jobs by id, read from jobs_group.
    groupWindow: p(
      `SELECT id, state, name, priority, run_at FROM jobs WHERE ${GROUP_LIVE} AND queue = @queue ` +
        `AND group_key = @key AND ${OCCUPIES} ORDER BY id LIMIT @limit`,
    ).raw(),
    groupAny: p(`SELECT 1 FROM jobs WHERE ${GROUP_LIVE} AND queue = ? AND group_key = ? LIMIT 1`).pluck(),
    groupRunning: p(
      "SELECT COUNT(*) FROM jobs WHERE group_key IS NOT NULL AND state = 'running' AND queue = ? AND group_key = ?",
    ).pluck(),
    groupSet: p(
      "UPDATE job_groups SET ready = @ready, priority = @priority WHERE queue = @queue AND key = @key " +
        "AND (ready != @ready OR priority != @priority)",
    ),
    groupDelete: p("DELETE FROM job_groups WHERE queue = ? AND key = ?"),
  };
}

/** A group's window row: id, state, name, priority, run_at (raw mode). */
export type WindowRow = [id: number, state: JobState, name: string, priority: number, runAt: number];

/**
 * Recomputes a group's row after a change to one of its jobs, inside the caller's transaction: whether it has a
 * claimable job (available, inside the window of its first `concurrency` occupying jobs, with fewer than
 * `concurrency` running) and that job's priority. Creates the row (with the concurrency of the group's newest
 * job) when missing, deletes it when the group has no non-final job. Returns whether the group is ready.
 */
export function refreshGroup(s: InsertStatements, queue: string, key: string): boolean {
  let concurrency = s.groupConcurrency.get(queue, key) as number | undefined;
  if (concurrency === undefined) {
    concurrency = s.groupLastConcurrency.get(queue, key) as number | undefined;
    if (concurrency === undefined) return false;
    s.groupUpsert.run(queue, key, concurrency);
  }
  const window = s.groupWindow.all({ queue, key, limit: concurrency }) as WindowRow[];
  if (window.length === 0 && s.groupAny.get(queue, key) === undefined) {
    s.groupDelete.run(queue, key);
    return false;
  }
  const first = window.find((row) => row[1] === "available");
  const ready = first !== undefined && (s.groupRunning.get(queue, key) as number) < concurrency;
  s.groupSet.run({ queue, key, ready: ready ? 1 : 0, priority: ready ? first[3] : 0 });
  return ready;
}

/** @internal */
export type InsertStatements = ReturnType<typeof prepareInsertStatements>;

/** A job to insert, serialised, with its state and run time decided (debounce sets its own run time). */
export interface InsertRow {
  name: string;
  queue: string;
  state: JobState;
  data: string | null;
  priority: number;
  lifo: number;
  maxAttempts: number;
  maxStalls: number;
  runAt: number;
  now: number;
  timeoutMs: number | null;
  meta: string;
  key: string | null;
  dedupe: DedupeSpec | null;
  groupKey: string | null;
  groupHold: number;
  groupConcurrency: number;
}

/** Serialises insert params; throws OptionsError (before anything is written) for values JSON cannot hold. */
export function toInsertRow(job: JobInsertParams): InsertRow {
  const key = job.key ?? null;
  const dedupe = key === null ? null : (job.dedupe ?? { policy: "reject" });
  const runAt = dedupe?.policy === "debounce" ? job.now + dedupe.windowMs : job.runAt;
  return {
    name: job.name,
    queue: job.queue,
    state: runAt > job.now ? "scheduled" : "available",
    data: toJsonColumn(job.data, `data of job "${job.name}"`),
    priority: job.priority,
    lifo: job.lifo ? 1 : 0,
    maxAttempts: job.maxAttempts,
    maxStalls: job.maxStalls,
    runAt,
    now: job.now,
    timeoutMs: job.timeoutMs,
    meta: toJsonText(job.meta ?? {}, `meta of job "${job.name}"`, "{}"),
    key,
    dedupe,
    groupKey: job.group?.key ?? null,
    groupHold: job.group?.onFailure === "continue" ? 0 : 1,
    groupConcurrency: job.group?.concurrency ?? 1,
  };
}

/** What {@link insertRowsIn} did with one row: a new id, or an existing job it returned or changed. */
export type RowResult = number | { job: JobRecord; outcome: InsertOutcome; changedQueue: string | null };

/**
 * Inserts rows in order inside the caller's transaction, applying each keyed row's dedupe policy first (so a
 * row sees the rows before it). Existing jobs are read back inside the same transaction.
 */
export function insertRowsIn(s: InsertStatements, rows: readonly InsertRow[]): RowResult[] {
  const read = (id: number): JobRecord => {
    const logs = (s.jobLogs.all(id) as LogRow[]).map(toLog);
    return toRecord(s.getJob.get(id) as JobRow, logs);
  };
  // Groups touched by the batch, refreshed once each at the end (a bulk insert into one group costs one).
  const groups = new Map<string, [string, string]>();
  const results = rows.map((row): RowResult => {
    const { key, dedupe } = row;
    if (key !== null && dedupe !== null) {
      switch (dedupe.policy) {
        case "reject": {
          const id = s.keyLive.get(key) as number | undefined;
          if (id !== undefined) return { job: read(id), outcome: "duplicate", changedQueue: null };
          break;
        }
        case "throttle": {
          const id = s.keyRecent.get(key, row.now - dedupe.windowMs) as number | undefined;
          if (id !== undefined) return { job: read(id), outcome: "throttled", changedQueue: null };
          break;
        }
        case "replace": {
          const id = s.keyPending.get(key) as number | undefined;
          if (id === undefined) break;
          s.keyReplace.run({ id, data: row.data, meta: row.meta });
          return { job: read(id), outcome: "replaced", changedQueue: null };
        }
        case "debounce": {
          const id = s.keyPending.get(key) as number | undefined;
          if (id === undefined) break;
          const [queue, group] = s.keyDebounce.get({
            id,
            data: row.data,
            meta: row.meta,
            runAt: row.runAt,
            state: row.state,
          }) as [string, string | null];
          if (group !== null) groups.set(`${queue}\u0000${group}`, [queue, group]);
          return { job: read(id), outcome: "debounced", changedQueue: queue };
        }
      }
    }
    const id = Number(s.insert.run(row).lastInsertRowid);
    if (row.lifo) s.setLifoKey.run(id);
    if (row.groupKey !== null) {
      s.groupUpsert.run(row.queue, row.groupKey, row.groupConcurrency);
      groups.set(`${row.queue}\u0000${row.groupKey}`, [row.queue, row.groupKey]);
    }
    return id;
  });
  for (const [queue, group] of groups.values()) refreshGroup(s, queue, group);
  return results;
}

/** The record of a row just inserted, built without reading it back. */
export function insertedRecord(id: number, row: InsertRow): JobRecord {
  return freshJobRecord({
    id: String(id),
    name: row.name,
    queue: row.queue,
    state: row.state,
    data: fromJsonColumn(row.data),
    priority: row.priority,
    lifo: row.lifo === 1,
    maxAttempts: row.maxAttempts,
    maxStalls: row.maxStalls,
    runAt: row.runAt,
    createdAt: row.now,
    timeoutMs: row.timeoutMs,
    meta: row.meta === "{}" ? {} : (JSON.parse(row.meta) as Record<string, unknown>),
    key: row.key,
    group: row.groupKey,
  });
}

/** @internal */
export function prepareStatements(db: Database.Database) {
  const p = db.prepare.bind(db);
  return {
    ...prepareInsertStatements(db),
    stage: p(`UPDATE jobs SET state = 'available' WHERE ${DUE_STATES} AND run_at <= ? AND group_key IS NULL`),
    stageGrouped: p(
      `UPDATE jobs SET state = 'available' WHERE ${DUE_STATES} AND run_at <= ? AND group_key IS NOT NULL ` +
        "RETURNING queue, group_key",
    ).raw(),
    // Paused queues and queues with a rate limit: one read of the small queues table per claim either way.
    queueFlags: p(
      "SELECT name, paused, rate_max, rate_window_ms FROM queues WHERE paused = 1 OR rate_max IS NOT NULL",
    ).raw(),
    claimCandidates: p(
      "SELECT id, priority, lifo_key, run_at FROM jobs WHERE state = 'available' AND group_key IS NULL " +
        "AND queue = @queue AND name IN (SELECT value FROM json_each(@names)) " +
        "ORDER BY priority, lifo_key DESC, run_at, id LIMIT @limit",
    ).raw(),
    readyGroups: p(
      "SELECT key, concurrency, served FROM job_groups WHERE ready = 1 AND queue = @queue ORDER BY priority, served " +
        "LIMIT @limit",
    ).raw(),
    servedNext: p(
      "INSERT INTO counters (name, value) VALUES ('group_served', 1) " +
        "ON CONFLICT (name) DO UPDATE SET value = value + 1 RETURNING value",
    ).pluck(),
    groupServed: p("UPDATE job_groups SET served = ? WHERE queue = ? AND key = ?"),
    groupOfJob: p("SELECT queue, group_key FROM jobs WHERE id = ?").raw(),
    limitedTypes: p(
      "SELECT name, max_concurrency, rate_max, rate_window_ms, group_rate_max, group_rate_window_ms " +
        "FROM job_types WHERE max_concurrency IS NOT NULL OR rate_max IS NOT NULL OR group_rate_max IS NOT NULL",
    ).raw(),
    rateLog: p("SELECT log FROM rate_windows WHERE key = ?").pluck(),
    rateWrite: p(
      "INSERT INTO rate_windows (key, kind, queue, name, log, free_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?) " +
        "ON CONFLICT (key) DO UPDATE SET log = excluded.log, free_at = excluded.free_at, " +
        "expires_at = excluded.expires_at",
    ),
    rateSweep: p(
      "DELETE FROM rate_windows WHERE key IN (SELECT key FROM rate_windows WHERE expires_at <= ? LIMIT 16)",
    ),
    rateNextFree: p(
      "SELECT MIN(free_at) FROM rate_windows WHERE free_at > @now AND " +
        "((kind = 'type' AND name IN (SELECT value FROM json_each(@names))) OR " +
        "(kind <> 'type' AND queue IN (SELECT value FROM json_each(@queues))))",
    ).pluck(),
    queueRateLimit: p(
      "INSERT INTO queues (name, paused, rate_max, rate_window_ms) VALUES (@queue, 0, @max, @windowMs) " +
        "ON CONFLICT (name) DO UPDATE SET rate_max = @max, rate_window_ms = @windowMs",
    ),
    runningOfName: p("SELECT COUNT(*) FROM jobs WHERE state = 'running' AND name = ?").pluck(),
    claimUpdate: p(
      "UPDATE jobs SET state = 'running', attempt = attempt + 1, attempted_at = @now, lease_owner = @owner, " +
        "lease_token = @token || '.' || id, lease_expires_at = @expires " +
        `WHERE id IN (SELECT value FROM json_each(@ids)) AND state = 'available' RETURNING ${JOB_COLUMNS}`,
    ).raw(),
    // All completions of a batch in one statement: rows are [id, token, result JSON, setProgress, progress JSON].
    // Returns [id, queue] per completed job; grouped jobs come back with a negative id, so their groups are
    // refreshed.
    completeMany: p(
      "UPDATE jobs SET state = 'completed', result = v.result, finished_at = @now, lease_owner = NULL, " +
        "lease_token = NULL, lease_expires_at = NULL, cancel_requested = 0, " +
        "progress = CASE WHEN v.sp THEN v.progress ELSE jobs.progress END FROM (SELECT value ->> 0 AS id, " +
        "value ->> 1 AS token, value ->> 2 AS result, value ->> 3 AS sp, value ->> 4 AS progress " +
        "FROM json_each(@rows)) AS v WHERE jobs.id = v.id AND jobs.lease_token = v.token " +
        "AND jobs.state = 'running' RETURNING CASE WHEN jobs.group_key IS NULL THEN jobs.id ELSE -jobs.id END, " +
        "jobs.queue",
    ).raw(),
    retry: p(
      `UPDATE jobs SET state = 'retryable', run_at = @runAt, ${APPEND_ERROR}, ${END_LEASE} ${HELD} ` +
        "RETURNING queue, group_key",
    ).raw(),
    discard: p(
      `UPDATE jobs SET state = 'discarded', finished_at = @now, ${APPEND_ERROR}, ${END_LEASE} ${HELD} ` +
        "RETURNING queue, group_key",
    ).raw(),
    snooze: p(
      `UPDATE jobs SET state = 'scheduled', run_at = @runAt, attempt = attempt - 1, ${END_LEASE} ${HELD} ` +
        "RETURNING queue, group_key",
    ).raw(),
    cancel: p(
      `UPDATE jobs SET state = 'cancelled', finished_at = @now, ${APPEND_ERROR}, ${END_LEASE} ${HELD} ` +
        "RETURNING queue, group_key",
    ).raw(),
    release: p(
      `UPDATE jobs SET state = 'available', run_at = @now, attempt = attempt - 1, ${END_LEASE} ${HELD} ` +
        "RETURNING queue, group_key",
    ).raw(),
    insertLog: p("INSERT INTO job_logs (job_id, at, attempt, level, message) VALUES (?, ?, ?, ?, ?)"),
    renew: p(
      "UPDATE jobs SET lease_expires_at = @expires WHERE id = @id AND lease_token = @token AND state = 'running' " +
        "RETURNING cancel_requested",
    ).pluck(),
    holds: p("SELECT 1 FROM jobs WHERE id = ? AND lease_token = ? AND state = 'running'").pluck(),
    reportProgress: p(`UPDATE jobs SET progress = @progress ${HELD}`),
    expired: p(
      "SELECT id, queue, group_key, attempt, stalls, max_stalls, cancel_requested, lease_owner, lease_token, " +
        "lease_expires_at FROM jobs WHERE state = 'running' AND lease_expires_at < @now " +
        "ORDER BY lease_expires_at LIMIT @limit",
    ),
    rescueCancel: p(
      "UPDATE jobs SET state = 'cancelled', finished_at = @now, lease_owner = NULL, lease_token = NULL, " +
        "lease_expires_at = NULL, cancel_requested = 0, " +
        `${APPEND_ERROR} ${HELD}`,
    ),
    rescueDiscard: p(
      "UPDATE jobs SET state = 'discarded', finished_at = @now, attempt = attempt - 1, stalls = stalls + 1, " +
        "lease_owner = NULL, " +
        `lease_token = NULL, lease_expires_at = NULL, cancel_requested = 0, ${APPEND_ERROR} ${HELD}`,
    ),
    rescueAvailable: p(
      "UPDATE jobs SET state = 'available', run_at = @now, attempt = attempt - 1, stalls = stalls + 1, " +
        "lease_owner = NULL, lease_token = NULL, lease_expires_at = NULL, cancel_requested = 0, " +
        `${APPEND_ERROR} ${HELD}`,
    ),
    nextRunAt: p(`SELECT run_at FROM jobs WHERE ${DUE_STATES} AND queue = ? ORDER BY run_at LIMIT 1`).pluck(),
    get: p(`SELECT ${JOB_COLUMNS} FROM jobs WHERE id = ?`).raw(),
    stateOf: p("SELECT state, queue, group_key FROM jobs WHERE id = ?"),
    logsOf: p("SELECT job_id, at, attempt, level, message FROM job_logs WHERE job_id = ? ORDER BY id"),
    logsOfMany: p(
      "SELECT job_id, at, attempt, level, message FROM job_logs " +
        "WHERE job_id IN (SELECT value FROM json_each(?)) ORDER BY id",
    ),
    // Counts read the per-state partial indexes (index-only scans); no (queue, state) index is kept, so a
    // state change touches two index entries rather than four.
    countAll: p(`SELECT state, SUM(n) AS n FROM (${COUNT_BY_STATE}) GROUP BY state`),
    countQueue: p(`SELECT state, SUM(n) AS n FROM (${COUNT_BY_STATE}) WHERE queue = ? GROUP BY state`),
    countByQueue: p(COUNT_BY_STATE),
    retryJob: p(
      "UPDATE jobs SET state = 'available', run_at = @now, finished_at = NULL, result = NULL, " +
        "cancel_requested = 0, max_attempts = CASE WHEN attempt >= max_attempts THEN attempt + 1 " +
        "ELSE max_attempts END WHERE id = @id",
    ),
    cancelWaiting: p(`UPDATE jobs SET state = 'cancelled', finished_at = @now WHERE id = @id`),
    requestCancel: p("UPDATE jobs SET cancel_requested = 1 WHERE id = ? AND state = 'running'"),
    delete: p("DELETE FROM jobs WHERE id = ?"),
    insertedStill: p("SELECT 1 FROM jobs WHERE id = ? AND name = ? AND created_at = ?").pluck(),
    promote: p("UPDATE jobs SET state = 'available', run_at = @now WHERE id = @id"),
    // Count retention: the newest job past `keep` (the first one to delete), then everything at or after it.
    pruneEdge: p(
      `SELECT finished_at, id FROM jobs WHERE ${FINAL_SQL} AND state = @state ` +
        "ORDER BY finished_at DESC, id DESC LIMIT 1 OFFSET @keep",
    ).raw(),
    pruneEdgeQueue: p(
      `SELECT finished_at, id FROM jobs WHERE ${FINAL_SQL} AND queue = @queue AND state = @state ` +
        "ORDER BY finished_at DESC, id DESC LIMIT 1 OFFSET @keep",
    ).raw(),
    pruneFinalQueues: p(`SELECT DISTINCT queue FROM jobs WHERE ${FINAL_SQL} AND state = ?`).pluck(),
    pruneBeyond: p(
      `DELETE FROM jobs WHERE id IN (SELECT id FROM jobs WHERE ${FINAL_SQL} AND state = @state ` +
        "AND (@queue IS NULL OR queue = @queue) AND (finished_at < @at OR (finished_at = @at AND id <= @id)) " +
        "ORDER BY finished_at, id LIMIT @limit)",
    ),
    prune: p(
      "DELETE FROM jobs WHERE id IN (SELECT id FROM jobs WHERE " +
        `${FINAL_SQL} AND state IN (SELECT value FROM json_each(@states)) AND finished_at < @before ` +
        "LIMIT @limit)",
    ),
    typeUpsert: p(
      "INSERT INTO job_types (name, queue, defaults, seen_at, max_concurrency, rate_max, rate_window_ms, " +
        "group_rate_max, group_rate_window_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) " +
        "ON CONFLICT (name) DO UPDATE SET queue = excluded.queue, defaults = excluded.defaults, " +
        "seen_at = excluded.seen_at, max_concurrency = excluded.max_concurrency, rate_max = excluded.rate_max, " +
        "rate_window_ms = excluded.rate_window_ms, group_rate_max = excluded.group_rate_max, " +
        "group_rate_window_ms = excluded.group_rate_window_ms",
    ),
    typeList: p("SELECT name, queue, defaults, seen_at FROM job_types ORDER BY name"),
    typeQueues: p("SELECT DISTINCT queue FROM job_types").pluck(),
    queuePause: p(
      "INSERT INTO queues (name, paused) VALUES (?, 1) ON CONFLICT (name) DO UPDATE SET paused = 1",
    ),
    queueResume: p("UPDATE queues SET paused = 0 WHERE name = ?"),
    queueRows: p("SELECT name, paused, rate_max, rate_window_ms FROM queues"),
    anyAvailable: p(
      "SELECT 1 FROM jobs WHERE state = 'available' AND group_key IS NULL AND queue = ? LIMIT 1",
    ).pluck(),
    anyReadyGroup: p("SELECT 1 FROM job_groups WHERE ready = 1 AND queue = ? LIMIT 1").pluck(),
    anyDue: p(`SELECT 1 FROM jobs WHERE ${DUE_STATES} AND run_at <= ? LIMIT 1`).pluck(),
    migrationVersion: p("SELECT COALESCE(MAX(version), 0) FROM conveyor_migrations").pluck(),
  };
}

/** @internal */
export type Statements = ReturnType<typeof prepareStatements>;
