/**
 * The node side of a thread-hosted process: a mailbox that forwards to a worker thread, and the bridge that
 * answers the thread's requests on the process's behalf.
 * @internal
 */
import { existsSync } from "node:fs";
import { isAbsolute, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { type ResourceLimits, Worker } from "node:worker_threads";
import { OptionsError } from "../errors.js";
import { PayloadCloneError, ThreadExitError } from "./errors.js";
import { EXIT, type ProcessEvent } from "./events.js";
import { Mailbox, type MailboxOptions } from "./mailbox.js";
import type { ProcessNode } from "./node.js";
import type { Pid } from "./pid.js";
import type { ProcessContext } from "./process.js";
import {
  type FromThread,
  fromWire,
  isCloneError,
  type SyncOp,
  THREAD_PROTOCOL_VERSION,
  type ThreadStart,
  type ToThread,
  toWire,
} from "./thread-protocol.js";

/**
 * A process function that lives in a module, for `spawn(..., { host: "thread" })`: `module` is a URL (or a URL
 * string such as `import.meta.resolve("./worker.js")`) or a file path (resolved against the current
 * directory when spawned); `export` names the function (default `"default"`). The thread imports the module
 * and calls `fn(self, ...args)` with a {@link ThreadSelf}.
 */
export interface ThreadModule {
  /** The module's URL or path. It must be loadable by plain Node.js in a worker (compiled JavaScript). */
  module: string | URL;
  /** The export to call (default `"default"`). */
  export?: string;
}

/** The compiled thread entry (dist/process/thread-entry.js); from the TypeScript sources, taken from dist/. */
function threadEntry(): URL {
  const here = new URL("./thread-entry.js", import.meta.url);
  if (existsSync(fileURLToPath(here))) return here;
  return new URL("../../dist/process/thread-entry.js", import.meta.url);
}

/** Normalises a {@link ThreadModule} to a URL string and an export name. */
export function threadModuleOf(ref: unknown): { url: string; export: string } {
  if (typeof ref !== "object" || ref === null || !("module" in ref)) {
    throw new OptionsError(
      'spawn: a thread-hosted process is given as { module, export }, e.g. { module: new URL("./p.js", import.meta.url), export: "worker" }',
    );
  }
  const { module, export: name = "default" } = ref as ThreadModule;
  if (typeof name !== "string" || name === "")
    throw new OptionsError("spawn: export must be a non-empty string");
  if (module instanceof URL) return { url: module.href, export: name };
  if (typeof module !== "string" || module === "") {
    throw new OptionsError("spawn: module must be a URL or a path");
  }
  if (/^[a-z][a-z0-9+.-]+:/i.test(module)) return { url: module, export: name };
  return { url: pathToFileURL(isAbsolute(module) ? module : resolve(module)).href, export: name };
}

function cloneError(what: string, err: unknown): unknown {
  return isCloneError(err) ? new PayloadCloneError(what, err) : err;
}

function noop(): void {}

/**
 * The mailbox of a thread-hosted process on its node: `deliver` posts the message to the thread at once (so
 * an uncloneable payload throws in the sender's `send`); closing or failing it (the process ended, was
 * killed or died with a link) terminates the thread.
 */
export class ThreadHost extends Mailbox {
  /** Settles with the process's result or error. */
  readonly done: Promise<unknown>;
  /** The process this host serves; set right after construction. */
  proc: ProcessContext | undefined;
  readonly #node: ProcessNode;
  readonly #pid: Pid;
  readonly #worker: Worker;
  readonly #flag: Int32Array;
  #settled = false;
  #stopped = false;
  #resolve: (value: unknown) => void = noop;
  #reject: (error: Error) => void = noop;

  constructor(
    node: ProcessNode,
    pid: Pid,
    ref: ThreadModule,
    args: unknown[],
    trapLinks: boolean,
    resourceLimits: ResourceLimits | undefined,
    mb: MailboxOptions,
  ) {
    super(mb);
    const target = threadModuleOf(ref);
    this.#node = node;
    this.#pid = pid;
    const flag = new SharedArrayBuffer(4);
    this.#flag = new Int32Array(flag);
    const start: ThreadStart = {
      args,
      export: target.export,
      flag,
      mailbox: { mailboxSize: mb.mailboxSize, overflow: mb.overflow },
      module: target.url,
      pid,
      trapLinks,
      version: THREAD_PROTOCOL_VERSION,
    };
    try {
      this.#worker = new Worker(threadEntry(), {
        workerData: start,
        ...(resourceLimits === undefined ? {} : { resourceLimits }),
      });
    } catch (e) {
      throw cloneError("spawn arguments", e);
    }
    this.done = new Promise((res, rej) => {
      this.#resolve = res;
      this.#reject = rej;
    });
    this.done.catch(noop); // the process may be killed before anyone awaits it
    this.#worker.on("message", (m: FromThread) => this.#onMessage(m));
    this.#worker.on("error", (e) => this.#settle(false, new ThreadExitError(pid, undefined, e)));
    this.#worker.on("exit", (code) => this.#settle(false, new ThreadExitError(pid, code)));
  }

  /** The process function run on the node: forwards `events()` to the thread until it ends. */
  readonly run = (self: ProcessContext): Promise<unknown> => {
    const events = self.events();
    const pump = async (): Promise<void> => {
      for (;;) {
        const ev = await events.receive();
        if (ev === undefined) return;
        this.#postEvent(ev);
      }
    };
    pump().catch(noop);
    return this.done;
  };

  override deliver(from: Pid | undefined, topic: string, payload: unknown, ref: number): boolean {
    if (this.#stopped) return false;
    this.#post({ t: "msg", from, topic, payload, ref }, `message "${topic}"`);
    return true;
  }

  override close(): void {
    super.close();
    this.#stop();
  }

  override fail(error: Error): void {
    super.fail(error);
    this.#stop();
  }

  #stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#settle(false, new ThreadExitError(this.#pid, undefined));
    this.#worker.terminate().catch(noop);
  }

  #settle(ok: boolean, value: unknown): void {
    if (this.#settled) return;
    this.#settled = true;
    if (ok) this.#resolve(value);
    else this.#reject(value as Error);
  }

  /** Posts to the thread; a clone failure throws {@link PayloadCloneError} naming `what`. */
  #post(m: ToThread, what: string): void {
    try {
      this.#worker.postMessage(m);
    } catch (e) {
      throw cloneError(what, e);
    }
  }

  #postEvent(ev: ProcessEvent): void {
    if (ev.kind !== EXIT) {
      this.#post({ t: "event", kind: ev.kind, from: ev.from, error: toWire(ev.error) }, "event");
      return;
    }
    const error = ev.error === undefined ? undefined : toWire(ev.error);
    try {
      this.#post({ t: "event", kind: EXIT, from: ev.from, result: ev.result, error }, "EXIT result");
    } catch (e) {
      this.#post({ t: "event", kind: EXIT, from: ev.from, result: undefined, error: toWire(e) }, "event");
    }
  }

  #onMessage(m: FromThread): void {
    const p = this.proc;
    if (p === undefined || this.#stopped) return;
    const node = this.#node;
    switch (m.t) {
      case "send":
        if (p.alive) {
          try {
            node.sendFrom(p.pid, m.to, m.topic, m.payload);
          } catch {
            // the payload came by clone, so it clones again; nothing else can throw here
          }
        }
        return;
      case "monitor":
        node.monitorFrom(p, m.pid);
        return;
      case "call": {
        const options = m.timeoutMs === undefined ? undefined : { timeoutMs: m.timeoutMs };
        const answer = (r: ToThread): void => {
          if (this.#stopped) return;
          try {
            this.#post(r, "call result");
          } catch (e) {
            this.#post({ t: "callResult", id: m.id, ok: false, error: toWire(e) }, "call result");
          }
        };
        node.callFrom(p.pid, m.to, m.topic, m.payload, options).then(
          (value) => answer({ t: "callResult", id: m.id, ok: true, value }),
          (e: unknown) => answer({ t: "callResult", id: m.id, ok: false, error: toWire(e) }),
        );
        return;
      }
      case "reply":
        p.reply(m.ref, m.value);
        return;
      case "sync": {
        let r: ToThread;
        try {
          r = { t: "syncReply", id: m.id, ok: true, value: this.#sync(p, m) };
        } catch (e) {
          r = { t: "syncReply", id: m.id, ok: false, error: toWire(e) };
        }
        if (!this.#stopped) this.#worker.postMessage(r);
        Atomics.add(this.#flag, 0, 1);
        Atomics.notify(this.#flag, 0);
        return;
      }
      case "done":
        if (m.ok) this.#settle(true, m.result);
        else this.#settle(false, fromWire(m.error));
        return;
    }
  }

  #sync(p: ProcessContext, m: SyncOp): unknown {
    const node = this.#node;
    switch (m.op) {
      case "link":
        return node.linkFrom(p, m.pid);
      case "unlink":
        return node.unlinkFrom(p, m.pid);
      case "unmonitor":
        return node.unmonitorFrom(p, m.pid);
      case "exit":
        return node.exit(m.pid, m.reason, p.pid);
      case "register":
        node.register(m.name, p.pid);
        return undefined;
      case "unregister":
        return node.unregister(m.name);
      case "lookup":
        return node.lookup(m.name);
      case "trapLinks":
        p.trapLinks = m.value;
        return undefined;
    }
  }
}
