import type { JobContext, JobHandler } from "../job/define.js";

/** One attempt to hand to an executor. */
export interface ExecutionRequest {
  /** The handler function (inline) — thread and process executors will take a module reference instead. */
  handler: JobHandler<unknown, unknown>;
  data: unknown;
  ctx: JobContext;
}

/**
 * Runs handlers. `inline` runs them on the worker's event loop; `thread` and `process` (later) run them in a
 * pool of worker threads or child processes, so a crash or hang kills only that job.
 *
 * `run` resolves with the handler's return value or rejects with what it threw. Timeouts and cancellation are
 * signalled through `ctx.signal`; an executor that can stop work by force (thread, process) does so when the
 * signal stays ignored past its grace period.
 */
export interface Executor {
  readonly kind: "inline" | "thread" | "process";
  run(request: ExecutionRequest): Promise<unknown>;
  /** Stops pooled threads or processes. Idempotent. */
  close(): Promise<void>;
}
