/**
 * Timer channels: `after(ms)` delivers once, `tick(ms)` delivers repeatedly. Both read time from a
 * {@link Clock}, so tests can drive them with `FakeClock` (inside a process, `self.after` uses the node's
 * clock).
 */
import { type Clock, systemClock } from "../clock.js";
import { OptionsError } from "../errors.js";
import { Channel } from "./channel.js";

/** A channel that a timer fills. `stop()` cancels the timer (values already delivered stay). */
export class TimerChannel extends Channel<number> {
  /** @internal */
  cancel: (() => void) | undefined;
  /** Cancels the timer; idempotent. The channel is not closed, so a pending `select` keeps its other cases. */
  stop(): void {
    this.cancel?.();
    this.cancel = undefined;
  }
}

/**
 * A channel that receives `clock.now()` once, `ms` after the call. Never closed: after its value has been
 * taken it stays silent, so one `after` can bound a whole loop of `select`s (a deadline).
 */
export function after(ms: number, clock: Clock = systemClock): TimerChannel {
  const ch = new TimerChannel({ capacity: 1 });
  ch.cancel = clock.setTimeout(() => {
    ch.cancel = undefined;
    ch.send(clock.now());
  }, ms);
  return ch;
}

/**
 * A channel that receives `clock.now()` every `ms` until `stop()`. It holds at most one tick: ticks that
 * fire while one is still unread are dropped (as Go's `time.Ticker`), so a slow reader never builds a backlog.
 */
export function tick(ms: number, clock: Clock = systemClock): TimerChannel {
  if (!(ms > 0)) throw new OptionsError("tick: ms must be a positive number");
  const ch = new TimerChannel({ capacity: 1, overflow: "reject" });
  const arm = (): void => {
    ch.cancel = clock.setTimeout(() => {
      ch.send(clock.now());
      if (ch.cancel !== undefined) arm();
    }, ms);
  };
  arm();
  return ch;
}
