/**
 * The IPC protocol between a pooled executor (thread or process) and its children. Every message is a plain
 * object tagged by `t`; a child announces {@link PROTOCOL_VERSION} in its `ready` message and the pool refuses
 * a child that speaks another version. Add message kinds, never change the meaning of an existing one; bump the
 * version when a change is not backward compatible.
 */

/** The protocol version both sides speak. */
export const PROTOCOL_VERSION = 1;

/** An error as it crosses the boundary: enough to rebuild an Error on the other side. */
export interface WireError {
  name: string;
  message: string;
  stack?: string;
}

/** The read-only part of a job's context that crosses into the child. */
export interface WireContext {
  id: string;
  name: string;
  queue: string;
  attempt: number;
  maxAttempts: number;
  job: unknown;
}

/** Parent → child. */
export type ParentMessage =
  /** Run a handler: load `module` (once per child) and call its `export` with the data and a context. */
  | { t: "run"; id: number; module: string; export: string; data: unknown; ctx: WireContext }
  /** Abort the job's `ctx.signal` with this reason. The pool kills the child if the job does not end soon. */
  | { t: "abort"; id: number; reason: WireError }
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
  | "serialise";

/** A handler outcome (`snooze`, `cancel`, `discard`) as it crosses: outcomes are tagged by a symbol otherwise. */
export type WireOutcome =
  | { kind: "snooze"; delayMs: number }
  | { kind: "cancel" | "discard"; reason: string };

/** Child → parent. */
export type ChildMessage =
  /** The child has started and speaks `v`. */
  | { t: "ready"; v: number; pid: number }
  /** Answer to `ping`; `memoryMb` is the child's own footprint (RSS for a process, heap for a thread). */
  | { t: "pong"; seq: number; memoryMb: number }
  | { t: "progress"; id: number; value: unknown }
  | { t: "log"; id: number; level: string; message: string }
  /** The handler's return value, or (`value` undefined) the outcome it returned: `snooze`, `cancel`, `discard`. */
  | { t: "result"; id: number; value: unknown; outcome?: WireOutcome; memoryMb: number }
  | { t: "error"; id: number; failure: ChildFailure; error: WireError; memoryMb: number }
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
