/**
 * Sliding-window logs for rate limits, shared by the stores: the pure arithmetic of "at most `max` claims in
 * any window of `windowMs`" (see docs/decisions.md, "Rate limits: a sliding-window log"). A log is a list of
 * `[at, count]` entries, oldest first: `count` claims made at `at`. Claims of one store call share `now`, so a
 * log holds at most one entry per claim call, and never more than `max` entries inside a window.
 *
 * A claim made at `at` occupies the window until `at + windowMs` (exclusive): it counts while
 * `at > now - windowMs`.
 */
import type { RateLimit } from "./store.js";

/** `[at, count]` entries, ascending `at`. */
export type RateLog = Array<[number, number]>;

/** Which limit a log belongs to. Keys: `q\0<queue>`, `t\0<name>`, `g\0<queue>\0<group key>`. */
export type RateKind = "queue" | "type" | "group";

/** The store key of a queue's, a job type's or a group's log. */
export function rateKey(kind: RateKind, a: string, b?: string): string {
  if (kind === "queue") return `q\u0000${a}`;
  if (kind === "type") return `t\u0000${a}`;
  return `g\u0000${a}\u0000${b ?? ""}`;
}

/** Claims recorded in `log` that still count at `now`. */
export function rateUsed(log: RateLog, limit: RateLimit, now: number): number {
  const from = now - limit.windowMs;
  let used = 0;
  for (const [at, count] of log) if (at > from) used += count;
  return used;
}

/** How many more claims `limit` allows at `now` (0 when full). */
export function rateRoom(log: RateLog, limit: RateLimit, now: number): number {
  return Math.max(0, limit.max - rateUsed(log, limit, now));
}

/**
 * When the limit next has room for one claim: null when it has room at `now`, else the time the oldest
 * entries that must expire for it leave the window.
 */
export function rateFreeAt(log: RateLog, limit: RateLimit, now: number): number | null {
  const from = now - limit.windowMs;
  const live = log.filter(([at]) => at > from);
  let excess = live.reduce((sum, [, count]) => sum + count, 0) - limit.max + 1;
  if (excess <= 0) return null;
  for (const [at, count] of live) {
    excess -= count;
    if (excess <= 0) return at + limit.windowMs;
  }
  return null;
}

/** The log after `count` claims at `now`: expired entries dropped, the new one appended in order. */
export function rateRecord(log: RateLog, limit: RateLimit, now: number, count: number): RateLog {
  const from = now - limit.windowMs;
  const next: RateLog = log.filter(([at]) => at > from);
  const last = next[next.length - 1];
  if (last !== undefined && last[0] === now) last[1] += count;
  else next.push([now, count]);
  // A clock behind the writer of a later entry: keep the log ordered.
  if (last !== undefined && last[0] > now) next.sort((a, b) => a[0] - b[0]);
  return next;
}

/** A log read from storage; anything malformed reads as empty (the limit then allows a fresh window). */
export function parseRateLog(text: string | null | undefined): RateLog {
  if (text === null || text === undefined || text === "[]") return [];
  try {
    const value: unknown = JSON.parse(text);
    if (!Array.isArray(value)) return [];
    return value.filter(
      (e): e is [number, number] => Array.isArray(e) && typeof e[0] === "number" && typeof e[1] === "number",
    );
  } catch {
    return [];
  }
}

/** One log a claim took from, as it must be written back. */
export interface RateWrite {
  key: string;
  kind: RateKind;
  /** The queue of a queue or group limit, else null. */
  queue: string | null;
  /** The job type of a type limit, else null. */
  name: string | null;
  log: RateLog;
  /** When the limit has room again, if the claim filled it; else null. */
  freeAt: number | null;
  /** When every entry has left the window (the log is then empty and may be deleted). */
  expiresAt: number;
}

/**
 * Rate accounting of one claim: reads each log once (through `read`), answers how much room is left counting
 * what the claim already took, and lists the logs to write back. Used inside the claim's atomic step.
 */
export class ClaimRates {
  readonly #now: number;
  readonly #read: (key: string) => RateLog;
  readonly #entries = new Map<
    string,
    {
      kind: RateKind;
      queue: string | null;
      name: string | null;
      log: RateLog;
      limit: RateLimit;
      taken: number;
    }
  >();

  constructor(now: number, read: (key: string) => RateLog) {
    this.#now = now;
    this.#read = read;
  }

  #entry(kind: RateKind, key: string, limit: RateLimit, queue: string | null, name: string | null) {
    let entry = this.#entries.get(key);
    if (entry === undefined) {
      entry = { kind, queue, name, log: this.#read(key), limit, taken: 0 };
      this.#entries.set(key, entry);
    }
    return entry;
  }

  /** Claims `limit` still allows in the log `key`, after what this claim took. */
  room(kind: RateKind, key: string, limit: RateLimit, queue: string | null, name: string | null): number {
    const entry = this.#entry(kind, key, limit, queue, name);
    return Math.max(0, rateRoom(entry.log, limit, this.#now) - entry.taken);
  }

  /** Records one claim against the log `key` (call `room` first). */
  take(key: string): void {
    const entry = this.#entries.get(key);
    if (entry !== undefined) entry.taken++;
  }

  /** The logs that took claims, updated. */
  writes(): RateWrite[] {
    const out: RateWrite[] = [];
    for (const [key, e] of this.#entries) {
      if (e.taken === 0) continue;
      const log = rateRecord(e.log, e.limit, this.#now, e.taken);
      const newest = log[log.length - 1]?.[0] ?? this.#now;
      out.push({
        key,
        kind: e.kind,
        queue: e.queue,
        name: e.name,
        log,
        freeAt: rateFreeAt(log, e.limit, this.#now),
        expiresAt: newest + e.limit.windowMs,
      });
    }
    return out;
  }
}
