/**
 * `select`: wait on several channels and take the first value, as Wippy's `channel.select` and Go's `select`.
 */
import type { Channel, Waiter } from "./channel.js";

/** The value type of a channel. */
export type ChannelValue<C> = C extends Channel<infer T> ? T : never;

/**
 * Which case of a {@link select} fired: its `channel`, its position in the case list (`index`), the `value`,
 * and `ok` (false when the channel was closed and drained; `value` is then undefined).
 */
export interface SelectResult<C extends Channel<unknown>> {
  channel: C;
  index: number;
  ok: boolean;
  value: ChannelValue<C> | undefined;
}

class SelectWaiter implements Waiter<unknown> {
  done = false;
  resolve!: (r: SelectResult<Channel<unknown>>) => void;
  reject!: (e: Error) => void;
  constructor(readonly cases: readonly Channel<unknown>[]) {}
  deliver(channel: Channel<unknown>, value: unknown, ok: boolean): boolean {
    if (this.done) return false;
    this.done = true;
    for (const c of this.cases) if (c !== channel) c.forget(this);
    this.resolve({ channel, index: this.cases.indexOf(channel), ok, value });
    return true;
  }
  fail(error: Error): void {
    if (this.done) return;
    this.done = true;
    for (const c of this.cases) c.forget(this);
    this.reject(error);
  }
}

/**
 * Waits until one of `cases` can deliver and takes exactly one value from exactly one channel.
 * Contracts and limits:
 * - Cases already ready are taken in list order (the first ready case wins; no random choice as in Go), so
 *   put the most urgent channel first. Timers (`after`) are ordinary channels: put them last.
 * - A closed, drained channel is ready at once, with `ok: false`.
 * - Rejects if a case channel is failed (the calling process was killed).
 * - An empty case list never resolves.
 */
export function select<const C extends readonly Channel<unknown>[]>(
  cases: C,
): Promise<SelectResult<C[number]>> {
  const waiter = new SelectWaiter(cases);
  const p = new Promise<SelectResult<Channel<unknown>>>((resolve, reject) => {
    waiter.resolve = resolve;
    waiter.reject = reject;
  });
  for (const c of cases) {
    if (c.poll(waiter)) break;
  }
  return p as Promise<SelectResult<C[number]>>;
}
