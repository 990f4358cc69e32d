/**
 * The bridge protocol between a node and a thread-hosted process: tagged messages over the worker's one
 * MessagePort, plus a shared counter that wakes the thread when the node answers a synchronous request.
 * @internal
 */
import { NameTakenError, NoProcessError, ProcessExitError } from "./errors.js";
import type { MailboxOptions } from "./mailbox.js";
import type { Pid } from "./pid.js";

/** Bumped on any incompatible change; the thread refuses a start message of another version. */
export const THREAD_PROTOCOL_VERSION = 1;

/** An error as it crosses the bridge: enough to rebuild it (as the same class for the runtime's own). */
export interface WireError {
  code?: string;
  from?: Pid;
  message: string;
  name: string;
  owner?: Pid;
  pid?: Pid;
  reason?: string;
  stack?: string;
  target?: string;
  cause?: WireError;
}

/** `workerData` of a process thread. */
export interface ThreadStart {
  args: unknown[];
  export: string;
  /** Int32Array[1] over a SharedArrayBuffer: the node bumps it after each synchronous reply. */
  flag: SharedArrayBuffer;
  mailbox: MailboxOptions;
  module: string;
  pid: Pid;
  trapLinks: boolean;
  version: number;
}

/** A request the thread makes and waits for (its answer arrives as {@link SyncReply}). */
export type SyncOp =
  | { op: "link" | "unlink" | "unmonitor"; pid: Pid }
  | { op: "exit"; pid: Pid; reason: string | undefined }
  | { op: "register" | "unregister" | "lookup"; name: string }
  | { op: "trapLinks"; value: boolean };

/** Thread to node. */
export type FromThread =
  | { t: "send"; to: string; topic: string; payload: unknown }
  | { t: "monitor"; pid: Pid }
  | { t: "call"; id: number; to: string; topic: string; payload: unknown; timeoutMs: number | undefined }
  | { t: "reply"; ref: number; value: unknown }
  | ({ t: "sync"; id: number } & SyncOp)
  | { t: "done"; ok: true; result: unknown }
  | { t: "done"; ok: false; error: WireError };

/** Node to thread. */
export type ToThread =
  | { t: "msg"; from: Pid | undefined; topic: string; payload: unknown; ref: number }
  | { t: "event"; kind: "EXIT"; from: Pid; result: unknown; error: WireError | undefined }
  | { t: "event"; kind: "LINK_DOWN"; from: Pid | undefined; error: WireError }
  | { t: "callResult"; id: number; ok: true; value: unknown }
  | { t: "callResult"; id: number; ok: false; error: WireError }
  | { t: "syncReply"; id: number; ok: true; value: unknown }
  | { t: "syncReply"; id: number; ok: false; error: WireError };

/** Turns anything thrown into a {@link WireError}, keeping the runtime errors' fields. */
export function toWire(err: unknown, depth = 0): WireError {
  if (!(err instanceof Error)) return { name: "Error", message: String(err) };
  const out: WireError = { name: err.name, message: err.message };
  if (err.stack !== undefined) out.stack = err.stack;
  const e = err as Error & Record<string, unknown>;
  for (const k of ["code", "from", "owner", "pid", "reason", "target"] as const) {
    const v = e[k];
    if (typeof v === "string") out[k] = v;
  }
  if (err.cause !== undefined && depth < 4) out.cause = toWire(err.cause, depth + 1);
  return out;
}

/**
 * Rebuilds an error: `ProcessExitError`, `NoProcessError` and `NameTakenError` as themselves (so
 * `instanceof` and supervisors' checks work across the bridge), anything else as an `Error` with the same
 * name, message, stack and `code`.
 */
export function fromWire(w: WireError): Error {
  const cause = w.cause === undefined ? undefined : fromWire(w.cause);
  let err: Error;
  if (w.code === "ERR_PROCESS_EXIT" && w.pid !== undefined && w.reason !== undefined) {
    err = new ProcessExitError(w.pid, w.reason, w.from, cause);
  } else if (w.code === "ERR_NAME_TAKEN" && w.owner !== undefined) {
    const m = /^name "(.*)" is already/.exec(w.message);
    err = new NameTakenError(m?.[1] ?? "", w.owner);
  } else if (w.code === "ERR_NO_PROCESS" && w.target !== undefined) {
    err = new NoProcessError(w.target);
    err.message = w.message;
  } else {
    err = new Error(w.message, cause === undefined ? undefined : { cause });
    err.name = w.name;
    if (w.code !== undefined) (err as Error & { code?: string }).code = w.code;
  }
  if (w.stack !== undefined) err.stack = w.stack;
  return err;
}

/** True for the error `postMessage` throws on a value it cannot clone. */
export function isCloneError(err: unknown): boolean {
  return err instanceof Error && err.name === "DataCloneError";
}
