/**
 * Supervisors: processes that start children, watch them and restart them by a strategy, as OTP's.
 */
import type { ResourceLimits } from "node:worker_threads";
import { OptionsError } from "../errors.js";
import { isOrderlyExit, ProcessExitError, RestartIntensityError } from "./errors.js";
import { EXIT, type ProcessEvent } from "./events.js";
import type { Pid } from "./pid.js";
import type { ProcessFn, Self } from "./process.js";
import { select } from "./select.js";
import type { ThreadModule } from "./thread.js";

/**
 * Which children restart when one ends and must restart:
 * `"one_for_one"` only it; `"one_for_all"` all of them; `"rest_for_one"` it and those started after it.
 */
export type RestartStrategy = "one_for_one" | "one_for_all" | "rest_for_one";

/**
 * When a child is restarted: `"permanent"` always; `"transient"` only after an abnormal exit (an error other
 * than a `"shutdown"` exit); `"temporary"` never (it is forgotten when it ends).
 */
export type RestartType = "permanent" | "transient" | "temporary";

/** One child of a supervisor. */
export interface ChildSpec {
  /** Arguments passed to `start` after `self`. */
  args?: unknown[];
  /** Identifies the child in `which_children` replies. Unique within the supervisor. */
  id: string;
  /** Register the child under this name at each start (freed when it ends). */
  name?: string;
  /** Default `"permanent"`. */
  restart?: RestartType;
  /**
   * How long to wait, on shutdown, for the child to end after a `"shutdown"` exit signal before killing it
   * (default 5,000 ms). Only a child that traps links can use the time (it gets a `LINK_DOWN`); others end
   * at once.
   */
  shutdownMs?: number;
  /**
   * The process function, or for a thread-hosted child the module that exports it (`{ module, export }`;
   * `args` then cross by structured clone).
   */
  start: ProcessFn<never[], unknown> | ThreadModule;
  /** `"thread"` runs the child in a worker thread of its own (implied when `start` is a module). */
  host?: "local" | "thread";
  /** V8 heap limits of a thread-hosted child's worker. */
  resourceLimits?: ResourceLimits;
}

/** Options of {@link supervisor}. */
export interface SupervisorOptions {
  /** Started in order; stopped in reverse order. */
  children: ChildSpec[];
  /** Restarts allowed within `withinMs` (default 3); one more and the supervisor gives up and exits. */
  maxRestarts?: number;
  /** Default `"one_for_one"`. */
  strategy?: RestartStrategy;
  /** The restart intensity window in milliseconds (default 5,000), read from the node's clock. */
  withinMs?: number;
}

/** A child as reported by the `"which_children"` call. */
export interface ChildInfo {
  id: string;
  pid: Pid | undefined;
}

/** The topic a supervisor answers with its {@link ChildInfo} list (use `call`). */
export const WHICH_CHILDREN = "which_children";

interface Child {
  pid: Pid | undefined;
  spec: ChildSpec;
}

/**
 * Builds a supervisor process function; spawn it like any process (`node.spawn(supervisor({...}))`).
 * Contracts:
 * - it traps links; each child is spawned linked and monitored, so if the supervisor is killed its children
 *   die with it, and it sees every child's `EXIT`;
 * - children start in list order; restarts follow the strategy; siblings it must stop are stopped in
 *   reverse start order, each with a `"shutdown"` exit signal, then killed after its `shutdownMs`;
 * - more than `maxRestarts` restarts within `withinMs` stop all children and end the supervisor with a
 *   `RestartIntensityError` (whose `cause` is the last child error);
 * - an exit signal that is not from a child (its parent crashed, or `exit(sup, "shutdown")`) stops all
 *   children in reverse order and ends the supervisor with that error;
 * - it answers `call(sup, "which_children")` with `ChildInfo[]`.
 */
export function supervisor(options: SupervisorOptions): ProcessFn<[], never> {
  const strategy = options.strategy ?? "one_for_one";
  const maxRestarts = options.maxRestarts ?? 3;
  const withinMs = options.withinMs ?? 5_000;
  const ids = new Set<string>();
  for (const c of options.children) {
    if (ids.has(c.id)) throw new OptionsError(`supervisor: duplicate child id "${c.id}"`);
    ids.add(c.id);
  }
  if (!Number.isInteger(maxRestarts) || maxRestarts < 0) {
    throw new OptionsError("supervisor: options.maxRestarts must be a non-negative integer");
  }
  return async (self: Self): Promise<never> => {
    self.setOptions({ trapLinks: true });
    const events = self.events();
    const inbox = self.inbox();
    const children: Child[] = options.children.map((spec) => ({ pid: undefined, spec }));
    const spawned = new Set<Pid>();
    const deferred: ProcessEvent[] = [];
    const restarts: number[] = [];

    const start = (c: Child): void => {
      const pid = self.spawn(c.spec.start as ThreadModule, c.spec.args, {
        host: c.spec.host,
        link: true,
        monitor: true,
        name: c.spec.name,
        resourceLimits: c.spec.resourceLimits,
      });
      c.pid = pid;
      spawned.add(pid);
    };

    const stop = async (c: Child): Promise<void> => {
      const pid = c.pid;
      c.pid = undefined;
      if (pid === undefined || !self.node.alive(pid)) return;
      self.exit(pid, "shutdown");
      const timer = self.after(c.spec.shutdownMs ?? 5_000);
      try {
        for (;;) {
          const r = await select([events, timer]);
          if (r.channel === timer) {
            self.exit(pid, "kill");
            continue;
          }
          const ev = r.value as ProcessEvent;
          if (ev.kind === EXIT && ev.from === pid) {
            if (ev.error === undefined) spawned.delete(pid);
            return;
          }
          deferred.push(ev);
        }
      } finally {
        timer.stop();
      }
    };

    const stopAll = async (from = 0): Promise<void> => {
      for (let i = children.length - 1; i >= from; i--) {
        const c = children[i];
        if (c !== undefined) await stop(c);
      }
    };

    for (const c of children) start(c);
    try {
      for (;;) {
        let ev = deferred.shift();
        if (ev === undefined) {
          const r = await select([events, inbox]);
          if (r.channel === inbox) {
            const msg = r.value as import("./message.js").Message;
            if (msg.topic === WHICH_CHILDREN) {
              msg.reply(children.map((c): ChildInfo => ({ id: c.spec.id, pid: c.pid })));
            }
            continue;
          }
          ev = r.value as ProcessEvent;
        }
        if (ev.kind !== EXIT) {
          if (ev.from !== undefined && spawned.delete(ev.from)) continue; // a child's crash: its EXIT handles it
          await stopAll();
          throw ev.error instanceof ProcessExitError && ev.error.pid === self.pid
            ? ev.error
            : new ProcessExitError(self.pid, "link", ev.from, ev.error);
        }
        const idx = children.findIndex((c) => c.pid === ev.from);
        if (ev.error === undefined) spawned.delete(ev.from);
        const child = children[idx];
        if (child === undefined) continue; // an old child already replaced, or one we stopped
        child.pid = undefined;
        const restart = child.spec.restart ?? "permanent";
        if (restart === "temporary" || (restart === "transient" && isOrderlyExit(ev.error))) {
          if (restart === "temporary") children.splice(idx, 1);
          continue;
        }
        const now = self.node.clock.now();
        restarts.push(now);
        while (restarts.length > 0 && (restarts[0] as number) <= now - withinMs) restarts.shift();
        if (restarts.length > maxRestarts) {
          await stopAll();
          throw new RestartIntensityError(maxRestarts, withinMs, ev.error);
        }
        if (strategy === "one_for_one") {
          start(child);
          continue;
        }
        const from = strategy === "one_for_all" ? 0 : idx;
        await stopAll(from);
        for (let i = children.length - 1; i >= from; i--) {
          if (i !== idx && children[i]?.spec.restart === "temporary") children.splice(i, 1);
        }
        for (let i = from; i < children.length; i++) {
          const c = children[i];
          if (c !== undefined && c.pid === undefined) start(c);
        }
      }
    } catch (error) {
      await stopAll().catch(() => {});
      throw error;
    }
  };
}
