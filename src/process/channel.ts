/**
 * Channels: FIFO queues with an async `receive()`, the unit that processes read messages and events from,
 * and that `select` waits on. Sending never blocks: it hands the value straight to a waiting receiver, or
 * buffers it (up to `capacity`), or reports that it could not.
 */
import { Ring } from "./ring.js";

/** What a channel does with a value sent while its buffer holds `capacity` values. */
export type OverflowPolicy = "reject" | "drop-oldest";

/** Options of a {@link Channel}. */
export interface ChannelOptions {
  /** Values buffered at most (default unbounded: `Infinity`). */
  capacity?: number;
  /** When full: `"reject"` (default; `send` returns false, the new value is dropped) or `"drop-oldest"`. */
  overflow?: OverflowPolicy;
}

/** The result of {@link Channel.tryReceive}: a value, or nothing (`closed` says whether one can still come). */
export type TryReceiveResult<T> = { ok: true; value: T } | { ok: false; closed: boolean };

/**
 * Someone blocked on a channel: a `receive()` or a `select`. `deliver` returns false when the waiter was
 * already satisfied elsewhere (a select that another case won), so the channel offers the value onward.
 * @internal
 */
export interface Waiter<T> {
  deliver(channel: Channel<T>, value: T, ok: boolean): boolean;
  fail(error: Error): void;
}

class ReceiveWaiter<T> implements Waiter<T> {
  resolve!: (value: T | undefined) => void;
  reject!: (error: Error) => void;
  deliver(_channel: Channel<T>, value: T, ok: boolean): boolean {
    this.resolve(ok ? value : undefined);
    return true;
  }
  fail(error: Error): void {
    this.reject(error);
  }
}

/**
 * A FIFO channel. Contracts:
 * - `send` is synchronous and never blocks: a waiting receiver gets the value directly (no buffering, no
 *   extra allocation), otherwise it is buffered; it returns false when the channel is closed, or full with
 *   the `"reject"` policy.
 * - `receive()` resolves with the next value, or `undefined` once the channel is closed and drained (use
 *   `tryReceive` or `select`'s `ok` when `undefined` is a legitimate value). It rejects when the channel
 *   was failed (a killed process's channels fail with the exit error, so its code unwinds).
 * - Several receivers may wait at once; they are served in the order they started waiting.
 * - Values are delivered by reference: there is no copy between processes on one node.
 */
export class Channel<T> implements AsyncIterable<T> {
  readonly #buf = new Ring<T>();
  readonly #waiters: Waiter<T>[] = [];
  #closed = false;
  #error: Error | undefined;
  /** Maximum buffered values. */
  readonly capacity: number;
  /** The policy when the buffer is full. */
  readonly overflow: OverflowPolicy;
  /** Called once when the channel closes (listeners use it to unsubscribe). @internal */
  onClose: (() => void) | undefined;

  constructor(options: ChannelOptions = {}) {
    this.capacity = options.capacity ?? Number.POSITIVE_INFINITY;
    this.overflow = options.overflow ?? "reject";
  }

  /** Buffered values not yet received. */
  get size(): number {
    return this.#buf.length;
  }

  /** True once `close()` or a failure was called. Buffered values can still be received after close. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Offers `value`. Returns whether it was taken (handed to a receiver or buffered). */
  send(value: T): boolean {
    if (this.#closed) return false;
    const waiters = this.#waiters;
    while (waiters.length > 0) {
      const w = waiters.shift() as Waiter<T>;
      if (w.deliver(this, value, true)) return true;
    }
    const buf = this.#buf;
    if (buf.length >= this.capacity) {
      if (this.overflow === "reject" || this.capacity <= 0) return false;
      buf.shift();
    }
    buf.push(value);
    return true;
  }

  /** The next value; `undefined` once closed and drained. Rejects if the channel was failed. */
  receive(): Promise<T | undefined> {
    if (this.#buf.length > 0) return Promise.resolve(this.#buf.shift());
    if (this.#error) return Promise.reject(this.#error);
    if (this.#closed) return Promise.resolve(undefined);
    const w = new ReceiveWaiter<T>();
    const p = new Promise<T | undefined>((resolve, reject) => {
      w.resolve = resolve;
      w.reject = reject;
    });
    this.#waiters.push(w);
    return p;
  }

  /** The next buffered value at once, if any. Throws if the channel was failed and is drained. */
  tryReceive(): TryReceiveResult<T> {
    if (this.#buf.length > 0) return { ok: true, value: this.#buf.shift() };
    if (this.#error) throw this.#error;
    return { ok: false, closed: this.#closed };
  }

  /**
   * Closes the channel: later sends return false, buffered values can still be received, then receivers
   * get `undefined`. Idempotent.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const waiters = this.#waiters.splice(0);
    for (const w of waiters) w.deliver(this, undefined as T, false);
    const hook = this.onClose;
    this.onClose = undefined;
    hook?.();
  }

  /** Closes the channel and drops its buffer; waiting and later receivers are rejected with `error`. @internal */
  fail(error: Error): void {
    if (this.#error) return;
    this.#error = error;
    this.#buf.clear();
    this.#closed = true;
    const waiters = this.#waiters.splice(0);
    for (const w of waiters) w.fail(error);
    const hook = this.onClose;
    this.onClose = undefined;
    hook?.();
  }

  /**
   * For `select`: takes a buffered value or reports closure synchronously (`ready`), else registers `waiter`.
   * @internal
   */
  poll(waiter: Waiter<T>): boolean {
    if (this.#buf.length > 0) {
      waiter.deliver(this, this.#buf.shift(), true);
      return true;
    }
    if (this.#error) {
      waiter.fail(this.#error);
      return true;
    }
    if (this.#closed) {
      waiter.deliver(this, undefined as T, false);
      return true;
    }
    this.#waiters.push(waiter);
    return false;
  }

  /** Removes and returns the buffered values that match `pred`, keeping the others in order. @internal */
  extract(pred: (value: T) => boolean): T[] {
    const taken: T[] = [];
    const n = this.#buf.length;
    for (let i = 0; i < n; i++) {
      const v = this.#buf.shift();
      if (pred(v)) taken.push(v);
      else this.#buf.push(v);
    }
    return taken;
  }

  /** Removes a waiter registered by `poll` that is no longer interested. @internal */
  forget(waiter: Waiter<T>): void {
    const i = this.#waiters.indexOf(waiter);
    if (i >= 0) this.#waiters.splice(i, 1);
  }

  /** Iterates received values until the channel is closed and drained. */
  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    for (;;) {
      if (this.#buf.length > 0) {
        yield this.#buf.shift();
        continue;
      }
      if (this.#error) throw this.#error;
      if (this.#closed) return;
      const value = await this.receive();
      if (value === undefined && this.#closed && this.#buf.length === 0) return;
      yield value as T;
    }
  }
}
