/**
 * The scheduler service: watches the store's schedules and enqueues one job per tick. Any number of
 * schedulers (in one process or many, on one machine or many) may run against one store: each fire is a
 * compare-and-set on the schedule's `nextRunAt` in the store, so of several schedulers that see the same tick
 * due, exactly one inserts its job and the others insert nothing.
 */
import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import type { Clock } from "../clock.js";
import { ClosedError, coerceError, OptionsError } from "../errors.js";
import type { ConveyorEvents, TypedEmitter } from "../events.js";
import { assertInt } from "../job/define.js";
import type { JobInsertParams, ScheduleRecord, ScheduleTick, Store } from "../store/store.js";
import { planTicks } from "./catch-up.js";

/** Options of `app.scheduler()`. */
export interface SchedulerOptions {
  /**
   * Longest wait between two looks at the store, in ms: how soon a schedule created or changed by another
   * process is seen. The scheduler also wakes exactly at the earliest next run it knows of. Default 1,000.
   */
  pollMs?: number;
  /** Schedules looked at per pass. Default 100. */
  batchSize?: number;
  /** Scheduler id, for events. Default `<hostname>:<pid>:<random>`. */
  id?: string;
}

/** What the app hands to its schedulers. */
export interface SchedulerDeps {
  store: Store;
  clock: Clock;
  events: TypedEmitter<ConveyorEvents>;
}

type SchedulerState = "new" | "running" | "stopping" | "stopped";

const MAX_ERROR_BACKOFF_MS = 5_000;

/**
 * Enqueues the jobs of due schedules. Create it with `app.scheduler()`, then `start()`; `stop()` (or closing
 * the app) ends it. Time comes from the app's Clock, so a fake clock drives it in tests without sleeping.
 *
 * A pass reads the schedules due up to `now + pollMs`, fires those due by `now` (the ticks their catch-up
 * policy keeps, then the next run after `now`), and sets a timer for the earliest next run, at most `pollMs`
 * away.
 */
export class Scheduler {
  readonly id: string;
  readonly pollMs: number;
  readonly batchSize: number;
  readonly #deps: SchedulerDeps;
  #state: SchedulerState = "new";
  #cancelTimer: (() => void) | null = null;
  #pass: Promise<number> | null = null;
  #again = false;
  #errorStreak = 0;
  #keepAlive: ReturnType<typeof setInterval> | undefined;
  /** Delay until the next pass, set by the last pass. */
  #nextDelay = 0;
  /** The last pass filled its batch: look again at once. */
  #moreDue = false;

  constructor(deps: SchedulerDeps, options: SchedulerOptions = {}) {
    if (typeof options !== "object" || options === null) {
      throw new OptionsError("scheduler(options): options must be an object");
    }
    assertInt(options.pollMs, "scheduler options.pollMs", 1, 3_600_000);
    assertInt(options.batchSize, "scheduler options.batchSize", 1, 10_000);
    if (options.id !== undefined && (typeof options.id !== "string" || options.id === "")) {
      throw new OptionsError("scheduler options.id must be a non-empty string");
    }
    this.#deps = deps;
    this.pollMs = options.pollMs ?? 1_000;
    this.batchSize = options.batchSize ?? 100;
    this.id = options.id ?? `${hostname()}:${process.pid}:${randomBytes(3).toString("hex")}`;
  }

  get state(): SchedulerState {
    return this.#state;
  }

  /** Starts firing: runs a first pass now, then keeps the process alive until `stop()`. */
  async start(): Promise<void> {
    if (this.#state !== "new")
      throw new OptionsError(`scheduler.start(): the scheduler is already ${this.#state}`);
    this.#state = "running";
    this.#keepAlive = setInterval(() => {}, 2 ** 30);
    this.#deps.events.emit("scheduler:started", { schedulerId: this.id });
    await this.#runPass();
  }

  /** Stops: no more passes; a pass in flight finishes first. Idempotent. */
  async stop(): Promise<void> {
    if (this.#state === "stopped" || this.#state === "stopping") {
      await this.#pass?.catch(() => 0);
      return;
    }
    const wasRunning = this.#state === "running";
    this.#state = "stopping";
    this.#cancelTimer?.();
    this.#cancelTimer = null;
    await this.#pass?.catch(() => 0);
    clearInterval(this.#keepAlive);
    this.#state = "stopped";
    if (wasRunning) this.#deps.events.emit("scheduler:stopped", { schedulerId: this.id });
  }

  /** Looks at the store now rather than at the next timer (the app calls it after a local upsert or resume). */
  wake(): void {
    if (this.#state === "running") void this.#runPass();
  }

  /**
   * One pass now, whether started or not: fires every due schedule; resolves with the number of jobs this
   * scheduler enqueued. Store errors reject (a started scheduler reports them as `scheduler:error` instead).
   */
  async runOnce(): Promise<number> {
    if (this.#state === "stopping" || this.#state === "stopped") throw new ClosedError("scheduler");
    return this.#passOnce();
  }

  /** Resolves when no pass is in flight (tests: after moving a fake clock). */
  async whenIdle(): Promise<void> {
    while (this.#pass !== null) await this.#pass.catch(() => 0);
  }

  /** Runs a pass unless one is in flight (then one more follows it), and arms the next timer. */
  #runPass(): Promise<number> {
    if (this.#pass !== null) {
      this.#again = true;
      return this.#pass;
    }
    this.#cancelTimer?.();
    this.#cancelTimer = null;
    const pass = this.#passOnce().then(
      (result) => {
        this.#errorStreak = 0;
        return result;
      },
      (error: unknown) => {
        this.#errorStreak++;
        this.#deps.events.emit("scheduler:error", { schedulerId: this.id, error: coerceError(error) });
        this.#nextDelay = Math.min(this.pollMs * 2 ** (this.#errorStreak - 1), MAX_ERROR_BACKOFF_MS);
        return 0;
      },
    );
    this.#pass = pass.finally(() => {
      this.#pass = null;
      if (this.#state !== "running") return;
      if (this.#again) {
        this.#again = false;
        void this.#runPass();
        return;
      }
      this.#arm(this.#nextDelay);
    });
    return this.#pass;
  }

  #arm(delayMs: number): void {
    this.#cancelTimer?.();
    if (delayMs <= 0 && this.#moreDue) {
      // A full batch: more schedules may be due now. Not a wait for time, so no clock timer.
      this.#moreDue = false;
      const handle = setImmediate(() => void this.#runPass());
      this.#cancelTimer = () => clearImmediate(handle);
      return;
    }
    this.#cancelTimer = this.#deps.clock.setTimeout(
      () => {
        this.#cancelTimer = null;
        void this.#runPass();
      },
      Math.max(0, delayMs),
    );
  }

  async #passOnce(): Promise<number> {
    const { store, clock, events } = this.#deps;
    const now = clock.now();
    const horizon = now + this.pollMs;
    const due = await store.scheduleDue({ now: horizon, limit: this.batchSize });
    let earliest = horizon;
    let enqueued = 0;
    let fired = 0;
    let lastError: unknown = null;
    for (const schedule of due) {
      const expect = schedule.nextRunAt;
      if (expect === null) continue;
      if (expect > now) {
        earliest = Math.min(earliest, expect);
        continue;
      }
      try {
        const plan = planTicks(schedule.spec, schedule.catchUp, expect, now);
        const ticks: ScheduleTick[] = plan.ticks.map((tickAt) => ({
          tickAt,
          job: tickJob(schedule, tickAt, now),
        }));
        const result = await store.scheduleFire({
          id: schedule.id,
          expectNextRunAt: expect,
          ticks,
          nextRunAt: plan.nextRunAt,
          now,
        });
        fired++;
        if (plan.nextRunAt !== null) earliest = Math.min(earliest, plan.nextRunAt);
        if (!result.fired) continue;
        enqueued += result.jobs.length;
        if (events.has("schedule:fired")) {
          events.emit("schedule:fired", {
            scheduleId: schedule.id,
            schedulerId: this.id,
            ticks: plan.ticks,
            jobs: result.jobs,
          });
        }
      } catch (error) {
        // One schedule's failure must not hold back the others; the pass reports it at the end.
        lastError = error;
      }
    }
    this.#moreDue = due.length >= this.batchSize && fired > 0;
    this.#nextDelay = this.#moreDue ? 0 : Math.min(this.pollMs, earliest - clock.now());
    if (lastError !== null) throw lastError;
    return enqueued;
  }
}

/** The job a schedule enqueues for one tick: runnable at the tick, meta `{ schedule, tickAt }`. */
export function tickJob(schedule: ScheduleRecord, tickAt: number, now: number): JobInsertParams {
  const o = schedule.options;
  return {
    name: schedule.jobName,
    queue: schedule.queue,
    data: schedule.data,
    priority: o.priority,
    lifo: o.lifo,
    runAt: tickAt,
    maxAttempts: o.maxAttempts,
    maxStalls: o.maxStalls,
    timeoutMs: o.timeoutMs,
    meta: { ...o.meta, schedule: schedule.id, tickAt },
    now,
  };
}
