/**
 * The memory store's worker registry and per-minute outcome counts (see `Store.workerBeat` and
 * `Store.statsList`). Both are plain maps; records are kept serialised where they hold free JSON, so every read
 * hands out a fresh copy that round-trips as through a durable store.
 */
import type { QueueMinuteStats, WorkerRecord } from "../store.js";

const MINUTE_MS = 60_000;
/** Counts older than this (behind the newest minute counted) are dropped. */
const STATS_KEEP_MS = 24 * 60 * MINUTE_MS;

/** The counters of {@link QueueMinuteStats}. */
export type StatField = "completed" | "retried" | "discarded" | "cancelled" | "rescued";

function byCodeUnit(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Workers by id, each with the time its latest beat expires. */
export class MemoryWorkers {
  readonly #byId = new Map<string, { json: string; expiresAt: number }>();

  beat(worker: Omit<WorkerRecord, "lastBeatAt">, ttlMs: number, now: number): void {
    const record: WorkerRecord = { ...worker, lastBeatAt: now };
    this.#byId.set(worker.id, { json: JSON.stringify(record), expiresAt: now + ttlMs });
    this.#sweep(now);
  }

  remove(id: string): void {
    this.#byId.delete(id);
  }

  list(now: number): WorkerRecord[] {
    const live: WorkerRecord[] = [];
    for (const entry of this.#byId.values()) {
      if (now < entry.expiresAt) live.push(JSON.parse(entry.json) as WorkerRecord);
    }
    return live.sort((a, b) => byCodeUnit(a.id, b.id));
  }

  clear(): void {
    this.#byId.clear();
  }

  /** Forgets records that expired more than an hour before `now` (kept a while for callers with older clocks). */
  #sweep(now: number): void {
    if (this.#byId.size < 64) return;
    for (const [id, entry] of this.#byId) if (entry.expiresAt < now - 3_600_000) this.#byId.delete(id);
  }
}

/** Outcome counts by minute, then queue. */
export class MemoryStats {
  /** minute → queue → counts. */
  readonly #minutes = new Map<number, Map<string, QueueMinuteStats>>();
  #newest = 0;

  /** Adds one to `field` of `queue` in the minute of `now`. */
  count(queue: string, field: StatField, now: number): void {
    const minute = now - (((now % MINUTE_MS) + MINUTE_MS) % MINUTE_MS);
    let queues = this.#minutes.get(minute);
    if (queues === undefined) {
      queues = new Map();
      this.#minutes.set(minute, queues);
      if (minute > this.#newest) {
        this.#newest = minute;
        for (const old of this.#minutes.keys()) if (old < minute - STATS_KEEP_MS) this.#minutes.delete(old);
      }
    }
    let stats = queues.get(queue);
    if (stats === undefined) {
      stats = { queue, minute, completed: 0, retried: 0, discarded: 0, cancelled: 0, rescued: 0 };
      queues.set(queue, stats);
    }
    stats[field]++;
  }

  list(from: number, to: number, queue: string | undefined): QueueMinuteStats[] {
    const out: QueueMinuteStats[] = [];
    const minutes = [...this.#minutes.keys()].filter((m) => m >= from && m < to).sort((a, b) => a - b);
    for (const minute of minutes) {
      const queues = this.#minutes.get(minute)!;
      const names = queue === undefined ? [...queues.keys()].sort(byCodeUnit) : [queue];
      for (const name of names) {
        const stats = queues.get(name);
        if (stats !== undefined) out.push({ ...stats });
      }
    }
    return out;
  }

  clear(): void {
    this.#minutes.clear();
  }
}
