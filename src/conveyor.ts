import { Admin } from "./admin/admin.js";
import { type Clock, systemClock } from "./clock.js";
import {
  ClosedError,
  NotSupportedError,
  OptionsError,
  PayloadTooLargeError,
  UnknownJobError,
} from "./errors.js";
import { type ConveyorEvents, type RemoteEventSource, TypedEmitter } from "./events.js";
import { type DedupeOption, type EnqueuedJob, enqueuedJob, parseDedupe } from "./job/dedupe.js";
import {
  type AnyJobDefinition,
  assertInt,
  assertName,
  type JobDefinition,
  type JobInput,
  type JobTypeOptions,
  validateJobTypeOptions,
  validateRateLimit,
} from "./job/define.js";
import { type GroupOption, parseGroup } from "./job/group.js";
import { FINAL_STATES, isJobState, type JobState } from "./job/states.js";
import { validateData, validateDataSync } from "./job/validate.js";
import { type RetentionOptions, type RetentionPolicy, resolveRetention } from "./maintenance/pruner.js";
import { endEnqueueSpan, injectJobContext, startEnqueueSpan } from "./observability/tracing.js";
import { ProcessNode } from "./process/node.js";
import { parseCatchUp } from "./scheduler/catch-up.js";
import { NOT_FOR_SCHEDULES, type ScheduleOptions } from "./scheduler/options.js";
import { nextTick, parseScheduleSpec, type ScheduleSpecInput } from "./scheduler/schedule-spec.js";
import { Scheduler, type SchedulerOptions } from "./scheduler/scheduler.js";
import { type OpenStoreOptions, openStore } from "./store/open.js";
import type {
  JobCounts,
  JobInsertParams,
  JobInsertResult,
  JobListParams,
  JobListResult,
  JobRecord,
  JobTypeInfo,
  QueueInfo,
  RateLimit,
  ScheduleRecord,
  Store,
} from "./store/store.js";
import { Worker, type WorkerOptions } from "./worker/worker.js";

export interface ConveyorOptions {
  /** A store URL ("memory", "sqlite:./conveyor.db") or a Store instance. Default "sqlite:./conveyor.db". */
  store?: string | Store;
  /** SQLite durability when `store` is a URL: "full" (default) or "normal". */
  durability?: OpenStoreOptions["durability"];
  /** Redis key prefix when `store` is a `redis://` URL (default "conveyor"; see docs/guides/redis.md). */
  prefix?: string;
  /**
   * Also emit on `events` the job events that other processes commit on the same store (they carry
   * `remote: true`; see docs/guides/redis.md, "Events across processes"). Needs a store that carries
   * events (Redis). Default false.
   */
  remoteEvents?: boolean;
  /** Largest serialised job data accepted by enqueue. Default 1 MiB. */
  maxPayloadBytes?: number;
  /** Injected time (tests use a fake clock). */
  clock?: Clock;
  /**
   * How long and how many finished jobs to keep, enforced in the background by every worker of this app.
   * Default: completed 24 h / 100,000, cancelled and discarded 7 days / 100,000. `false`: keep everything.
   */
  retention?: RetentionOptions | false;
}

/** Per-enqueue options; they override the job type's. */
export interface EnqueueOptions
  extends Omit<JobTypeOptions, "retry" | "maxStalls" | "group" | "maxConcurrency" | "rateLimit"> {
  /** Total attempts including the first. Default: the job type's, else 3. */
  attempts?: number;
  /** Run no sooner than this many milliseconds from now. */
  delayMs?: number;
  /** Run no sooner than this time. */
  runAt?: Date | number;
  /** Free JSON metadata kept with the job. */
  meta?: Record<string, unknown>;
  /**
   * Dedupe key, global to the store (prefix it with the job name to scope it): 1-255 characters, no control
   * characters. With a key, `dedupe` decides what happens when jobs with it exist (default "reject").
   */
  key?: string;
  /**
   * `"reject"` (default): a pending or running job with the key is returned and nothing is stored.
   * `"replace"`: a pending job's data and meta are replaced. `{ policy: "debounce", windowMs }`: a pending job's
   * data is replaced and its run pushed to now + windowMs (a new job also waits windowMs; not combinable with
   * `delayMs` or `runAt`). `{ policy: "throttle", windowMs }`: nothing is stored while a job with the key was
   * created within the last windowMs. The result's `outcome` says which happened.
   */
  dedupe?: DedupeOption;
  /**
   * The job's group (per-group FIFO): jobs of one group in one queue run in enqueue order, one at a time (or
   * up to the group's concurrency); different groups run in parallel, fairly. A key of 1-255 characters
   * (`"player:42"`), or `{ key, concurrency?, onFailure? }` to override the job type's `group` policy. See
   * docs/guides/groups.md.
   */
  group?: GroupOption;
}

/**
 * The parts of a better-sqlite3 `Database` that {@link Conveyor.enqueueInTransaction} relies on, declared
 * structurally so the core does not depend on better-sqlite3's types. Pass the `Database` itself.
 */
export interface SqliteConnection {
  readonly name: string;
  readonly open: boolean;
  readonly inTransaction: boolean;
  readonly memory: boolean;
  prepare(source: string): unknown;
}

/** What a store offers for transactional enqueue (the SQLite store); see `SqliteStore.insertWithConnection`. */
interface TransactionalStore {
  insertWithConnection(
    db: SqliteConnection,
    jobs: JobInsertParams[],
    onCommitted?: (ids: string[]) => void,
  ): JobInsertResult[];
}

/** Options for enqueue by name (the CLI's path), where no definition is at hand. */
export interface EnqueueByNameOptions extends EnqueueOptions {
  /** Enqueue even if no worker has registered this job name. */
  force?: boolean;
}

const DEFAULT_ATTEMPTS = 3;
const DEFAULT_MAX_STALLS = 25;
const DEFAULT_PAYLOAD_LIMIT = 1024 * 1024;

/**
 * The app's handle on Conveyor: enqueue jobs, make workers, and steer jobs and queues.
 *
 * ```ts
 * const app = await Conveyor.open({ store: "sqlite:./conveyor.db" });
 * await app.enqueue(sendEmail, { to: "a@example.com" });
 * const worker = app.worker({ jobs: [sendEmail], concurrency: 20 });
 * await worker.start();
 * ```
 */
export class Conveyor {
  readonly store: Store;
  readonly clock: Clock;
  /** In-process events from this app's enqueues and workers. */
  readonly events = new TypedEmitter<ConveyorEvents>();
  readonly #ownsStore: boolean;
  readonly #maxPayloadBytes: number;
  readonly #retention: RetentionPolicy | null;
  readonly #workers = new Set<Worker>();
  readonly #schedulers = new Set<Scheduler>();
  #admin: Admin | null = null;
  #processes: ProcessNode | null = null;
  #closed = false;
  /** Stops the delivery of other processes' events (`remoteEvents`). */
  #unsubscribeRemote: (() => void) | null = null;

  private constructor(
    store: Store,
    ownsStore: boolean,
    options: ConveyorOptions,
    retention: RetentionPolicy | null,
  ) {
    this.store = store;
    this.#retention = retention;
    this.#ownsStore = ownsStore;
    this.clock = options.clock ?? systemClock;
    this.#maxPayloadBytes = options.maxPayloadBytes ?? DEFAULT_PAYLOAD_LIMIT;
  }

  /** Opens the store (running its migrations) and returns the app. */
  static async open(options: ConveyorOptions = {}): Promise<Conveyor> {
    if (typeof options !== "object" || options === null) {
      throw new OptionsError("Conveyor.open(options): options must be an object");
    }
    assertInt(options.maxPayloadBytes, "Conveyor.open options.maxPayloadBytes", 1);
    const retention = resolveRetention(options.retention);
    const spec = options.store ?? "sqlite:./conveyor.db";
    if (typeof spec === "string") {
      const store = await openStore(spec, {
        ...(options.durability ? { durability: options.durability } : {}),
        ...(options.prefix !== undefined ? { prefix: options.prefix } : {}),
      });
      try {
        return new Conveyor(store, true, options, retention).#listenRemote(options);
      } catch (err) {
        await store.close();
        throw err;
      }
    }
    if (typeof spec?.jobInsert !== "function") {
      throw new OptionsError(
        'Conveyor.open options.store must be a URL such as "sqlite:./conveyor.db" or a Store',
      );
    }
    return new Conveyor(spec, false, options, retention).#listenRemote(options);
  }

  /** With `remoteEvents`, re-emits the job events other processes commit on the store. */
  #listenRemote(options: ConveyorOptions): this {
    if (options.remoteEvents === undefined || options.remoteEvents === false) return this;
    const source = this.store as Partial<RemoteEventSource>;
    if (options.remoteEvents !== true || typeof source.subscribeEvents !== "function") {
      throw new OptionsError(
        `Conveyor.open options.remoteEvents needs a store that carries events between processes (redis://); ` +
          `the ${this.store.kind} store does not`,
      );
    }
    this.#unsubscribeRemote = source.subscribeEvents((event) =>
      this.events.emit(event.name, event.payload as ConveyorEvents[typeof event.name]),
    );
    return this;
  }

  /**
   * Stores one job and resolves once it is durable in the store. Data is validated against the job type's
   * schema (when it has one) and its JSON size checked against `maxPayloadBytes`; on failure nothing is stored.
   * With a `key`, the dedupe policy may return or change an existing job instead; `outcome` says which.
   */
  enqueue<J extends AnyJobDefinition>(
    job: J,
    data: JobInput<J>,
    options?: EnqueueOptions,
  ): Promise<EnqueuedJob>;
  /** Enqueue by job name: the name must be known to the store (registered by a worker) unless `force`. */
  enqueue(name: string, data: unknown, options?: EnqueueByNameOptions): Promise<EnqueuedJob>;
  async enqueue(
    job: AnyJobDefinition | string,
    data: unknown,
    options: EnqueueByNameOptions = {},
  ): Promise<EnqueuedJob> {
    this.#assertOpen();
    const def = await this.#resolve(job, options.force ?? false);
    // A PRODUCER span when tracing is on (see src/observability/tracing.ts); null, and no cost, otherwise.
    const span = startEnqueueSpan(def.name, options.queue ?? def.queue ?? "default", 1);
    let record: EnqueuedJob;
    try {
      const params = await this.#prepare(def, data, options, "enqueue options.");
      if (span !== null) injectJobContext(span, [params]);
      record = enqueuedJob(await this.store.jobInsert(params));
    } catch (err) {
      if (span !== null) endEnqueueSpan(span, null, err);
      throw err;
    }
    if (span !== null) endEnqueueSpan(span, [record]);
    this.#emitEnqueued([record]);
    return record;
  }

  /**
   * Transactional enqueue (SQLite store only): inserts the job synchronously through `db`, the app's own
   * better-sqlite3 connection to the store's database file, inside the app's open transaction, so the job
   * exists only if that transaction commits. Same options, validation and dedupe as {@link Conveyor.enqueue},
   * with two limits: `job` must be a definition (not a name), and its schema must validate synchronously (zod
   * and valibot do; an async validator throws OptionsError). Workers are woken once the app's transaction has
   * ended; `job:enqueued` is emitted then, only for an inserted job that committed. Throws NotSupportedError on
   * other stores.
   *
   * ```ts
   * db.transaction(() => {
   *   db.prepare("INSERT INTO orders (id) VALUES (?)").run(orderId);
   *   app.enqueueInTransaction(db, sendReceipt, { orderId });
   * }).immediate();
   * ```
   */
  enqueueInTransaction<J extends AnyJobDefinition>(
    db: SqliteConnection,
    job: J,
    data: JobInput<J>,
    options: EnqueueOptions = {},
  ): EnqueuedJob {
    this.#assertOpen();
    const store = this.store as Store & Partial<TransactionalStore>;
    if (typeof store.insertWithConnection !== "function") {
      throw new NotSupportedError("transactional enqueue", this.store.kind);
    }
    if (typeof job !== "object" || job === null || typeof job.handler !== "function") {
      throw new OptionsError(
        "enqueueInTransaction(db, job, data): job must be a definition from defineJob() (not a name)",
      );
    }
    const prefix = "enqueueInTransaction options.";
    this.#checkOptions(options, prefix);
    // Validated, but stored as given: the worker validates again and hands the schema's output to the
    // handler, so transforms and defaults apply once, at run time (a transformed value may not parse twice).
    if (job.schema) validateDataSync(job.name, job.schema, data);
    const params = this.#build(job, data, options, prefix);
    const span = startEnqueueSpan(job.name, params.queue, 1);
    if (span !== null) injectJobContext(span, [params]);
    let result: JobInsertResult | undefined;
    try {
      [result] = store.insertWithConnection(db, [params], (ids) => {
        if (record.outcome === "inserted" && ids.includes(record.id)) this.#emitEnqueued([record]);
      });
    } catch (err) {
      if (span !== null) endEnqueueSpan(span, null, err);
      throw err;
    }
    const record = enqueuedJob(result!);
    if (span !== null) endEnqueueSpan(span, [record]);
    return record;
  }

  /**
   * Stores many jobs of one type atomically (all or none), in order: one transaction on SQLite. Each item is
   * `{ data, options? }`; item options override the shared `options`.
   */
  async enqueueMany<J extends AnyJobDefinition>(
    job: J | string,
    items: ReadonlyArray<{ data: JobInput<J>; options?: EnqueueOptions }>,
    options: EnqueueByNameOptions = {},
  ): Promise<EnqueuedJob[]> {
    this.#assertOpen();
    if (!Array.isArray(items))
      throw new OptionsError("enqueueMany(job, items): items must be an array of { data }");
    const def = await this.#resolve(job, options.force ?? false);
    if (items.length === 0) return [];
    // One PRODUCER span for the call (null when tracing is off); every job carries its context.
    const span = startEnqueueSpan(def.name, batchQueue(def, items, options), items.length);
    let records: EnqueuedJob[];
    try {
      const params: JobInsertParams[] = [];
      for (let i = 0; i < items.length; i++) {
        const item = items[i];
        if (typeof item !== "object" || item === null || !("data" in item)) {
          throw new OptionsError(`enqueueMany items[${i}] must be an object { data, options? }`);
        }
        const own = item.options ? { ...options, ...item.options } : options;
        params.push(await this.#prepare(def, item.data, own, `enqueueMany items[${i}].options.`, i));
      }
      if (span !== null) injectJobContext(span, params);
      const results = await this.store.jobInsertMany({ jobs: params });
      records = results.map(enqueuedJob);
    } catch (err) {
      if (span !== null) endEnqueueSpan(span, null, err);
      throw err;
    }
    if (span !== null) endEnqueueSpan(span, records);
    this.#emitEnqueued(records);
    return records;
  }

  /** `job:enqueued` for each job stored or changed (not for duplicates and throttled enqueues). */
  #emitEnqueued(records: readonly EnqueuedJob[]): void {
    if (!this.events.has("job:enqueued")) return;
    for (const job of records) {
      if (job.outcome !== "duplicate" && job.outcome !== "throttled")
        this.events.emit("job:enqueued", { job });
    }
  }

  /**
   * The workers made by this app that have not stopped (any state but "stopped"), in creation order: what
   * runs in this process (metrics read their slots and running jobs). Store-wide workers: `app.admin.workers()`.
   */
  get workers(): Worker[] {
    return [...this.#workers].filter((w) => w.state !== "stopped");
  }

  /** A worker bound to this app's store, clock and events. Call `start()` on it. */
  worker(options: WorkerOptions): Worker {
    this.#assertOpen();
    const worker = new Worker(
      {
        store: this.store,
        clock: this.clock,
        events: this.events,
        onSignalStop: () => this.close(),
        retention: this.#retention,
      },
      options,
    );
    this.#workers.add(worker);
    return worker;
  }

  getJob(id: string): Promise<JobRecord | null> {
    this.#assertOpen();
    return this.store.jobGet({ id: String(id) });
  }

  listJobs(params: Partial<JobListParams> = {}): Promise<JobListResult> {
    this.#assertOpen();
    if (params.state !== undefined && !isJobState(params.state)) {
      throw new OptionsError(
        `listJobs state must be one of the seven job states, got ${JSON.stringify(params.state)}`,
      );
    }
    assertInt(params.limit, "listJobs limit", 1, 1_000);
    return this.store.jobList({ ...params, limit: params.limit ?? 50 });
  }

  countJobs(queue?: string): Promise<JobCounts> {
    this.#assertOpen();
    return this.store.jobCount(queue === undefined ? {} : { queue });
  }

  /**
   * This app's process runtime (see docs/guides/processes.md): spawn, send, monitor, link, supervisors. Created
   * on first use with the app's clock; the admin API and the dashboard list its live processes. `close()`
   * kills the processes still alive.
   */
  get processes(): ProcessNode {
    this.#assertOpen();
    this.#processes ??= new ProcessNode({ clock: this.clock });
    return this.#processes;
  }

  /**
   * The admin API over this app's store and clock (see docs/guides/operations.md): queue summaries, job
   * lists and detail, workers, throughput, bulk retry and `doctor()`. The dashboard and the CLI use it.
   */
  get admin(): Admin {
    this.#assertOpen();
    this.#admin ??= new Admin({ store: this.store, clock: this.clock, processes: () => this.#processes });
    return this.#admin;
  }

  /** Runs a scheduled, retryable or finished job again now. Throws for a running or unknown job. */
  retryJob(id: string): Promise<JobRecord> {
    return this.admin.retryJob(id);
  }

  /**
   * Runs a scheduled (delayed) or retryable job now instead of at its run time. An available job is returned
   * unchanged; a running or finished one throws InvalidStateTransitionError (use `retryJob` for finished ones).
   */
  promoteJob(id: string): Promise<JobRecord> {
    return this.admin.promoteJob(id);
  }

  /** Cancels a waiting job at once, or asks the worker running it to abort it. */
  cancelJob(id: string): Promise<JobRecord> {
    return this.admin.cancelJob(id);
  }

  deleteJob(id: string): Promise<boolean> {
    return this.admin.deleteJob(id);
  }

  /** Deletes finished jobs older than `olderThanMs`; returns how many. */
  async pruneJobs(options: { olderThanMs: number; states?: JobState[] }): Promise<number> {
    this.#assertOpen();
    assertInt(options.olderThanMs, "pruneJobs olderThanMs", 0);
    const states = options.states ?? [...FINAL_STATES];
    for (const s of states) {
      if (!FINAL_STATES.includes(s))
        throw new OptionsError(`pruneJobs states may only hold final states, got "${s}"`);
    }
    let total = 0;
    for (;;) {
      const n = await this.store.jobPrune({
        finishedBefore: this.clock.now() - options.olderThanMs,
        states,
        limit: 1_000,
      });
      total += n;
      if (n < 1_000) return total;
    }
  }

  pauseQueue(queue: string): Promise<void> {
    return this.admin.pauseQueue(queue);
  }

  resumeQueue(queue: string): Promise<void> {
    return this.admin.resumeQueue(queue);
  }

  /**
   * Sets the rate limit of a queue, `{ max, windowMs }`: at most `max` of its jobs (of any type) start in any
   * window of `windowMs`, across every worker and process of the store; `null` lifts it. Persisted in the
   * store. See docs/guides/limits.md.
   */
  setQueueRateLimit(queue: string, limit: RateLimit | null): Promise<void> {
    this.#assertOpen();
    assertName(queue, "setQueueRateLimit queue");
    if (limit !== null) validateRateLimit(limit, "setQueueRateLimit limit");
    return this.store.queueRateLimit({
      queue,
      limit: limit === null ? null : { max: limit.max, windowMs: limit.windowMs },
    });
  }

  listQueues(): Promise<QueueInfo[]> {
    this.#assertOpen();
    return this.store.queueList();
  }

  /** Job types registered by workers (the store's known jobs). */
  listJobTypes(): Promise<JobTypeInfo[]> {
    this.#assertOpen();
    return this.store.jobTypeList();
  }

  /**
   * Creates or replaces the schedule `id` (a stable name: same characters as job names): from now on, a
   * running scheduler enqueues one `job` with `data` per tick of `spec`, `{ cron, tz? }` (5 fields, or 6 with
   * seconds; tz an IANA zone, default UTC) or `{ everyMs }`. Safe to call at every start: a schedule whose spec
   * did not change keeps its next run. Invalid cron expressions, time zones, data and options throw
   * OptionsError (or ValidationError) and store nothing. A job name must be registered unless `force`.
   *
   * ```ts
   * await app.schedule("nightly", { cron: "0 3 * * *", tz: "Asia/Seoul" }, analyse, { fileId: "all" });
   * ```
   */
  async schedule<J extends AnyJobDefinition>(
    id: string,
    spec: ScheduleSpecInput,
    job: J | string,
    data: JobInput<J>,
    options: ScheduleOptions = {},
  ): Promise<ScheduleRecord> {
    this.#assertOpen();
    assertName(id, "schedule id");
    const parsed = parseScheduleSpec(spec, "schedule spec");
    if (typeof options !== "object" || options === null) {
      throw new OptionsError("schedule options must be an object");
    }
    const { catchUp, ...rest } = options;
    for (const field of NOT_FOR_SCHEDULES) {
      if ((rest as Record<string, unknown>)[field] !== undefined) {
        throw new OptionsError(
          `schedule options.${field} does not apply to schedules: each job runs at its tick`,
        );
      }
    }
    const policy = parseCatchUp(catchUp, "schedule options.catchUp");
    const def = await this.#resolve(job, rest.force ?? false);
    const p = await this.#prepare(def, data, rest, "schedule options.");
    const { schedule } = await this.store.scheduleUpsert({
      id,
      jobName: p.name,
      queue: p.queue,
      data: p.data,
      options: {
        priority: p.priority,
        lifo: p.lifo,
        maxAttempts: p.maxAttempts,
        maxStalls: p.maxStalls,
        timeoutMs: p.timeoutMs,
        meta: p.meta,
      },
      spec: parsed,
      catchUp: policy,
      nextRunAt: nextTick(parsed, p.now),
      now: p.now,
    });
    this.#wakeSchedulers();
    return schedule;
  }

  /** Deletes a schedule (the jobs it enqueued stay); false if there was none. */
  unschedule(id: string): Promise<boolean> {
    this.#assertOpen();
    return this.store.scheduleDelete({ id: String(id) });
  }

  /** Stops a schedule from firing until resumed. Throws ScheduleNotFoundError. */
  pauseSchedule(id: string): Promise<ScheduleRecord> {
    return this.admin.pauseSchedule(id);
  }

  /** Resumes a paused schedule from its next tick after now (ticks missed while paused are not caught up). */
  async resumeSchedule(id: string): Promise<ScheduleRecord> {
    const schedule = await this.admin.resumeSchedule(id);
    this.#wakeSchedulers();
    return schedule;
  }

  getSchedule(id: string): Promise<ScheduleRecord | null> {
    this.#assertOpen();
    return this.store.scheduleGet({ id: String(id) });
  }

  /** Every schedule, by id. */
  listSchedules(): Promise<ScheduleRecord[]> {
    this.#assertOpen();
    return this.store.scheduleList();
  }

  /**
   * A scheduler bound to this app's store, clock and events: call `start()` on it. Workers do not run one by
   * themselves. Run as many as you like (one per process is typical): each tick is enqueued exactly once.
   * Closing the app stops it.
   */
  scheduler(options: SchedulerOptions = {}): Scheduler {
    this.#assertOpen();
    const scheduler = new Scheduler({ store: this.store, clock: this.clock, events: this.events }, options);
    this.#schedulers.add(scheduler);
    return scheduler;
  }

  #wakeSchedulers(): void {
    for (const scheduler of this.#schedulers) scheduler.wake();
  }

  /** Stops this app's workers gracefully, then closes the store if the app opened it. Idempotent. */
  async close(options: { graceMs?: number } = {}): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#unsubscribeRemote?.();
    await Promise.all([...this.#schedulers].map((s) => s.stop()));
    await Promise.all([...this.#workers].map((w) => w.stop(options)));
    await this.#processes?.shutdown();
    if (this.#ownsStore) await this.store.close();
  }

  #assertOpen(): void {
    if (this.#closed) throw new ClosedError("conveyor app");
  }

  async #resolve(job: AnyJobDefinition | string, force: boolean): Promise<AnyJobDefinition | NamedJob> {
    if (typeof job !== "string") {
      if (typeof job?.name !== "string" || typeof job.handler !== "function") {
        throw new OptionsError("enqueue(job, data): job must be a definition from defineJob() or a job name");
      }
      return job;
    }
    assertName(job, "enqueue job name");
    const known = await this.store.jobTypeList();
    const type = known.find((t) => t.name === job);
    if (!type && !force) {
      throw new UnknownJobError(
        job,
        known.map((t) => t.name),
        "Start a worker that defines it first, or pass force (--force in the CLI)",
      );
    }
    const d = type?.defaults ?? {};
    return {
      name: job,
      queue: type?.queue ?? "default",
      schema: undefined,
      ...(d.lifo !== undefined ? { lifo: d.lifo } : {}),
      ...(d.maxAttempts !== undefined ? { retry: { attempts: d.maxAttempts } } : {}),
      ...(d.maxStalls !== undefined ? { maxStalls: d.maxStalls } : {}),
      ...(d.priority !== undefined ? { priority: d.priority } : {}),
      ...(d.timeoutMs !== undefined ? { timeoutMs: d.timeoutMs } : {}),
      ...(d.group !== undefined ? { group: d.group } : {}),
      ...(d.maxConcurrency !== undefined ? { maxConcurrency: d.maxConcurrency } : {}),
      ...(d.rateLimit !== undefined ? { rateLimit: d.rateLimit } : {}),
    };
  }

  async #prepare(
    def: AnyJobDefinition | NamedJob,
    data: unknown,
    options: EnqueueByNameOptions,
    prefix: string,
    index?: number,
  ): Promise<JobInsertParams> {
    this.#checkOptions(options, prefix);
    // Validated, but stored as given (see enqueueInTransaction): the handler gets the schema's output.
    if (def.schema) await validateData(def.name, def.schema, data);
    return this.#build(def, data, options, prefix, index);
  }

  /** Validates enqueue options that do not depend on the data (OptionsError naming `prefix` + field). */
  #checkOptions(options: EnqueueByNameOptions, prefix: string): void {
    if (typeof options !== "object" || options === null)
      throw new OptionsError(`${prefix.slice(0, -1)} must be an object`);
    const { group, maxConcurrency, rateLimit, ...typeOptions } = options as EnqueueByNameOptions &
      JobTypeOptions;
    validateJobTypeOptions(typeOptions, prefix);
    if (maxConcurrency !== undefined) {
      throw new OptionsError(`${prefix}maxConcurrency is a job type option: set it in defineJob()`);
    }
    if (rateLimit !== undefined) {
      throw new OptionsError(
        `${prefix}rateLimit is a job type or queue option: set it in defineJob() or with app.setQueueRateLimit()`,
      );
    }
    parseGroup(group, undefined, prefix);
    assertInt(options.attempts, `${prefix}attempts`, 1, 1_000);
    assertInt(options.delayMs, `${prefix}delayMs`, 0);
    if (options.delayMs !== undefined && options.runAt !== undefined) {
      throw new OptionsError(`${prefix}delayMs and ${prefix}runAt both set a run time: give one of them`);
    }
    const { dedupe } = parseDedupe(options.key, options.dedupe, prefix);
    if (dedupe?.policy === "debounce" && (options.delayMs !== undefined || options.runAt !== undefined)) {
      throw new OptionsError(
        `${prefix}dedupe debounce sets the run time itself (now + windowMs): drop ${prefix}delayMs and runAt`,
      );
    }
  }

  /** Insert params from validated data and options (synchronous: also used inside app transactions). */
  #build(
    def: AnyJobDefinition | NamedJob,
    value: unknown,
    options: EnqueueByNameOptions,
    prefix: string,
    index?: number,
  ): JobInsertParams {
    const { key, dedupe } = parseDedupe(options.key, options.dedupe, prefix);
    const now = this.clock.now();
    let runAt = now;
    if (options.runAt !== undefined) {
      const t = options.runAt instanceof Date ? options.runAt.getTime() : options.runAt;
      if (typeof t !== "number" || !Number.isFinite(t)) {
        throw new OptionsError(`${prefix}runAt must be a Date or epoch milliseconds`);
      }
      runAt = t;
    } else if (options.delayMs !== undefined) {
      runAt = now + options.delayMs;
    }
    if (options.meta !== undefined && (typeof options.meta !== "object" || options.meta === null)) {
      throw new OptionsError(`${prefix}meta must be an object`);
    }
    this.#checkSize(def.name, value, index);
    const full: JobTypeOptions = def;
    return {
      name: def.name,
      queue: options.queue ?? def.queue ?? "default",
      data: value === undefined ? null : value,
      priority: options.priority ?? full.priority ?? 0,
      lifo: options.lifo ?? full.lifo ?? false,
      runAt,
      maxAttempts: options.attempts ?? full.retry?.attempts ?? DEFAULT_ATTEMPTS,
      maxStalls: full.maxStalls ?? DEFAULT_MAX_STALLS,
      timeoutMs: options.timeoutMs ?? full.timeoutMs ?? null,
      meta: options.meta ?? {},
      now,
      ...(key !== null ? { key, ...(dedupe ? { dedupe } : {}) } : {}),
      ...(options.group !== undefined ? { group: parseGroup(options.group, full.group, prefix) } : {}),
    };
  }

  #checkSize(name: string, value: unknown, index?: number): void {
    let json: string | undefined;
    try {
      json = JSON.stringify(value);
    } catch (err) {
      const where = index === undefined ? "" : ` (item ${index})`;
      throw new OptionsError(
        `data for job "${name}"${where} cannot be stored as JSON: ${(err as Error).message}`,
      );
    }
    const bytes = json === undefined ? 4 : Buffer.byteLength(json);
    if (bytes > this.#maxPayloadBytes) throw new PayloadTooLargeError(name, bytes, this.#maxPayloadBytes);
  }
}

/** The queue every item of an enqueueMany goes to, or null when items go to different queues (span naming). */
function batchQueue(
  def: AnyJobDefinition | NamedJob,
  items: ReadonlyArray<{ options?: EnqueueOptions }>,
  options: EnqueueOptions,
): string | null {
  const shared = options.queue ?? def.queue ?? "default";
  for (const item of items) {
    const queue = item?.options?.queue;
    if (queue !== undefined && queue !== shared) return null;
  }
  return shared;
}

/** A job known only by name (enqueue from the CLI): no schema or handler here; options from its registration. */
interface NamedJob extends Omit<JobTypeOptions, "queue"> {
  name: string;
  queue: string;
  schema: undefined;
}

export type { JobDefinition };
