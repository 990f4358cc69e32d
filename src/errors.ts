/**
 * Library errors. Every error Conveyor throws on purpose extends {@link ConveyorError} and carries a stable
 * `code` string that scripts and tests may match on; the message is for people and may change.
 */

/** Stable error codes. Never renamed once released. */
export type ErrorCode =
  | "ERR_CALL_TIMEOUT"
  | "ERR_CLOSED"
  | "ERR_EXECUTOR_CRASH"
  | "ERR_EXECUTOR_UNAVAILABLE"
  | "ERR_HANDLER_LOAD"
  | "ERR_INVALID_OPTIONS"
  | "ERR_INVALID_DATA"
  | "ERR_INVALID_STATE_TRANSITION"
  | "ERR_JOB_NOT_FOUND"
  | "ERR_NOT_SERIALISABLE"
  | "ERR_NAME_TAKEN"
  | "ERR_NO_PROCESS"
  | "ERR_NOT_SUPPORTED"
  | "ERR_PAYLOAD_CLONE"
  | "ERR_PAYLOAD_TOO_LARGE"
  | "ERR_PROCESS_EXIT"
  | "ERR_RESTART_INTENSITY"
  | "ERR_SCHEDULE_NOT_FOUND"
  | "ERR_STORE_AUTH"
  | "ERR_STORE_UNAVAILABLE"
  | "ERR_STORE_VERSION"
  | "ERR_THREAD_EXIT"
  | "ERR_UNKNOWN_JOB"
  | "ERR_UNKNOWN_STORE";

/** Base class of every error the library throws on purpose. */
export class ConveyorError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** An option had a wrong type or value. The message names the field and what would be accepted. */
export class OptionsError extends ConveyorError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("ERR_INVALID_OPTIONS", message, options);
  }
}

/** One problem found by a schema: where it is and what is wrong. */
export interface ValidationIssue {
  message: string;
  path: string;
}

/** Job data failed its job type's schema (at enqueue, or again before the handler ran). */
export class ValidationError extends ConveyorError {
  readonly issues: readonly ValidationIssue[];
  readonly jobName: string;
  constructor(jobName: string, issues: readonly ValidationIssue[]) {
    const detail = issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join("; ");
    super("ERR_INVALID_DATA", `invalid data for job "${jobName}": ${detail}`);
    this.issues = issues;
    this.jobName = jobName;
  }
}

/** Serialised job data is larger than the configured limit. */
export class PayloadTooLargeError extends ConveyorError {
  readonly bytes: number;
  readonly limitBytes: number;
  constructor(jobName: string, bytes: number, limitBytes: number) {
    super(
      "ERR_PAYLOAD_TOO_LARGE",
      `data for job "${jobName}" is ${bytes} bytes, over the limit of ${limitBytes} bytes; ` +
        "store large payloads elsewhere and enqueue a reference, or raise maxPayloadBytes",
    );
    this.bytes = bytes;
    this.limitBytes = limitBytes;
  }
}

/** A job id that the store does not hold. */
export class JobNotFoundError extends ConveyorError {
  readonly jobId: string;
  constructor(jobId: string) {
    super("ERR_JOB_NOT_FOUND", `job ${jobId} not found`);
    this.jobId = jobId;
  }
}

/** A schedule id that the store does not hold. */
export class ScheduleNotFoundError extends ConveyorError {
  readonly scheduleId: string;
  constructor(scheduleId: string) {
    super("ERR_SCHEDULE_NOT_FOUND", `schedule "${scheduleId}" not found`);
    this.scheduleId = scheduleId;
  }
}

/** A job name that no worker has registered (enqueue from the CLI, or an unknown name in a worker). */
export class UnknownJobError extends ConveyorError {
  readonly jobName: string;
  readonly known: readonly string[];
  constructor(jobName: string, known: readonly string[], hint = "") {
    const list = known.length > 0 ? known.join(", ") : "(none registered yet)";
    super("ERR_UNKNOWN_JOB", `unknown job "${jobName}"; known jobs: ${list}${hint ? `. ${hint}` : ""}`);
    this.jobName = jobName;
    this.known = known;
  }
}

/** The requested change is not allowed from the job's current state (e.g. retrying a running job). */
export class InvalidStateTransitionError extends ConveyorError {
  constructor(jobId: string, from: string, action: string) {
    super("ERR_INVALID_STATE_TRANSITION", `cannot ${action} job ${jobId}: it is ${from}`);
  }
}

/** The store lacks a capability (e.g. transactional enqueue on Redis). */
export class NotSupportedError extends ConveyorError {
  constructor(what: string, store: string) {
    super("ERR_NOT_SUPPORTED", `${what} is not supported by the ${store} store`);
  }
}

/** A store URL with an unknown scheme. */
export class UnknownStoreError extends ConveyorError {
  constructor(url: string) {
    super(
      "ERR_UNKNOWN_STORE",
      `unknown store "${url}"; use "memory", "sqlite:<path>" (e.g. sqlite:./conveyor.db), a file path ending in .db, or redis://host:6379 (rediss:// for TLS)`,
    );
  }
}

/** The store could not be reached or answered with an error. `retryable` says whether trying again may help. */
export class StoreUnavailableError extends ConveyorError {
  readonly retryable: boolean;
  constructor(message: string, retryable: boolean, options?: { cause?: unknown }) {
    super("ERR_STORE_UNAVAILABLE", message, options);
    this.retryable = retryable;
  }
}

/** The store refused the credentials (Redis WRONGPASS / NOAUTH / an ACL user that may not run a command). */
export class StoreAuthError extends ConveyorError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("ERR_STORE_AUTH", message, options);
  }
}

/** The store's server is older than the minimum version Conveyor needs. */
export class StoreVersionError extends ConveyorError {
  readonly version: string;
  readonly minimum: string;
  constructor(message: string, version: string, minimum: string) {
    super("ERR_STORE_VERSION", message);
    this.version = version;
    this.minimum = minimum;
  }
}

/** The object was closed and cannot be used any more. */
export class ClosedError extends ConveyorError {
  constructor(what: string) {
    super("ERR_CLOSED", `${what} is closed`);
  }
}

/** Turns anything thrown into an Error, keeping the original as `cause` when it was not one. */
export function coerceError(value: unknown): Error {
  if (value instanceof Error) return value;
  if (typeof value === "string") return new Error(value);
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return new Error(`non-error thrown: ${text}`, { cause: value });
}

/**
 * The thread or process running a job died or was killed as unresponsive: an uncaught exception,
 * `process.exit`, a signal, running out of memory, or no answer to health pings. The attempt fails with the
 * error kind `"crash"` and follows the job's retry policy.
 */
export class ExecutorCrashError extends ConveyorError {
  /** The exit code, when it exited (a thread or process). */
  readonly exitCode: number | null;
  /** The signal that killed the process, if any. */
  readonly signal: string | null;
  constructor(message: string, exitCode: number | null, signal: string | null) {
    super("ERR_EXECUTOR_CRASH", message);
    this.exitCode = exitCode;
    this.signal = signal;
  }
}

/** The thread or process executor cannot take jobs: it is closed, or its circuit breaker is open. */
export class ExecutorUnavailableError extends ConveyorError {
  constructor(message: string) {
    super("ERR_EXECUTOR_UNAVAILABLE", message);
  }
}

/** A job type's handler module could not be loaded, or lacks the named export. */
export class HandlerLoadError extends ConveyorError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("ERR_HANDLER_LOAD", message, options);
  }
}

/** Job data or a result could not cross into or out of a thread or process (structured clone / IPC). */
export class NotSerialisableError extends ConveyorError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("ERR_NOT_SERIALISABLE", message, options);
  }
}
