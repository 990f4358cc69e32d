import { type Clock, systemClock } from "./clock.js";
import { ClosedError, OptionsError, PayloadTooLargeError, UnknownJobError } from "./errors.js";
import { type ConveyorEvents, TypedEmitter } from "./events.js";
import {
  type AnyJobDefinition,
  assertInt,
  assertName,
  type JobDefinition,
  type JobInput,
  type JobTypeOptions,
  validateJobTypeOptions,
} from "./job/define.js";
import { FINAL_STATES, isJobState, type JobState } from "./job/states.js";
import { validateData } from "./job/validate.js";
import { type OpenStoreOptions, openStore } from "./store/open.js";
import type {
  JobCounts,
  JobInsertParams,
  JobListParams,
  JobListResult,
  JobRecord,
  JobTypeInfo,
  QueueInfo,
  Store,
} from "./store/store.js";
import { Worker, type WorkerOptions } from "./worker/worker.js";

export interface ConveyorOptions {
  /** A store URL ("memory", "sqlite:./conveyor.db") or a Store instance. Default "sqlite:./conveyor.db". */
  store?: string | Store;
  /** SQLite durability when `store` is a URL: "full" (default) or "normal". */
  durability?: OpenStoreOptions["durability"];
  /** Largest serialised job data accepted by enqueue. Default 1 MiB. */
  maxPayloadBytes?: number;
  /** Injected time (tests use a fake clock). */
  clock?: Clock;
}

/** Per-enqueue options; they override the job type's. */
export interface EnqueueOptions extends Omit<JobTypeOptions, "retry" | "maxStalls"> {
  /** Total attempts including the first. Default: the job type's, else 3. */
  attempts?: number;
  /** Run no sooner than this many milliseconds from now. */
  delayMs?: number;
  /** Run no sooner than this time. */
  runAt?: Date | number;
  /** Free JSON metadata kept with the job. */
  meta?: Record<string, unknown>;
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
  readonly #workers = new Set<Worker>();
  #closed = false;

  private constructor(store: Store, ownsStore: boolean, options: ConveyorOptions) {
    this.store = store;
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
    const spec = options.store ?? "sqlite:./conveyor.db";
    if (typeof spec === "string") {
      const store = await openStore(spec, options.durability ? { durability: options.durability } : {});
      return new Conveyor(store, true, options);
    }
    if (typeof spec?.jobInsert !== "function") {
      throw new OptionsError(
        'Conveyor.open options.store must be a URL such as "sqlite:./conveyor.db" or a Store',
      );
    }
    return new Conveyor(spec, false, options);
  }

  /**
   * Stores one job and resolves once it is durable in the store. Data is validated against the job type's
   * schema (when it has one) and its JSON size checked against `maxPayloadBytes`; on failure nothing is stored.
   */
  enqueue<J extends AnyJobDefinition>(
    job: J,
    data: JobInput<J>,
    options?: EnqueueOptions,
  ): Promise<JobRecord>;
  /** Enqueue by job name: the name must be known to the store (registered by a worker) unless `force`. */
  enqueue(name: string, data: unknown, options?: EnqueueByNameOptions): Promise<JobRecord>;
  async enqueue(
    job: AnyJobDefinition | string,
    data: unknown,
    options: EnqueueByNameOptions = {},
  ): Promise<JobRecord> {
    this.#assertOpen();
    const def = await this.#resolve(job, options.force ?? false);
    const params = await this.#prepare(def, data, options, "enqueue options.");
    const { job: record } = await this.store.jobInsert(params);
    if (this.events.has("job:enqueued")) this.events.emit("job:enqueued", { job: record });
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
  ): Promise<JobRecord[]> {
    this.#assertOpen();
    if (!Array.isArray(items))
      throw new OptionsError("enqueueMany(job, items): items must be an array of { data }");
    const def = await this.#resolve(job, options.force ?? false);
    const params: JobInsertParams[] = [];
    for (let i = 0; i < items.length; i++) {
      const item = items[i];
      if (typeof item !== "object" || item === null || !("data" in item)) {
        throw new OptionsError(`enqueueMany items[${i}] must be an object { data, options? }`);
      }
      const own = item.options ? { ...options, ...item.options } : options;
      params.push(await this.#prepare(def, item.data, own, `enqueueMany items[${i}].options.`, i));
    }
    if (params.length === 0) return [];
    const results = await this.store.jobInsertMany({ jobs: params });
    const records = results.map((r) => r.job);
    if (this.events.has("job:enqueued"))
      for (const record of records) this.events.emit("job:enqueued", { job: record });
    return records;
  }

  /** A worker bound to this app's store, clock and events. Call `start()` on it. */
  worker(options: WorkerOptions): Worker {
    this.#assertOpen();
    const worker = new Worker(
      { store: this.store, clock: this.clock, events: this.events, onSignalStop: () => this.close() },
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

  /** Runs a scheduled, retryable or finished job again now. Throws for a running or unknown job. */
  retryJob(id: string): Promise<JobRecord> {
    this.#assertOpen();
    return this.store.jobRetry({ id: String(id), now: this.clock.now() });
  }

  /** Cancels a waiting job at once, or asks the worker running it to abort it. */
  cancelJob(id: string): Promise<JobRecord> {
    this.#assertOpen();
    return this.store.jobCancel({ id: String(id), now: this.clock.now() });
  }

  deleteJob(id: string): Promise<boolean> {
    this.#assertOpen();
    return this.store.jobDelete({ id: String(id) });
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
    this.#assertOpen();
    assertName(queue, "pauseQueue queue");
    return this.store.queuePause({ queue });
  }

  resumeQueue(queue: string): Promise<void> {
    this.#assertOpen();
    assertName(queue, "resumeQueue queue");
    return this.store.queueResume({ queue });
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

  /** Stops this app's workers gracefully, then closes the store if the app opened it. Idempotent. */
  async close(options: { graceMs?: number } = {}): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all([...this.#workers].map((w) => w.stop(options)));
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
    };
  }

  async #prepare(
    def: AnyJobDefinition | NamedJob,
    data: unknown,
    options: EnqueueByNameOptions,
    prefix: string,
    index?: number,
  ): Promise<JobInsertParams> {
    if (typeof options !== "object" || options === null)
      throw new OptionsError(`${prefix.slice(0, -1)} must be an object`);
    validateJobTypeOptions(options, prefix);
    assertInt(options.attempts, `${prefix}attempts`, 1, 1_000);
    assertInt(options.delayMs, `${prefix}delayMs`, 0);
    const value = def.schema ? await validateData(def.name, def.schema, data) : data;
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

/** A job known only by name (enqueue from the CLI): no schema or handler here; options from its registration. */
interface NamedJob extends Omit<JobTypeOptions, "queue"> {
  name: string;
  queue: string;
  schema: undefined;
}

export type { JobDefinition };
