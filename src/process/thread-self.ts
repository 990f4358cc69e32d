/**
 * The `self` of a thread-hosted process: the same API as a local process's, backed by the bridge to the
 * node that spawned it.
 */
import { type MessagePort, receiveMessageOnPort } from "node:worker_threads";
import { systemClock } from "../clock.js";
import { Channel } from "./channel.js";
import { NoProcessError, PayloadCloneError } from "./errors.js";
import { EXIT, LINK_DOWN, type ProcessEvent } from "./events.js";
import { Mailbox, type MailboxOptions } from "./mailbox.js";
import type { Message, ReplyPort } from "./message.js";
import type { CallOptions } from "./node.js";
import type { Pid } from "./pid.js";
import type { ListenOptions, ProcessOptions } from "./process.js";
import { type FromThread, fromWire, isCloneError, type SyncOp, type ToThread } from "./thread-protocol.js";
import { after, type TimerChannel, tick } from "./timers.js";

/**
 * A thread-hosted process function: `fn(self, ...args)`, exported from a module (see `ThreadModule`).
 * Its arguments and result cross by structured clone.
 */
export type ThreadProcessFn<A extends unknown[] = unknown[], R = unknown> = (
  self: ThreadSelf,
  ...args: A
) => R | Promise<R>;

interface PendingThreadCall {
  reject: (error: Error) => void;
  resolve: (value: unknown) => void;
}

/**
 * `self` inside a worker thread. The methods mean what they mean on a local `Self`, with these differences:
 * - payloads, call results and replies cross by structured clone; one that cannot be cloned makes `send`,
 *   `call` or `reply` throw `PayloadCloneError`;
 * - `send` is asynchronous: it returns true once the message is posted to the node (false after this
 *   process's function has ended), not whether a mailbox took it; order per sender and receiver is kept;
 *   `msg.reply` likewise returns true once posted;
 * - `link`, `unlink`, `unmonitor`, `exit`, `register`, `unregister`, `lookup` and `setOptions` are
 *   synchronous requests to the node: the thread blocks (`Atomics.wait`) until the node's event loop answers;
 * - timers (`after`, `tick`) use the thread's system clock; a node's `FakeClock` does not cross.
 */
export class ThreadSelf implements ReplyPort {
  /** This process's PID (allocated by the node that spawned it). */
  readonly pid: Pid;
  readonly #port: MessagePort;
  readonly #flag: Int32Array;
  readonly #mailbox: Mailbox;
  readonly #events = new Channel<ProcessEvent>();
  readonly #calls = new Map<number, PendingThreadCall>();
  #trapLinks: boolean;
  #seq = 0;
  #ended = false;

  /** @internal */
  constructor(port: MessagePort, pid: Pid, flag: SharedArrayBuffer, trapLinks: boolean, mb: MailboxOptions) {
    this.#port = port;
    this.pid = pid;
    this.#flag = new Int32Array(flag);
    this.#trapLinks = trapLinks;
    this.#mailbox = new Mailbox(mb);
  }

  /** Handles one message from the node. @internal */
  dispatch(m: ToThread): void {
    switch (m.t) {
      case "msg":
        this.#mailbox.deliver(m.from, m.topic, m.payload, m.ref, m.ref === 0 ? undefined : this);
        return;
      case "event":
        if (m.kind === EXIT) {
          this.#events.send(
            m.error === undefined
              ? { kind: EXIT, from: m.from, result: m.result }
              : { kind: EXIT, from: m.from, error: fromWire(m.error) },
          );
        } else this.#events.send({ kind: LINK_DOWN, from: m.from, error: fromWire(m.error) });
        return;
      case "callResult": {
        const c = this.#calls.get(m.id);
        if (c === undefined) return;
        this.#calls.delete(m.id);
        if (m.ok) c.resolve(m.value);
        else c.reject(fromWire(m.error));
        return;
      }
      case "syncReply":
        return; // answered out of band by #sync; a stray one (never expected) is dropped
    }
  }

  /** Marks the function as ended: later sends return false. @internal */
  end(): void {
    this.#ended = true;
  }

  #post(m: FromThread, what: string): void {
    try {
      this.#port.postMessage(m);
    } catch (e) {
      throw isCloneError(e) ? new PayloadCloneError(what, e) : e;
    }
  }

  /** Posts a request and blocks until the node answers it. */
  #sync(op: SyncOp): unknown {
    const id = ++this.#seq;
    this.#post({ t: "sync", id, ...op }, "request");
    for (;;) {
      const seen = Atomics.load(this.#flag, 0);
      for (let r = receiveMessageOnPort(this.#port); r !== undefined; r = receiveMessageOnPort(this.#port)) {
        const m = r.message as ToThread;
        if (m.t === "syncReply" && m.id === id) {
          if (m.ok) return m.value;
          throw fromWire(m.error);
        }
        this.dispatch(m);
      }
      Atomics.wait(this.#flag, 0, seen);
    }
  }

  /** Sends to a PID or registered name, from this process. See the class notes for the return value. */
  send(to: Pid | string, topic: string, payload?: unknown): boolean {
    if (this.#ended) return false;
    this.#post({ t: "send", to, topic, payload }, `message "${topic}"`);
    return true;
  }

  /**
   * Request/reply, as a local `self.call`: rejects with `NoProcessError` if the target is not alive or dies
   * first, `CallTimeoutError` after `timeoutMs` (the node's default when omitted).
   */
  call<R = unknown>(to: Pid | string, topic: string, payload?: unknown, options?: CallOptions): Promise<R> {
    if (this.#ended) return Promise.reject(new NoProcessError(this.pid, "has ended: it cannot call"));
    const id = ++this.#seq;
    try {
      this.#post({ t: "call", id, to, topic, payload, timeoutMs: options?.timeoutMs }, `call "${topic}"`);
    } catch (e) {
      return Promise.reject(e);
    }
    return new Promise<R>((resolve, reject) => {
      this.#calls.set(id, { reject, resolve: resolve as (value: unknown) => void });
    });
  }

  /** A channel of payloads (or {@link Message}s with `{ message: true }`) sent to `topic`; as a local `listen`. */
  listen<T = unknown>(topic: string, options: { message: true }): Channel<Message<T>>;
  listen<T = unknown>(topic: string, options?: ListenOptions): Channel<T>;
  listen(topic: string, options?: ListenOptions): Channel<unknown> {
    return this.#mailbox.listen(topic, options?.message === true);
  }

  /** Every message that no listener matched, as {@link Message} objects. */
  inbox(): Channel<Message> {
    return this.#mailbox.inbox() as Channel<Message>;
  }

  /** `EXIT` of monitored processes and trapped `LINK_DOWN`s. */
  events(): Channel<ProcessEvent> {
    return this.#events;
  }

  /** Watches `pid` (its `EXIT` arrives on `events()`; `noproc` at once if it is not alive). */
  monitor(pid: Pid): void {
    this.#post({ t: "monitor", pid }, "monitor");
  }

  /** Stops watching `pid`. Returns whether a monitor existed. */
  unmonitor(pid: Pid): boolean {
    return this.#sync({ op: "unmonitor", pid }) as boolean;
  }

  /** Links this process and `pid` both ways. Returns false if `pid` is not alive. */
  link(pid: Pid): boolean {
    return this.#sync({ op: "link", pid }) as boolean;
  }

  /** Removes the link both ways. Returns whether one existed. */
  unlink(pid: Pid): boolean {
    return this.#sync({ op: "unlink", pid }) as boolean;
  }

  /** Sends an exit signal to `pid` from this process (as `node.exit`). */
  exit(pid: Pid, reason?: string): boolean {
    return this.#sync({ op: "exit", pid, reason }) as boolean;
  }

  /** Changes this process's options (applied on the node before this returns). */
  setOptions(options: Partial<ProcessOptions>): void {
    if (options.trapLinks === undefined) return;
    this.#sync({ op: "trapLinks", value: options.trapLinks });
    this.#trapLinks = options.trapLinks;
  }

  /** This process's options. */
  getOptions(): ProcessOptions {
    return { trapLinks: this.#trapLinks };
  }

  /** Registers `name` for this process on the node; freed when it exits. Throws `NameTakenError`. */
  register(name: string): void {
    this.#sync({ op: "register", name });
  }

  /** Frees `name`. Returns whether it was registered. */
  unregister(name: string): boolean {
    return this.#sync({ op: "unregister", name }) as boolean;
  }

  /** The PID registered under `name` on the node, or undefined. */
  lookup(name: string): Pid | undefined {
    return this.#sync({ op: "lookup", name }) as Pid | undefined;
  }

  /** A channel that receives once, `ms` from now. */
  after(ms: number): TimerChannel {
    return after(ms, systemClock);
  }

  /** A channel that receives every `ms` until `stop()`. */
  tick(ms: number): TimerChannel {
    return tick(ms, systemClock);
  }

  /** Answers a call addressed to this process. @internal */
  reply(ref: number, value: unknown): boolean {
    if (this.#ended) return false;
    this.#post({ t: "reply", ref, value }, "reply");
    return true;
  }
}
