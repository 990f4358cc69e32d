import { isHandlerOutcome, outcomeKind } from "../job/outcome.js";
import type { HandlerModule } from "./executor.js";
import { loadHandler } from "./handler-module.js";
import {
  type ChildMessage,
  fromWireError,
  type ParentMessage,
  PROTOCOL_VERSION,
  toWireError,
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

/**
 * The child's side of the protocol, shared by thread and process children: loads each handler module once,
 * runs jobs with a local `ctx.signal`, and sends progress, logs, results and typed failures back.
 * @internal
 */
export function serveChild(transport: ChildTransport): void {
  const handlers = new Map<string, ReturnType<typeof loadHandler>>();
  const running = new Map<number, AbortController>();

  const load = (ref: HandlerModule) => {
    const key = `${ref.url}#${ref.export}`;
    let loaded = handlers.get(key);
    if (!loaded) {
      loaded = loadHandler(ref);
      handlers.set(key, loaded);
      // A failed load is not cached: the next job tries again (the file may have been fixed).
      loaded.catch(() => handlers.delete(key));
    }
    return loaded;
  };

  const run = async (msg: Extract<ParentMessage, { t: "run" }>): Promise<void> => {
    const { id } = msg;
    const abort = new AbortController();
    running.set(id, abort);
    const send = (m: ChildMessage) => {
      if (running.has(id)) transport.send(m);
    };
    const ctx = {
      ...msg.ctx,
      signal: abort.signal,
      progress(value: unknown) {
        send({ t: "progress", id, value });
      },
      log(message: string, level = "info") {
        send({ t: "log", id, level, message: String(message) });
      },
    };
    try {
      let fn: Awaited<ReturnType<typeof loadHandler>>;
      try {
        fn = await load({ url: msg.module, export: msg.export });
      } catch (err) {
        send({ t: "error", id, failure: "load", error: toWireError(err), memoryMb: transport.memoryMb() });
        return;
      }
      let value: unknown;
      try {
        value = await fn(msg.data, ctx);
      } catch (err) {
        send({ t: "error", id, failure: "handler", error: toWireError(err), memoryMb: transport.memoryMb() });
        return;
      }
      const outcome = wireOutcome(value);
      try {
        if (outcome) send({ t: "result", id, value: undefined, outcome, memoryMb: transport.memoryMb() });
        else send({ t: "result", id, value, memoryMb: transport.memoryMb() });
      } catch (err) {
        const error = toWireError(err);
        error.message = `the handler's result cannot be sent back to the worker: ${error.message}`;
        send({ t: "error", id, failure: "serialise", error, memoryMb: transport.memoryMb() });
      }
    } finally {
      running.delete(id);
    }
  };

  transport.onMessage((msg) => {
    switch (msg.t) {
      case "run":
        void run(msg);
        break;
      case "abort":
        running.get(msg.id)?.abort(fromWireError(msg.reason));
        break;
      case "ping":
        transport.send({ t: "pong", seq: msg.seq, memoryMb: transport.memoryMb() });
        break;
      case "close":
        transport.exit(0);
        break;
    }
  });
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
