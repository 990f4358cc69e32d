/**
 * Time, injected. Every component that reads the time or sets a timer takes a Clock, so tests can use
 * {@link FakeClock} (from `conveyor/testing`) instead of sleeping or patching globals.
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Calls `fn` after `ms`; returns a function that cancels it. */
  setTimeout(fn: () => void, ms: number): () => void;
}

/** The real wall clock and Node timers. Timers are unref'd so they never keep a process alive alone. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout(fn, ms) {
    const t = setTimeout(fn, Math.max(0, ms));
    t.unref();
    return () => clearTimeout(t);
  },
};
