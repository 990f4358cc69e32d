/**
 * The process runtime of one node: spawns processes, routes messages, carries exit signals along links and
 * monitors, and owns the name registry.
 */
import type { ResourceLimits } from "node:worker_threads";
import { type Clock, systemClock } from "../clock.js";
import { coerceError, OptionsError } from "../errors.js";
import { Channel } from "./channel.js";
import { CallTimeoutError, NoProcessError, ProcessExitError } from "./errors.js";
import { EXIT, type ExitEvent, LINK_DOWN, type ProcessEvent } from "./events.js";
import type { MailboxOptions } from "./mailbox.js";
import { formatPid, type Pid } from "./pid.js";
import { type PendingCall, ProcessContext, type ProcessFn } from "./process.js";
import { LocalRegistry, type Registry } from "./registry.js";
import { ThreadHost, type ThreadModule } from "./thread.js";

/** Options of a {@link ProcessNode}. Mailbox options are the defaults for every process it spawns. */
export interface NodeOptions extends MailboxOptions {
  /** Default `timeoutMs` of `call` (default 5,000). */
  callTimeoutMs?: number;
  /** Time source for timers and call timeouts (default the system clock; pass a `FakeClock` in tests). */
  clock?: Clock;
  /** The node's name, the first part of every PID (default `"node"`). Must not be empty. */
  name?: string;
  /** The name registry (default a new {@link LocalRegistry}). */
  registry?: Registry;
}

/** Options of `spawn`. */
export interface SpawnOptions extends MailboxOptions {
  /** Link the new process to `parent` before it runs. */
  link?: boolean;
  /** Monitor the new process from `parent` before it runs. */
  monitor?: boolean;
  /** Register the new process under this name before it runs (throws `NameTakenError` if taken). */
  name?: string;
  /** The spawning process (set by `self.spawn`); needed for `link` and `monitor`. */
  parent?: Pid;
  /** Start with `trapLinks` set. */
  trapLinks?: boolean;
  /**
   * Where the process runs: `"local"` (default for a function) on this node's thread, or `"thread"` (default
   * for a {@link ThreadModule}, and required to be one) in a worker thread of its own.
   */
  host?: "local" | "thread";
  /** V8 heap limits of the worker thread (`host: "thread"` only); exceeding them ends it with `ThreadExitError`. */
  resourceLimits?: ResourceLimits;
}

/** Options of `call`. */
export interface CallOptions {
  /** Milliseconds to wait for the reply (default the node's `callTimeoutMs`); `Infinity` waits forever. */
  timeoutMs?: number;
}

interface PendingExit {
  error: Error | undefined;
  killed: boolean;
  proc: ProcessContext;
  result: unknown;
}

/**
 * A node: one runtime instance, in one JavaScript thread. Contracts:
 * - `spawn` returns the PID at once; the process function starts on a later microtask, after any link,
 *   monitor and name given at spawn are in place.
 * - Delivery is synchronous into the target's mailbox, so messages from one sender to one receiver keep
 *   their order (per topic channel; the inbox keeps arrival order too).
 * - Exit signals propagate synchronously and iteratively: when `exit`/`kill` or a crash returns, every
 *   linked process that had to die is dead, and every monitor's `EXIT` is queued.
 * - Messages are passed by reference: a process must not mutate a payload it has sent.
 * - Processes share the thread: a process that never awaits starves the others (no preemption).
 */
export class ProcessNode {
  /** The node name (the first part of its PIDs). */
  readonly name: string;
  /** The node's clock. */
  readonly clock: Clock;
  /** The node's name registry. */
  readonly registry: Registry;
  readonly #callTimeoutMs: number;
  readonly #mailbox: MailboxOptions;
  readonly #procs = new Map<Pid, ProcessContext>();
  #seq = 0;
  #callSeq = 0;
  #startQueue: ProcessContext[] = [];
  #startScheduled = false;
  readonly #exitQueue: PendingExit[] = [];
  #exiting = false;
  readonly #drainStart = (): void => {
    const q = this.#startQueue;
    this.#startQueue = [];
    this.#startScheduled = false;
    for (const p of q) void this.#run(p);
  };

  constructor(options: NodeOptions = {}) {
    const name = options.name ?? "node";
    if (typeof name !== "string" || name.length === 0)
      throw new OptionsError("options.name must be non-empty");
    this.name = name;
    this.clock = options.clock ?? systemClock;
    this.registry = options.registry ?? new LocalRegistry();
    this.#callTimeoutMs = options.callTimeoutMs ?? 5_000;
    this.#mailbox = { mailboxSize: options.mailboxSize, overflow: options.overflow };
  }

  /** Live processes. */
  get size(): number {
    return this.#procs.size;
  }

  /** True while `pid` is alive on this node. */
  alive(pid: Pid): boolean {
    return this.#procs.has(pid);
  }

  /** PIDs of the live processes, in spawn order. */
  pids(): Pid[] {
    return [...this.#procs.keys()];
  }

  /**
   * Starts `fn(self, ...args)` as a new process and returns its PID. `link`/`monitor` need `parent` (use
   * `self.spawnLink` / `self.spawnMonitor` inside a process). Throws `NoProcessError` if `parent` is not
   * alive, `NameTakenError` if `name` is taken.
   */
  spawn<A extends unknown[], R>(fn: ProcessFn<A, R>, args?: A, options?: SpawnOptions): Pid;
  /**
   * Starts the function exported by a module as a process in a worker thread of its own (`host: "thread"`,
   * implied). `args` cross by structured clone (`PayloadCloneError` if they cannot). See {@link ThreadModule}.
   */
  spawn(module: ThreadModule, args?: unknown[], options?: SpawnOptions): Pid;
  spawn(fn: ProcessFn<never[], unknown> | ThreadModule, args?: unknown[], options?: SpawnOptions): Pid {
    let parent: ProcessContext | undefined;
    if (options?.parent !== undefined) {
      parent = this.#procs.get(options.parent);
      if (parent === undefined) throw new NoProcessError(options.parent, "cannot spawn: it is not alive");
    } else if (options?.link || options?.monitor) {
      throw new OptionsError(
        "spawn: link and monitor need a parent process (use self.spawnLink/spawnMonitor)",
      );
    }
    const pid = formatPid(this.name, ++this.#seq);
    const mb =
      options?.mailboxSize !== undefined || options?.overflow !== undefined
        ? {
            mailboxSize: options.mailboxSize ?? this.#mailbox.mailboxSize,
            overflow: options.overflow ?? this.#mailbox.overflow,
          }
        : this.#mailbox;
    let p: ProcessContext;
    if (typeof fn === "function" && options?.host !== "thread") {
      if (options?.name !== undefined) this.registry.register(options.name, pid);
      p = new ProcessContext(this, pid, fn as ProcessFn<unknown[], unknown>, args ?? [], mb);
    } else {
      p = this.#spawnThread(pid, fn, args ?? [], options, mb);
    }
    if (options?.name !== undefined) p.hasNames = true;
    if (options?.trapLinks) p.trapLinks = true;
    this.#procs.set(pid, p);
    if (parent !== undefined) {
      if (options?.link) {
        pidSet(parent, "links").add(pid);
        pidSet(p, "links").add(parent.pid);
      }
      if (options?.monitor) {
        pidSet(p, "watchers").add(parent.pid);
        pidSet(parent, "watching").add(pid);
      }
    }
    this.#startQueue.push(p);
    if (!this.#startScheduled) {
      this.#startScheduled = true;
      queueMicrotask(this.#drainStart);
    }
    return pid;
  }

  #spawnThread(
    pid: Pid,
    ref: unknown,
    args: unknown[],
    options: SpawnOptions | undefined,
    mb: MailboxOptions,
  ): ProcessContext {
    if (typeof ref === "function") {
      throw new OptionsError(
        'spawn: a process with host "thread" is given as { module, export }, not as a function (closures cannot cross threads)',
      );
    }
    if (options?.host === "local") throw new OptionsError('spawn: { module, export } needs host "thread"');
    const trap = options?.trapLinks === true;
    const host = new ThreadHost(this, pid, ref as ThreadModule, args, trap, options?.resourceLimits, mb);
    if (options?.name !== undefined) {
      try {
        this.registry.register(options.name, pid);
      } catch (e) {
        host.close(); // terminates the thread just started
        throw e;
      }
    }
    const p = new ProcessContext(this, pid, host.run as ProcessFn<unknown[], unknown>, [], mb, host);
    host.proc = p;
    return p;
  }

  /**
   * Sends `payload` on `topic` to a PID or a registered name, from outside any process (`from` undefined).
   * A live PID wins over a registered name spelled the same. Returns whether a live mailbox took it: false
   * when the target is unknown or dead, or its channel for that topic is full (policy `"reject"`).
   */
  send(to: Pid | string, topic: string, payload?: unknown): boolean {
    return this.sendFrom(undefined, to, topic, payload);
  }

  /** `send` with an explicit sender. @internal */
  sendFrom(from: Pid | undefined, to: Pid | string, topic: string, payload: unknown): boolean {
    const p = this.#resolve(to);
    if (p === undefined) return false;
    return p.mailbox.deliver(from, topic, payload, 0);
  }

  /** Request/reply from outside any process; see `self.call`. */
  call<R = unknown>(to: Pid | string, topic: string, payload?: unknown, options?: CallOptions): Promise<R> {
    return this.callFrom(undefined, to, topic, payload, options);
  }

  /** `call` with an explicit sender. @internal */
  callFrom<R>(
    from: Pid | undefined,
    to: Pid | string,
    topic: string,
    payload: unknown,
    options: CallOptions | undefined,
  ): Promise<R> {
    const p = this.#resolve(to);
    if (p === undefined) return Promise.reject(new NoProcessError(to));
    const ref = ++this.#callSeq;
    const pending: PendingCall = { cancelTimer: undefined, reject: noop, resolve: noop };
    const promise = new Promise<R>((resolve, reject) => {
      pending.resolve = resolve as (value: unknown) => void;
      pending.reject = reject;
    });
    let taken: boolean;
    try {
      taken = p.mailbox.deliver(from, topic, payload, ref, p);
    } catch (e) {
      return Promise.reject(e); // a payload that cannot cross to a thread
    }
    if (!taken) {
      return Promise.reject(new NoProcessError(to, `did not take the call on "${topic}" (mailbox full)`));
    }
    if (p.calls === undefined) p.calls = new Map();
    p.calls.set(ref, pending);
    const timeoutMs = options?.timeoutMs ?? this.#callTimeoutMs;
    if (Number.isFinite(timeoutMs)) {
      pending.cancelTimer = this.clock.setTimeout(() => {
        if (p.calls?.delete(ref)) pending.reject(new CallTimeoutError(to, topic, timeoutMs));
      }, timeoutMs);
    }
    return promise;
  }

  /**
   * Sends an exit signal to `pid` (`from` is the sender, undefined from outside). Returns false if `pid` is
   * not alive. Semantics, as Erlang's `exit/2`:
   * - `"kill"` (the default) ends it at once, even if it traps links;
   * - a process that traps links receives any other reason as a `LINK_DOWN` event instead;
   * - otherwise `"normal"` is ignored, and any other reason ends it with a `ProcessExitError` of that reason.
   */
  exit(pid: Pid, reason = "kill", from?: Pid): boolean {
    const p = this.#procs.get(pid);
    if (p === undefined) return false;
    if (reason !== "kill" && p.trapLinks) {
      this.#pushEvent(p, { kind: LINK_DOWN, from, error: new ProcessExitError(pid, reason, from) });
      return true;
    }
    if (reason === "normal") return true;
    this.#terminate(p, undefined, new ProcessExitError(pid, reason, from), true);
    return true;
  }

  /** Ends `pid` at once (`exit(pid, "kill")`). */
  kill(pid: Pid): boolean {
    return this.exit(pid, "kill");
  }

  /**
   * Resolves with the `EXIT` event of `pid` when it ends (at once, with reason `"noproc"`, if it is not
   * alive). For code outside processes: tests, `main`, shutdown.
   */
  waitExit(pid: Pid): Promise<ExitEvent> {
    const p = this.#procs.get(pid);
    if (p === undefined) return Promise.resolve(noproc(pid));
    return new Promise((resolve) => {
      if (p.exitWaiters === undefined) p.exitWaiters = [];
      p.exitWaiters.push(resolve as (e: ProcessEvent) => void);
    });
  }

  /** Kills every live process (newest first) and resolves when they are gone. */
  async shutdown(): Promise<void> {
    const pids = this.pids().reverse();
    for (const pid of pids) this.kill(pid);
  }

  /** Registers `name` for `pid` (see {@link Registry}). Throws `NoProcessError` if `pid` is not alive. */
  register(name: string, pid: Pid): void {
    const p = this.#procs.get(pid);
    if (p === undefined) throw new NoProcessError(pid, "cannot register: it is not alive");
    this.registry.register(name, pid);
    p.hasNames = true;
  }

  /** The PID registered under `name`, or undefined. */
  lookup(name: string): Pid | undefined {
    return this.registry.lookup(name);
  }

  /** Frees `name`. Returns whether it was registered. */
  unregister(name: string): boolean {
    return this.registry.unregister(name);
  }

  /** @internal */
  eventsOf(p: ProcessContext): Channel<ProcessEvent> {
    if (p.eventsChannel === undefined) {
      p.eventsChannel = new Channel<ProcessEvent>();
      if (!p.alive) p.eventsChannel.close();
    }
    return p.eventsChannel;
  }

  /** @internal */
  monitorFrom(watcher: ProcessContext, pid: Pid): void {
    if (!watcher.alive) return;
    const t = this.#procs.get(pid);
    if (t === undefined) {
      this.#pushEvent(watcher, noproc(pid));
      return;
    }
    pidSet(t, "watchers").add(watcher.pid);
    pidSet(watcher, "watching").add(pid);
  }

  /** @internal */
  unmonitorFrom(watcher: ProcessContext, pid: Pid): boolean {
    const had = watcher.watching?.delete(pid) ?? false;
    this.#procs.get(pid)?.watchers?.delete(watcher.pid);
    return had;
  }

  /** @internal */
  linkFrom(p: ProcessContext, pid: Pid): boolean {
    if (!p.alive) return false;
    if (pid === p.pid) return true;
    const t = this.#procs.get(pid);
    if (t === undefined) return false;
    pidSet(p, "links").add(pid);
    pidSet(t, "links").add(p.pid);
    return true;
  }

  /** @internal */
  unlinkFrom(p: ProcessContext, pid: Pid): boolean {
    const had = p.links?.delete(pid) ?? false;
    this.#procs.get(pid)?.links?.delete(p.pid);
    return had;
  }

  #resolve(to: Pid | string): ProcessContext | undefined {
    const p = this.#procs.get(to);
    if (p !== undefined) return p;
    const pid = this.registry.lookup(to);
    return pid === undefined ? undefined : this.#procs.get(pid);
  }

  #pushEvent(p: ProcessContext, event: ProcessEvent): void {
    if (!p.alive) return;
    this.eventsOf(p).send(event);
  }

  async #run(p: ProcessContext): Promise<void> {
    if (!p.alive) return;
    let result: unknown;
    let error: Error | undefined;
    try {
      result = await (p.args.length === 0 ? p.fn(p) : p.fn(p, ...p.args));
    } catch (e) {
      error = coerceError(e);
    }
    if (p.alive) this.#terminate(p, result, error, false);
  }

  #terminate(proc: ProcessContext, result: unknown, error: Error | undefined, killed: boolean): void {
    if (this.#exiting) {
      this.#exitQueue.push({ error, killed, proc, result });
      return;
    }
    this.#exiting = true;
    try {
      this.#finish({ error, killed, proc, result });
      let next = this.#exitQueue.shift();
      while (next !== undefined) {
        this.#finish(next);
        next = this.#exitQueue.shift();
      }
    } finally {
      this.#exiting = false;
    }
  }

  #finish({ error, killed, proc: p, result }: PendingExit): void {
    if (!p.alive) return;
    p.alive = false;
    const pid = p.pid;
    this.#procs.delete(pid);
    if (p.hasNames) this.registry.removeAll(pid);
    if (killed && error !== undefined) {
      p.mailbox.fail(error);
      p.eventsChannel?.fail(error);
    } else {
      p.mailbox.close();
      p.eventsChannel?.close();
    }
    p.abort?.abort(error);
    if (p.calls !== undefined) {
      for (const c of p.calls.values()) {
        c.cancelTimer?.();
        c.reject(new NoProcessError(pid, "exited before replying"));
      }
      p.calls = undefined;
    }
    if (p.watching !== undefined) {
      for (const t of p.watching) this.#procs.get(t)?.watchers?.delete(pid);
    }
    if (p.watchers !== undefined) {
      const event: ExitEvent =
        error === undefined ? { kind: EXIT, from: pid, result } : { kind: EXIT, from: pid, error };
      for (const w of p.watchers) {
        const wp = this.#procs.get(w);
        if (wp === undefined) continue;
        wp.watching?.delete(pid);
        this.#pushEvent(wp, event);
      }
    }
    if (p.links !== undefined) {
      for (const l of p.links) {
        const lp = this.#procs.get(l);
        if (lp === undefined) continue;
        lp.links?.delete(pid);
        if (error === undefined) continue;
        if (lp.trapLinks) this.#pushEvent(lp, { kind: LINK_DOWN, from: pid, error });
        else
          this.#exitQueue.push({
            error: new ProcessExitError(l, "link", pid, error),
            killed: true,
            proc: lp,
            result: undefined,
          });
      }
    }
    if (p.exitWaiters !== undefined) {
      const event: ExitEvent =
        error === undefined ? { kind: EXIT, from: pid, result } : { kind: EXIT, from: pid, error };
      for (const w of p.exitWaiters) w(event);
    }
  }
}

function noop(): void {}

/** The link or monitor set of `p`, created on first use. */
function pidSet(p: ProcessContext, key: "links" | "watchers" | "watching"): Set<Pid> {
  let set = p[key];
  if (set === undefined) {
    set = new Set();
    p[key] = set;
  }
  return set;
}

function noproc(pid: Pid): ExitEvent {
  return { kind: EXIT, from: pid, error: new ProcessExitError(pid, "noproc") };
}

/** Creates a standalone process runtime. */
export function createNode(options?: NodeOptions): ProcessNode {
  return new ProcessNode(options);
}
