import { isHandlerOutcome, outcomeKind } from "../job/outcome.js";
import { loadHandler } from "./handler-module.js";
import {
  type ChildMessage,
  fromWireError,
  type ParentMessage,
  PROTOCOL_VERSION,
  type RunMessage,
  toWireError,
  type WireError,
  type WireHeader,
  type WireOutcome,
} from "./protocol.js";

/** How a child talks to its pool: a worker thread's port or a child process's IPC channel. */
export interface ChildTransport {
  /** Sends a message; throws when the message cannot be serialised. */
  send(message: ChildMessage): void;
  onMessage(listener: (message: ParentMessage) => void): void;
  /** The child's own memory footprint in MB (RSS for a process, V8 heap for a thread). */
  memoryMb(): number;
  /** Ends the child. */
  exit(code: number): void;
}

type Loaded = Awaited<ReturnType<typeof loadHandler>>;

/** A job the child runs: its message, its (lazily made) abort controller, whether it has answered. */
interface Running {
  msg: RunMessage;
  abort: AbortController | null;
  /** Set by an `abort` that came before the handler asked for `ctx.signal`. */
  reason: WireError | null;
  done: boolean;
}

/**
 * The child's side of the protocol, shared by thread and process children: loads each handler module once,
 * runs one job at a time (later `run` messages wait in a local queue, in order) with a local `ctx.signal`, and
 * sends progress, logs, results and typed failures back.
 * @internal
 */
export function serveChild(transport: ChildTransport): void {
  /** Handler number → module and export (sent once by the pool). */
  const refs = new Map<number, { url: string; export: string }>();
  /** Handler number → the loaded function. A failed load is not kept: the next job tries again. */
  const loaded = new Map<number, Loaded>();
  const queue: RunMessage[] = [];
  let current: Running | null = null;

  const answer = (job: Running, m: ChildMessage): void => {
    if (job.done) return;
    job.done = true;
    transport.send(m);
  };
  const memory = (job: Running): number | undefined => (job.msg[4]?.m ? transport.memoryMb() : undefined);

  const fail = (job: Running, failure: "handler" | "load", err: unknown): void => {
    const m: ChildMessage = { t: "error", id: job.msg[0], failure, error: toWireError(err) };
    const mb = memory(job);
    if (mb !== undefined) m.memoryMb = mb;
    answer(job, m);
    next(job);
  };

  const succeed = (job: Running, value: unknown): void => {
    if (job.done) {
      next(job);
      return;
    }
    const outcome = wireOutcome(value);
    const id = job.msg[0];
    const mb = memory(job);
    let m: ChildMessage;
    if (outcome) m = { t: "result", id, value: undefined, outcome };
    else if (mb === undefined) m = [id, value];
    else m = { t: "result", id, value };
    if (mb !== undefined && !Array.isArray(m)) m.memoryMb = mb;
    try {
      answer(job, m);
    } catch (err) {
      job.done = false;
      const error = toWireError(err);
      error.message = `the handler's result cannot be sent back to the worker: ${error.message}`;
      const e: ChildMessage = { t: "error", id, failure: "serialise", error };
      if (mb !== undefined) e.memoryMb = mb;
      answer(job, e);
    }
    next(job);
  };

  const invoke = (job: Running, fn: Loaded): void => {
    const [id, , data, record, extra] = job.msg;
    const header = extra?.ctx ?? (record as WireHeader);
    const ctx = {
      id: header.id,
      name: header.name,
      queue: header.queue,
      attempt: header.attempt,
      maxAttempts: header.maxAttempts,
      job: record,
      get signal(): AbortSignal {
        if (!job.abort) {
          job.abort = new AbortController();
          if (job.reason) job.abort.abort(fromWireError(job.reason));
        }
        return job.abort.signal;
      },
      progress(value: unknown) {
        if (!job.done) transport.send({ t: "progress", id, value });
      },
      log(message: string, level = "info") {
        if (!job.done) transport.send({ t: "log", id, level, message: String(message) });
      },
    };
    let value: unknown;
    try {
      value = fn(data, ctx);
    } catch (err) {
      fail(job, "handler", err);
      return;
    }
    if (
      value !== null &&
      typeof value === "object" &&
      typeof (value as PromiseLike<unknown>).then === "function"
    ) {
      (value as PromiseLike<unknown>).then(
        (v) => succeed(job, v),
        (err: unknown) => fail(job, "handler", err),
      );
    } else succeed(job, value);
  };

  const start = (msg: RunMessage): void => {
    const job: Running = { msg, abort: null, reason: null, done: false };
    current = job;
    const h = msg[1];
    const extra = msg[4];
    if (extra?.module !== undefined && extra.export !== undefined)
      refs.set(h, { url: extra.module, export: extra.export });
    const fn = loaded.get(h);
    if (fn) {
      invoke(job, fn);
      return;
    }
    const ref = refs.get(h);
    if (!ref) {
      fail(job, "load", new Error(`unknown handler ${h}: the pool did not name its module`));
      return;
    }
    loadHandler(ref).then(
      (f) => {
        loaded.set(h, f);
        transport.send({ t: "loaded", id: msg[0] });
        invoke(job, f);
      },
      (err: unknown) => fail(job, "load", err),
    );
  };

  /** The job ended: start the next queued one. */
  const next = (job: Running): void => {
    if (current !== job) return;
    current = null;
    const msg = queue.shift();
    if (msg) start(msg);
  };

  const handle = (msg: ParentMessage): void => {
    if (Array.isArray(msg)) {
      if (current) queue.push(msg);
      else start(msg);
      return;
    }
    switch (msg.t) {
      case "batch":
        for (const m of msg.messages) handle(m);
        break;
      case "abort": {
        const job = current;
        if (job && job.msg[0] === msg.id) {
          if (job.abort) job.abort.abort(fromWireError(msg.reason));
          else job.reason = msg.reason;
          break;
        }
        const i = queue.findIndex((q) => q[0] === msg.id);
        if (i >= 0) {
          queue.splice(i, 1);
          transport.send({ t: "error", id: msg.id, failure: "aborted", error: msg.reason });
        }
        break;
      }
      case "ping":
        transport.send({ t: "pong", seq: msg.seq, memoryMb: transport.memoryMb() });
        break;
      case "close":
        transport.exit(0);
        break;
    }
  };
  transport.onMessage(handle);
  transport.send({ t: "ready", v: PROTOCOL_VERSION, pid: process.pid });
}

function wireOutcome(value: unknown): WireOutcome | undefined {
  if (!isHandlerOutcome(value)) return undefined;
  const kind = outcomeKind(value);
  if (kind === "snooze" && "delayMs" in value) return { kind, delayMs: value.delayMs };
  return { kind: kind === "cancel" ? "cancel" : "discard", reason: "reason" in value ? value.reason : kind };
}

/** Reports an uncaught exception to the pool, then lets the child die (exit code 1). */
export function reportFatal(transport: ChildTransport, err: unknown): void {
  try {
    transport.send({ t: "fatal", error: toWireError(err) });
  } catch {
    // The channel may be gone; the exit code still tells.
  }
}
