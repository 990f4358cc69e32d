import type { Clock } from "../clock.js";

/**
 * A Clock for tests: time stands still until `advance(ms)` moves it, firing due timers in order. Pass it as
 * `Conveyor.open({ clock })` so backoffs, leases and delays run without sleeping.
 */
export class FakeClock implements Clock {
  #now: number;
  #seq = 0;
  readonly #timers = new Map<number, { at: number; fn: () => void }>();

  constructor(start: number | Date = Date.UTC(2026, 0, 1)) {
    this.#now = start instanceof Date ? start.getTime() : start;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(fn: () => void, ms: number): () => void {
    const id = ++this.#seq;
    this.#timers.set(id, { at: this.#now + Math.max(0, ms), fn });
    return () => this.#timers.delete(id);
  }

  /** Timers not yet fired. */
  get pending(): number {
    return this.#timers.size;
  }

  /** Moves time forward by `ms`, firing every timer that falls due, earliest first (ties in creation order). */
  advance(ms: number): void {
    const target = this.#now + ms;
    for (;;) {
      let next: [number, { at: number; fn: () => void }] | undefined;
      for (const entry of this.#timers) {
        if (entry[1].at <= target && (!next || entry[1].at < next[1].at)) next = entry;
      }
      if (!next) break;
      this.#timers.delete(next[0]);
      this.#now = Math.max(this.#now, next[1].at);
      next[1].fn();
    }
    this.#now = target;
  }

  /** Sets the time (only forwards), firing what falls due. */
  set(time: number | Date): void {
    const t = time instanceof Date ? time.getTime() : time;
    if (t > this.#now) this.advance(t - this.#now);
  }
}
