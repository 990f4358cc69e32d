/**
 * The IPC protocol between a pooled executor (thread or process) and its children. Every message is a plain
 * object tagged by `t`, except the two sent per job (`run` and a plain result), which are arrays. A child
 * announces {@link PROTOCOL_VERSION} in its `ready` message and the pool refuses a child that speaks another
 * version. Add message kinds, never change the meaning of an existing one; bump the version when a change is not
 * backward compatible.
 */

/**
 * The protocol version both sides speak. 2: `run` and plain results are arrays; `run` names its handler by
 * a pool-wide number (module and export sent once per child) and sends the context header only when it is not
 * the job record's; a child queues pipelined jobs; `batch`; `memoryMb` only on request; failure `aborted`.
 */
export const PROTOCOL_VERSION = 2;

/** An error as it crosses the boundary: enough to rebuild an Error on the other side. */
export interface WireError {
  name: string;
  message: string;
  stack?: string;
}

/** The read-only header of a job's context, when it differs from the job record's own fields. */
export interface WireHeader {
  id: string;
  name: string;
  queue: string;
  attempt: number;
  maxAttempts: number;
}

/** What a `run` message carries only sometimes. */
export interface RunExtra {
  /** The handler's module and export: with the first job of this handler number a child gets. */
  module?: string;
  export?: string;
  /** The context's header, when it is not the job record's `id`, `name`, `queue`, `attempt`, `maxAttempts`. */
  ctx?: WireHeader;
  /** Answer with `memoryMb` (the pool recycles on memory). */
  m?: 1;
}

/**
 * Run a handler, as an array (the hot message: an array clones faster than an object with named fields):
 * job number, handler number, data, the job record (`ctx.job`) and, sometimes, a {@link RunExtra}. The handler
 * number names a module and export within the pool; the child loads it once and keeps the mapping. The child
 * runs one job at a time and keeps later `run` messages queued in arrival order (the pool pipelines a few to a
 * child when jobs are short).
 */
export type RunMessage = [id: number, h: number, data: unknown, job: unknown, extra?: RunExtra];

/** Parent → child: a {@link RunMessage} (an array) or a message tagged by `t`. */
export type ParentMessage =
  | RunMessage
  /**
   * Abort the job's `ctx.signal` with this reason. A job still queued in the child is dropped and answered with
   * an `error` of failure `aborted`. The pool kills the child if a running job does not end soon.
   */
  | { t: "abort"; id: number; reason: WireError }
  /** Several `run` messages at once (jobs dispatched in the same turn of the event loop), handled in order. */
  | { t: "batch"; messages: RunMessage[] }
  /** Health check: answer with `pong` and the same `seq`. */
  | { t: "ping"; seq: number }
  /** Finish and exit (recycling, shrinking, closing). */
  | { t: "close" };

/** Why a job failed inside the child, as the child saw it. */
export type ChildFailure =
  /** The handler threw or rejected. */
  | "handler"
  /** The handler's module could not be loaded, or has no such export. */
  | "load"
  /** The handler's result could not be sent back. */
  | "serialise"
  /** The job was aborted while queued in the child: it never started. */
  | "aborted";

/** A handler outcome (`snooze`, `cancel`, `discard`) as it crosses: outcomes are tagged by a symbol otherwise. */
export type WireOutcome =
  | { kind: "snooze"; delayMs: number }
  | { kind: "cancel" | "discard"; reason: string };

/** A handler's plain return value (no outcome, no memory sample asked): job number and value, as an array. */
export type ResultMessage = [id: number, value: unknown];

/** Child → parent: a {@link ResultMessage} (an array) or a message tagged by `t`. */
export type ChildMessage =
  | ResultMessage
  /** The child has started and speaks `v`. */
  | { t: "ready"; v: number; pid: number }
  /** Answer to `ping`; `memoryMb` is the child's own footprint (RSS for a process, heap for a thread). */
  | { t: "pong"; seq: number; memoryMb: number }
  /** Job `id`'s handler module has loaded (sent only when the child loaded it for that job). */
  | { t: "loaded"; id: number }
  | { t: "progress"; id: number; value: unknown }
  | { t: "log"; id: number; level: string; message: string }
  /**
   * The handler's return value, or (`value` undefined) the outcome it returned: `snooze`, `cancel`, `discard`.
   * `memoryMb` only when the `run` message asked for it (`m`).
   */
  | { t: "result"; id: number; value: unknown; outcome?: WireOutcome; memoryMb?: number }
  | { t: "error"; id: number; failure: ChildFailure; error: WireError; memoryMb?: number }
  /** Sent just before the child dies of an uncaught exception. */
  | { t: "fatal"; error: WireError };

/** Turns anything thrown into a {@link WireError}. */
export function toWireError(err: unknown): WireError {
  if (err instanceof Error) {
    const out: WireError = { name: err.name, message: err.message };
    if (err.stack) out.stack = err.stack;
    return out;
  }
  return { name: "Error", message: typeof err === "string" ? err : safeString(err) };
}

function safeString(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/** Rebuilds an Error from a {@link WireError} (name, message and the child's stack). */
export function fromWireError(wire: WireError): Error {
  const err = new Error(wire.message);
  err.name = wire.name;
  if (wire.stack) err.stack = wire.stack;
  return err;
}
