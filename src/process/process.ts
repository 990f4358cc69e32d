/**
 * The per-process API: the `self` object a process function receives.
 */
import type { Channel } from "./channel.js";
import type { ProcessEvent } from "./events.js";
import { Mailbox, type MailboxOptions } from "./mailbox.js";
import type { Message } from "./message.js";
import type { CallOptions, ProcessNode, SpawnOptions } from "./node.js";
import type { Pid } from "./pid.js";
import type { ThreadModule } from "./thread.js";
import { after, type TimerChannel, tick } from "./timers.js";

/**
 * A process: an async function that receives its `self` first. It ends when the function returns (a normal
 * exit, with that result) or throws (an abnormal exit, with that error).
 */
export type ProcessFn<A extends unknown[] = unknown[], R = unknown> = (
  self: Self,
  ...args: A
) => R | Promise<R>;

/** Options a process can change on itself. */
export interface ProcessOptions {
  /** Receive exit signals of linked processes as `LINK_DOWN` events instead of dying with them. */
  trapLinks: boolean;
}

/** Options of `listen`. */
export interface ListenOptions {
  /** Deliver {@link Message} objects (`from`, `topic`, `payload`, `reply`) instead of bare payloads. */
  message?: boolean;
}

/** An outstanding `call` to this process. @internal */
export interface PendingCall {
  cancelTimer: (() => void) | undefined;
  reject: (error: Error) => void;
  resolve: (value: unknown) => void;
}

/**
 * `self`: what a running process uses to talk to the world. Every method acts on behalf of this process
 * (`from` of its messages, the watcher of its monitors, one end of its links).
 *
 * A process that has exited can still run code until its function returns (JavaScript cannot preempt it);
 * from then on its `send`s return false and its channels are closed (after `kill` they reject with the
 * exit error, so the next `receive` unwinds it). Check `self.signal` in long synchronous or external work.
 */
export class ProcessContext {
  /** This process's PID. */
  readonly pid: Pid;
  /** The node this process runs on. */
  readonly node: ProcessNode;
  /** @internal */ alive = true;
  /** @internal */ readonly fn: ProcessFn<unknown[], unknown>;
  /** @internal */ readonly args: unknown[];
  /** @internal */ readonly mailbox: Mailbox;
  /** @internal */ trapLinks = false;
  /** @internal */ links: Set<Pid> | undefined;
  /** @internal who monitors this process */ watchers: Set<Pid> | undefined;
  /** @internal whom this process monitors */ watching: Set<Pid> | undefined;
  /** @internal */ hasNames = false;
  /** @internal */ calls: Map<number, PendingCall> | undefined;
  /** @internal */ eventsChannel: Channel<ProcessEvent> | undefined;
  /** @internal */ abort: AbortController | undefined;
  /** @internal */ exitWaiters: ((e: ProcessEvent) => void)[] | undefined;

  /** @internal */
  constructor(
    node: ProcessNode,
    pid: Pid,
    fn: ProcessFn<unknown[], unknown>,
    args: unknown[],
    mb: MailboxOptions,
    mailbox?: Mailbox,
  ) {
    this.node = node;
    this.pid = pid;
    this.fn = fn;
    this.args = args;
    this.mailbox = mailbox ?? new Mailbox(mb);
  }

  /** Aborted when this process exits (for any reason), with the exit error as `reason`. */
  get signal(): AbortSignal {
    if (this.abort === undefined) {
      this.abort = new AbortController();
      if (!this.alive) this.abort.abort();
    }
    return this.abort.signal;
  }

  /** Sends to a PID or registered name; see {@link ProcessNode.send}. `from` is this process. */
  send(to: Pid | string, topic: string, payload?: unknown): boolean {
    if (!this.alive) return false;
    return this.node.sendFrom(this.pid, to, topic, payload);
  }

  /**
   * Request/reply: sends a message that the target answers with `msg.reply(value)` (a listener in message
   * mode, or the inbox). Rejects with `NoProcessError` if the target is not alive or dies first, and with
   * `CallTimeoutError` after `timeoutMs` (default: the node's, 5,000 ms); a later reply is dropped.
   */
  call<R = unknown>(to: Pid | string, topic: string, payload?: unknown, options?: CallOptions): Promise<R> {
    return this.node.callFrom(this.pid, to, topic, payload, options);
  }

  /**
   * A channel of the payloads sent to `topic` (or of {@link Message}s with `{ message: true }`). A topic
   * ending in `*` matches every topic starting with what precedes it. Calling it again for the same topic
   * returns the same channel; closing the channel stops listening (later messages go to the inbox).
   */
  listen<T = unknown>(topic: string, options: { message: true }): Channel<Message<T>>;
  listen<T = unknown>(topic: string, options?: ListenOptions): Channel<T>;
  listen(topic: string, options?: ListenOptions): Channel<unknown> {
    return this.mailbox.listen(topic, options?.message === true);
  }

  /** The inbox: every message that no listener matched when it arrived, as {@link Message} objects. */
  inbox(): Channel<Message> {
    return this.mailbox.inbox() as Channel<Message>;
  }

  /** The lifecycle channel: `EXIT` of monitored processes and trapped `LINK_DOWN`s. Unbounded. */
  events(): Channel<ProcessEvent> {
    return this.node.eventsOf(this);
  }

  /** Spawns a process; see {@link ProcessNode.spawn}. With `link`/`monitor`, links or monitors it from this one. */
  spawn<A extends unknown[], R>(fn: ProcessFn<A, R>, args?: A, options?: SpawnOptions): Pid;
  spawn(module: ThreadModule, args?: unknown[], options?: SpawnOptions): Pid;
  spawn(fn: ProcessFn<never[], unknown> | ThreadModule, args?: unknown[], options?: SpawnOptions): Pid {
    return this.node.spawn(fn as ThreadModule, args, { ...options, parent: this.pid });
  }

  /** Spawns a process linked to this one, atomically (it cannot exit before the link exists). */
  spawnLink<A extends unknown[], R>(fn: ProcessFn<A, R>, args?: A, options?: SpawnOptions): Pid;
  spawnLink(module: ThreadModule, args?: unknown[], options?: SpawnOptions): Pid;
  spawnLink(fn: ProcessFn<never[], unknown> | ThreadModule, args?: unknown[], options?: SpawnOptions): Pid {
    return this.node.spawn(fn as ThreadModule, args, { ...options, parent: this.pid, link: true });
  }

  /** Spawns a process monitored by this one, atomically: its `EXIT` always reaches `events()`. */
  spawnMonitor<A extends unknown[], R>(fn: ProcessFn<A, R>, args?: A, options?: SpawnOptions): Pid;
  spawnMonitor(module: ThreadModule, args?: unknown[], options?: SpawnOptions): Pid;
  spawnMonitor(
    fn: ProcessFn<never[], unknown> | ThreadModule,
    args?: unknown[],
    options?: SpawnOptions,
  ): Pid {
    return this.node.spawn(fn as ThreadModule, args, { ...options, parent: this.pid, monitor: true });
  }

  /**
   * Watches `pid`: its `EXIT` will arrive on `events()`. Monitoring a process that is not alive delivers an
   * `EXIT` at once with a `ProcessExitError` of reason `"noproc"`. One monitor per pair: monitoring again is
   * a no-op.
   */
  monitor(pid: Pid): void {
    this.node.monitorFrom(this, pid);
  }

  /** Stops watching `pid`. Returns whether a monitor existed. An `EXIT` already queued stays queued. */
  unmonitor(pid: Pid): boolean {
    return this.node.unmonitorFrom(this, pid);
  }

  /** Links this process and `pid` (both ways). Returns false, doing nothing, if `pid` is not alive. */
  link(pid: Pid): boolean {
    return this.node.linkFrom(this, pid);
  }

  /** Removes the link both ways. Returns whether one existed. */
  unlink(pid: Pid): boolean {
    return this.node.unlinkFrom(this, pid);
  }

  /** Sends an exit signal to `pid` from this process; see {@link ProcessNode.exit}. */
  exit(pid: Pid, reason?: string): boolean {
    return this.node.exit(pid, reason, this.pid);
  }

  /** Changes this process's options. */
  setOptions(options: Partial<ProcessOptions>): void {
    if (options.trapLinks !== undefined) this.trapLinks = options.trapLinks;
  }

  /** This process's options. */
  getOptions(): ProcessOptions {
    return { trapLinks: this.trapLinks };
  }

  /** Registers `name` for this process; freed when it exits. Throws `NameTakenError` if another holds it. */
  register(name: string): void {
    this.node.register(name, this.pid);
  }

  /** Frees `name` (whoever holds it). Returns whether it was registered. */
  unregister(name: string): boolean {
    return this.node.unregister(name);
  }

  /** The PID registered under `name`, or undefined. */
  lookup(name: string): Pid | undefined {
    return this.node.lookup(name);
  }

  /** A channel that receives once, `ms` from now, on the node's clock. */
  after(ms: number): TimerChannel {
    return after(ms, this.node.clock);
  }

  /** A channel that receives every `ms` on the node's clock until `stop()`. */
  tick(ms: number): TimerChannel {
    return tick(ms, this.node.clock);
  }

  /** Answers a call addressed to this process. @internal */
  reply(ref: number, value: unknown): boolean {
    const c = this.calls?.get(ref);
    if (c === undefined) return false;
    this.calls?.delete(ref);
    c.cancelTimer?.();
    c.resolve(value);
    return true;
  }
}

/** The `self` a process function receives. */
export type Self = ProcessContext;
