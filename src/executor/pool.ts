import {
  coerceError,
  ExecutorCrashError,
  ExecutorUnavailableError,
  HandlerLoadError,
  NotSerialisableError,
} from "../errors.js";
import { cancel, discard, snooze } from "../job/outcome.js";
import type { ExecutionRequest, HandlerModule } from "./executor.js";
import {
  type ChildMessage,
  fromWireError,
  type ParentMessage,
  PROTOCOL_VERSION,
  toWireError,
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
  /** A thread/process not ready within this is killed (and counts as a crash). Default 10,000 ms. */
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

interface Task {
  id: number;
  request: ExecutionRequest;
  module: HandlerModule;
  resolve(value: unknown): void;
  reject(err: unknown): void;
  slot: Slot | null;
  aborted: Error | null;
  killTimer: ReturnType<typeof setTimeout> | null;
  onAbort: (() => void) | null;
}

interface Slot {
  child: SpawnedChild;
  state: SlotState;
  jobs: number;
  task: Task | null;
  lastPong: number;
  memoryMb: number;
  idleSince: number;
  /** Why the pool killed or stopped it; null when it died on its own (a crash). */
  endReason: "recycle" | "abort" | "close" | "shrink" | "unresponsive" | "init-timeout" | null;
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
  respawnBackoffMs: 100,
  respawnBackoffMaxMs: 10_000,
  maxCrashes: 10,
  crashWindowMs: 60_000,
  cooldownMs: 30_000,
};

/**
 * A pool of threads or processes speaking the protocol of protocol.ts. The thread and process executors
 * each give it a `Spawn`; nothing in here depends on which. One job per child at a time.
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
  #pingSeq = 0;
  #closed = false;
  #crashes: number[] = [];
  #consecutiveCrashes = 0;
  #nextSpawnAt = 0;
  #circuitUntil = 0;
  #spawnTimer: ReturnType<typeof setTimeout> | null = null;
  #tick: ReturnType<typeof setInterval> | null = null;
  #warmWaiters: Array<() => void> = [];
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
    const signal = request.ctx.signal;
    if (signal.aborted) return Promise.reject(signal.reason);
    return new Promise((resolve, reject) => {
      const task: Task = {
        id: this.#nextId++,
        request,
        module,
        resolve,
        reject,
        slot: null,
        aborted: null,
        killTimer: null,
        onAbort: null,
      };
      task.onAbort = () => this.#abortTask(task, coerceError(signal.reason));
      signal.addEventListener("abort", task.onAbort, { once: true });
      this.#queue.push(task);
      this.#ensureTick();
      this.#dispatch();
    });
  }

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

  /** Hands queued jobs to idle children and starts children for the rest (and for `minIdle`). */
  #dispatch(): void {
    while (this.#queue.length > 0) {
      const slot = this.#idle.pop();
      if (!slot) break;
      const task = this.#queue.shift() as Task;
      this.#assign(slot, task);
    }
    this.#fill();
  }

  /** Starts children while jobs wait or fewer than `minIdle` are idle, within the limits. */
  #fill(): void {
    if (this.#closed) return;
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
      task: null,
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
    const message: ParentMessage = {
      t: "run",
      id: task.id,
      module: task.module.url,
      export: task.module.export,
      data: task.request.data,
      ctx: {
        id: ctx.id,
        name: ctx.name,
        queue: ctx.queue,
        attempt: ctx.attempt,
        maxAttempts: ctx.maxAttempts,
        job: ctx.job,
      },
    };
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
    slot.state = "busy";
    slot.task = task;
    task.slot = slot;
    slot.child.ref(true);
  }

  #onMessage(slot: Slot, msg: ChildMessage): void {
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
      case "progress": {
        const task = slot.task;
        if (task && task.id === msg.id && !task.aborted) task.request.ctx.progress(msg.value);
        return;
      }
      case "log": {
        const task = slot.task;
        if (task && task.id === msg.id && !task.aborted)
          task.request.ctx.log(msg.message, msg.level as "info");
        return;
      }
      case "result":
      case "error": {
        const task = slot.task;
        if (!task || task.id !== msg.id) return;
        slot.task = null;
        slot.jobs++;
        slot.memoryMb = msg.memoryMb;
        slot.lastPong = Date.now();
        if (msg.t === "result") {
          this.#consecutiveCrashes = 0;
          const value = msg.outcome ? outcomeOf(msg.outcome) : msg.value;
          this.#settle(task, () => task.resolve(value));
        } else {
          const err =
            msg.failure === "load"
              ? new HandlerLoadError(msg.error.message)
              : msg.failure === "serialise"
                ? new NotSerialisableError(msg.error.message)
                : fromWireError(msg.error);
          this.#settle(task, () => task.reject(err));
        }
        if (slot.jobs >= this.#o.maxJobsPerWorker || slot.memoryMb > this.#o.recycleMemoryMb) {
          this.#stopSlot(slot, "recycle", this.#o.killGraceMs);
          this.#dispatch();
        } else this.#makeIdle(slot);
        return;
      }
      case "fatal":
        slot.fatal = fromWireError(msg.error);
        return;
    }
  }

  #makeIdle(slot: Slot): void {
    slot.state = "idle";
    slot.idleSince = Date.now();
    const task = this.#queue.shift();
    if (task) this.#assign(slot, task);
    else {
      // Idle children do not keep the parent alive; starting and busy ones do.
      slot.child.ref(false);
      this.#idle.push(slot);
    }
  }

  #onExit(slot: Slot, exit: ChildExit): void {
    if (!this.#slots.delete(slot)) return;
    if (slot.initTimer) clearTimeout(slot.initTimer);
    const i = this.#idle.indexOf(slot);
    if (i >= 0) this.#idle.splice(i, 1);
    const reason = slot.endReason;
    const crashed = reason === null || reason === "unresponsive" || reason === "init-timeout";
    const task = slot.task;
    slot.task = null;
    if (task) {
      if (task.aborted) {
        const aborted = task.aborted;
        this.#settle(task, () => task.reject(aborted));
      } else {
        const err = this.#crashError(slot, exit);
        this.#settle(task, () => task.reject(err));
      }
    }
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

  #crashError(slot: Slot, exit: ChildExit): ExecutorCrashError {
    const noun = this.#noun;
    const parts: string[] = [];
    const oom =
      (exit.error as { code?: string } | undefined)?.code === "ERR_WORKER_OUT_OF_MEMORY" ||
      /heap out of memory|Reached heap limit/i.test(exit.detail ?? "");
    if (slot.endReason === "unresponsive")
      parts.push(`stopped answering health pings for ${this.#o.pingTimeoutMs} ms and was killed`);
    else if (slot.endReason === "init-timeout")
      parts.push(`did not start within ${this.#o.initTimeoutMs} ms and was killed`);
    else if (oom) parts.push("ran out of memory");
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
      slot.child.send({ t: "abort", id: task.id, reason: toWireError(reason) });
    } catch {
      // Unreachable child: the kill below ends it.
    }
    task.killTimer = setTimeout(() => {
      task.killTimer = null;
      if (slot.task === task) this.#kill(slot, "abort");
    }, this.#o.killGraceMs);
    task.killTimer.unref();
  }

  #settle(task: Task, finish: () => void): void {
    if (task.killTimer) clearTimeout(task.killTimer);
    task.killTimer = null;
    if (task.onAbort) task.request.ctx.signal.removeEventListener("abort", task.onAbort);
    task.onAbort = null;
    task.slot = null;
    finish();
  }

  /** Asks a child to exit; kills it if it has not after `graceMs`. */
  #stopSlot(slot: Slot, reason: NonNullable<Slot["endReason"]>, graceMs: number): void {
    slot.endReason ??= reason;
    slot.state = "retiring";
    const i = this.#idle.indexOf(slot);
    if (i >= 0) this.#idle.splice(i, 1);
    // Until it has exited, it keeps the parent alive (close() waits for it).
    slot.child.ref(true);
    if (slot.task) {
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

function outcomeOf(w: WireOutcome): unknown {
  if (w.kind === "snooze") return snooze(w.delayMs);
  return w.kind === "cancel" ? cancel(w.reason) : discard(w.reason);
}
