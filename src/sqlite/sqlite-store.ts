import { randomUUID } from "node:crypto";
import { resolve } from "node:path";
import type Database from "better-sqlite3";
import {
  ClosedError,
  InvalidStateTransitionError,
  JobNotFoundError,
  OptionsError,
  StoreUnavailableError,
} from "../errors.js";
import { FINAL_STATES, type JobState } from "../job/states.js";
import { ClaimRates, parseRateLog, type RateWrite, rateKey } from "../store/rate-window.js";
import type {
  AttemptError,
  JobClaimParams,
  JobCounts,
  JobFinishManyParams,
  JobFinishManyResult,
  JobInsertManyParams,
  JobInsertParams,
  JobInsertResult,
  JobLeaseRenewParams,
  JobLeaseRenewResult,
  JobListParams,
  JobListResult,
  JobLogEntry,
  JobPruneParams,
  JobRecord,
  JobReportParams,
  JobRescueParams,
  JobRescueResult,
  JobTypeDefaults,
  JobTypeInfo,
  JobTypeRegistration,
  QueueInfo,
  QueueMinuteStats,
  RateLimit,
  ScheduleFireParams,
  ScheduleFireResult,
  ScheduleRecord,
  ScheduleUpsertParams,
  ScheduleUpsertResult,
  Store,
  StoreCapabilities,
  StoreCheck,
  Unwatch,
  WorkerRecord,
} from "../store/store.js";
import { toJsonColumn, toJsonText } from "./json.js";
import { LATEST_VERSION, type MigrationStatus } from "./migrations.js";
import { NotifyFile } from "./notify-file.js";
import type { openSqliteStore } from "./open.js";
import {
  type Candidate,
  compareClaimOrder,
  compareMerge,
  compareRowClaimOrder,
  type ExpiredRow,
  emptyCounts,
  errorText,
  type GroupCandidate,
  isBusy,
  type JobRow,
  type LogRow,
  mapError,
  type PreparedUpdate,
  rowId,
  type StateRow,
  toLog,
  toRecord,
  type Watcher,
} from "./rows.js";
import {
  beatIn,
  healthChecks,
  listStatsIn,
  listWorkersIn,
  prepareRegistryStatements,
  type RegistryStatements,
  StatsTally,
} from "./sqlite-registry.js";
import { SqliteSchedules } from "./sqlite-schedules.js";
import {
  type InsertRow,
  type InsertStatements,
  insertedRecord,
  insertRowsIn,
  JOB_COLUMNS,
  prepareInsertStatements,
  prepareStatements,
  type RowResult,
  refreshGroup,
  type Statements,
  toInsertRow,
  type WindowRow,
} from "./statements.js";

/**
 * How hard each commit is pushed to disk (`PRAGMA synchronous`, in WAL mode):
 * - `"full"` (default): the WAL is fsynced at every commit. A job acknowledged by `jobInsert`, or an outcome
 *   acknowledged by `jobFinishMany`, survives a process crash, an OS crash and a power loss. Cost: one fsync
 *   per transaction, which is why completions and claims are batched into one transaction.
 * - `"normal"`: the WAL is fsynced only at checkpoints. Survives a process crash (SIGKILL) with nothing lost;
 *   an OS crash or power loss may roll back the last commits (never corrupts the file): recently enqueued
 *   jobs may vanish and recently finished jobs may run again.
 */
export type SqliteDurability = "full" | "normal";

/** Options of {@link openSqliteStore}. */
export interface SqliteStoreOptions {
  /** Database file. Parent directories are created if missing. `-wal` and `-shm` files live beside it. */
  path: string;
  /** See {@link SqliteDurability}. Default "full". */
  durability?: SqliteDurability;
  /**
   * How long a statement waits for another connection's write lock before failing with a retryable
   * StoreUnavailableError. Default 5000. The wait blocks this thread (better-sqlite3 is synchronous).
   */
  busyTimeoutMs?: number;
}

/**
 * The embedded SQLite store (better-sqlite3, WAL). Durable ({@link SqliteDurability}); several processes may
 * open the same file at once and every guarantee of the Store contract holds across them: each operation that
 * writes runs in one `BEGIN IMMEDIATE` transaction, so two claims never return the same job, and a finish is
 * applied only while `id` + lease token still match. `watch` hints come from this instance's own writes and,
 * through the `<db>-notify` file written after each commit that may make jobs available, from other
 * connections and processes (`crossProcessWatch`).
 *
 * Limits: statements run synchronously under their promises; a lock held by another connection is waited for
 * at most ~2 ms inside SQLite, then retried from JavaScript until `busyTimeoutMs` (the event loop stays free).
 * One SQLite database allows one writer at a time, so throughput comes from batching (`jobInsertMany`,
 * `jobFinishMany`), not from more connections. Use a local file system: WAL needs shared memory,
 * so network file systems are not supported.
 *
 * Create it with {@link openSqliteStore}; the constructor expects an opened, migrated database.
 */
export class SqliteStore implements Store {
  /** Always "sqlite". */
  readonly kind = "sqlite";
  /** Durable, and `watch` sees other processes' commits. */
  readonly capabilities: StoreCapabilities = { blockingWrites: true, durable: true, crossProcessWatch: true };
  /** Absolute path of the database file. */
  readonly path: string;
  /** The durability mode the connection runs with. */
  readonly durability: SqliteDurability;

  #db: Database.Database | null;
  readonly #s: Statements;
  readonly #tx: (fn: () => unknown) => unknown;
  readonly #watchers = new Set<Watcher>();
  /** Single inserts waiting for this turn's shared transaction (see #insertSingle). */
  readonly #singles: Array<{
    row: InsertRow;
    resolve(result: JobInsertResult): void;
    reject(error: unknown): void;
  }> = [];
  readonly #notify: NotifyFile;
  #notifyWatching = false;
  readonly #busyTimeoutMs: number;
  #hintQueues = new Set<string>();
  #hintAll = false;
  #hintScheduled = false;
  readonly #schedules: SqliteSchedules;
  /** Worker registry and outcome counts (`sqlite-registry.ts`). */
  readonly #r: RegistryStatements;
  /** The last minute this connection swept old outcome counts in. */
  readonly #statsSweep = { minute: 0 };

  /** @internal Use {@link openSqliteStore}. */
  constructor(db: Database.Database, path: string, durability: SqliteDurability, busyTimeoutMs: number) {
    this.#db = db;
    this.path = path;
    this.durability = durability;
    this.#busyTimeoutMs = busyTimeoutMs;
    this.#s = prepareStatements(db);
    this.#r = prepareRegistryStatements(db);
    const transaction = db.transaction((fn: () => unknown) => fn());
    this.#tx = (fn) => transaction.immediate(fn);
    this.#notify = new NotifyFile(`${path}-notify`);
    this.#schedules = new SqliteSchedules(db, {
      write: (fn) => this.#write(fn),
      run: (fn) => this.#run(fn),
      getJob: (id) => this.#getIn(id),
      hint: (queues) => this.#hint(queues),
    });
  }

  /** Runs `fn` on the open database, mapping SQLite errors; throws ClosedError once closed. */
  #run<T>(fn: () => T): T {
    if (this.#db === null) throw new ClosedError("sqlite store");
    try {
      return fn();
    } catch (error) {
      throw mapError(error, this.path);
    }
  }

  /**
   * Runs `fn` in one `BEGIN IMMEDIATE` transaction (rolled back if it throws). When another connection holds
   * the write lock, SQLite waits at most ~2 ms inside the call; past that the lock is retried from here with a
   * short backoff, so a long wait never blocks the event loop (SQLite's own busy handler sleeps the thread in
   * steps of up to 100 ms, which is what gave multi-process setups their latency tail). Gives up after
   * `busyTimeoutMs` with a retryable StoreUnavailableError.
   */
  async #write<T>(fn: () => T, options: { durable?: boolean } = {}): Promise<T> {
    const deadline = Date.now() + this.#busyTimeoutMs;
    const relaxed = options.durable === false && this.durability === "full";
    for (let attempt = 0; ; attempt++) {
      if (this.#db === null) throw new ClosedError("sqlite store");
      try {
        if (!relaxed) return this.#tx(fn) as T;
        // Not fsynced at commit; the next FULL commit (an enqueue or an outcome) syncs these frames too.
        // (Not prepared statements: SQLite may run a PRAGMA when preparing it.)
        this.#db.exec("PRAGMA synchronous = NORMAL");
        try {
          return this.#tx(fn) as T;
        } finally {
          this.#db.exec("PRAGMA synchronous = FULL");
        }
      } catch (error) {
        if (!isBusy(error) || Date.now() >= deadline) throw mapError(error, this.path);
      }
      if (attempt < 2) await new Promise<void>((r) => setImmediate(r));
      else await new Promise<void>((r) => setTimeout(r, Math.min(2 ** (attempt - 2), 8)));
    }
  }

  /** Schema version of the database and of this code, for diagnostics (`conveyor doctor`). */
  migrationStatus(): MigrationStatus {
    return this.#run(() => ({ current: this.#s.migrationVersion.get() as number, latest: LATEST_VERSION }));
  }

  /**
   * The connection's effective settings, read back from SQLite (for diagnostics and tests): journal mode,
   * `synchronous` (2 = FULL, 1 = NORMAL), busy timeout and foreign keys.
   */
  connectionSettings(): {
    journalMode: string;
    synchronous: number;
    busyTimeoutMs: number;
    foreignKeys: boolean;
  } {
    return this.#run(() => {
      const db = this.#db!;
      return {
        journalMode: String(db.pragma("journal_mode", { simple: true })),
        synchronous: Number(db.pragma("synchronous", { simple: true })),
        busyTimeoutMs: this.#busyTimeoutMs,
        foreignKeys: Number(db.pragma("foreign_keys", { simple: true })) === 1,
      };
    });
  }

  async jobInsert(params: JobInsertParams): Promise<JobInsertResult> {
    const [result] = await this.jobInsertMany({ jobs: [params] });
    return result!;
  }

  /**
   * All in one transaction: either every job is stored (ids increasing in array order) or none. Keyed jobs
   * apply their dedupe policy inside that transaction, so the check and the write are atomic.
   */
  async jobInsertMany(params: JobInsertManyParams): Promise<JobInsertResult[]> {
    if (this.#db === null) throw new ClosedError("sqlite store");
    if (params.jobs.length === 0) return [];
    // Serialise everything first: a value that is not JSON throws before anything is written.
    const rows = params.jobs.map(toInsertRow);
    if (rows.length === 1) return [await this.#insertSingle(rows[0]!)];
    const s = this.#s;
    const done = await this.#write(() => insertRowsIn(s, rows));
    return this.#stored(rows, done);
  }

  /**
   * Group commit: single inserts made in the same turn of the event loop (concurrent enqueues, e.g. a web
   * server's requests) share one transaction, so one fsync stores them all; a lone caller waits one
   * `process.nextTick`. Jobs of one transaction are stored in the order they were enqueued. If the shared
   * transaction fails for a reason other than the database being unavailable, each job is tried again in a
   * transaction of its own, so one job's error is never another's.
   */
  #insertSingle(row: InsertRow): Promise<JobInsertResult> {
    return new Promise<JobInsertResult>((resolve, reject) => {
      this.#singles.push({ row, resolve, reject });
      if (this.#singles.length === 1) process.nextTick(() => void this.#flushSingles());
    });
  }

  async #flushSingles(): Promise<void> {
    const batch = this.#singles.splice(0);
    if (batch.length === 0) return;
    const rows = batch.map((b) => b.row);
    const s = this.#s;
    let done: RowResult[];
    try {
      done = await this.#write(() => insertRowsIn(s, rows));
    } catch (error) {
      if (batch.length === 1 || error instanceof ClosedError || error instanceof StoreUnavailableError) {
        for (const b of batch) b.reject(error);
        return;
      }
      for (const b of batch) {
        this.#write(() => insertRowsIn(s, [b.row])).then(
          (one) => b.resolve(this.#stored([b.row], one)[0]!),
          b.reject,
        );
      }
      return;
    }
    const results = this.#stored(rows, done);
    for (let i = 0; i < batch.length; i++) batch[i]!.resolve(results[i]!);
  }

  /** The results of rows this connection just committed, waking the watchers of their queues. */
  #stored(rows: InsertRow[], done: RowResult[]): JobInsertResult[] {
    const { results, queues } = this.#insertResults(rows, done);
    if (queues.size > 0) this.#hint(queues);
    return results;
  }

  /** Turns {@link insertRowsIn}'s answers into results, with the queues whose watchers should look again. */
  #insertResults(rows: InsertRow[], done: RowResult[]): { results: JobInsertResult[]; queues: Set<string> } {
    const queues = new Set<string>();
    const results = rows.map((row, i): JobInsertResult => {
      const r = done[i]!;
      if (typeof r === "number") {
        queues.add(row.queue);
        return { job: insertedRecord(r, row), outcome: "inserted" };
      }
      if (r.changedQueue !== null) queues.add(r.changedQueue);
      return { job: r.job, outcome: r.outcome };
    });
    return { results, queues };
  }

  /**
   * Transactional enqueue: inserts jobs (with their dedupe policies) synchronously through `db`, the app's own
   * better-sqlite3 connection to this store's database file, inside whatever transaction the app has open on
   * it, so the jobs exist only if the app's transaction commits. Watchers here and in other processes are woken
   * once the app's transaction has ended (checked after the current call stack, then every 5 ms; a rolled back
   * insert makes a spurious, harmless wake-up). `onCommitted` is called then with the ids of the inserted jobs
   * that are in the database. Throws OptionsError when `db` is not open on this store's file.
   */
  insertWithConnection(
    db: Database.Database,
    jobs: JobInsertParams[],
    onCommitted?: (ids: string[]) => void,
  ): JobInsertResult[] {
    if (this.#db === null) throw new ClosedError("sqlite store");
    if (typeof db?.prepare !== "function" || !db.open) {
      throw new OptionsError("transactional enqueue: db must be an open better-sqlite3 Database");
    }
    if (db.memory || resolve(db.name) !== this.path) {
      throw new OptionsError(
        `transactional enqueue: db must be a connection to the store's database file ${this.path}, ` +
          `got ${db.memory ? "an in-memory database" : db.name}`,
      );
    }
    if (jobs.length === 0) return [];
    const rows = jobs.map(toInsertRow);
    let statements = this.#appStatements.get(db);
    let done: RowResult[];
    try {
      if (statements === undefined) {
        statements = prepareInsertStatements(db);
        this.#appStatements.set(db, statements);
      }
      const s = statements;
      done = db.inTransaction
        ? insertRowsIn(s, rows)
        : db.transaction(() => insertRowsIn(s, rows)).immediate();
    } catch (error) {
      throw mapError(error, this.path);
    }
    const { results, queues } = this.#insertResults(rows, done);
    const inserted = results.filter((r) => r.outcome === "inserted").map((r) => r.job);
    const settle = (tries: number): void => {
      if (this.#db === null) return;
      if (db.open && db.inTransaction && tries < 12_000) {
        setTimeout(() => settle(tries + 1), 5).unref();
        return;
      }
      if (queues.size > 0) this.#hint(queues);
      if (onCommitted === undefined) return;
      let committed: string[] = [];
      try {
        committed = inserted
          .filter((job) => this.#s.insertedStill.get(Number(job.id), job.name, job.createdAt) !== undefined)
          .map((job) => job.id);
      } catch {
        // the store closed meanwhile
      }
      onCommitted(committed);
    };
    setImmediate(() => settle(0));
    return results;
  }

  readonly #appStatements = new WeakMap<Database.Database, InsertStatements>();

  /** One IMMEDIATE transaction: stage due jobs, pick ids in claim order per queue, lease them (`logs: []`). */
  async jobClaim(params: JobClaimParams): Promise<JobRecord[]> {
    // Look first without the write lock (WAL readers never wait): an idle worker woken by a hint must not
    // queue for the lock behind producers when there is nothing for it.
    if (!this.#run(() => this.#mayClaim(params))) return [];
    // A claim need not be fsynced: lost in a power cut, it leaves the job available, to run again.
    return this.#write(() => this.#claimIn(params, params.now), { durable: false });
  }

  /** Whether a claim could find anything: an available job or ready group in one of the queues, or a due job. */
  #mayClaim(params: JobClaimParams): boolean {
    if (!(params.limit > 0) || params.names.length === 0) return false;
    const s = this.#s;
    if (s.anyDue.get(params.now) !== undefined) return true;
    for (const queue of params.queues) {
      if (s.anyAvailable.get(queue) !== undefined || s.anyReadyGroup.get(queue) !== undefined) return true;
    }
    return false;
  }

  /**
   * Stages due jobs, then picks candidates per queue: ungrouped jobs from `jobs_claim` (a job type with a
   * `maxConcurrency` or a rate limit gets its own look-up limited to its room) and the claimable jobs of ready
   * groups, least recently served first; merges them in claim order, applying the limits of names, queues and
   * groups, leases them with one UPDATE and writes back the rate logs it took from.
   */
  #claimIn(params: Omit<JobClaimParams, "now">, now: number): JobRecord[] {
    const { queues, limit } = params;
    if (!(limit > 0) || queues.length === 0 || params.names.length === 0) return [];
    const s = this.#s;
    s.stage.run(now);
    this.#stageGrouped(now);
    const limits = this.#typeLimits(params.names);
    let rates: ClaimRates | null = null;
    const rateBook = (): ClaimRates =>
      (rates ??= new ClaimRates(now, (key) => parseRateLog(s.rateLog.get(key) as string | undefined)));
    const budgets = limits === null ? null : this.#budgets(limits, rateBook);
    let names = params.names;
    const limited: Array<[string, string]> = [];
    let groupRates: Map<string, RateLimit> | null = null;
    if (budgets !== null) {
      names = names.filter((name) => !budgets.has(name));
      for (const [name, left] of budgets) if (left > 0) limited.push([name, JSON.stringify([name])]);
    }
    if (limits !== null) {
      for (const [name, l] of limits)
        if (l.groupRate !== undefined) {
          groupRates ??= new Map();
          groupRates.set(name, l.groupRate);
        }
    }
    const allowed = budgets === null ? params.names : [...names, ...limited.map(([name]) => name)];
    if (allowed.length === 0) return [];
    const flags = s.queueFlags.all() as Array<[string, number, number | null, number | null]>;
    const namesJson = names.length > 0 ? JSON.stringify(names) : null;
    let candidates: Candidate[] = [];
    let sources = 0;
    let grouped: GroupCandidate[] = [];
    let groupQueues = 0;
    /** Ungrouped candidates of limited types, by id, with their name (budgets are counted in the merge). */
    const limitedIds = new Map<number, string>();
    /** Room left per rate-limited queue of the claim, and the queue of each ungrouped candidate of one. */
    let queueRoom: Map<string, number> | null = null;
    const queueOfId = new Map<number, string>();
    for (const queue of new Set(queues)) {
      let room = limit;
      if (flags.length > 0) {
        const flag = flags.find((f) => f[0] === queue);
        if (flag !== undefined && flag[1] !== 0) continue;
        if (flag?.[2] != null && flag[3] != null) {
          const rl: RateLimit = { max: flag[2], windowMs: flag[3] };
          room = Math.min(limit, rateBook().room("queue", rateKey("queue", queue), rl, queue, null));
          queueRoom ??= new Map();
          queueRoom.set(queue, room);
          if (room <= 0) continue;
        }
      }
      const tracked = queueRoom?.has(queue) === true;
      if (namesJson !== null) {
        const rows = s.claimCandidates.all({ queue, names: namesJson, limit: room }) as Candidate[];
        if (rows.length > 0) {
          sources++;
          if (tracked) for (const row of rows) queueOfId.set(row[0], queue);
          candidates = candidates.length === 0 ? rows : candidates.concat(rows);
        }
      }
      for (const [name, json] of limited) {
        const left = Math.min(room, budgets?.get(name) ?? 0);
        const rows = s.claimCandidates.all({ queue, names: json, limit: left }) as Candidate[];
        if (rows.length === 0) continue;
        sources++;
        for (const row of rows) {
          limitedIds.set(row[0], name);
          if (tracked) queueOfId.set(row[0], queue);
        }
        candidates = candidates.length === 0 ? rows : candidates.concat(rows);
      }
      const before = grouped.length;
      this.#groupCandidates(
        queue,
        allowed,
        room,
        grouped,
        groupRates === null ? null : { groupRates, rateBook },
      );
      if (grouped.length > before) groupQueues++;
    }
    if (candidates.length === 0 && grouped.length === 0) return [];
    if (groupQueues > 1) {
      grouped = grouped.sort((a, b) => a.priority - b.priority || a.served - b.served || a.id - b.id);
    }
    if (sources > 1) candidates.sort(compareClaimOrder);
    let ids: number[];
    let served: GroupCandidate[] = [];
    if (grouped.length === 0 && limitedIds.size === 0 && queueRoom === null) {
      ids = (candidates.length > limit ? candidates.slice(0, limit) : candidates).map((c) => c[0]);
    } else {
      ids = [];
      served = [];
      /** Takes one claim from the limits of the job's name and queue, if every one has room. */
      const spend = (name: string | undefined, queue: string | undefined): boolean => {
        const left = name === undefined || budgets === null ? undefined : budgets.get(name);
        if (left !== undefined && left <= 0) return false;
        const qLeft = queue === undefined || queueRoom === null ? undefined : queueRoom.get(queue);
        if (qLeft !== undefined && qLeft <= 0) return false;
        if (left !== undefined) budgets!.set(name!, left - 1);
        if (qLeft !== undefined) {
          queueRoom!.set(queue!, qLeft - 1);
          rateBook().take(rateKey("queue", queue!));
        }
        if (name !== undefined && limits?.get(name)?.rate !== undefined)
          rateBook().take(rateKey("type", name));
        return true;
      };
      let i = 0;
      let j = 0;
      while (ids.length < limit && (i < candidates.length || j < grouped.length)) {
        const u = candidates[i];
        const g = grouped[j];
        if (g !== undefined && (u === undefined || compareMerge(g, u) < 0)) {
          j++;
          if (!spend(g.name, g.queue)) continue;
          if (groupRates?.has(g.name)) rateBook().take(rateKey("group", g.queue, g.key));
          ids.push(g.id);
          served.push(g);
        } else if (u !== undefined) {
          i++;
          if (spend(limitedIds.get(u[0]), queueOfId.get(u[0]))) ids.push(u[0]);
        }
      }
    }
    if (ids.length === 0) return [];
    const rows = s.claimUpdate.all({
      ids: JSON.stringify(ids),
      now,
      owner: params.owner,
      token: randomUUID(),
      expires: now + params.leaseMs,
    }) as JobRow[];
    if (served.length === 0) {
      // RETURNING order is unspecified: restore claim order.
      rows.sort(compareRowClaimOrder);
    } else {
      const place = new Map(ids.map((id, index) => [id, index]));
      rows.sort((a, b) => place.get(a[0])! - place.get(b[0])!);
      const groups = new Map<string, GroupCandidate>();
      for (const g of served) groups.set(`${g.queue}\u0000${g.key}`, g);
      for (const g of groups.values()) {
        s.groupServed.run(s.servedNext.get() as number, g.queue, g.key);
        refreshGroup(s, g.queue, g.key);
      }
    }
    if (rates !== null) this.#writeRates((rates as ClaimRates).writes(), now);
    return rows.map((row) => toRecord(row, []));
  }

  /** Writes back the rate logs a claim took from, and deletes a few logs that have expired. */
  #writeRates(writes: RateWrite[], now: number): void {
    if (writes.length === 0) return;
    const s = this.#s;
    for (const w of writes) {
      s.rateWrite.run(w.key, w.kind, w.queue, w.name, JSON.stringify(w.log), w.freeAt, w.expiresAt);
    }
    s.rateSweep.run(now);
  }

  /** Stages due grouped jobs and refreshes their groups; returns how many were staged. */
  #stageGrouped(now: number): number {
    const staged = this.#s.stageGrouped.all(now) as Array<[string, string]>;
    if (staged.length > 0) this.#refreshGroups(staged);
    return staged.length;
  }

  /** Refreshes each distinct group of `rows` ([queue, group key]); returns the queues of groups now ready. */
  #refreshGroups(rows: Iterable<readonly [string, string | null]>): Set<string> {
    const seen = new Set<string>();
    const ready = new Set<string>();
    for (const [queue, key] of rows) {
      if (key === null) continue;
      const id = `${queue}\u0000${key}`;
      if (seen.has(id)) continue;
      seen.add(id);
      if (refreshGroup(this.#s, queue, key)) ready.add(queue);
    }
    return ready;
  }

  /**
   * Appends the claimable jobs of `queue`'s ready groups (least recently served first) whose name is in
   * `names`, from at most `limit` groups: per group, the available jobs inside its window, up to its free
   * slots and, for names with a group rate limit, up to the room left in the group's log (groups held back by
   * it are passed over, reading at most `4 × limit + 16` groups).
   */
  #groupCandidates(
    queue: string,
    names: readonly string[],
    limit: number,
    out: GroupCandidate[],
    rated: { groupRates: ReadonlyMap<string, RateLimit>; rateBook: () => ClaimRates } | null,
  ): void {
    const s = this.#s;
    const read = rated === null ? limit : 4 * limit + 16;
    const groups = s.readyGroups.all({ queue, limit: read }) as Array<[string, number, number]>;
    let used = 0;
    for (const [key, concurrency, served] of groups) {
      if (used >= limit) break;
      let free = concurrency - (s.groupRunning.get(queue, key) as number);
      if (free <= 0) continue;
      let room = Number.POSITIVE_INFINITY;
      let picked = 0;
      for (const row of s.groupWindow.all({ queue, key, limit: concurrency }) as WindowRow[]) {
        if (row[1] !== "available" || !names.includes(row[2])) continue;
        const rl = rated?.groupRates.get(row[2]);
        if (rl !== undefined) {
          const left = rated!.rateBook().room("group", rateKey("group", queue, key), rl, queue, null);
          room = Math.min(room, left - picked);
          if (room <= 0) break;
        }
        out.push({ id: row[0], name: row[2], priority: row[3], runAt: row[4], queue, key, served });
        picked++;
        if (--free <= 0) break;
      }
      if (picked > 0) used++;
    }
  }

  /**
   * The limits of the job types among `names` that have one (`maxConcurrency`, a rate limit, a group rate
   * limit), from their latest registration; null when none has: unlimited types cost one look-up in
   * `job_types`.
   */
  #typeLimits(
    names: readonly string[],
  ): Map<string, { max?: number; rate?: RateLimit; groupRate?: RateLimit }> | null {
    const rows = this.#s.limitedTypes.all() as Array<
      [string, number | null, number | null, number | null, number | null, number | null]
    >;
    if (rows.length === 0) return null;
    let limits: Map<string, { max?: number; rate?: RateLimit; groupRate?: RateLimit }> | null = null;
    for (const [name, max, rateMax, rateWindow, groupMax, groupWindow] of rows) {
      if (!names.includes(name)) continue;
      const l: { max?: number; rate?: RateLimit; groupRate?: RateLimit } = {};
      if (max !== null) l.max = max;
      if (rateMax !== null && rateWindow !== null) l.rate = { max: rateMax, windowMs: rateWindow };
      if (groupMax !== null && groupWindow !== null) l.groupRate = { max: groupMax, windowMs: groupWindow };
      limits ??= new Map();
      limits.set(name, l);
    }
    return limits;
  }

  /**
   * Jobs left to claim per job type with `maxConcurrency` (its limit minus its running jobs, store-wide) or a
   * rate limit (the room left in its log), whichever is smaller; null when none of `limits` has either.
   */
  #budgets(
    limits: ReadonlyMap<string, { max?: number; rate?: RateLimit }>,
    rateBook: () => ClaimRates,
  ): Map<string, number> | null {
    const s = this.#s;
    let budgets: Map<string, number> | null = null;
    for (const [name, l] of limits) {
      if (l.max === undefined && l.rate === undefined) continue;
      let left = Number.POSITIVE_INFINITY;
      if (l.max !== undefined) left = l.max - (s.runningOfName.get(name) as number);
      if (l.rate !== undefined)
        left = Math.min(left, rateBook().room("type", rateKey("type", name), l.rate, null, name));
      budgets ??= new Map();
      budgets.set(name, left);
    }
    return budgets;
  }

  /**
   * One IMMEDIATE transaction for every update and the optional claim: a batch of completions costs one
   * commit (one fsync with durability "full"). Each update is applied only while its lease is held; its log
   * lines are appended only then too. Values that are not JSON throw before anything is written.
   */
  async jobFinishMany(params: JobFinishManyParams): Promise<JobFinishManyResult> {
    if (this.#db === null) throw new ClosedError("sqlite store");
    const prepared = params.updates.map((u): PreparedUpdate => {
      const outcome = u.outcome;
      return {
        id: rowId(u.id),
        token: u.token,
        type: outcome.type,
        setProgress: u.progress === undefined ? 0 : 1,
        progress: toJsonColumn(u.progress, `progress of job ${u.id}`),
        result: outcome.type === "complete" ? toJsonColumn(outcome.result, `result of job ${u.id}`) : null,
        error:
          outcome.type === "retry" || outcome.type === "discard" || outcome.type === "cancel"
            ? errorText(outcome.error, u.id)
            : null,
        runAt: outcome.type === "retry" || outcome.type === "snooze" ? outcome.runAt : params.now,
        logs: u.logs,
      };
    });
    // Queues where a job became available or got a new run time: watchers look again.
    const hintQueues = new Set<string>();
    /** Groups of grouped jobs that changed: refreshed before the claim. */
    let touched: Array<[string, string | null]> = [];
    const ended = (row: [string, string | null] | undefined, hint: boolean): boolean => {
      if (row === undefined) return false;
      if (hint) hintQueues.add(row[0]);
      if (row[1] !== null) touched.push(row);
      return true;
    };
    const now = params.now;
    const s = this.#s;
    const result = await this.#write((): JobFinishManyResult => {
      const applied = new Array<boolean>(prepared.length).fill(false);
      const tally = new StatsTally();
      // Consecutive completions go in one statement; anything else (or the same job again) flushes them
      // first, so updates still apply in order.
      let completes: Array<[number, string, string | null, number, string | null]> = [];
      let completeAt: number[] = [];
      const completeIds = new Set<number>();
      const flushCompletes = () => {
        if (completes.length === 0) return;
        const done = new Set<number>();
        const rows = s.completeMany.all({ now, rows: JSON.stringify(completes) }) as Array<[number, string]>;
        for (const [id, queue] of rows) {
          tally.add(queue, "completed");
          if (id > 0) {
            done.add(id);
            continue;
          }
          done.add(-id);
          ended(s.groupOfJob.get(-id) as [string, string | null] | undefined, false);
        }
        for (const i of completeAt) {
          const u = prepared[i] as PreparedUpdate;
          if (u.id === null || !done.has(u.id)) continue;
          applied[i] = true;
          if (u.logs) this.#appendLogs(u.id, u.logs);
        }
        completes = [];
        completeAt = [];
        completeIds.clear();
      };
      prepared.forEach((u, i) => {
        if (u.id === null) return;
        if (u.type === "complete") {
          if (completeIds.has(u.id)) flushCompletes();
          completes.push([u.id, u.token, u.result, u.setProgress, u.progress]);
          completeAt.push(i);
          completeIds.add(u.id);
          return;
        }
        flushCompletes();
        const args = { id: u.id, token: u.token, now, setProgress: u.setProgress, progress: u.progress };
        let held: boolean;
        type Row = [string, string | null] | undefined;
        let row: Row;
        switch (u.type) {
          case "retry":
            row = s.retry.get({ ...args, runAt: u.runAt, error: u.error }) as Row;
            held = ended(row, true);
            if (held) tally.add(row![0], "retried");
            break;
          case "discard":
            row = s.discard.get({ ...args, error: u.error }) as Row;
            held = ended(row, false);
            if (held) tally.add(row![0], "discarded");
            break;
          case "snooze":
            held = ended(s.snooze.get({ ...args, runAt: u.runAt }) as Row, true);
            break;
          case "cancel":
            row = s.cancel.get({ ...args, error: u.error }) as Row;
            held = ended(row, false);
            if (held) tally.add(row![0], "cancelled");
            break;
          case "release":
            held = ended(s.release.get(args) as Row, true);
            break;
        }
        if (held && u.logs) this.#appendLogs(u.id, u.logs);
        applied[i] = held;
      });
      flushCompletes();
      tally.write(this.#r, now, this.#statsSweep);
      if (touched.length > 0) {
        for (const queue of this.#refreshGroups(touched)) hintQueues.add(queue);
        touched = [];
      }
      if (!params.claim) return { applied, claimed: [] };
      const claimed = this.#claimIn(params.claim, now);
      if (claimed.length >= params.claim.limit) return { applied, claimed };
      const { queues, names } = params.claim;
      return { applied, claimed, nextRunAt: this.#nextRunAtIn({ queues, names, now }) };
    });
    if (hintQueues.size > 0) this.#hint(hintQueues);
    return result;
  }

  #appendLogs(id: number, logs: readonly JobLogEntry[]): void {
    for (const log of logs) this.#s.insertLog.run(id, log.at, log.attempt, log.level, String(log.message));
  }

  async jobLeaseRenew(params: JobLeaseRenewParams): Promise<JobLeaseRenewResult> {
    const lost: string[] = [];
    const cancelRequested: string[] = [];
    if (params.leases.length === 0) {
      this.#run(() => undefined);
      return { lost, cancelRequested };
    }
    const expires = params.now + params.leaseMs;
    await this.#write(
      () => {
        for (const lease of params.leases) {
          const id = rowId(lease.id);
          const flag =
            id === null
              ? undefined
              : (this.#s.renew.get({ id, token: lease.token, expires }) as number | undefined);
          if (flag === undefined) lost.push(lease.id);
          else if (flag !== 0) cancelRequested.push(lease.id);
        }
      },
      { durable: false },
    ); // a renewal lost in a power cut can only make a job run again
    return { lost, cancelRequested };
  }

  async jobReport(params: JobReportParams): Promise<boolean> {
    if (this.#db === null) throw new ClosedError("sqlite store");
    const id = rowId(params.id);
    const progress =
      params.progress === undefined
        ? undefined
        : toJsonColumn(params.progress, `progress of job ${params.id}`);
    const logs = params.logs ?? [];
    if (id === null) return false;
    const s = this.#s;
    if (progress === undefined && logs.length === 0) {
      return this.#run(() => s.holds.get(id, params.token) !== undefined);
    }
    return this.#write(
      () => {
        const held =
          progress === undefined
            ? s.holds.get(id, params.token) !== undefined
            : s.reportProgress.run({ id, token: params.token, progress }).changes === 1;
        if (held) this.#appendLogs(id, logs);
        return held;
      },
      { durable: false },
    ); // progress and logs are synced by the job's final outcome
  }

  /**
   * One IMMEDIATE transaction over at most `limit` expired leases (oldest expiry first). A stalled job gets its
   * attempt given back and a stall error (`name: "StallError"`, numbered with the attempt that stalled), whether
   * it is then made available or discarded; a cancel-requested job is cancelled with a "cancel" error
   * (`name: "JobCancelledError"`), its attempt kept and no stall counted.
   */
  async jobRescue(params: JobRescueParams): Promise<JobRescueResult> {
    const result: JobRescueResult = { cancelled: [], discarded: [], rescued: [] };
    const queues = new Set<string>();
    const { now } = params;
    const s = this.#s;
    if (!(params.limit > 0)) {
      this.#run(() => undefined);
      return result;
    }
    await this.#write(() => {
      const rows = s.expired.all({ now, limit: params.limit }) as ExpiredRow[];
      const touched: Array<[string, string | null]> = [];
      const tally = new StatsTally();
      for (const row of rows) {
        const id = String(row.id);
        const args = { id: row.id, token: row.lease_token, now };
        tally.add(row.queue, "rescued");
        if (row.cancel_requested !== 0) {
          const error: AttemptError = {
            attempt: row.attempt,
            at: now,
            kind: "cancel",
            message: "cancelled: the lease expired after cancellation was requested",
            name: "JobCancelledError",
          };
          s.rescueCancel.run({ ...args, error: errorText(error, id) });
          result.cancelled.push(id);
          tally.add(row.queue, "cancelled");
          touched.push([row.queue, row.group_key]);
          continue;
        }
        const error: AttemptError = {
          attempt: row.attempt,
          at: now,
          kind: "stall",
          message:
            `the lease of worker ${row.lease_owner ?? "?"} expired at ${row.lease_expires_at} without renewal ` +
            "(the worker died or blocked its event loop)",
          name: "StallError",
        };
        if (row.stalls + 1 > row.max_stalls) {
          s.rescueDiscard.run({ ...args, error: errorText(error, id) });
          result.discarded.push(id);
          tally.add(row.queue, "discarded");
        } else {
          s.rescueAvailable.run({ ...args, error: errorText(error, id) });
          result.rescued.push(id);
          queues.add(row.queue);
        }
        touched.push([row.queue, row.group_key]);
      }
      tally.write(this.#r, now, this.#statsSweep);
      for (const queue of this.#refreshGroups(touched)) queues.add(queue);
    });
    if (queues.size > 0) this.#hint(queues);
    return result;
  }

  async jobStage(params: { now: number }): Promise<number> {
    return this.#write(() => this.#s.stage.run(params.now).changes + this.#stageGrouped(params.now));
  }

  async jobNextRunAt(params: { queues: string[]; names?: string[]; now?: number }): Promise<number | null> {
    return this.#run(() => this.#nextRunAtIn(params));
  }

  #nextRunAtIn(params: { queues: string[]; names?: string[]; now?: number }): number | null {
    let next: number | null = null;
    for (const queue of new Set(params.queues)) {
      const runAt = this.#s.nextRunAt.get(queue) as number | undefined;
      if (runAt !== undefined && (next === null || runAt < next)) next = runAt;
    }
    if (params.now !== undefined) {
      const free = this.#s.rateNextFree.get({
        now: params.now,
        names: JSON.stringify(params.names ?? []),
        queues: JSON.stringify(params.queues),
      }) as number | null;
      if (free !== null && (next === null || free < next)) next = free;
    }
    return next;
  }

  async jobGet(params: { id: string }): Promise<JobRecord | null> {
    return this.#run(() => this.#getIn(params.id));
  }

  #getIn(id: string): JobRecord | null {
    const n = rowId(id);
    if (n === null) return null;
    const row = this.#s.get.get(n) as JobRow | undefined;
    if (row === undefined) return null;
    const logs = (this.#s.logsOf.all(n) as LogRow[]).map(toLog);
    return toRecord(row, logs);
  }

  readonly #listStatements = new Map<string, Database.Statement>();

  /** Newest first by id; records are complete (with logs). `limit` must be an integer from 1 to 1000. */
  async jobList(params: JobListParams): Promise<JobListResult> {
    const { limit } = params;
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
      throw new OptionsError(`jobList: limit must be an integer from 1 to 1000, got ${String(limit)}`);
    }
    let cursor: number | null = null;
    if (params.cursor !== undefined) {
      cursor = rowId(params.cursor);
      if (cursor === null) {
        throw new OptionsError(
          `jobList: cursor must be a job id from a previous page, got "${params.cursor}"`,
        );
      }
    }
    return this.#run(() => {
      const where: string[] = [];
      const args: Record<string, string | number> = { limit: limit + 1 };
      if (params.queue !== undefined) {
        where.push("queue = @queue");
        args.queue = params.queue;
      }
      if (params.state !== undefined) {
        where.push("state = @state");
        args.state = params.state;
      }
      if (params.name !== undefined) {
        where.push("name = @name");
        args.name = params.name;
      }
      // Key and group listings read their own indexes (jobs_key, jobs_group_all), whose conditions are
      // repeated so the planner can use them.
      if (params.key !== undefined) {
        where.push("key IS NOT NULL AND key = @key");
        args.key = params.key;
      }
      if (params.group !== undefined) {
        where.push("group_key IS NOT NULL AND group_key = @group");
        args.group = params.group;
      }
      if (cursor !== null) {
        where.push("id < @cursor");
        args.cursor = cursor;
      }
      const key = where.join(" AND ");
      let statement = this.#listStatements.get(key);
      if (statement === undefined) {
        statement = this.#db!.prepare(
          `SELECT ${JOB_COLUMNS} FROM jobs ${key ? `WHERE ${key}` : ""} ORDER BY id DESC LIMIT @limit`,
        ).raw();
        this.#listStatements.set(key, statement);
      }
      const rows = statement.all(args) as JobRow[];
      const more = rows.length > limit;
      if (more) rows.pop();
      const logsById = new Map<number, JobLogEntry[]>();
      if (rows.length > 0) {
        const logRows = this.#s.logsOfMany.all(JSON.stringify(rows.map((r) => r[0]))) as LogRow[];
        for (const log of logRows) {
          const list = logsById.get(log.job_id);
          if (list) list.push(toLog(log));
          else logsById.set(log.job_id, [toLog(log)]);
        }
      }
      const jobs = rows.map((row) => toRecord(row, logsById.get(row[0]) ?? []));
      const last = rows[rows.length - 1];
      return { jobs, nextCursor: more && last ? String(last[0]) : null };
    });
  }

  async jobCount(params: { queue?: string }): Promise<JobCounts> {
    return this.#run(() => {
      const rows = (
        params.queue === undefined ? this.#s.countAll.all() : this.#s.countQueue.all(params.queue)
      ) as Array<{ state: JobState; n: number }>;
      const counts = emptyCounts();
      for (const row of rows) counts[row.state] = row.n;
      return counts;
    });
  }

  async jobRetry(params: { id: string; now: number }): Promise<JobRecord> {
    let queue: string | null = null;
    const job = await this.#write(() => {
      const id = rowId(params.id);
      const row = id === null ? undefined : (this.#s.stateOf.get(id) as StateRow);
      if (id === null || row === undefined) throw new JobNotFoundError(params.id);
      if (row.state === "running") throw new InvalidStateTransitionError(params.id, row.state, "retry");
      if (row.state !== "available") {
        this.#s.retryJob.run({ id, now: params.now });
        queue = row.queue;
        this.#refreshGroups([[row.queue, row.group_key]]);
      }
      return this.#getIn(params.id)!;
    });
    if (queue !== null) this.#hint([queue]);
    return job;
  }

  async jobCancel(params: { id: string; now: number }): Promise<JobRecord> {
    let ready = new Set<string>();
    const job = await this.#write(() => {
      const id = rowId(params.id);
      const row = id === null ? undefined : (this.#s.stateOf.get(id) as StateRow);
      if (id === null || row === undefined) throw new JobNotFoundError(params.id);
      if (row.state === "running") this.#s.requestCancel.run(id);
      else if (!FINAL_STATES.includes(row.state)) {
        this.#s.cancelWaiting.run({ id, now: params.now });
        ready = this.#refreshGroups([[row.queue, row.group_key]]);
      }
      return this.#getIn(params.id)!;
    });
    if (ready.size > 0) this.#hint(ready);
    return job;
  }

  async jobPromote(params: { id: string; now: number }): Promise<JobRecord> {
    let queue: string | null = null;
    const job = await this.#write(() => {
      const id = rowId(params.id);
      const row = id === null ? undefined : (this.#s.stateOf.get(id) as StateRow);
      if (id === null || row === undefined) throw new JobNotFoundError(params.id);
      if (row.state === "scheduled" || row.state === "retryable") {
        this.#s.promote.run({ id, now: params.now });
        queue = row.queue;
        this.#refreshGroups([[row.queue, row.group_key]]);
      } else if (row.state !== "available") {
        throw new InvalidStateTransitionError(params.id, row.state, "promote");
      }
      return this.#getIn(params.id)!;
    });
    if (queue !== null) this.#hint([queue]);
    return job;
  }

  async jobDelete(params: { id: string }): Promise<boolean> {
    let ready = new Set<string>();
    const deleted = await this.#write(() => {
      const id = rowId(params.id);
      const row = id === null ? undefined : (this.#s.stateOf.get(id) as StateRow);
      if (id === null || row === undefined) return false;
      if (row.state === "running") throw new InvalidStateTransitionError(params.id, row.state, "delete");
      this.#s.delete.run(id);
      ready = this.#refreshGroups([[row.queue, row.group_key]]);
      return true;
    });
    if (ready.size > 0) this.#hint(ready);
    return deleted;
  }

  /**
   * Deletes up to `limit` final jobs (with their logs) by age, then by count; non-final states in `states` are
   * ignored. Counting costs a scan of the kept jobs of each state (an index walk per queue with `perQueue`).
   */
  async jobPrune(params: JobPruneParams): Promise<number> {
    const states = (params.states ?? FINAL_STATES).filter((state) => FINAL_STATES.includes(state));
    const { finishedBefore, keepLast, limit } = params;
    if (!(limit > 0) || states.length === 0 || (finishedBefore === undefined && keepLast === undefined)) {
      this.#run(() => undefined);
      return 0;
    }
    const s = this.#s;
    return this.#write(() => {
      let deleted = 0;
      if (finishedBefore !== undefined) {
        deleted += s.prune.run({ states: JSON.stringify(states), before: finishedBefore, limit }).changes;
      }
      if (keepLast === undefined) return deleted;
      const keep = Math.max(0, keepLast);
      for (const state of states) {
        const queues: Array<string | null> = params.perQueue
          ? (s.pruneFinalQueues.all(state) as string[])
          : [null];
        for (const queue of queues) {
          if (deleted >= limit) return deleted;
          const edge = (
            queue === null ? s.pruneEdge.get({ state, keep }) : s.pruneEdgeQueue.get({ state, queue, keep })
          ) as [number, number] | undefined;
          if (edge === undefined) continue;
          deleted += s.pruneBeyond.run({
            state,
            queue,
            at: edge[0],
            id: edge[1],
            limit: limit - deleted,
          }).changes;
        }
      }
      return deleted;
    });
  }

  async jobTypeRegister(params: { types: JobTypeRegistration[]; now: number }): Promise<void> {
    if (params.types.length === 0) {
      this.#run(() => undefined);
      return;
    }
    await this.#write(() => {
      for (const type of params.types) {
        const defaults = toJsonText(type.defaults ?? {}, `defaults of job type "${type.name}"`, "{}");
        this.#s.typeUpsert.run(
          type.name,
          type.queue,
          defaults,
          params.now,
          type.defaults?.maxConcurrency ?? null,
          type.defaults?.rateLimit?.max ?? null,
          type.defaults?.rateLimit?.windowMs ?? null,
          type.defaults?.group?.rateLimit?.max ?? null,
          type.defaults?.group?.rateLimit?.windowMs ?? null,
        );
      }
    });
  }

  async jobTypeList(): Promise<JobTypeInfo[]> {
    return this.#run(() =>
      (
        this.#s.typeList.all() as Array<{ name: string; queue: string; defaults: string; seen_at: number }>
      ).map((row) => ({
        name: row.name,
        queue: row.queue,
        defaults: JSON.parse(row.defaults) as JobTypeDefaults,
        seenAt: row.seen_at,
      })),
    );
  }

  async queuePause(params: { queue: string }): Promise<void> {
    await this.#write(() => this.#s.queuePause.run(params.queue));
  }

  async queueResume(params: { queue: string }): Promise<void> {
    await this.#write(() => this.#s.queueResume.run(params.queue));
    this.#hint([params.queue]);
  }

  async queueRateLimit(params: { queue: string; limit: RateLimit | null }): Promise<void> {
    const { queue, limit } = params;
    await this.#write(() =>
      this.#s.queueRateLimit.run({ queue, max: limit?.max ?? null, windowMs: limit?.windowMs ?? null }),
    );
    this.#hint([queue]);
  }

  async queueList(): Promise<QueueInfo[]> {
    return this.#run(() => {
      const s = this.#s;
      const queues = new Map<string, QueueInfo>();
      const entry = (name: string): QueueInfo => {
        let info = queues.get(name);
        if (info === undefined) {
          info = { name, paused: false, counts: emptyCounts() };
          queues.set(name, info);
        }
        return info;
      };
      const counts = s.countByQueue.all() as Array<{ queue: string; state: JobState; n: number }>;
      for (const row of counts) entry(row.queue).counts[row.state] += row.n;
      for (const queue of s.typeQueues.all() as string[]) entry(queue);
      const rows = s.queueRows.all() as Array<{
        name: string;
        paused: number;
        rate_max: number | null;
        rate_window_ms: number | null;
      }>;
      for (const row of rows) {
        if (row.paused !== 0) entry(row.name).paused = true;
        if (row.rate_max !== null && row.rate_window_ms !== null) {
          entry(row.name).rateLimit = { max: row.rate_max, windowMs: row.rate_window_ms };
        }
      }
      return [...queues.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    });
  }

  /** Upserts the worker's row (not fsynced: a beat lost in a power cut is replaced by the next one). */
  async workerBeat(params: {
    worker: Omit<WorkerRecord, "lastBeatAt">;
    ttlMs: number;
    now: number;
  }): Promise<void> {
    if (this.#db === null) throw new ClosedError("sqlite store");
    const { worker, ttlMs, now } = params;
    await this.#write(() => beatIn(this.#r, worker, ttlMs, now), { durable: false });
  }

  async workerRemove(params: { id: string }): Promise<void> {
    if (this.#db === null) throw new ClosedError("sqlite store");
    await this.#write(() => this.#r.workerRemove.run(params.id), { durable: false });
  }

  async workerList(params: { now: number }): Promise<WorkerRecord[]> {
    return this.#run(() => listWorkersIn(this.#r, params.now));
  }

  /** Counts by minute then queue, read from `queue_stats`; rows older than a day are swept by writers. */
  async statsList(params: { from: number; to: number; queue?: string }): Promise<QueueMinuteStats[]> {
    return this.#run(() => listStatsIn(this.#r, params));
  }

  /**
   * Checks "schema" (migrations current), "journal" (WAL), "durability" (`synchronous` FULL ok, NORMAL warns
   * with what a power loss can lose), "file" (path and sizes) and "disk" (free space); `serverTime` is this
   * machine's clock, the one every process on the file shares.
   */
  async storeHealth(_params: { now: number }): Promise<{ checks: StoreCheck[]; serverTime: number | null }> {
    const settings = this.connectionSettings();
    const migration = this.migrationStatus();
    const checks = healthChecks({
      path: this.path,
      migration,
      journalMode: settings.journalMode,
      synchronous: settings.synchronous,
    });
    return { checks, serverTime: Date.now() };
  }

  /** Inserts or replaces a schedule; a replaced one keeps `next_run_at` when its spec is unchanged. */
  async scheduleUpsert(params: ScheduleUpsertParams): Promise<ScheduleUpsertResult> {
    return this.#schedules.upsert(params);
  }

  async scheduleGet(params: { id: string }): Promise<ScheduleRecord | null> {
    return this.#schedules.get(params.id);
  }

  async scheduleList(): Promise<ScheduleRecord[]> {
    return this.#schedules.list();
  }

  async scheduleDelete(params: { id: string }): Promise<boolean> {
    return this.#schedules.delete(params.id);
  }

  async schedulePause(params: { id: string; now: number }): Promise<ScheduleRecord | null> {
    return this.#schedules.pause(params.id, params.now);
  }

  async scheduleResume(params: {
    id: string;
    nextRunAt: number | null;
    now: number;
  }): Promise<ScheduleRecord | null> {
    return this.#schedules.resume(params.id, params.nextRunAt, params.now);
  }

  async scheduleDue(params: { now: number; limit: number }): Promise<ScheduleRecord[]> {
    return this.#schedules.due(params.now, params.limit);
  }

  /** One IMMEDIATE transaction: the compare-and-set on `next_run_at` and the insert of the tick jobs. */
  async scheduleFire(params: ScheduleFireParams): Promise<ScheduleFireResult> {
    return this.#schedules.fire(params);
  }

  /**
   * Hints, never data: `listener` is called (with no arguments, after the triggering call returned) on an
   * insert, operator retry, resume, rescue to available, or a release, retry or snooze outcome in one of
   * `queues` through this instance, and on any commit of
   * another connection or process to this database (any queue; coalesced, at most about one call per
   * millisecond). It may be called spuriously and hints may be missed if the file cannot be watched: keep a
   * slow poll. Listener exceptions are ignored.
   */
  watch(queues: string[], listener: () => void): Unwatch {
    if (this.#db === null) throw new ClosedError("sqlite store");
    const watcher: Watcher = { queues: new Set(queues), listener };
    this.#watchers.add(watcher);
    if (!this.#notifyWatching) {
      this.#notifyWatching = true;
      this.#notify.watch(() => this.#hintLocal(null));
    }
    return () => {
      if (!this.#watchers.delete(watcher)) return;
      if (this.#watchers.size === 0 && this.#notifyWatching) {
        this.#notifyWatching = false;
        this.#notify.unwatch();
      }
    };
  }

  /** After a commit that may make jobs available in `queues`: wakes other processes, then local watchers. */
  #hint(queues: Iterable<string>): void {
    this.#notify.announce();
    this.#hintLocal(queues);
  }

  /** Queues a hint for watchers of `queues` (null: every watcher), delivered once after the current call. */
  #hintLocal(queues: Iterable<string> | null): void {
    if (this.#watchers.size === 0) return;
    if (queues === null) this.#hintAll = true;
    else for (const queue of queues) this.#hintQueues.add(queue);
    if (this.#hintScheduled) return;
    this.#hintScheduled = true;
    queueMicrotask(() => {
      const all = this.#hintAll;
      const hinted = this.#hintQueues;
      this.#hintAll = false;
      this.#hintQueues = new Set();
      this.#hintScheduled = false;
      if (this.#db === null) return;
      for (const watcher of [...this.#watchers]) {
        if (!this.#watchers.has(watcher)) continue;
        let match = all;
        if (!match) {
          for (const queue of watcher.queues) {
            if (hinted.has(queue)) {
              match = true;
              break;
            }
          }
        }
        if (!match) continue;
        try {
          watcher.listener();
        } catch {
          // a hint listener's failure is its own business
        }
      }
    });
  }

  /** Stops watching and closes the connection. Idempotent; later calls to other methods throw ClosedError. */
  async close(): Promise<void> {
    if (this.#db === null) return;
    // Enqueues accepted before close() are stored (or fail) first.
    if (this.#singles.length > 0) await this.#flushSingles();
    const db = this.#db;
    if (db === null) return;
    this.#db = null;
    this.#notify.close();
    this.#notifyWatching = false;
    this.#watchers.clear();
    db.close();
  }
}
