/**
 * The SQLite store's worker registry (`workers`), outcome counts (`queue_stats`) and health checks (see
 * `migrations.ts`, version 2). Outcome counts are tallied in JavaScript while a finish or rescue transaction
 * applies its updates, then written by one upsert statement inside that same transaction, so they commit with
 * the transitions they count and a batch of 100 completions costs one extra statement, not 100.
 */
import { statfsSync, statSync } from "node:fs";
import type Database from "better-sqlite3";
import type { QueueMinuteStats, StoreCheck, WorkerRecord } from "../store/store.js";
import type { MigrationStatus } from "./migrations.js";

const MINUTE_MS = 60_000;
/** Counts are kept this long behind the newest minute a transaction counted in. */
const STATS_KEEP_MS = 24 * 60 * MINUTE_MS;
const MIB = 1024 * 1024;

/** The counters of a queue in one transaction: completed, retried, discarded, cancelled, rescued. */
type Tally = [number, number, number, number, number];
/** Index of each counter in a {@link Tally}. */
export const STAT = { completed: 0, retried: 1, discarded: 2, cancelled: 3, rescued: 4 } as const;

/** @internal */
export function prepareRegistryStatements(db: Database.Database) {
  const p = db.prepare.bind(db);
  return {
    workerBeat: p(
      "INSERT INTO workers (id, record, last_beat_at, expires_at) VALUES (@id, @record, @now, @expires) " +
        "ON CONFLICT (id) DO UPDATE SET record = excluded.record, last_beat_at = excluded.last_beat_at, " +
        "expires_at = excluded.expires_at",
    ),
    // Forgets workers that expired more than an hour ago (a few rows; the index keeps it cheap).
    workerSweep: p("DELETE FROM workers WHERE id IN (SELECT id FROM workers WHERE expires_at < ? LIMIT 64)"),
    workerRemove: p("DELETE FROM workers WHERE id = ?"),
    workerList: p("SELECT record FROM workers WHERE expires_at > ? ORDER BY id").pluck(),
    // One statement per transaction: rows are [queue, completed, retried, discarded, cancelled, rescued].
    statsAdd: p(
      "INSERT INTO queue_stats (minute, queue, completed, retried, discarded, cancelled, rescued) " +
        "SELECT @minute, value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, value ->> 5 " +
        "FROM json_each(@rows) WHERE true ON CONFLICT (minute, queue) DO UPDATE SET " +
        "completed = completed + excluded.completed, retried = retried + excluded.retried, " +
        "discarded = discarded + excluded.discarded, cancelled = cancelled + excluded.cancelled, " +
        "rescued = rescued + excluded.rescued",
    ),
    statsSweep: p("DELETE FROM queue_stats WHERE minute < ?"),
    statsList: p(
      "SELECT queue, minute, completed, retried, discarded, cancelled, rescued FROM queue_stats " +
        "WHERE minute >= @from AND minute < @to AND (@queue IS NULL OR queue = @queue) ORDER BY minute, queue",
    ),
  };
}

/** @internal */
export type RegistryStatements = ReturnType<typeof prepareRegistryStatements>;

/** The start of the minute holding `now`. */
export function minuteOf(now: number): number {
  return now - (((now % MINUTE_MS) + MINUTE_MS) % MINUTE_MS);
}

/**
 * Outcome counts of one transaction, by queue. {@link StatsTally.write} upserts them with one statement (and,
 * the first time this connection counts in a new minute, deletes rows older than a day).
 */
export class StatsTally {
  readonly #byQueue = new Map<string, Tally>();

  add(queue: string, field: keyof typeof STAT): void {
    let tally = this.#byQueue.get(queue);
    if (tally === undefined) {
      tally = [0, 0, 0, 0, 0];
      this.#byQueue.set(queue, tally);
    }
    tally[STAT[field]]++;
  }

  /** Writes the counts in the caller's transaction; `sweep` remembers the last minute swept per connection. */
  write(s: RegistryStatements, now: number, sweep: { minute: number }): void {
    if (this.#byQueue.size === 0) return;
    const minute = minuteOf(now);
    const rows = [...this.#byQueue].map(([queue, t]) => [queue, ...t]);
    s.statsAdd.run({ minute, rows: JSON.stringify(rows) });
    if (minute > sweep.minute) {
      sweep.minute = minute;
      s.statsSweep.run(minute - STATS_KEEP_MS);
    }
    this.#byQueue.clear();
  }
}

/** Upserts a worker's record with `lastBeatAt = now`, listed until `now + ttlMs`. */
export function beatIn(
  s: RegistryStatements,
  worker: Omit<WorkerRecord, "lastBeatAt">,
  ttlMs: number,
  now: number,
): void {
  const record: WorkerRecord = { ...worker, lastBeatAt: now };
  s.workerBeat.run({ id: worker.id, record: JSON.stringify(record), now, expires: now + ttlMs });
  s.workerSweep.run(now - 3_600_000);
}

export function listWorkersIn(s: RegistryStatements, now: number): WorkerRecord[] {
  return (s.workerList.all(now) as string[]).map((json) => JSON.parse(json) as WorkerRecord);
}

export function listStatsIn(
  s: RegistryStatements,
  params: { from: number; to: number; queue?: string },
): QueueMinuteStats[] {
  return s.statsList.all({
    from: params.from,
    to: params.to,
    queue: params.queue ?? null,
  }) as QueueMinuteStats[];
}

/** What {@link healthChecks} reads from the store. */
export interface HealthInputs {
  path: string;
  migration: MigrationStatus;
  journalMode: string;
  /** PRAGMA synchronous: 0 OFF, 1 NORMAL, 2 FULL, 3 EXTRA. */
  synchronous: number;
}

function size(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < MIB) return `${(bytes / 1024).toFixed(1)} KiB`;
  if (bytes < 1024 * MIB) return `${(bytes / MIB).toFixed(1)} MiB`;
  return `${(bytes / 1024 / MIB).toFixed(2)} GiB`;
}

/** The SQLite store's checks: schema, journal, durability, file, disk. */
export function healthChecks(inputs: HealthInputs): StoreCheck[] {
  const checks: StoreCheck[] = [];
  const { current, latest } = inputs.migration;
  checks.push(
    current === latest
      ? { name: "schema", status: "ok", detail: `schema version ${current}, current` }
      : current < latest
        ? {
            name: "schema",
            status: "fail",
            detail: `schema version ${current}, this Conveyor needs ${latest}: reopen the store to migrate it`,
          }
        : {
            name: "schema",
            status: "fail",
            detail: `schema version ${current} is newer than this Conveyor knows (${latest}): upgrade Conveyor`,
          },
  );
  const journal = inputs.journalMode.toLowerCase();
  checks.push(
    journal === "wal"
      ? { name: "journal", status: "ok", detail: "journal_mode=WAL: readers never wait for the writer" }
      : {
          name: "journal",
          status: "fail",
          detail: `journal_mode=${journal}, expected WAL: open the store through Conveyor, which sets it`,
        },
  );
  const sync = inputs.synchronous;
  checks.push(
    sync >= 2
      ? {
          name: "durability",
          status: "ok",
          detail: `synchronous=${sync === 3 ? "EXTRA" : "FULL"}: every commit is fsynced; an acknowledged job survives power loss`,
        }
      : sync === 1
        ? {
            name: "durability",
            status: "warn",
            detail:
              "synchronous=NORMAL: an OS crash or power loss can roll back the last commits (recent enqueues " +
              'vanish, recent completions run again); use durability "full" unless that is acceptable',
          }
        : {
            name: "durability",
            status: "fail",
            detail: 'synchronous=OFF: a power loss can corrupt the database; use durability "full"',
          },
  );
  let dbBytes = 0;
  let walBytes = 0;
  try {
    dbBytes = statSync(inputs.path).size;
    try {
      walBytes = statSync(`${inputs.path}-wal`).size;
    } catch {
      walBytes = 0; // no WAL file yet (nothing written since the last checkpoint and close)
    }
    checks.push({
      name: "file",
      status: "ok",
      detail: `${inputs.path}: ${size(dbBytes)}, WAL ${size(walBytes)}`,
    });
  } catch (error) {
    checks.push({
      name: "file",
      status: "fail",
      detail: `${inputs.path} cannot be read (${(error as Error).message.split("\n")[0]})`,
    });
  }
  try {
    const fs = statfsSync(inputs.path);
    const free = fs.bavail * fs.bsize;
    const total = fs.blocks * fs.bsize;
    const detail = `${size(free)} free of ${size(total)} on the database's file system`;
    checks.push(
      free < 100 * MIB
        ? { name: "disk", status: "fail", detail: `${detail}: writes will soon fail; free some space` }
        : free < 1024 * MIB
          ? { name: "disk", status: "warn", detail: `${detail}: less than 1 GiB left` }
          : { name: "disk", status: "ok", detail },
    );
  } catch (error) {
    checks.push({
      name: "disk",
      status: "warn",
      detail: `free space unknown (${(error as Error).message.split("\n")[0]})`,
    });
  }
  return checks;
}
