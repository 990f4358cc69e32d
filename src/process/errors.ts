/**
 * Errors of the process runtime. Each extends {@link ConveyorError} and carries a stable `code`.
 */
import { ConveyorError } from "../errors.js";
import type { Pid } from "./pid.js";

/**
 * Why a process was ended from outside its own function, or why an exit signal was sent:
 * - `"kill"`: untrappable termination (`node.kill`, or a supervisor's shutdown timeout);
 * - `"shutdown"`: an orderly stop (supervisors); transient children are not restarted for it;
 * - `"link"`: a linked process exited abnormally and this one did not trap links (`cause` is its error);
 * - `"noproc"`: the process was not alive when it was monitored (see `monitor`);
 * - any other string given to `exit(pid, reason)`.
 */
export type ExitReason = "kill" | "shutdown" | "link" | "noproc" | (string & {});

/**
 * A process ended, or was reported dead, for a {@link ExitReason} rather than by returning or throwing.
 * `from` is the process that sent the exit signal (undefined when it came from outside any process).
 */
export class ProcessExitError extends ConveyorError {
  readonly from: Pid | undefined;
  readonly pid: Pid;
  readonly reason: ExitReason;
  constructor(pid: Pid, reason: ExitReason, from?: Pid, cause?: unknown) {
    const detail = cause instanceof Error ? `: ${cause.message}` : "";
    super("ERR_PROCESS_EXIT", `process ${pid} exited (${reason}${from ? ` from ${from}` : ""})${detail}`, {
      cause,
    });
    this.from = from;
    this.pid = pid;
    this.reason = reason;
  }
}

/** A name given to `register` already belongs to another live process. */
export class NameTakenError extends ConveyorError {
  readonly name_: string;
  readonly owner: Pid;
  constructor(name: string, owner: Pid) {
    super("ERR_NAME_TAKEN", `name "${name}" is already registered by process ${owner}`);
    this.name_ = name;
    this.owner = owner;
  }
}

/** A `call` target (PID or registered name) is not alive, or died before it replied. */
export class NoProcessError extends ConveyorError {
  readonly target: string;
  constructor(target: string, why = "is not alive") {
    super("ERR_NO_PROCESS", `process ${target} ${why}`);
    this.target = target;
  }
}

/** A `call` got no reply within its `timeoutMs`. A reply that arrives later is dropped. */
export class CallTimeoutError extends ConveyorError {
  readonly target: string;
  readonly timeoutMs: number;
  constructor(target: string, topic: string, timeoutMs: number) {
    super("ERR_CALL_TIMEOUT", `call to ${target} on "${topic}" got no reply within ${timeoutMs} ms`);
    this.target = target;
    this.timeoutMs = timeoutMs;
  }
}

/** A supervisor restarted children more than `maxRestarts` times within `withinMs`, and gave up. */
export class RestartIntensityError extends ConveyorError {
  readonly maxRestarts: number;
  readonly withinMs: number;
  constructor(maxRestarts: number, withinMs: number, cause?: unknown) {
    super(
      "ERR_RESTART_INTENSITY",
      `supervisor gave up: more than ${maxRestarts} restarts within ${withinMs} ms`,
      { cause },
    );
    this.maxRestarts = maxRestarts;
    this.withinMs = withinMs;
  }
}

/** True when `error` means an orderly end: the `"normal"` or `"shutdown"` exit reasons. */
export function isOrderlyExit(error: Error | undefined): boolean {
  if (error === undefined) return true;
  return error instanceof ProcessExitError && (error.reason === "shutdown" || error.reason === "normal");
}

/**
 * A payload, argument or result could not cross a thread boundary by structured clone (functions, class
 * instances with private state, symbols...). Thrown by `send`/`call` to or from a thread-hosted process and
 * by `spawn` of one.
 */
export class PayloadCloneError extends ConveyorError {
  /** What was being sent, e.g. `message "job"` or `spawn arguments`. */
  readonly what: string;
  constructor(what: string, cause?: unknown) {
    const detail = cause instanceof Error ? `: ${cause.message}` : "";
    super("ERR_PAYLOAD_CLONE", `cannot send ${what} to or from a thread: not structured-cloneable${detail}`, {
      cause,
    });
    this.what = what;
  }
}

/**
 * The worker thread hosting a process died before the process function ended: an uncaught error
 * (`cause`), `process.exit()` inside the thread, or an out-of-memory stop (`resourceLimits`; `cause.code`
 * is `ERR_WORKER_OUT_OF_MEMORY`). `exitCode` is the thread's exit code when it is known.
 */
export class ThreadExitError extends ConveyorError {
  readonly exitCode: number | undefined;
  readonly pid: Pid;
  constructor(pid: Pid, exitCode: number | undefined, cause?: unknown) {
    const why =
      cause instanceof Error ? `crashed: ${cause.message}` : `exited with code ${exitCode ?? "unknown"}`;
    super("ERR_THREAD_EXIT", `thread of process ${pid} ${why}`, { cause });
    this.exitCode = exitCode;
    this.pid = pid;
  }
}
