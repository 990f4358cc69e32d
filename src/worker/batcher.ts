import type { Clock } from "../clock.js";
import type { AnyJobDefinition } from "../job/define.js";
import type { JobRecord } from "../store/store.js";
import type { AttemptEnv } from "./attempt.js";
import { BatchAttempt } from "./batch-attempt.js";

/** Claimed jobs of one batch type waiting for their batch. */
interface Collection {
  def: AnyJobDefinition;
  size: number;
  waitMs: number;
  jobs: JobRecord[];
  /** When each job of `jobs` arrived (same order). */
  arrivals: number[];
  /** The oldest waiting job has waited `waitMs`: run what there is. */
  due: boolean;
  cancelTimer: (() => void) | null;
}

/**
 * Collects a worker's claimed jobs of batch types, per type, and hands out batches: a collection is due when
 * `size` jobs wait or `waitMs` after its oldest job arrived. A batch takes one of the worker's concurrency
 * slots; jobs waiting for a batch take none. The worker renews the leases of waiting and running jobs.
 */
export class Batcher {
  /** The largest `batch.size` of the worker's batch types. */
  readonly maxSize: number;
  readonly #clock: Clock;
  /** Called when a collection becomes due through its timer (a full one is due at once, in `add`). */
  readonly #onDue: () => void;
  readonly #collections = new Map<string, Collection>();
  readonly #running = new Set<BatchAttempt>();
  #waiting = 0;
  #runningJobs = 0;

  constructor(clock: Clock, defs: Iterable<AnyJobDefinition>, onDue: () => void) {
    this.#clock = clock;
    this.#onDue = onDue;
    let maxSize = 1;
    for (const def of defs) if (def.batch) maxSize = Math.max(maxSize, def.batch.size);
    this.maxSize = maxSize;
  }

  /** Batches running now (each holds one concurrency slot). */
  get runningCount(): number {
    return this.#running.size;
  }

  /** Jobs held: waiting for a batch or in a running batch. */
  get held(): number {
    return this.#waiting + this.#runningJobs;
  }

  /** Jobs in running batches. */
  get runningJobs(): number {
    return this.#runningJobs;
  }

  get running(): ReadonlySet<BatchAttempt> {
    return this.#running;
  }

  /** Adds a claimed job of a batch type (`def.batch` set) to its type's collection. */
  add(def: AnyJobDefinition, job: JobRecord): void {
    let c = this.#collections.get(def.name);
    if (!c) {
      const { size, waitMs } = def.batch ?? { size: 1, waitMs: 0 };
      c = { def, size, waitMs, jobs: [], arrivals: [], due: false, cancelTimer: null };
      this.#collections.set(def.name, c);
    }
    c.jobs.push(job);
    c.arrivals.push(this.#clock.now());
    this.#waiting++;
    if (c.jobs.length === 1) this.#arm(c);
  }

  /**
   * Starts the next due batch, if any (full collections first, then the longest waiting), and returns it; the
   * caller has checked that a slot is free.
   */
  startNext(env: AttemptEnv): BatchAttempt | null {
    let pick: Collection | null = null;
    for (const c of this.#collections.values()) {
      if (c.jobs.length === 0 || !(c.due || c.jobs.length >= c.size)) continue;
      if (!pick || (pick.jobs.length < pick.size && c.jobs.length >= c.size)) pick = c;
      else if (
        pick.jobs.length >= pick.size === c.jobs.length >= c.size &&
        (c.arrivals[0] ?? 0) < (pick.arrivals[0] ?? 0)
      ) {
        pick = c;
      }
    }
    if (!pick) return null;
    const jobs = pick.jobs.splice(0, pick.size);
    pick.arrivals.splice(0, jobs.length);
    this.#waiting -= jobs.length;
    pick.cancelTimer?.();
    pick.cancelTimer = null;
    pick.due = false;
    if (pick.jobs.length > 0) this.#arm(pick);
    const batch = new BatchAttempt(env, pick.def, jobs);
    this.#running.add(batch);
    this.#runningJobs += jobs.length;
    return batch;
  }

  /** Forgets a settled batch (its outcomes are the worker's to write). */
  finished(batch: BatchAttempt): void {
    if (this.#running.delete(batch)) this.#runningJobs -= batch.attempts.length;
  }

  /** Leases to renew: waiting jobs and jobs of running batches. */
  *leases(): Iterable<{ id: string; token: string }> {
    for (const c of this.#collections.values()) {
      for (const job of c.jobs) yield { id: job.id, token: job.leaseToken ?? "" };
    }
    for (const b of this.#running) {
      for (const a of b.attempts) yield { id: a.job.id, token: a.job.leaseToken ?? "" };
    }
  }

  /** A lease was lost (the job was rescued elsewhere): drop it if waiting, abort it if running. */
  lost(id: string, reason: Error): void {
    for (const c of this.#collections.values()) {
      const i = c.jobs.findIndex((j) => j.id === id);
      if (i >= 0) {
        c.jobs.splice(i, 1);
        c.arrivals.splice(i, 1);
        this.#waiting--;
        if (c.jobs.length === 0) {
          c.cancelTimer?.();
          c.cancelTimer = null;
          c.due = false;
        }
        return;
      }
    }
    for (const b of this.#running) b.abortJob(id, reason);
  }

  /**
   * A cancel was requested: a waiting job is flagged (it is cancelled, not run, when its batch starts); in a
   * running batch, that job's signal aborts and it ends as cancelled whatever its entry.
   */
  cancelRequested(id: string, reason: Error): void {
    for (const c of this.#collections.values()) {
      const job = c.jobs.find((j) => j.id === id);
      if (job) {
        job.cancelRequested = true;
        return;
      }
    }
    for (const b of this.#running) b.abortJob(id, reason);
  }

  /** Aborts every running batch (shutdown past the grace period). */
  abortRunning(reason: Error): void {
    for (const b of this.#running) b.abort(reason);
  }

  /** Empties every collection (graceful stop): the caller releases these jobs. */
  takeWaiting(): JobRecord[] {
    const out: JobRecord[] = [];
    for (const c of this.#collections.values()) {
      c.cancelTimer?.();
      c.cancelTimer = null;
      c.due = false;
      out.push(...c.jobs.splice(0));
      c.arrivals.length = 0;
    }
    this.#waiting = 0;
    return out;
  }

  /** Makes the collection due `waitMs` after its oldest job arrived. */
  #arm(c: Collection): void {
    const first = c.arrivals[0];
    if (first === undefined) return;
    const delay = Math.max(0, first + c.waitMs - this.#clock.now());
    c.cancelTimer?.();
    c.cancelTimer = this.#clock.setTimeout(() => {
      c.cancelTimer = null;
      c.due = true;
      this.#onDue();
    }, delay);
  }
}
