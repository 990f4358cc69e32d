import {
  coerceError,
  ExecutorCrashError,
  ExecutorUnavailableError,
  HandlerLoadError,
  NotSerialisableError,
} from "../errors.js";
import { cancel, discard, snooze } from "../job/outcome.js";
import type { AbortHook, AbortListener, ExecutionRequest, HandlerModule } from "./executor.js";
import {
  type ChildMessage,
  fromWireError,
  type ParentMessage,
  PROTOCOL_VERSION,
  type ResultMessage,
  type RunExtra,
  type RunMessage,
  toWireError,
  type WireHeader,
  type WireOutcome,
} from "./protocol.js";

/** Pool settings shared by the thread and process executors. Every field has a default. */
export interface PoolOptions {
  /** Most threads/processes at once (busy, idle or starting). Default: available CPUs (at least 2). */
  maxWorkers?: number;
  /** Threads/processes kept started and idle, ready for the next job (prewarm). Default 1. */
  minIdle?: number;
  /** Most threads/processes starting at once. Default 2. */
  maxInitializing?: number;
  /**
   * A thread/process not ready within this, or not done loading a handler module (its top-level code) within
   * this, is killed (and counts as a crash). Default 10,000 ms.
   */
  initTimeoutMs?: number;
  /** Idle threads/processes beyond `minIdle` are stopped after this long unused. Default 30,000 ms. */
  idleTimeoutMs?: number;
  /** Health ping period. Default 1,000 ms. */
  pingIntervalMs?: number;
  /**
   * A thread/process that has not answered a ping for this long is killed, failing its job with a crash. A
   * handler that blocks its event loop this long counts as unresponsive. Default 30,000 ms.
   */
  pingTimeoutMs?: number;
  /**
   * Jobs sent ahead to a busy thread/process, queued there behind the one it runs, so the round trip overlaps
   * the work (pipelining). Only while the pool is at `maxWorkers` and jobs are short (they take under 1 ms on
   * average, and the one running has not yet taken longer); a child still runs one job at a time, and a job
   * queued in a child that dies is handed to another. 0 turns it off. Default 3.
   */
  maxPipelined?: number;
  /** Recycle a thread/process after this many jobs. Default none (never). */
  maxJobsPerWorker?: number;
  /**
   * Recycle a thread/process after a job when its memory (RSS for a process, V8 heap for a thread, sampled
   * after each job and on each ping) is above this. Default none.
   */
  recycleMemoryMb?: number;
  /** After an abort (timeout, cancel, shutdown), how long the handler may take to stop before it is killed. Default 5,000 ms. */
  killGraceMs?: number;
  /** First delay before respawning after a crash; doubles per consecutive crash. Default 100 ms. */
  respawnBackoffMs?: number;
  /** Longest respawn delay. Default 10,000 ms. */
  respawnBackoffMaxMs?: number;
  /**
   * Circuit breaker: after `maxCrashes` crashes within `windowMs`, the pool rejects jobs (with
   * `ExecutorUnavailableError`) for `cooldownMs`, then tries again. Default 10 crashes in 60,000 ms, 30,000 ms.
   */
  circuitBreaker?: { maxCrashes?: number; windowMs?: number; cooldownMs?: number };
}

/** How a child ended, as its spawner saw it. */
export interface ChildExit {
  code: number | null;
  signal: string | null;
  /** An error the runtime reported (a thread's uncaught exception, out of memory, spawn failure). */
  error?: Error | undefined;
  /** Extra text, such as the end of a process's stderr. */
  detail?: string | undefined;
}

/** A started thread or process, as the pool drives it. */
export interface SpawnedChild {
  /** Sends a message; throws when it cannot be serialised. */
  send(message: ParentMessage): void;
  /** Ends it now: terminate the thread, SIGKILL the process. */
  kill(): void;
  /** Whether it keeps the parent's event loop alive (only while it runs a job). */
  ref(on: boolean): void;
}

/** Starts a child; the spawner calls `onMessage` per message and `onExit` exactly once. */
export type Spawn = (
  onMessage: (message: ChildMessage) => void,
  onExit: (exit: ChildExit) => void,
) => SpawnedChild;

/** What a pool calls its children in messages: "thread" or "process". */
export type ChildNoun = "thread" | "process";

type SlotState = "init" | "idle" | "busy" | "retiring";

/** One job in the pool. Listens for its attempt's abort itself (no closure per job). */
class Task implements AbortListener {
  slot: Slot | null = null;
  aborted: Error | null = null;
  killTimer: ReturnType<typeof setTimeout> | null = null;
  /** Armed while a child loads this job's handler module for the first time (`initTimeoutMs`). */
  loadTimer: ReturnType<typeof setTimeout> | null = null;
  /** The listener on `ctx.signal`, when the request gave no abort hook. */
  signalListener: (() => void) | null = null;

  constructor(
    readonly id: number,
    readonly request: ExecutionRequest,
    readonly module: HandlerModule,
    /** The handler's number in this pool (module and export are sent once per child). */
    readonly handler: number,
    readonly hook: AbortHook | undefined,
    readonly resolve: (value: unknown) => void,
    readonly reject: (err: unknown) => void,
    readonly abortTask: (task: Task, reason: Error) => void,
  ) {}

  onAbort(reason: Error): void {
    this.abortTask(this, reason);
  }
}

interface Slot {
  child: SpawnedChild;
  state: SlotState;
  /** Jobs answered. */
  jobs: number;
  /** Jobs sent and not yet answered, in the order sent: the first runs, the others wait in the child. */
  tasks: Task[];
  /** When the first of `tasks` became first (performance.now()). */
  headSince: number;
  /** Handler numbers this child has been told the module of. */
  known: Set<number>;
  /** `run` messages not sent yet (sent together at the end of this turn of the event loop), with their tasks. */
  outbox: RunMessage[];
  outTasks: Task[];
  /** Recycling: no more jobs; stopped once `tasks` is empty. */
  draining: boolean;
  /** Whether it keeps the parent's event loop alive now. */
  refd: boolean;
  lastPong: number;
  memoryMb: number;
  idleSince: number;
  /** Why the pool killed or stopped it; null when it died on its own (a crash). */
  endReason:
    | "recycle"
    | "abort"
    | "close"
    | "shrink"
    | "unresponsive"
    | "init-timeout"
    | "load-timeout"
    | null;
  fatal: Error | null;
  initTimer: ReturnType<typeof setTimeout> | null;
}

const DEFAULTS = {
  minIdle: 1,
  maxInitializing: 2,
  initTimeoutMs: 10_000,
  idleTimeoutMs: 30_000,
  pingIntervalMs: 1_000,
  pingTimeoutMs: 30_000,
  killGraceMs: 5_000,
  maxPipelined: 3,
  respawnBackoffMs: 100,
  respawnBackoffMaxMs: 10_000,
  maxCrashes: 10,
  crashWindowMs: 60_000,
  cooldownMs: 30_000,
};

/** Pipelining stays off unless jobs take under this long on average (and the running one has not yet). */
const PIPELINE_MAX_MS = 1;

/**
 * A pool of threads or processes speaking the protocol of protocol.ts. The thread and process executors
 * each give it a `Spawn`; nothing in here depends on which. One job runs per child at a time; when jobs are
 * short, a few more may wait queued in the child (`maxPipelined`).
 * @internal
 */
export class Pool {
  readonly #spawn: Spawn;
  readonly #noun: ChildNoun;
  readonly #o: Required<Omit<PoolOptions, "circuitBreaker" | "maxJobsPerWorker" | "recycleMemoryMb">> & {
    maxJobsPerWorker: number;
    recycleMemoryMb: number;
    maxCrashes: number;
    crashWindowMs: number;
    cooldownMs: number;
  };
  readonly #slots = new Set<Slot>();
  /** Idle slots, most recently used last (jobs go to the warmest; shrinking stops the coldest). */
  readonly #idle: Slot[] = [];
  readonly #queue: Task[] = [];
  #nextId = 1;
  /** Handler numbers by `url#export`. */
  readonly #handlers = new Map<string, number>();
  /** The same by module object (a job type's `module` is one object: no key string per job). */
  readonly #handlerOf = new WeakMap<HandlerModule, number>();
  /** Moving average of how long a job takes in a child, ms (Infinity until the first is measured). */
  #avgJobMs = Number.POSITIVE_INFINITY;
  #pingSeq = 0;
  #closed = false;
  #crashes: number[] = [];
  #consecutiveCrashes = 0;
  #nextSpawnAt = 0;
  #circuitUntil = 0;
  #spawnTimer: ReturnType<typeof setTimeout> | null = null;
  #tick: ReturnType<typeof setInterval> | null = null;
  #warmWaiters: Array<() => void> = [];
  /** Slots with an outbox to send, and the pending flush. */
  #unsent: Slot[] = [];
  #flushing: ReturnType<typeof setImmediate> | null = null;
  #exitWaiters: Array<() => void> = [];

  constructor(noun: ChildNoun, spawn: Spawn, options: PoolOptions, defaultMax: number) {
    this.#noun = noun;
    this.#spawn = spawn;
    const cb = options.circuitBreaker ?? {};
    this.#o = {
      maxWorkers: options.maxWorkers ?? defaultMax,
      minIdle: options.minIdle ?? DEFAULTS.minIdle,
      maxInitializing: options.maxInitializing ?? DEFAULTS.maxInitializing,
      initTimeoutMs: options.initTimeoutMs ?? DEFAULTS.initTimeoutMs,
      idleTimeoutMs: options.idleTimeoutMs ?? DEFAULTS.idleTimeoutMs,
      pingIntervalMs: options.pingIntervalMs ?? DEFAULTS.pingIntervalMs,
      pingTimeoutMs: options.pingTimeoutMs ?? DEFAULTS.pingTimeoutMs,
      killGraceMs: options.killGraceMs ?? DEFAULTS.killGraceMs,
      maxPipelined: options.maxPipelined ?? DEFAULTS.maxPipelined,
      respawnBackoffMs: options.respawnBackoffMs ?? DEFAULTS.respawnBackoffMs,
      respawnBackoffMaxMs: options.respawnBackoffMaxMs ?? DEFAULTS.respawnBackoffMaxMs,
      maxJobsPerWorker: options.maxJobsPerWorker ?? Number.POSITIVE_INFINITY,
      recycleMemoryMb: options.recycleMemoryMb ?? Number.POSITIVE_INFINITY,
      maxCrashes: cb.maxCrashes ?? DEFAULTS.maxCrashes,
      crashWindowMs: cb.windowMs ?? DEFAULTS.crashWindowMs,
      cooldownMs: cb.cooldownMs ?? DEFAULTS.cooldownMs,
    };
    if (this.#o.minIdle > this.#o.maxWorkers) this.#o.minIdle = this.#o.maxWorkers;
  }

  /** Threads/processes alive now (any state). */
  get size(): number {
    return this.#slots.size;
  }

  /** Prewarms `minIdle` children; resolves when none is starting any more. */
  start(): Promise<void> {
    this.#ensureTick();
    this.#fill();
    if (this.#initializing() === 0) return Promise.resolve();
    return new Promise((resolve) => this.#warmWaiters.push(resolve));
  }

  run(request: ExecutionRequest): Promise<unknown> {
    if (this.#closed)
      return Promise.reject(new ExecutorUnavailableError(`the ${this.#noun} executor is closed`));
    const module = request.module;
    if (!module) {
      return Promise.reject(
        new HandlerLoadError(
          `job type "${request.ctx.name}" has no handler module: the ${this.#noun} executor runs handlers defined with defineJob({ module })`,
        ),
      );
    }
    if (Date.now() < this.#circuitUntil) return Promise.reject(this.#circuitError());
    const hook = request.abort;
    if (hook) {
      if (hook.reason) return Promise.reject(hook.reason);
    } else if (request.ctx.signal.aborted) return Promise.reject(request.ctx.signal.reason);
    let handler = this.#handlerOf.get(module);
    if (handler === undefined) {
      const key = `${module.url}#${module.export}`;
      handler = this.#handlers.get(key);
      if (handler === undefined) {
        handler = this.#handlers.size;
        this.#handlers.set(key, handler);
      }
      this.#handlerOf.set(module, handler);
    }
    const promise = new Promise<unknown>(this.#capture);
    const task = new Task(
      this.#nextId++,
      request,
      module,
      handler,
      hook,
      this.#resolveNext,
      this.#rejectNext,
      this.#abortFn,
    );
    if (hook) hook.listen(task);
    else {
      const signal = request.ctx.signal;
      task.signalListener = () => this.#abortTask(task, coerceError(signal.reason));
      signal.addEventListener("abort", task.signalListener, { once: true });
    }
    this.#queue.push(task);
    this.#ensureTick();
    this.#dispatch();
    return promise;
  }

  /** The promise executor of `run` (one function for the pool, not a closure per job). */
  readonly #capture = (resolve: (value: unknown) => void, reject: (err: unknown) => void): void => {
    this.#resolveNext = resolve;
    this.#rejectNext = reject;
  };
  #resolveNext: (value: unknown) => void = noop;
  #rejectNext: (err: unknown) => void = noop;
  readonly #abortFn = (task: Task, reason: Error): void => this.#abortTask(task, reason);

  /** Stops every child: a `close` message, then a kill after a short grace. Rejects queued jobs. */
  async close(): Promise<void> {
    if (this.#closed && this.#slots.size === 0) return;
    this.#closed = true;
    if (this.#tick) clearInterval(this.#tick);
    if (this.#spawnTimer) clearTimeout(this.#spawnTimer);
    for (const task of this.#queue.splice(0)) {
      this.#settle(task, () =>
        task.reject(new ExecutorUnavailableError(`the ${this.#noun} executor is closed`)),
      );
    }
    for (const slot of this.#slots) this.#stopSlot(slot, "close", 1_000);
    while (this.#slots.size > 0) await new Promise<void>((resolve) => this.#exitWaiters.push(resolve));
    for (const resolve of this.#warmWaiters.splice(0)) resolve();
  }

  #circuitError(): ExecutorUnavailableError {
    return new ExecutorUnavailableError(
      `the ${this.#noun} executor's circuit breaker is open: ${this.#o.maxCrashes} crashes within ${this.#o.crashWindowMs} ms; jobs are refused until ${new Date(this.#circuitUntil).toISOString()}`,
    );
  }

  #initializing(): number {
    let n = 0;
    for (const s of this.#slots) if (s.state === "init") n++;
    return n;
  }

  #ensureTick(): void {
    if (this.#tick || this.#closed) return;
    this.#tick = setInterval(() => this.#onTick(), this.#o.pingIntervalMs);
    this.#tick.unref();
  }

  /**
   * Hands queued jobs to idle children, pipelines to busy ones when jobs are short, and starts children for
   * the rest (and for `minIdle`).
   */
  #dispatch(): void {
    while (this.#queue.length > 0) {
      const slot = this.#idle.pop() ?? this.#pipelineSlot();
      if (!slot) break;
      const task = this.#queue.shift() as Task;
      this.#assign(slot, task);
    }
    this.#fill();
  }

  /** The busy child with the fewest jobs that may take one more queued behind its running job, if any. */
  #pipelineSlot(): Slot | undefined {
    const o = this.#o;
    if (o.maxPipelined === 0 || this.#avgJobMs >= PIPELINE_MAX_MS || this.#slots.size < o.maxWorkers) return;
    const now = performance.now();
    let best: Slot | undefined;
    for (const slot of this.#slots) {
      const n = slot.tasks.length;
      if (
        slot.state === "busy" &&
        !slot.draining &&
        n <= o.maxPipelined &&
        slot.jobs + n < o.maxJobsPerWorker &&
        now - slot.headSince < PIPELINE_MAX_MS &&
        (!best || n < best.tasks.length)
      )
        best = slot;
    }
    return best;
  }

  /** Starts children while jobs wait or fewer than `minIdle` are idle, within the limits. */
  #fill(): void {
    if (this.#closed || this.#slots.size >= this.#o.maxWorkers) return;
    const now = Date.now();
    if (now < this.#circuitUntil) return;
    let starting = this.#initializing();
    while (
      this.#slots.size < this.#o.maxWorkers &&
      starting < this.#o.maxInitializing &&
      (this.#queue.length > starting || this.#idle.length + starting < this.#o.minIdle)
    ) {
      if (now < this.#nextSpawnAt) {
        if (!this.#spawnTimer) {
          this.#spawnTimer = setTimeout(() => {
            this.#spawnTimer = null;
            this.#dispatch();
          }, this.#nextSpawnAt - now);
        }
        return;
      }
      this.#startSlot();
      starting++;
    }
  }

  #startSlot(): void {
    const slot: Slot = {
      child: undefined as unknown as SpawnedChild,
      state: "init",
      jobs: 0,
      tasks: [],
      outbox: [],
      outTasks: [],
      headSince: 0,
      known: new Set(),
      draining: false,
      refd: true,
      lastPong: Date.now(),
      memoryMb: 0,
      idleSince: Date.now(),
      endReason: null,
      fatal: null,
      initTimer: null,
    };
    this.#slots.add(slot);
    try {
      slot.child = this.#spawn(
        (msg) => this.#onMessage(slot, msg),
        (exit) => this.#onExit(slot, exit),
      );
    } catch (err) {
      this.#slots.delete(slot);
      this.#recordCrash();
      this.#failQueued(coerceError(err));
      return;
    }
    slot.initTimer = setTimeout(() => {
      slot.initTimer = null;
      if (slot.state === "init") this.#kill(slot, "init-timeout");
    }, this.#o.initTimeoutMs);
    slot.initTimer.unref();
  }

  #assign(slot: Slot, task: Task): void {
    const ctx = task.request.ctx;
    const job = ctx.job as Partial<WireHeader> | null;
    const message: RunMessage = [task.id, task.handler, task.request.data, job];
    let extra: RunExtra | undefined;
    if (
      job === null ||
      typeof job !== "object" ||
      job.id !== ctx.id ||
      job.name !== ctx.name ||
      job.queue !== ctx.queue ||
      job.attempt !== ctx.attempt ||
      job.maxAttempts !== ctx.maxAttempts
    ) {
      extra = {
        ctx: {
          id: ctx.id,
          name: ctx.name,
          queue: ctx.queue,
          attempt: ctx.attempt,
          maxAttempts: ctx.maxAttempts,
        },
      };
    }
    const first = !slot.known.has(task.handler);
    if (first) {
      extra ??= {};
      extra.module = task.module.url;
      extra.export = task.module.export;
    }
    if (this.#o.recycleMemoryMb !== Number.POSITIVE_INFINITY) {
      extra ??= {};
      extra.m = 1;
    }
    if (extra) message.push(extra);
    if (slot.tasks.length === 0) {
      // An idle child: send now (the lowest latency); jobs that follow in this turn go in one batch.
      try {
        slot.child.send(message);
      } catch (err) {
        this.#settle(task, () =>
          task.reject(
            new NotSerialisableError(
              `the job's data cannot be sent to the ${this.#noun}: ${coerceError(err).message}`,
              { cause: err },
            ),
          ),
        );
        this.#idle.push(slot);
        return;
      }
    } else if (slot.outbox.push(message) === 1) {
      this.#unsent.push(slot);
      this.#flushing ??= setImmediate(() => this.#flushAll());
      slot.outTasks.push(task);
    } else slot.outTasks.push(task);
    if (first) {
      slot.known.add(task.handler);
      this.#armLoadTimer(slot, task);
    }
    task.slot = slot;
    if (slot.tasks.push(task) === 1) {
      slot.state = "busy";
      slot.headSince = performance.now();
      if (!slot.refd) {
        slot.refd = true;
        slot.child.ref(true);
      }
    }
  }

  /**
   * The child loads the job's handler module (its top-level code) before running it: that is part of getting
   * ready, so it gets `initTimeoutMs` too, counted while the job is the one the child runs.
   */
  #armLoadTimer(slot: Slot, task: Task): void {
    task.loadTimer = setTimeout(() => {
      task.loadTimer = null;
      if (task.slot !== slot || !this.#slots.has(slot)) return;
      if (slot.tasks[0] === task) this.#kill(slot, "load-timeout");
      else this.#armLoadTimer(slot, task);
    }, this.#o.initTimeoutMs);
    task.loadTimer.unref();
  }

  #flushAll(): void {
    this.#flushing = null;
    for (const slot of this.#unsent.splice(0)) this.#flush(slot);
  }

  /** Sends a child its unsent `run` messages: one message, or one `batch`. */
  #flush(slot: Slot): void {
    const messages = slot.outbox;
    if (messages.length === 0) return;
    const tasks = slot.outTasks;
    slot.outbox = [];
    slot.outTasks = [];
    if (!this.#slots.has(slot) || slot.state !== "busy") return;
    try {
      slot.child.send(messages.length === 1 ? (messages[0] as ParentMessage) : { t: "batch", messages });
      return;
    } catch (err) {
      if (messages.length === 1) {
        this.#unsendable(slot, tasks[0] as Task, err);
        return;
      }
    }
    // Something in the batch cannot be sent: send one by one to fail only the jobs that cannot cross.
    const unknown = new Set<number>();
    for (let i = 0; i < messages.length; i++) {
      const message = messages[i] as RunMessage;
      const task = tasks[i] as Task;
      const h = task.handler;
      if (unknown.has(h) && message[4]?.module === undefined) {
        const extra: RunExtra = message[4] ?? {};
        extra.module = task.module.url;
        extra.export = task.module.export;
        message[4] = extra;
      }
      try {
        slot.child.send(message);
        unknown.delete(h);
      } catch (err) {
        if (message[4]?.module !== undefined) unknown.add(h);
        this.#unsendable(slot, task, err);
      }
    }
    for (const h of unknown) slot.known.delete(h);
  }

  /** A job whose data cannot be sent: it fails, and leaves the child's list. */
  #unsendable(slot: Slot, task: Task, err: unknown): void {
    const i = slot.tasks.indexOf(task);
    if (i >= 0) slot.tasks.splice(i, 1);
    if (i === 0) slot.headSince = performance.now();
    this.#settle(task, () =>
      task.reject(
        new NotSerialisableError(
          `the job's data cannot be sent to the ${this.#noun}: ${coerceError(err).message}`,
          {
            cause: err,
          },
        ),
      ),
    );
    if (slot.tasks.length === 0 && slot.state === "busy") {
      if (slot.draining) this.#stopSlot(slot, "recycle", this.#o.killGraceMs);
      else this.#makeIdle(slot);
    }
  }

  #onMessage(slot: Slot, msg: ChildMessage): void {
    if (Array.isArray(msg)) {
      this.#answered(slot, msg[0], msg);
      return;
    }
    switch (msg.t) {
      case "ready": {
        if (slot.state !== "init") return;
        if (slot.initTimer) clearTimeout(slot.initTimer);
        slot.initTimer = null;
        if (msg.v !== PROTOCOL_VERSION) {
          slot.fatal = new Error(`speaks protocol version ${msg.v}, this pool speaks ${PROTOCOL_VERSION}`);
          this.#kill(slot, null);
          return;
        }
        slot.lastPong = Date.now();
        this.#makeIdle(slot);
        this.#wakeWarmWaiters();
        return;
      }
      case "pong":
        slot.lastPong = Date.now();
        slot.memoryMb = msg.memoryMb;
        return;
      case "loaded": {
        const task = runningTask(slot, msg.id);
        if (task?.loadTimer) {
          clearTimeout(task.loadTimer);
          task.loadTimer = null;
        }
        return;
      }
      case "progress": {
        const task = runningTask(slot, msg.id);
        if (task && !task.aborted) task.request.ctx.progress(msg.value);
        return;
      }
      case "log": {
        const task = runningTask(slot, msg.id);
        if (task && !task.aborted) task.request.ctx.log(msg.message, msg.level as "info");
        return;
      }
      case "result":
      case "error":
        this.#answered(slot, msg.id, msg);
        return;
      case "fatal":
        slot.fatal = fromWireError(msg.error);
        return;
    }
  }

  /** A job's answer: settle it, then give the child its next job (or recycle it). */
  #answered(
    slot: Slot,
    id: number,
    msg: ResultMessage | Extract<ChildMessage, { t: "result" } | { t: "error" }>,
  ): void {
    const tasks = slot.tasks;
    let i = 0;
    if (tasks[0]?.id !== id) {
      i = tasks.findIndex((t) => t.id === id);
      if (i < 0) return;
    }
    const task = tasks[i] as Task;
    tasks.splice(i, 1);
    slot.jobs++;
    const ok = Array.isArray(msg) || msg.t === "result";
    if (!Array.isArray(msg) && msg.memoryMb !== undefined) slot.memoryMb = msg.memoryMb;
    slot.lastPong = Date.now();
    if (i === 0 && ok) {
      const now = performance.now();
      const took = now - slot.headSince;
      this.#avgJobMs = this.#avgJobMs === Number.POSITIVE_INFINITY ? took : this.#avgJobMs * 0.9 + took * 0.1;
      slot.headSince = now;
    } else if (i === 0) slot.headSince = performance.now();
    if (Array.isArray(msg)) {
      this.#consecutiveCrashes = 0;
      this.#release(task);
      task.resolve(msg[1]);
    } else if (msg.t === "result") {
      this.#consecutiveCrashes = 0;
      const value = msg.outcome ? outcomeOf(msg.outcome) : msg.value;
      this.#settle(task, () => task.resolve(value));
    } else {
      const aborted = task.aborted;
      const err =
        msg.failure === "aborted" && aborted
          ? aborted
          : msg.failure === "load"
            ? new HandlerLoadError(msg.error.message)
            : msg.failure === "serialise"
              ? new NotSerialisableError(msg.error.message)
              : fromWireError(msg.error);
      this.#settle(task, () => task.reject(err));
    }
    if (slot.state !== "busy") return;
    if (slot.jobs >= this.#o.maxJobsPerWorker || slot.memoryMb > this.#o.recycleMemoryMb)
      slot.draining = true;
    if (tasks.length > 0) {
      if (this.#queue.length > 0) this.#dispatch();
    } else if (slot.draining) {
      this.#stopSlot(slot, "recycle", this.#o.killGraceMs);
      this.#dispatch();
    } else this.#makeIdle(slot);
  }

  #makeIdle(slot: Slot): void {
    slot.state = "idle";
    slot.idleSince = Date.now();
    const task = this.#queue.shift();
    if (task) this.#assign(slot, task);
    else {
      // Idle children do not keep the parent alive; starting and busy ones do.
      if (slot.refd) {
        slot.refd = false;
        slot.child.ref(false);
      }
      this.#idle.push(slot);
    }
  }

  #onExit(slot: Slot, exit: ChildExit): void {
    if (!this.#slots.delete(slot)) return;
    if (slot.initTimer) clearTimeout(slot.initTimer);
    const i = this.#idle.indexOf(slot);
    if (i >= 0) this.#idle.splice(i, 1);
    const reason = slot.endReason;
    const crashed =
      reason === null || reason === "unresponsive" || reason === "init-timeout" || reason === "load-timeout";
    const tasks = slot.tasks.splice(0);
    const task = tasks[0];
    if (task) {
      if (task.aborted) {
        const aborted = task.aborted;
        this.#settle(task, () => task.reject(aborted));
      } else {
        const err = this.#crashError(slot, exit, task);
        this.#settle(task, () => task.reject(err));
      }
    }
    // Jobs queued behind it never started: another child takes them (in order), unless they were aborted.
    const requeue: Task[] = [];
    for (let i = 1; i < tasks.length; i++) {
      const t = tasks[i] as Task;
      const aborted = t.aborted;
      if (aborted) this.#settle(t, () => t.reject(aborted));
      else if (this.#closed)
        this.#settle(t, () => t.reject(new ExecutorUnavailableError(`the ${this.#noun} executor is closed`)));
      else {
        t.slot = null;
        requeue.push(t);
      }
    }
    if (requeue.length > 0) this.#queue.unshift(...requeue);
    if (crashed && !this.#closed) {
      if (slot.state === "init" && !task) this.#failQueuedIfStuck(this.#crashError(slot, exit));
      this.#recordCrash();
    }
    for (const resolve of this.#exitWaiters.splice(0)) resolve();
    this.#wakeWarmWaiters();
    if (!this.#closed) this.#dispatch();
  }

  /** A child that dies before it is ready, with nothing else running, fails the waiting jobs (no spin). */
  #failQueuedIfStuck(err: Error): void {
    if (this.#consecutiveCrashes + 1 >= 3 && ![...this.#slots].some((s) => s.state !== "init")) {
      this.#failQueued(err);
    }
  }

  #failQueued(err: Error): void {
    for (const task of this.#queue.splice(0)) this.#settle(task, () => task.reject(err));
  }

  #recordCrash(): void {
    const now = Date.now();
    this.#consecutiveCrashes++;
    const delay = Math.min(
      this.#o.respawnBackoffMaxMs,
      this.#o.respawnBackoffMs * 2 ** Math.min(30, this.#consecutiveCrashes - 1),
    );
    this.#nextSpawnAt = now + delay;
    this.#crashes.push(now);
    while (this.#crashes.length > 0 && (this.#crashes[0] as number) <= now - this.#o.crashWindowMs)
      this.#crashes.shift();
    if (this.#crashes.length >= this.#o.maxCrashes) {
      this.#circuitUntil = now + this.#o.cooldownMs;
      this.#crashes = [];
      this.#failQueued(this.#circuitError());
      const t = setTimeout(() => this.#dispatch(), this.#o.cooldownMs);
      t.unref();
    }
  }

  #crashError(slot: Slot, exit: ChildExit, task?: Task): ExecutorCrashError {
    const noun = this.#noun;
    const parts: string[] = [];
    const oom =
      (exit.error as { code?: string } | undefined)?.code === "ERR_WORKER_OUT_OF_MEMORY" ||
      /heap out of memory|Reached heap limit/i.test(exit.detail ?? "");
    if (slot.endReason === "unresponsive")
      parts.push(`stopped answering health pings for ${this.#o.pingTimeoutMs} ms and was killed`);
    else if (slot.endReason === "init-timeout")
      parts.push(`did not start within ${this.#o.initTimeoutMs} ms and was killed`);
    else if (slot.endReason === "load-timeout") {
      parts.push(
        `did not load the handler module ${task?.module.url ?? ""} within ${this.#o.initTimeoutMs} ms (initTimeoutMs) and was killed`,
      );
    } else if (oom) parts.push("ran out of memory");
    else if (slot.fatal ?? exit.error) {
      const e = (slot.fatal ?? exit.error) as Error;
      parts.push(`died of an uncaught exception: ${e.name}: ${e.message}`);
    } else parts.push("exited");
    if (exit.signal) parts.push(`(signal ${exit.signal})`);
    else if (exit.code !== null) parts.push(`(exit code ${exit.code})`);
    const err = new ExecutorCrashError(
      `the ${noun} running the job ${parts.join(" ")}`,
      exit.code,
      exit.signal,
    );
    const cause = slot.fatal ?? exit.error;
    if (cause?.stack) err.stack = `${err.name}: ${err.message}\n  caused by: ${cause.stack}`;
    return err;
  }

  #abortTask(task: Task, reason: Error): void {
    if (task.aborted) return;
    task.aborted = reason;
    const slot = task.slot;
    if (!slot) {
      const i = this.#queue.indexOf(task);
      if (i >= 0) this.#queue.splice(i, 1);
      this.#settle(task, () => task.reject(reason));
      return;
    }
    try {
      this.#flush(slot);
      slot.child.send({ t: "abort", id: task.id, reason: toWireError(reason) });
    } catch {
      // Unreachable child: the kill below ends it.
    }
    task.killTimer = setTimeout(() => {
      task.killTimer = null;
      if (task.slot !== slot) return;
      if (slot.tasks[0] === task) {
        this.#kill(slot, "abort");
        return;
      }
      // Still queued behind a running job that has not ended: it never started; leave it to the child to drop.
      const i = slot.tasks.indexOf(task);
      if (i >= 0) slot.tasks.splice(i, 1);
      this.#settle(task, () => task.reject(reason));
    }, this.#o.killGraceMs);
    task.killTimer.unref();
  }

  #settle(task: Task, finish: () => void): void {
    this.#release(task);
    finish();
  }

  /** Clears a task's timer and abort listener before it settles. */
  #release(task: Task): void {
    if (task.killTimer) {
      clearTimeout(task.killTimer);
      task.killTimer = null;
    }
    if (task.loadTimer) {
      clearTimeout(task.loadTimer);
      task.loadTimer = null;
    }
    if (task.hook) task.hook.unlisten(task);
    else if (task.signalListener) {
      task.request.ctx.signal.removeEventListener("abort", task.signalListener);
      task.signalListener = null;
    }
    task.slot = null;
  }

  /** Asks a child to exit; kills it if it has not after `graceMs`. */
  #stopSlot(slot: Slot, reason: NonNullable<Slot["endReason"]>, graceMs: number): void {
    slot.endReason ??= reason;
    slot.state = "retiring";
    const i = this.#idle.indexOf(slot);
    if (i >= 0) this.#idle.splice(i, 1);
    // Until it has exited, it keeps the parent alive (close() waits for it).
    slot.refd = true;
    slot.child.ref(true);
    if (slot.tasks.length > 0) {
      this.#kill(slot, reason);
      return;
    }
    try {
      slot.child.send({ t: "close" });
    } catch {
      this.#kill(slot, reason);
      return;
    }
    const t = setTimeout(() => {
      if (this.#slots.has(slot)) slot.child.kill();
    }, graceMs);
    t.unref();
  }

  #kill(slot: Slot, reason: Slot["endReason"]): void {
    slot.endReason ??= reason;
    slot.state = "retiring";
    const i = this.#idle.indexOf(slot);
    if (i >= 0) this.#idle.splice(i, 1);
    slot.child.kill();
  }

  #wakeWarmWaiters(): void {
    if (this.#warmWaiters.length > 0 && this.#initializing() === 0) {
      for (const resolve of this.#warmWaiters.splice(0)) resolve();
    }
  }

  /** Pings, kills the unresponsive, shrinks idle children beyond `minIdle`. */
  #onTick(): void {
    const now = Date.now();
    const seq = ++this.#pingSeq;
    for (const slot of this.#slots) {
      if (slot.state !== "idle" && slot.state !== "busy") continue;
      if (now - slot.lastPong > this.#o.pingTimeoutMs) {
        this.#kill(slot, "unresponsive");
        continue;
      }
      try {
        this.#flush(slot);
        slot.child.send({ t: "ping", seq });
      } catch {
        this.#kill(slot, "unresponsive");
      }
    }
    let spare = this.#idle.length - this.#o.minIdle;
    for (let i = 0; spare > 0 && i < this.#idle.length; ) {
      const slot = this.#idle[i] as Slot;
      if (now - slot.idleSince >= this.#o.idleTimeoutMs) {
        this.#stopSlot(slot, "shrink", this.#o.killGraceMs);
        spare--;
      } else i++;
    }
    this.#fill();
  }
}

/** The job `id` sent to `slot` (normally the first, the one running). */
function runningTask(slot: Slot, id: number): Task | undefined {
  const head = slot.tasks[0];
  return head?.id === id ? head : slot.tasks.find((t) => t.id === id);
}

function noop(): void {}

function outcomeOf(w: WireOutcome): unknown {
  if (w.kind === "snooze") return snooze(w.delayMs);
  return w.kind === "cancel" ? cancel(w.reason) : discard(w.reason);
}
