import type { JobContext, JobHandler } from "../job/define.js";

/** A handler that lives in a module: what thread and process executors load (once per thread or process). */
export interface HandlerModule {
  /** The module's `file:` (or other importable) URL, as a string so it crosses threads and processes. */
  readonly url: string;
  /** The export to call. Default "default" at definition; always set here. */
  readonly export: string;
}

/** Told once when an attempt is aborted (see {@link AbortHook}). */
export interface AbortListener {
  onAbort(reason: Error): void;
}

/**
 * Abort notification without an `AbortSignal`: what a worker's attempt hands executors so that no
 * AbortController or event listener is made per job (the signal stays lazy until the handler reads it).
 */
export interface AbortHook {
  /** The abort reason once aborted; null before. */
  readonly reason: Error | null;
  /** Adds a listener, called once on abort. */
  listen(listener: AbortListener): void;
  /** Removes a listener added with `listen` (no-op when absent). */
  unlisten(listener: AbortListener): void;
}

/** One attempt to hand to an executor. */
export interface ExecutionRequest {
  /** The handler function. The inline executor calls it; for a module job type it imports the module lazily. */
  handler: JobHandler<unknown, unknown>;
  /** The handler's module, for job types defined with `module`. Thread and process executors require it. */
  module?: HandlerModule | undefined;
  data: unknown;
  ctx: JobContext;
  /**
   * The attempt's abort, as a hook. Pooled executors listen here instead of on `ctx.signal` when it is given;
   * it must abort whenever `ctx.signal` does. Optional: without it they listen on `ctx.signal`.
   */
  abort?: AbortHook | undefined;
}

/**
 * How far a failing handler is kept from the worker: `"none"` (inline: it shares the worker's event loop and
 * heap), `"thread"` (its own V8 isolate and event loop, same process) or `"process"` (its own OS process).
 */
export type ExecutorIsolation = "none" | "thread" | "process";

/**
 * Runs handlers. `inline` runs them on the worker's event loop; `thread` and `process` run them in a pool of
 * worker threads or child processes, so a crash or hang kills only that job's thread or process.
 *
 * `run` resolves with the handler's return value or rejects with what it threw (an `Error` rebuilt from the
 * child's name, message and stack for pooled executors). A dead thread or process rejects with
 * `ExecutorCrashError`; a value that cannot cross rejects with `NotSerialisableError`; a module that cannot
 * be loaded rejects with `HandlerLoadError`. Timeouts and cancellation are signalled through `ctx.signal`; an
 * executor that can stop work by force (thread, process) does so when the signal stays ignored past its grace
 * period. Implementations are separate classes; nothing branches on `kind`.
 */
export interface Executor {
  readonly kind: "inline" | "thread" | "process";
  /** The isolation this executor gives (the conformance suite gates fixtures on it). */
  readonly isolation: ExecutorIsolation;
  run(request: ExecutionRequest): Promise<unknown>;
  /** Prewarms pooled threads or processes; resolves once the prewarmed ones are ready or failed. Optional. */
  start?(): Promise<void>;
  /** Stops pooled threads or processes (killing running ones). Idempotent. */
  close(): Promise<void>;
}

/** The executor a job type or worker asks for by name. */
export type ExecutorKind = Executor["kind"];
