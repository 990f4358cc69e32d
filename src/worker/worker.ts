import { randomBytes } from "node:crypto";
import { createRequire } from "node:module";
import { hostname } from "node:os";
import type { Clock } from "../clock.js";
import { coerceError, OptionsError } from "../errors.js";
import type { ConveyorEvents, TypedEmitter } from "../events.js";
import type { Executor, ExecutorKind } from "../executor/executor.js";
import { InlineExecutor } from "../executor/inline.js";
import { ProcessExecutor, type ProcessExecutorOptions } from "../executor/process.js";
import { ThreadExecutor, type ThreadExecutorOptions } from "../executor/thread.js";
import { JobCancelledError, LeaseLostError, ShutdownError } from "../job/attempt-errors.js";
import { type AnyJobDefinition, assertInt } from "../job/define.js";
import { Pruner, type RetentionPolicy } from "../maintenance/pruner.js";
import type {
  JobFinishUpdate,
  JobRecord,
  JobTypeDefaults,
  JobTypeRegistration,
  Store,
  Unwatch,
} from "../store/store.js";
import { Attempt, type AttemptEnv, type SettledAttempt } from "./attempt.js";
import type { BatchAttempt } from "./batch-attempt.js";
import { Batcher } from "./batcher.js";
import { composeMiddleware, type Middleware } from "./middleware.js";

/** The worker's `executor` option. */
export type WorkerExecutorOption =
  | ExecutorKind
  | ({ kind: "thread" } & ThreadExecutorOptions)
  | ({ kind: "process" } & ProcessExecutorOptions)
  | Executor;

export interface WorkerOptions {
  /** The job types this worker runs. Their queues are the worker's queues unless `queues` is given. */
  jobs: AnyJobDefinition[];
  /** Attempts running at once. Default 10. */
  concurrency?: number;
  /**
   * How this worker runs handlers: `"inline"` (default), `"thread"`, `"process"`, a pool's options
   * (`{ kind: "process", maxWorkers: 4, maxMemoryMb: 256 }`), or an Executor instance (not closed by the
   * worker). A job type that asks for another kind (`defineJob({ executor: "process" })`) gets a pool of that
   * kind with default options, shared by the worker's types of that kind. See docs/guides/executors.md.
   */
  executor?: WorkerExecutorOption;
  /** Default grace period for `stop()`. Default 10,000 ms. */
  graceMs?: number;
  /**
   * On SIGTERM or SIGINT the worker stops gracefully (a second signal skips the rest of the grace period) and
   * closes the app; then, unless another listener for that signal exists (the app's own shutdown), it exits
   * the process with code 0 (1 if stopping failed). Default false: an app that embeds a worker calls
   * `worker.stop()` from its own shutdown.
   */
  handleSignals?: boolean;
  /** Lease renewal period. Default leaseMs / 4. */
  heartbeatMs?: number;
  /** Worker id, unique per running worker. Default `<hostname>:<pid>:<random>`. */
  id?: string;
  /**
   * How long a claim holds a job without a heartbeat: a dead worker's jobs run again after at most this plus
   * the rescue interval. Default 10,000 ms.
   */
  leaseMs?: number;
  /** Slow poll while idle, in case a wake-up hint was missed. Default 1,000 ms. */
  pollMs?: number;
  /**
   * Jobs claimed ahead of free slots, so a slot never waits for the store and one transaction carries many
   * jobs. Default: adaptive, enough to cover about 5 ms of work at the measured job duration (1 for slow
   * jobs, up to 100 for no-op jobs), so slow jobs are not hoarded away from other workers.
   */
  prefetch?: number;
  /** Queues to claim from. Default: every queue of `jobs`. */
  queues?: string[];
  /** Period of the expired-lease rescuer. Default 1,000 ms (less for leases under 6 s). */
  rescueIntervalMs?: number;
}

/** What the Conveyor app hands to its workers. */
export interface WorkerDeps {
  clock: Clock;
  events: TypedEmitter<ConveyorEvents>;
  store: Store;
  /** Called after a stop caused by a signal (handleSignals), before the process exits. */
  onSignalStop?: () => Promise<void>;
  /** The app's retention policy: the worker runs the pruner while it runs. Absent or null: no pruning. */
  retention?: RetentionPolicy | null;
}

export interface StopOptions {
  /** How long running attempts may take to finish before they are aborted and released. */
  graceMs?: number;
}

type WorkerState = "new" | "starting" | "running" | "stopping" | "stopped";

/** Fewest outcomes in each half when a worker splits its outcomes over two calls (see #pump). */
const MIN_SPLIT_OUTCOMES = 16;
const MAX_BACKOFF_MS = 5_000;
const DEFAULT_LEASE_MS = 10_000;
/** The adaptive prefetch holds about this much work beyond the running jobs. */
const PREFETCH_WINDOW_MS = 5;

/**
 * Leases jobs from its queues and runs them, `concurrency` at a time.
 *
 * Finished attempts are written in one batch together with the claim that refills the free slots (one
 * transaction on SQLite), so batches grow with load and a single job never waits for a poll. One store call is
 * in flight at a time on a store whose writes block (SQLite), two on the others (Redis, memory), so the store
 * and the worker's process work at the same time. Leases are renewed by a heartbeat; expired leases (of any
 * worker) are rescued by a periodic rescuer that every worker runs.
 */
export class Worker {
  readonly id: string;
  readonly queues: readonly string[];
  readonly concurrency: number;
  #state: WorkerState = "new";
  readonly #deps: WorkerDeps;
  readonly #defs = new Map<string, AnyJobDefinition>();
  readonly #names: string[];
  readonly #executor: Executor;
  readonly #ownsExecutor: boolean;
  /** Executors of job types that ask for another kind than the worker's (owned by the worker). */
  readonly #typeExecutors = new Map<string, Executor>();
  readonly #middleware: Middleware[] = [];
  /** Fixed prefetch from the options, or null for adaptive. */
  readonly #prefetchOption: number | null;
  /** Moving average of attempt durations (ms), for the adaptive prefetch. */
  #avgDurationMs = 1;
  readonly #leaseMs: number;
  readonly #heartbeatMs: number;
  readonly #rescueMs: number;
  readonly #pollMs: number;
  readonly #graceMs: number;
  readonly #handleSignals: boolean;
  #env: AttemptEnv | null = null;
  /** Started attempts by job id. */
  readonly #running = new Map<string, Attempt>();
  /** Whether one of the job types has `maxConcurrency` (finishing its jobs may make claims succeed again). */
  readonly #hasLimits: boolean;
  /** Claimed, not yet started. */
  #buffer: JobRecord[] = [];
  /** Settled attempts waiting to be written. */
  #pending: SettledAttempt[] = [];
  /** Store calls in flight: at most one when writes block (SQLite), else two (see #maxInFlight). */
  #inFlight = 0;
  /** Jobs the claims in flight asked for: counted as held, so two calls never over-claim. */
  #claiming = 0;
  #pumpQueued = false;
  #mayHaveWork = true;
  /** The last claim got every job it asked for: there is a backlog, so claims are pipelined (see #pump). */
  #claimsFull = false;
  #wakeGeneration = 0;
  #errorStreak = 0;
  #cancelIdle: (() => void) | null = null;
  #cancelHeartbeat: (() => void) | null = null;
  #cancelRescue: (() => void) | null = null;
  #pruner: Pruner | null = null;
  #unwatch: Unwatch | null = null;
  #stopPromise: Promise<void> | null = null;
  #idleWaiters: Array<() => void> = [];
  #signalHandler: ((signal: NodeJS.Signals) => void) | null = null;
  /** Jobs handed back to available by this worker (shutdown releases), for `worker:stopped`. */
  #released = 0;
  /** Keeps the process alive while the worker runs (every other timer is unref'd). */
  #keepAlive: ReturnType<typeof setInterval> | undefined;
  /** Set by the app: closes the store after a signal-driven stop. */
  #onSignalStop: (() => Promise<void>) | null = null;
  /** When the worker started (its registry record's `startedAt`). */
  #startedAt = 0;
  /** The registry beat in flight, awaited before the record is removed at stop. */
  #beating: Promise<void> | null = null;
  /** Set at stop, before the record is removed: no beat after that. */
  #unregistered = false;
  /** Collects jobs of batch types and runs their batches; null when the worker runs no batch type. */
  readonly #batcher: Batcher | null = null;

  constructor(deps: WorkerDeps, options: WorkerOptions) {
    validateWorkerOptions(options);
    this.#deps = deps;
    this.#onSignalStop = deps.onSignalStop ?? null;
    for (const def of options.jobs) {
      if (this.#defs.has(def.name)) throw new OptionsError(`worker options.jobs lists "${def.name}" twice`);
      this.#defs.set(def.name, def);
    }
    this.#names = [...this.#defs.keys()];
    this.#hasLimits = options.jobs.some((def) => def.maxConcurrency !== undefined);
    this.queues = options.queues ?? [...new Set(options.jobs.map((j) => j.queue ?? "default"))];
    this.concurrency = options.concurrency ?? 10;
    this.#prefetchOption = options.prefetch ?? null;
    this.#leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
    this.#heartbeatMs = options.heartbeatMs ?? Math.max(10, Math.floor(this.#leaseMs / 4));
    this.#rescueMs = options.rescueIntervalMs ?? Math.min(1_000, Math.max(10, Math.floor(this.#leaseMs / 6)));
    this.#pollMs = options.pollMs ?? 1_000;
    this.#graceMs = options.graceMs ?? 10_000;
    this.#handleSignals = options.handleSignals ?? false;
    this.id = options.id ?? `${hostname()}:${process.pid}:${randomBytes(3).toString("hex")}`;
    const chosen = options.executor ?? "inline";
    this.#ownsExecutor = typeof chosen === "string" || !("run" in chosen);
    this.#executor = typeof chosen === "object" && "run" in chosen ? chosen : createExecutor(chosen);
    const byKind = new Map<ExecutorKind, Executor>([[this.#executor.kind, this.#executor]]);
    for (const def of options.jobs) {
      if (def.executor === undefined || def.executor === this.#executor.kind) continue;
      let executor = byKind.get(def.executor);
      if (!executor) {
        executor = createExecutor(def.executor);
        byKind.set(def.executor, executor);
      }
      this.#typeExecutors.set(def.name, executor);
    }
    if (options.jobs.some((j) => j.batch)) {
      if (this.#executor.kind !== "inline") {
        throw new OptionsError(
          `worker: batch job types run inline only for now; this worker's executor is "${this.#executor.kind}"`,
        );
      }
      this.#batcher = new Batcher(deps.clock, options.jobs, () => {
        if (this.#state === "running") this.#startBuffered();
      });
    }
  }

  /** Adds middleware (outermost first). Only before `start()`. */
  use(middleware: Middleware): this {
    if (this.#state !== "new") throw new OptionsError("worker.use() must be called before worker.start()");
    if (typeof middleware !== "function")
      throw new OptionsError("worker.use(middleware): middleware must be a function");
    this.#middleware.push(middleware);
    return this;
  }

  /** Attempts running now (each job of a running batch counts). */
  get activeCount(): number {
    return this.#running.size + (this.#batcher?.runningJobs ?? 0);
  }

  get state(): WorkerState {
    return this.#state;
  }

  /** Registers the job types in the store, then starts claiming. Resolves once the worker runs. */
  async start(): Promise<void> {
    if (this.#state !== "new") throw new OptionsError(`worker.start(): the worker is already ${this.#state}`);
    this.#state = "starting";
    const { store, clock, events } = this.#deps;
    await store.jobTypeRegister({ types: [...this.#defs.values()].map(registrationOf), now: clock.now() });
    await Promise.all(this.#ownedExecutors().map((e) => e.start?.()));
    this.#env = {
      clock,
      events,
      executor: this.#executor,
      typeExecutors: this.#typeExecutors.size > 0 ? this.#typeExecutors : null,
      middleware: composeMiddleware(this.#middleware),
      store,
      workerId: this.id,
      reportIntervalMs: 100,
    };
    this.#state = "running";
    this.#startedAt = clock.now();
    await this.#beat();
    this.#keepAlive = setInterval(() => {}, 2 ** 30);
    this.#unwatch = store.watch([...this.queues], () => this.#wake());
    this.#armHeartbeat();
    this.#armRescue();
    if (this.#deps.retention) {
      this.#pruner = new Pruner(store, clock, this.#deps.retention, (err) =>
        events.emit("worker:error", { workerId: this.id, error: coerceError(err) }),
      );
      this.#pruner.start();
    }
    if (this.#handleSignals) this.#installSignals();
    events.emit("worker:started", { workerId: this.id });
    this.#wake();
  }

  /**
   * Graceful stop: no more claims; claimed jobs not yet started are released; running attempts get up to
   * `graceMs` to finish, then their signals are aborted and they are released back to available (their
   * attempt not counted). Every outcome is written before this resolves. Idempotent.
   */
  stop(options: StopOptions = {}): Promise<void> {
    if (this.#stopPromise) return this.#stopPromise;
    // Signal handlers stay installed while stopping, so a second signal still lands here.
    this.#stopPromise = this.#stop(options.graceMs ?? this.#graceMs).finally(() => this.#removeSignals());
    return this.#stopPromise;
  }

  /** Resolves when nothing is running, buffered or waiting to be written (tests and demos). */
  async drained(): Promise<void> {
    if (this.#isIdle()) return;
    await new Promise<void>((resolve) => this.#idleWaiters.push(resolve));
  }

  async #stop(graceMs: number): Promise<void> {
    const { events } = this.#deps;
    if (this.#state === "new") {
      this.#state = "stopped";
      return;
    }
    this.#state = "stopping";
    this.#unwatch?.();
    this.#cancelIdle?.();
    for (const job of this.#buffer.splice(0)) this.#pending.push(releaseOf(job));
    const batcher = this.#batcher;
    if (batcher) for (const job of batcher.takeWaiting()) this.#pending.push(releaseOf(job));
    this.#schedulePump();
    if (this.#running.size > 0 || (batcher && batcher.runningCount > 0)) {
      const runningPromises = (): Array<Promise<unknown>> => [
        ...[...this.#running.values()].map((a) => a.promise),
        ...[...(batcher?.running ?? [])].map((b) => b.promise),
      ];
      let cancelGrace = (): void => {};
      const graceOver = new Promise<void>((resolve) => {
        cancelGrace = this.#deps.clock.setTimeout(resolve, graceMs);
      });
      await Promise.race([Promise.allSettled(runningPromises()), graceOver]);
      cancelGrace();
      for (const attempt of this.#running.values()) attempt.abort(new ShutdownError());
      batcher?.abortRunning(new ShutdownError());
      await Promise.allSettled(runningPromises());
    }
    await this.drained();
    this.#cancelHeartbeat?.();
    this.#cancelRescue?.();
    await this.#unregister();
    await this.#pruner?.stop();
    await Promise.all(this.#ownedExecutors().map((e) => e.close()));
    this.#state = "stopped";
    clearInterval(this.#keepAlive);
    events.emit("worker:stopped", { workerId: this.id, released: this.#released });
  }

  /** The executors this worker created (and so starts and closes). */
  #ownedExecutors(): Executor[] {
    const out = new Set<Executor>(this.#typeExecutors.values());
    if (this.#ownsExecutor) out.add(this.#executor);
    return [...out];
  }

  #isIdle(): boolean {
    return (
      this.#running.size === 0 &&
      this.#buffer.length === 0 &&
      this.#pending.length === 0 &&
      this.#inFlight === 0 &&
      (this.#batcher === null || this.#batcher.held === 0)
    );
  }

  #notifyIdle(): void {
    if (this.#idleWaiters.length === 0 || !this.#isIdle()) return;
    for (const resolve of this.#idleWaiters.splice(0)) resolve();
  }

  /** A hint that jobs may be available (watch, timer, rescue). */
  #wake(): void {
    this.#wakeGeneration++;
    this.#mayHaveWork = true;
    this.#schedulePump();
  }

  #schedulePump(): void {
    if (this.#pumpQueued) return;
    this.#pumpQueued = true;
    // setImmediate lets every attempt that settles in this turn join the same batch.
    setImmediate(() => {
      this.#pumpQueued = false;
      void this.#pump();
    });
  }

  /**
   * Store calls allowed in flight at once. With a store whose writes do not block (Redis, memory), a second
   * call (the outcomes settled meanwhile, plus a claim for the slots the first does not refill) is sent while
   * the first is on the wire, so the store and this process work at the same time. A job's outcome is in
   * exactly one call and is only known after the call that claimed the job returned, so nothing is reordered
   * per job. One at a time on blocking stores (one writer anyway) and while calls are failing (backoff).
   */
  #maxInFlight(): number {
    return this.#deps.store.capabilities.blockingWrites || this.#errorStreak > 0 ? 1 : 2;
  }

  /** The writer: flushes settled attempts and refills free slots in one store call. */
  async #pump(): Promise<void> {
    if (this.#inFlight >= this.#maxInFlight()) return;
    const running = this.#state === "running";
    const held = this.#running.size + this.#buffer.length + (this.#batcher?.held ?? 0) + this.#claiming;
    const capacity = this.#capacity();
    let want = running && this.#mayHaveWork ? capacity - held : 0;
    // While claims come back full (a backlog), split the capacity between the calls allowed in flight, so the
    // store claims the next share while this process runs the last one (the two sides work at once); at low
    // load claims come back short and one call takes them all, as before.
    const pipelined = this.#claimsFull && this.#maxInFlight() > 1;
    if (pipelined) want = Math.min(want, Math.ceil(capacity / this.#maxInFlight()));
    if (this.#pending.length === 0 && want <= 0) {
      this.#notifyIdle();
      return;
    }
    // Many outcomes and no call on the wire: send half now and half in a second call right behind it, so the
    // store applies (and refills) the second half while this process runs what the first refilled. This is
    // what overlaps the two sides when claims are bounded by something else than free slots (per-group FIFO
    // refills a group only when its previous job's outcome is written).
    const split =
      this.#inFlight === 0 && this.#maxInFlight() > 1 && this.#pending.length >= 2 * MIN_SPLIT_OUTCOMES;
    const batch = this.#pending.splice(0, split ? Math.ceil(this.#pending.length / 2) : this.#pending.length);
    if (split) this.#schedulePump();
    this.#released += batch.filter((b) => b.update?.outcome.type === "release").length;
    const updates: JobFinishUpdate[] = [];
    const appliedHooks: Array<() => void> = [];
    for (const s of batch) {
      if (s.update) {
        updates.push(s.update);
        appliedHooks.push(s.onApplied);
      }
    }
    const { store, clock } = this.#deps;
    const claimParams = {
      queues: [...this.queues],
      names: this.#names,
      owner: this.id,
      limit: want,
      leaseMs: this.#leaseMs,
    };
    const generation = this.#wakeGeneration;
    // Slots this call's claim is counted against until its reply is taken (or the call fails).
    let claiming = Math.max(0, want);
    this.#inFlight++;
    this.#claiming += claiming;
    // The next share goes out now, while this call is on the wire (see above).
    if (pipelined && want > 0 && this.#inFlight < this.#maxInFlight()) this.#schedulePump();
    try {
      // Claim first, on its own, when outcome writes are slow (fsync): new jobs start before the older jobs'
      // outcomes are synced. Otherwise claim in the same call as the outcomes (if any): one round trip, whose
      // reply also says when to look again if the claim comes back short.
      const claimApart = want > 0 && store.capabilities.blockingWrites;
      if (claimApart) {
        const jobs = await store.jobClaim({ ...claimParams, now: clock.now() });
        this.#claiming -= claiming;
        claiming = 0;
        this.#takeClaimed(jobs, want, generation, undefined);
      }
      const withClaim = want > 0 && !claimApart;
      if (updates.length > 0 || withClaim) {
        const res = await store.jobFinishMany({
          updates,
          now: clock.now(),
          ...(withClaim ? { claim: claimParams } : {}),
        });
        res.applied.forEach((ok, i) => {
          if (ok) appliedHooks[i]?.();
        });
        if (withClaim) {
          this.#claiming -= claiming;
          claiming = 0;
          this.#takeClaimed(res.claimed, want, generation, res.nextRunAt);
        }
        // A finished job of a type with maxConcurrency frees a slot the last claim may have been short of.
        if (updates.length > 0 && this.#hasLimits && this.#state === "running") this.#wake();
      }
      this.#errorStreak = 0;
    } catch (err) {
      this.#claiming -= claiming;
      // Keep every outcome: they are written on the next try. Claims made in a failed call did not happen.
      this.#released -= batch.filter((b) => b.update?.outcome.type === "release").length;
      this.#pending.unshift(...batch);
      this.#errorStreak++;
      this.#deps.events.emit("worker:error", { workerId: this.id, error: coerceError(err) });
      const delay = Math.min(MAX_BACKOFF_MS, 50 * 2 ** Math.min(this.#errorStreak, 10));
      this.#inFlight--;
      this.#deps.clock.setTimeout(() => this.#schedulePump(), delay);
      return;
    }
    this.#inFlight--;
    if (this.#pending.length > 0 || (this.#mayHaveWork && this.#state === "running")) this.#schedulePump();
    else this.#notifyIdle();
  }

  /**
   * Most jobs to hold (running, buffered, waiting for a batch): concurrency plus prefetch; with batch types,
   * at least enough to fill every slot with a full batch and collect one more.
   */
  #capacity(): number {
    const single = this.concurrency + this.#prefetch();
    if (!this.#batcher) return single;
    return Math.max(single, (this.concurrency + 1) * this.#batcher.maxSize);
  }

  /** How many jobs to hold beyond the running ones (see WorkerOptions.prefetch). */
  #prefetch(): number {
    if (this.#prefetchOption !== null) return this.#prefetchOption;
    const perSlotMs = this.#avgDurationMs / this.concurrency;
    return Math.max(1, Math.min(100, Math.ceil(PREFETCH_WINDOW_MS / Math.max(perSlotMs, 0.001))));
  }

  /**
   * Starts freshly claimed jobs; a short claim means the queues are drained until the next hint. `nextRunAt`
   * is the store's answer to jobNextRunAt read with the claim (JobFinishManyResult), if it gave one.
   */
  #takeClaimed(
    claimed: JobRecord[],
    want: number,
    generation: number,
    nextRunAt: number | null | undefined,
  ): void {
    if (want > 0) this.#claimsFull = claimed.length >= want;
    if (claimed.length < want && generation === this.#wakeGeneration) {
      this.#mayHaveWork = false;
      void this.#armIdle(nextRunAt);
    }
    if (this.#state === "running") {
      if (this.#batcher) this.#collect(claimed, this.#batcher);
      else this.#buffer.push(...claimed);
      this.#startBuffered();
    } else {
      for (const job of claimed) this.#pending.push(releaseOf(job));
    }
  }

  #startBuffered(): void {
    const env = this.#env;
    if (!env) return;
    if (this.#batcher) {
      this.#startWithBatches(env, this.#batcher);
      return;
    }
    while (this.#running.size < this.concurrency && this.#buffer.length > 0) {
      const job = this.#buffer.shift() as JobRecord;
      this.#startOne(env, job);
    }
  }

  /** Starts one claimed single job in a free slot. */
  #startOne(env: AttemptEnv, job: JobRecord): void {
    const def = this.#defs.get(job.name);
    if (!def) {
      // Unreachable while claims filter by name; kept so a bad row cannot wedge a slot.
      this.#pending.push(releaseOf(job));
      return;
    }
    const attempt = new Attempt(env, def, job);
    if (job.cancelRequested) attempt.abort(new JobCancelledError());
    this.#running.set(job.id, attempt);
    const startedAt = performance.now();
    attempt.promise.then((settled) => this.#settled(job.id, settled, performance.now() - startedAt));
  }

  /** Claimed jobs of batch types join their collections (waiting takes no slot); the others are buffered. */
  #collect(claimed: JobRecord[], batcher: Batcher): void {
    for (const job of claimed) {
      const def = this.#defs.get(job.name);
      if (def?.batch) batcher.add(def, job);
      else this.#buffer.push(job);
    }
  }

  /**
   * {@link #startBuffered} for a worker with batch types: free slots go to due batches first, then to buffered
   * single jobs (the same start as the single-job loop).
   */
  #startWithBatches(env: AttemptEnv, batcher: Batcher): void {
    while (this.#running.size + batcher.runningCount < this.concurrency) {
      const batch = batcher.startNext(env);
      if (batch) {
        batch.promise.then((settled) => this.#batchSettled(batch, settled));
        continue;
      }
      const job = this.#buffer.shift();
      if (!job) return;
      this.#startOne(env, job);
    }
  }

  #batchSettled(batch: BatchAttempt, settled: SettledAttempt[]): void {
    this.#batcher?.finished(batch);
    for (const s of settled) this.#pending.push(s);
    if (this.#state === "running") this.#startBuffered();
    this.#schedulePump();
  }

  #settled(id: string, settled: SettledAttempt, durationMs: number): void {
    this.#running.delete(id);
    this.#avgDurationMs += (durationMs - this.#avgDurationMs) * 0.05;
    this.#pending.push(settled);
    if (this.#state === "running") this.#startBuffered();
    this.#schedulePump();
  }

  /**
   * While idle, look again when the next scheduled job is due or a full rate limit of the worker's queues,
   * types or groups frees (so a rate-limited worker sleeps instead of spinning), or after pollMs.
   */
  async #armIdle(known: number | null | undefined): Promise<void> {
    this.#cancelIdle?.();
    const { store, clock } = this.#deps;
    let delay = this.#pollMs;
    try {
      const next =
        known !== undefined
          ? known
          : await store.jobNextRunAt({ queues: [...this.queues], names: this.#names, now: clock.now() });
      if (next !== null) delay = Math.max(0, Math.min(delay, next - clock.now()));
    } catch {
      // The poll still runs; the error surfaces on the next claim.
    }
    if (this.#state !== "running" || this.#mayHaveWork) return;
    this.#cancelIdle = clock.setTimeout(() => {
      this.#cancelIdle = null;
      this.#wake();
    }, delay);
  }

  #armHeartbeat(): void {
    this.#cancelHeartbeat = this.#deps.clock.setTimeout(async () => {
      await Promise.all([this.#heartbeat(), this.#beat()]);
      if (this.#state === "running" || this.#state === "stopping") this.#armHeartbeat();
    }, this.#heartbeatMs);
  }

  /**
   * Announces this worker in the store's registry (`Store.workerBeat`), at start and with every lease
   * heartbeat; the record lives three heartbeats, so a worker that dies drops out of `workers()` soon after.
   * A failed beat is a `worker:error`, never fatal.
   */
  #beat(): Promise<void> {
    if ((this.#state !== "running" && this.#state !== "stopping") || this.#unregistered)
      return Promise.resolve();
    const beat = this.#sendBeat();
    this.#beating = beat;
    return beat;
  }

  async #sendBeat(): Promise<void> {
    const { store, clock, events } = this.#deps;
    const running: string[] = [...this.#running.keys()];
    if (this.#batcher)
      for (const b of this.#batcher.running) for (const a of b.attempts) running.push(a.job.id);
    const kinds = new Set<string>([
      this.#executor.kind,
      ...[...this.#typeExecutors.values()].map((e) => e.kind),
    ]);
    try {
      await store.workerBeat({
        worker: {
          id: this.id,
          hostname: hostname(),
          pid: process.pid,
          queues: [...this.queues],
          names: [...this.#names],
          concurrency: this.concurrency,
          executor: kinds.size === 1 ? this.#executor.kind : "mixed",
          startedAt: this.#startedAt,
          running,
          meta: {
            conveyor: conveyorVersion(),
            node: process.version,
            leaseMs: this.#leaseMs,
            heartbeatMs: this.#heartbeatMs,
          },
        },
        ttlMs: 3 * this.#heartbeatMs,
        now: clock.now(),
      });
    } catch (err) {
      events.emit("worker:error", { workerId: this.id, error: coerceError(err) });
    }
  }

  /** Removes this worker's registry record once no beat is in flight (a clean stop). */
  async #unregister(): Promise<void> {
    const { store, events } = this.#deps;
    this.#unregistered = true;
    await this.#beating;
    try {
      await store.workerRemove({ id: this.id });
    } catch (err) {
      events.emit("worker:error", { workerId: this.id, error: coerceError(err) });
    }
  }

  async #heartbeat(): Promise<void> {
    const leases: Array<{ id: string; token: string }> = [];
    for (const a of this.#running.values()) leases.push({ id: a.job.id, token: a.job.leaseToken ?? "" });
    for (const job of this.#buffer) leases.push({ id: job.id, token: job.leaseToken ?? "" });
    if (this.#batcher) for (const lease of this.#batcher.leases()) leases.push(lease);
    if (leases.length === 0) return;
    const { store, clock, events } = this.#deps;
    try {
      const res = await store.jobLeaseRenew({ leases, leaseMs: this.#leaseMs, now: clock.now() });
      for (const id of res.lost) {
        this.#running.get(id)?.abort(new LeaseLostError());
        this.#buffer = this.#buffer.filter((j) => j.id !== id);
        this.#batcher?.lost(id, new LeaseLostError());
      }
      for (const id of res.cancelRequested) {
        this.#running.get(id)?.abort(new JobCancelledError());
        const buffered = this.#buffer.find((j) => j.id === id);
        if (buffered) buffered.cancelRequested = true;
        this.#batcher?.cancelRequested(id, new JobCancelledError());
      }
    } catch (err) {
      events.emit("worker:error", { workerId: this.id, error: coerceError(err) });
    }
  }

  #armRescue(): void {
    this.#cancelRescue = this.#deps.clock.setTimeout(async () => {
      await this.#rescue();
      if (this.#state === "running") this.#armRescue();
    }, this.#rescueMs);
  }

  async #rescue(): Promise<void> {
    const { store, clock, events } = this.#deps;
    try {
      const res = await store.jobRescue({ now: clock.now(), limit: 1_000 });
      for (const jobId of res.rescued) events.emit("job:stalled", { jobId, outcome: "rescued" });
      for (const jobId of res.cancelled) events.emit("job:stalled", { jobId, outcome: "cancelled" });
      for (const jobId of res.discarded) {
        events.emit("job:stalled", { jobId, outcome: "discarded" });
        events.emit("job:discarded", { job: null, jobId, reason: "stalled too many times" });
      }
      if (res.rescued.length > 0) this.#wake();
    } catch (err) {
      events.emit("worker:error", { workerId: this.id, error: coerceError(err) });
    }
  }

  #installSignals(): void {
    let count = 0;
    this.#signalHandler = (signal: NodeJS.Signals) => {
      count++;
      // A second signal while stopping means "now": skip the rest of the grace period.
      if (count > 1) {
        for (const a of this.#running.values()) a.abort(new ShutdownError());
        this.#batcher?.abortRunning(new ShutdownError());
        return;
      }
      const done = (code: number) => {
        // Another listener for this signal (the app's, or the CLI's) owns the exit; otherwise we do.
        if (process.listenerCount(signal) === 0) process.exit(code);
      };
      this.stop().then(
        () =>
          (this.#onSignalStop?.() ?? Promise.resolve()).then(
            () => done(0),
            () => done(1),
          ),
        () => done(1),
      );
    };
    process.on("SIGTERM", this.#signalHandler);
    process.on("SIGINT", this.#signalHandler);
  }

  #removeSignals(): void {
    if (!this.#signalHandler) return;
    process.off("SIGTERM", this.#signalHandler);
    process.off("SIGINT", this.#signalHandler);
    this.#signalHandler = null;
  }
}

/** What the store remembers of a job type, so enqueue by name applies the definition's options. */
function registrationOf(def: AnyJobDefinition): JobTypeRegistration {
  const defaults: JobTypeDefaults = {};
  if (def.lifo !== undefined) defaults.lifo = def.lifo;
  if (def.retry?.attempts !== undefined) defaults.maxAttempts = def.retry.attempts;
  if (def.maxStalls !== undefined) defaults.maxStalls = def.maxStalls;
  if (def.priority !== undefined) defaults.priority = def.priority;
  if (def.timeoutMs !== undefined) defaults.timeoutMs = def.timeoutMs;
  if (def.group !== undefined) {
    const { rateLimit, ...group } = def.group;
    defaults.group = rateLimit === undefined ? group : { ...group, rateLimit: { ...rateLimit } };
  }
  if (def.maxConcurrency !== undefined) defaults.maxConcurrency = def.maxConcurrency;
  if (def.rateLimit !== undefined)
    defaults.rateLimit = { max: def.rateLimit.max, windowMs: def.rateLimit.windowMs };
  return { name: def.name, queue: def.queue ?? "default", defaults };
}

function releaseOf(job: JobRecord): SettledAttempt {
  return {
    update: { id: job.id, token: job.leaseToken ?? "", outcome: { type: "release" } },
    onApplied: () => {},
  };
}

function validateWorkerOptions(o: WorkerOptions): void {
  if (typeof o !== "object" || o === null)
    throw new OptionsError("worker(options): options must be an object");
  if (!Array.isArray(o.jobs) || o.jobs.length === 0) {
    throw new OptionsError(
      "worker options.jobs must be a non-empty array of job definitions from defineJob()",
    );
  }
  o.jobs.forEach((j, i) => {
    if (typeof j?.name !== "string" || typeof j.handler !== "function") {
      throw new OptionsError(`worker options.jobs[${i}] is not a job definition; create it with defineJob()`);
    }
  });
  assertInt(o.concurrency, "worker options.concurrency", 1, 10_000);
  assertInt(o.prefetch, "worker options.prefetch", 0, 10_000);
  assertInt(o.leaseMs, "worker options.leaseMs", 100);
  assertInt(o.heartbeatMs, "worker options.heartbeatMs", 10);
  assertInt(o.rescueIntervalMs, "worker options.rescueIntervalMs", 10);
  assertInt(o.pollMs, "worker options.pollMs", 1);
  assertInt(o.graceMs, "worker options.graceMs", 0);
  if (o.heartbeatMs !== undefined && o.heartbeatMs >= (o.leaseMs ?? DEFAULT_LEASE_MS)) {
    throw new OptionsError(
      "worker options.heartbeatMs must be shorter than leaseMs (a quarter of it is usual)",
    );
  }
  if (o.queues !== undefined && (!Array.isArray(o.queues) || o.queues.length === 0)) {
    throw new OptionsError("worker options.queues must be a non-empty array of queue names");
  }
  const e = o.executor;
  if (
    e !== undefined &&
    e !== "inline" &&
    e !== "thread" &&
    e !== "process" &&
    !(typeof e === "object" && e !== null && (typeof (e as Executor).run === "function" || isPoolChoice(e)))
  ) {
    throw new OptionsError(
      'worker options.executor must be "inline", "thread", "process", { kind: "thread" | "process", ...poolOptions } or an Executor',
    );
  }
}

function isPoolChoice(e: object): boolean {
  const kind = (e as { kind?: unknown }).kind;
  return kind === "thread" || kind === "process";
}

let version: string | undefined;
/** This package's version, for the worker's registry record ("unknown" when package.json cannot be read). */
function conveyorVersion(): string {
  if (version === undefined) {
    try {
      const pkg = createRequire(import.meta.url)("../../package.json") as { version?: unknown };
      version = typeof pkg.version === "string" ? pkg.version : "unknown";
    } catch {
      version = "unknown";
    }
  }
  return version;
}

/** Builds the executor the worker's `executor` option or a job type names. */
function createExecutor(choice: Exclude<WorkerExecutorOption, Executor>): Executor {
  if (choice === "inline") return new InlineExecutor();
  if (choice === "thread") return new ThreadExecutor();
  if (choice === "process") return new ProcessExecutor();
  const { kind, ...options } = choice;
  return kind === "thread" ? new ThreadExecutor(options) : new ProcessExecutor(options);
}
