/**
 * Lifecycle events that `self.events()` delivers.
 */
import type { Pid } from "./pid.js";

/** The `kind` of an {@link ExitEvent}. */
export const EXIT = "EXIT";
/** The `kind` of a {@link LinkDownEvent}. */
export const LINK_DOWN = "LINK_DOWN";

/**
 * A monitored process ended. `result` is what its function returned (when `error` is undefined); `error` is
 * what it threw, or a `ProcessExitError` when it was ended from outside (`reason` "kill", "shutdown",
 * "link") or was not alive when monitored (`reason` "noproc").
 */
export interface ExitEvent {
  kind: typeof EXIT;
  from: Pid;
  result?: unknown;
  error?: Error;
}

/**
 * A trapped exit signal (only for processes with `trapLinks: true`): a linked process ended abnormally
 * (`from` is it, `error` its error), or someone called `exit(self, reason)` (`from` is the sender, undefined
 * from outside any process; `error` is a `ProcessExitError` with that reason).
 */
export interface LinkDownEvent {
  kind: typeof LINK_DOWN;
  from: Pid | undefined;
  error: Error;
}

/** What `self.events()` delivers. */
export type ProcessEvent = ExitEvent | LinkDownEvent;
