/**
 * The SQLite store's schedules (table `schedules`, see `migrations.ts`). Every write runs in the store's
 * `BEGIN IMMEDIATE` transaction (its `write`), so a fire's compare-and-set on `next_run_at` and the insert of
 * its tick jobs commit together or not at all, across every process that opened the file: of several
 * schedulers firing the same tick, exactly one inserts its jobs.
 */
import type Database from "better-sqlite3";
import { catchUpText, scheduleOptionsText, specText } from "../store/schedule-records.js";
import type {
  JobRecord,
  ScheduleFireParams,
  ScheduleFireResult,
  ScheduleRecord,
  ScheduleUpsertParams,
  ScheduleUpsertResult,
} from "../store/store.js";
import { toJsonColumn, toJsonText } from "./json.js";

/** What the store lends this module: its write transaction, its read guard, a job reader and wake-ups. */
export interface SqliteScheduleDeps {
  /** Runs `fn` in one `BEGIN IMMEDIATE` transaction (with the store's busy retry). */
  write<T>(fn: () => T): Promise<T>;
  /** Runs `fn` on the open database, mapping errors. */
  run<T>(fn: () => T): T;
  /** Reads a job inside the current transaction. */
  getJob(id: string): JobRecord | null;
  /** Wakes workers of `queues` after a commit that made jobs available. */
  hint(queues: Iterable<string>): void;
}

interface ScheduleRow {
  id: string;
  job_name: string;
  queue: string;
  data: string | null;
  options: string;
  spec: string;
  catch_up: string;
  paused: number;
  next_run_at: number | null;
  last_tick_at: number | null;
  created_at: number;
  updated_at: number;
}

const COLUMNS =
  "id, job_name, queue, data, options, spec, catch_up, paused, next_run_at, last_tick_at, created_at, updated_at";

function prepare(db: Database.Database) {
  const p = db.prepare.bind(db);
  return {
    get: p(`SELECT ${COLUMNS} FROM schedules WHERE id = ?`),
    list: p(`SELECT ${COLUMNS} FROM schedules ORDER BY id`),
    upsert: p(
      "INSERT INTO schedules (id, job_name, queue, data, options, spec, catch_up, paused, next_run_at, " +
        "last_tick_at, created_at, updated_at) VALUES (@id, @jobName, @queue, @data, @options, @spec, @catchUp, " +
        "0, @nextRunAt, NULL, @now, @now) ON CONFLICT (id) DO UPDATE SET job_name = excluded.job_name, " +
        "queue = excluded.queue, data = excluded.data, options = excluded.options, catch_up = excluded.catch_up, " +
        "next_run_at = CASE WHEN schedules.spec = excluded.spec THEN schedules.next_run_at " +
        "ELSE excluded.next_run_at END, spec = excluded.spec, updated_at = excluded.updated_at",
    ),
    delete: p("DELETE FROM schedules WHERE id = ?"),
    pause: p("UPDATE schedules SET paused = 1, updated_at = @now WHERE id = @id AND paused = 0"),
    resume: p(
      "UPDATE schedules SET paused = 0, next_run_at = @nextRunAt, updated_at = @now WHERE id = @id AND paused = 1",
    ),
    due: p(
      `SELECT ${COLUMNS} FROM schedules WHERE paused = 0 AND next_run_at IS NOT NULL AND next_run_at <= @now ` +
        "ORDER BY next_run_at, id LIMIT @limit",
    ),
    // The compare-and-set: only the caller that saw this next_run_at moves it.
    advance: p(
      "UPDATE schedules SET next_run_at = @nextRunAt, last_tick_at = CASE WHEN @lastTick IS NULL THEN " +
        "last_tick_at WHEN last_tick_at IS NULL OR last_tick_at < @lastTick THEN @lastTick ELSE last_tick_at END " +
        "WHERE id = @id AND paused = 0 AND next_run_at = @expect RETURNING id",
    ),
    lastTick: p("SELECT last_tick_at FROM schedules WHERE id = ?").pluck(),
    insertJob: p(
      "INSERT INTO jobs (name, queue, state, data, priority, lifo, max_attempts, max_stalls, run_at, created_at, " +
        "timeout_ms, meta) VALUES (@name, @queue, @state, @data, @priority, @lifo, @maxAttempts, @maxStalls, " +
        "@runAt, @now, @timeoutMs, @meta)",
    ),
    setLifoKey: p("UPDATE jobs SET lifo_key = id WHERE id = ?"),
  };
}

/** Schedule operations on one SQLite connection. */
export class SqliteSchedules {
  readonly #s: ReturnType<typeof prepare>;
  readonly #deps: SqliteScheduleDeps;

  constructor(db: Database.Database, deps: SqliteScheduleDeps) {
    this.#s = prepare(db);
    this.#deps = deps;
  }

  async upsert(params: ScheduleUpsertParams): Promise<ScheduleUpsertResult> {
    const row = {
      id: params.id,
      jobName: params.jobName,
      queue: params.queue,
      data: toJsonColumn(params.data, `data of schedule "${params.id}"`),
      options: scheduleOptionsText(params.options, params.id),
      spec: specText(params.spec),
      catchUp: catchUpText(params.catchUp),
      nextRunAt: params.nextRunAt,
      now: params.now,
    };
    return this.#deps.write(() => {
      const created = this.#s.get.get(params.id) === undefined;
      this.#s.upsert.run(row);
      return { schedule: toRecord(this.#s.get.get(params.id) as ScheduleRow), created };
    });
  }

  get(id: string): ScheduleRecord | null {
    return this.#deps.run(() => {
      const row = this.#s.get.get(id) as ScheduleRow | undefined;
      return row === undefined ? null : toRecord(row);
    });
  }

  list(): ScheduleRecord[] {
    return this.#deps.run(() => (this.#s.list.all() as ScheduleRow[]).map(toRecord));
  }

  delete(id: string): Promise<boolean> {
    return this.#deps.write(() => this.#s.delete.run(id).changes === 1);
  }

  pause(id: string, now: number): Promise<ScheduleRecord | null> {
    return this.#deps.write(() => {
      this.#s.pause.run({ id, now });
      const row = this.#s.get.get(id) as ScheduleRow | undefined;
      return row === undefined ? null : toRecord(row);
    });
  }

  resume(id: string, nextRunAt: number | null, now: number): Promise<ScheduleRecord | null> {
    return this.#deps.write(() => {
      this.#s.resume.run({ id, nextRunAt, now });
      const row = this.#s.get.get(id) as ScheduleRow | undefined;
      return row === undefined ? null : toRecord(row);
    });
  }

  due(now: number, limit: number): ScheduleRecord[] {
    if (!(limit > 0)) {
      this.#deps.run(() => undefined);
      return [];
    }
    return this.#deps.run(() => (this.#s.due.all({ now, limit }) as ScheduleRow[]).map(toRecord));
  }

  async fire(params: ScheduleFireParams): Promise<ScheduleFireResult> {
    // Serialise first: a value that is not JSON throws before anything is written.
    const rows = params.ticks.map((t) => ({
      tickAt: t.tickAt,
      row: {
        name: t.job.name,
        queue: t.job.queue,
        state: t.job.runAt > t.job.now ? "scheduled" : "available",
        data: toJsonColumn(t.job.data, `data of schedule "${params.id}"`),
        priority: t.job.priority,
        lifo: t.job.lifo ? 1 : 0,
        maxAttempts: t.job.maxAttempts,
        maxStalls: t.job.maxStalls,
        runAt: t.job.runAt,
        now: t.job.now,
        timeoutMs: t.job.timeoutMs,
        meta: toJsonText(t.job.meta ?? {}, `meta of schedule "${params.id}"`, "{}"),
      },
    }));
    const latest = rows.reduce<number | null>((m, r) => (m === null || r.tickAt > m ? r.tickAt : m), null);
    const s = this.#s;
    const result = await this.#deps.write((): ScheduleFireResult => {
      const before = s.lastTick.get(params.id) as number | null | undefined;
      const moved = s.advance.get({
        id: params.id,
        expect: params.expectNextRunAt,
        nextRunAt: params.nextRunAt,
        lastTick: latest,
      });
      if (moved === undefined) return { fired: false, jobs: [] };
      const jobs: JobRecord[] = [];
      for (const { tickAt, row } of rows) {
        if (before !== null && before !== undefined && tickAt <= before) continue;
        const id = Number(s.insertJob.run(row).lastInsertRowid);
        if (row.lifo) s.setLifoKey.run(id);
        const job = this.#deps.getJob(String(id));
        if (job !== null) jobs.push(job);
      }
      return { fired: true, jobs };
    });
    if (result.jobs.length > 0) this.#deps.hint(new Set(result.jobs.map((j) => j.queue)));
    return result;
  }
}

function toRecord(row: ScheduleRow): ScheduleRecord {
  return {
    id: row.id,
    jobName: row.job_name,
    queue: row.queue,
    data: row.data === null ? null : JSON.parse(row.data),
    options: JSON.parse(row.options),
    spec: JSON.parse(row.spec),
    catchUp: JSON.parse(row.catch_up),
    paused: row.paused !== 0,
    nextRunAt: row.next_run_at,
    lastTickAt: row.last_tick_at,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}
