import type { Clock } from "../clock.js";
import { coerceError, ExecutorCrashError, ValidationError } from "../errors.js";
import type { ConveyorEvents, TypedEmitter } from "../events.js";
import type { Executor } from "../executor/executor.js";
import { JobCancelledError, JobTimeoutError, LeaseLostError, ShutdownError } from "../job/attempt-errors.js";
import { backoffDelay } from "../job/backoff.js";
import type { AnyJobDefinition, JobContext } from "../job/define.js";
import { isHandlerOutcome, outcomeKind } from "../job/outcome.js";
import { validateData } from "../job/validate.js";
import { type ActiveSpan, endAttemptSpan, runInSpan, startAttemptSpan } from "../observability/tracing.js";
import type {
  AttemptError,
  AttemptErrorKind,
  JobFinishUpdate,
  JobLogEntry,
  JobRecord,
  LogLevel,
  Store,
} from "../store/store.js";
import { LazyAbort } from "./lazy-abort.js";
import type { Middleware } from "./middleware.js";

/** What an attempt needs from its worker. */
export interface AttemptEnv {
  clock: Clock;
  events: TypedEmitter<ConveyorEvents>;
  executor: Executor;
  /** Executors of job types that ask for another executor than the worker's, by type name; null: none. */
  typeExecutors: ReadonlyMap<string, Executor> | null;
  middleware: Middleware | null;
  store: Store;
  workerId: string;
  /** Milliseconds between progress/log writes of one job. */
  reportIntervalMs: number;
}

/** The settled attempt: the store update to apply and what to emit once it is applied. */
export interface SettledAttempt {
  update: JobFinishUpdate | null;
  onApplied(): void;
}

const LOG_LEVELS: ReadonlySet<string> = new Set(["debug", "info", "warn", "error"]);

/**
 * One running attempt: its context, its abort signal, and its unflushed progress and logs.
 * The worker keeps one per started job and aborts it on timeout, cancellation, lost lease or shutdown.
 *
 * Hot path: the AbortController is created only when the handler reads `ctx.signal` (most no-op and CPU-bound
 * handlers never do), and an abort settles the attempt directly instead of racing a promise per job.
 */
export class Attempt {
  readonly job: JobRecord;
  readonly promise: Promise<SettledAttempt>;
  readonly #abort = new LazyAbort();
  #resolve!: (settled: SettledAttempt) => void;
  #startedAt = 0;
  #cancelTimeout: (() => void) | null = null;
  #progress: unknown = undefined;
  #progressDirty = false;
  #logs: JobLogEntry[] = [];
  #reportTimer: (() => void) | null = null;
  #reporting = false;
  #finished = false;
  /** The attempt's CONSUMER span; null when tracing is off (and for the jobs of a batch: the batch has one). */
  #span: ActiveSpan | null = null;
  readonly #env: AttemptEnv;
  readonly #def: AnyJobDefinition;

  /**
   * Starts the attempt. With `external` (a job of a batch, see batch-attempt.ts) nothing runs here and no
   * timeout is armed: the batch runs the handler and ends the attempt with {@link finish} or {@link fail}.
   */
  constructor(env: AttemptEnv, def: AnyJobDefinition, job: JobRecord, external = false) {
    this.#env = env;
    this.#def = def;
    this.job = job;
    this.promise = new Promise<SettledAttempt>((resolve) => {
      this.#resolve = resolve;
    });
    if (external) this.#startExternal();
    else this.#start();
  }

  /** True once the attempt has settled (its outcome is decided). */
  get done(): boolean {
    return this.#finished;
  }

  /** The job's context (a new object each call; they share this attempt's signal, progress and logs). */
  context(): JobContext {
    return this.#context();
  }

  /** Ends the attempt with the handler's value, mapped as a single handler's return value. Once only. */
  finish(value: unknown): void {
    this.#settle(() => this.#settleValue(value, this.#startedAt));
  }

  /** Ends the attempt as failed with `err` (retry policy), without aborting its signal. Once only. */
  fail(err: unknown): void {
    this.#settle(() => this.#settleError(err));
  }

  #startExternal(): void {
    const { clock, events, workerId } = this.#env;
    this.#startedAt = clock.now();
    if (events.has("job:started")) events.emit("job:started", { job: this.job, workerId });
  }

  /** The signal handed to the handler as `ctx.signal`, created on first use. */
  get signal(): AbortSignal {
    return this.#abort.signal;
  }

  /** Aborts the attempt: `ctx.signal` fires and the attempt settles at once with the outcome the reason implies. */
  abort(reason: Error): void {
    if (this.#finished || !this.#abort.abort(reason)) return;
    this.#settle(() => this.#settleError(reason));
  }

  #start(): void {
    const { clock, events, workerId } = this.#env;
    const job = this.job;
    this.#startedAt = clock.now();
    const timeoutMs = job.timeoutMs ?? this.#def.timeoutMs;
    if (timeoutMs)
      this.#cancelTimeout = clock.setTimeout(() => this.abort(new JobTimeoutError(timeoutMs)), timeoutMs);
    if (events.has("job:started")) events.emit("job:started", { job, workerId });
    const span = startAttemptSpan(job, workerId);
    this.#span = span;
    let work: Promise<unknown>;
    try {
      work = span === null ? this.#execute() : runInSpan(span, () => this.#execute());
    } catch (err) {
      work = Promise.reject(err);
    }
    work.then(
      (value) => this.#settle(() => this.#settleValue(value, this.#startedAt)),
      (err) => this.#settle(() => this.#settleError(err)),
    );
  }

  /** Settles once: the first of the handler's end and an abort wins; later ones are ignored. */
  #settle(make: () => SettledAttempt): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#cancelTimeout?.();
    this.#reportTimer?.();
    let settled: SettledAttempt;
    try {
      settled = make();
    } catch (err) {
      settled = this.#settleError(err);
    }
    if (this.#span !== null) endAttemptSpan(this.#span, settled.update);
    this.#resolve(settled);
  }

  /** Validates (when the type has a schema), then runs middleware and the handler. */
  #execute(): Promise<unknown> {
    const { middleware, typeExecutors } = this.#env;
    const def = this.#def;
    const executor = typeExecutors?.get(def.name) ?? this.#env.executor;
    const module = def.module;
    if (!def.schema && !middleware) {
      return executor.run({
        handler: def.handler,
        module,
        data: this.job.data,
        ctx: this.#context(),
        abort: this.#abort,
      });
    }
    return (async () => {
      const data = def.schema ? await validateData(def.name, def.schema, this.job.data) : this.job.data;
      const ctx = this.#context();
      const abort = this.#abort;
      if (!middleware) return executor.run({ handler: def.handler, module, data, ctx, abort });
      return middleware(ctx, () => executor.run({ handler: def.handler, module, data, ctx, abort }));
    })();
  }

  #context(): JobContext {
    const job = this.job;
    const attempt = this;
    return {
      id: job.id,
      name: job.name,
      queue: job.queue,
      attempt: job.attempt,
      maxAttempts: job.maxAttempts,
      get signal() {
        return attempt.signal;
      },
      job,
      progress: (value: unknown) => this.#setProgress(value),
      log: (message: string, level: LogLevel = "info") => this.#log(message, level),
    };
  }

  #setProgress(value: unknown): void {
    if (this.#finished) return;
    this.#progress = value;
    this.#progressDirty = true;
    const { events } = this.#env;
    if (events.has("job:progress")) events.emit("job:progress", { job: this.job, progress: value });
    this.#scheduleReport();
  }

  #log(message: string, level: LogLevel): void {
    if (this.#finished) return;
    const lvl: LogLevel = LOG_LEVELS.has(level) ? level : "info";
    this.#logs.push({
      at: this.#env.clock.now(),
      attempt: this.job.attempt,
      level: lvl,
      message: String(message),
    });
    const { events } = this.#env;
    if (events.has("job:log"))
      events.emit("job:log", { job: this.job, level: lvl, message: String(message) });
    this.#scheduleReport();
  }

  /** Coalesces progress and log writes: at most one store write per job per reportIntervalMs. */
  #scheduleReport(): void {
    if (this.#reportTimer || this.#reporting) return;
    this.#reportTimer = this.#env.clock.setTimeout(() => {
      this.#reportTimer = null;
      void this.#flushReport();
    }, this.#env.reportIntervalMs);
  }

  async #flushReport(): Promise<void> {
    if (this.#finished || (!this.#progressDirty && this.#logs.length === 0)) return;
    const logs = this.#logs.splice(0);
    const progressDirty = this.#progressDirty;
    this.#progressDirty = false;
    this.#reporting = true;
    try {
      await this.#env.store.jobReport({
        id: this.job.id,
        token: this.job.leaseToken ?? "",
        ...(progressDirty ? { progress: this.#progress } : {}),
        ...(logs.length > 0 ? { logs } : {}),
      });
    } catch (err) {
      // Keep what was not written; it goes with the next report or the final update.
      this.#logs.unshift(...logs);
      if (progressDirty) this.#progressDirty = true;
      this.#env.events.emit("worker:error", { workerId: this.#env.workerId, error: coerceError(err) });
    } finally {
      this.#reporting = false;
      if (!this.#finished && (this.#progressDirty || this.#logs.length > 0)) this.#scheduleReport();
    }
  }

  /** The update fields that carry unflushed progress and logs. */
  #pending(): Pick<JobFinishUpdate, "progress" | "logs"> {
    const out: Pick<JobFinishUpdate, "progress" | "logs"> = {};
    if (this.#progressDirty) out.progress = this.#progress;
    if (this.#logs.length > 0) out.logs = this.#logs.splice(0);
    return out;
  }

  #update(outcome: JobFinishUpdate["outcome"]): JobFinishUpdate {
    return { id: this.job.id, token: this.job.leaseToken ?? "", outcome, ...this.#pending() };
  }

  #settleValue(value: unknown, startedAt: number): SettledAttempt {
    const { clock, events } = this.#env;
    const job = this.job;
    const now = clock.now();
    if (isHandlerOutcome(value)) {
      const kind = outcomeKind(value);
      if (kind === "snooze" && "delayMs" in value) {
        const runAt = now + value.delayMs;
        return {
          update: this.#update({ type: "snooze", runAt }),
          onApplied: () => events.emit("job:snoozed", { job, runAt, durationMs: now - startedAt }),
        };
      }
      const reason = "reason" in value ? value.reason : kind;
      if (kind === "cancel") {
        const error = attemptError(job.attempt, now, "cancel", new JobCancelledError(reason));
        return {
          update: this.#update({ type: "cancel", error }),
          onApplied: () => events.emit("job:cancelled", { job, reason, durationMs: now - startedAt }),
        };
      }
      const error = attemptError(job.attempt, now, "handler", new Error(reason));
      error.name = "DiscardedByHandler";
      return {
        update: this.#update({ type: "discard", error }),
        onApplied: () => {
          events.emit("job:failed", {
            job,
            error,
            willRetry: false,
            retryAt: null,
            durationMs: now - startedAt,
          });
          events.emit("job:discarded", { job, jobId: job.id, reason });
        },
      };
    }
    if (value !== undefined) assertSerialisable(value);
    const result = value === undefined ? null : value;
    return {
      update: this.#update({ type: "complete", result }),
      onApplied: () => {
        if (events.has("job:completed"))
          events.emit("job:completed", { job, result, durationMs: now - startedAt });
      },
    };
  }

  #settleError(thrown: unknown): SettledAttempt {
    const { clock, events } = this.#env;
    const job = this.job;
    const now = clock.now();
    const durationMs = now - this.#startedAt;
    const err = coerceError(thrown);
    if (err instanceof LeaseLostError) return { update: null, onApplied: () => {} };
    if (err instanceof ShutdownError)
      return { update: this.#update({ type: "release" }), onApplied: () => {} };
    if (err instanceof JobCancelledError) {
      const error = attemptError(job.attempt, now, "cancel", err);
      return {
        update: this.#update({ type: "cancel", error }),
        onApplied: () => events.emit("job:cancelled", { job, reason: err.message, durationMs }),
      };
    }
    const kind: AttemptErrorKind =
      err instanceof JobTimeoutError
        ? "timeout"
        : err instanceof ValidationError
          ? "validation"
          : err instanceof ExecutorCrashError
            ? "crash"
            : "handler";
    const error = attemptError(job.attempt, now, kind, err);
    const willRetry = kind !== "validation" && job.attempt < job.maxAttempts;
    if (willRetry) {
      const retryAt = now + backoffDelay(this.#def.retry?.backoff, job.attempt, err);
      return {
        update: this.#update({ type: "retry", runAt: retryAt, error }),
        onApplied: () => events.emit("job:failed", { job, error, willRetry: true, retryAt, durationMs }),
      };
    }
    return {
      update: this.#update({ type: "discard", error }),
      onApplied: () => {
        events.emit("job:failed", { job, error, willRetry: false, retryAt: null, durationMs });
        events.emit("job:discarded", { job, jobId: job.id, reason: error.message });
      },
    };
  }
}

/** A result must survive JSON: fail the attempt now rather than store something else. */
function assertSerialisable(value: unknown): void {
  try {
    JSON.stringify(value);
  } catch (err) {
    throw new TypeError(`the handler's result cannot be stored as JSON: ${coerceError(err).message}`);
  }
}

export function attemptError(attempt: number, at: number, kind: AttemptErrorKind, err: Error): AttemptError {
  const out: AttemptError = { attempt, at, kind, message: err.message, name: err.name };
  if (err.stack) out.stack = err.stack;
  return out;
}
