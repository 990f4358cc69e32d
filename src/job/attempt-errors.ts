/**
 * Reasons an attempt is aborted, used as `ctx.signal.reason`. A handler may check
 * `signal.reason instanceof JobTimeoutError` to tell them apart.
 */

/** The attempt ran past its `timeoutMs`. */
export class JobTimeoutError extends Error {
  readonly timeoutMs: number;
  constructor(timeoutMs: number) {
    super(`job timed out after ${timeoutMs} ms`);
    this.name = "JobTimeoutError";
    this.timeoutMs = timeoutMs;
  }
}

/** Someone cancelled the running job. */
export class JobCancelledError extends Error {
  constructor(reason = "cancel requested") {
    super(reason);
    this.name = "JobCancelledError";
  }
}

/** The worker lost the job's lease (it was rescued elsewhere): the attempt's outcome will be ignored. */
export class LeaseLostError extends Error {
  constructor() {
    super("the job's lease was lost: another worker may run it");
    this.name = "LeaseLostError";
  }
}

/** The worker is shutting down and its grace period ended: the job goes back to available. */
export class ShutdownError extends Error {
  constructor() {
    super("worker shutting down: grace period over");
    this.name = "ShutdownError";
  }
}
