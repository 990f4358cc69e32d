/**
 * The admin API: what operators see and do, built on Store operations only, so it works the same on every
 * store. The dashboard and the CLI both use it; neither reads a store's internals.
 */
import { type Clock, systemClock } from "../clock.js";
import {
  ConveyorError,
  InvalidStateTransitionError,
  JobNotFoundError,
  OptionsError,
  ScheduleNotFoundError,
} from "../errors.js";
import { assertInt, assertName } from "../job/define.js";
import { isJobState, JOB_STATES } from "../job/states.js";
import type { ProcessNode } from "../process/node.js";
import { nextTick } from "../scheduler/schedule-spec.js";
import type {
  JobCounts,
  JobListParams,
  JobRecord,
  JobTypeInfo,
  QueueMinuteStats,
  ScheduleRecord,
  Store,
  WorkerRecord,
} from "../store/store.js";
import type {
  AdminOptions,
  DoctorCheck,
  DoctorReport,
  JobPage,
  JobQuery,
  MinutePoint,
  Overview,
  ProcessSummary,
  QueueSummary,
  QueueThroughput,
  RetryAllParams,
  RetryAllResult,
  RetryAllState,
} from "./types.js";

const MINUTE_MS = 60_000;
/** Default and largest page of {@link Admin.jobs}. */
export const ADMIN_PAGE_DEFAULT = 50;
export const ADMIN_PAGE_MAX = 500;
/** Most minutes {@link Admin.throughput} covers: the 24 hours stores keep. */
export const THROUGHPUT_MAX_MINUTES = 24 * 60;
/** Clock skew against the store above which the doctor warns, and above which it fails. */
export const CLOCK_WARN_MS = 1_000;
export const CLOCK_FAIL_MS = 30_000;
/** A store round trip slower than this makes "reachable" warn. */
export const SLOW_ROUND_TRIP_MS = 250;

const RETRY_ALL_STATES: readonly RetryAllState[] = ["discarded", "cancelled", "retryable", "completed"];
/** Jobs read per page, and retried at once, by {@link Admin.retryAll}. */
const RETRY_PAGE = 200;
const RETRY_PARALLEL = 16;
const SEVERITY = { ok: 0, warn: 1, fail: 2 } as const;

function emptyCounts(): JobCounts {
  return Object.fromEntries(JOB_STATES.map((s) => [s, 0])) as JobCounts;
}

function minuteOf(t: number): number {
  return t - (((t % MINUTE_MS) + MINUTE_MS) % MINUTE_MS);
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}

function describeError(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const code = error instanceof ConveyorError ? ` [${error.code}]` : "";
  return `${message.split("\n")[0]}${code}`;
}

/**
 * The admin API over one store. Reads are consistent per call (each is one store operation or a few); actions
 * throw the same typed errors as the app's own (`JobNotFoundError`, `InvalidStateTransitionError`,
 * `ScheduleNotFoundError`, `OptionsError` for bad arguments).
 *
 * ```ts
 * const admin = app.admin;                       // or new Admin({ store })
 * const { jobs } = await admin.jobs({ queue: "mail", state: "discarded" });
 * await admin.retryAll({ queue: "mail", state: "discarded", onProgress: (done, total) => {} });
 * const report = await admin.doctor();           // report.verdict: "ok" | "warn" | "fail"
 * ```
 */
export class Admin {
  readonly store: Store;
  readonly clock: Clock;
  /** "memory", "sqlite", "redis"... (the store's `kind`). */
  readonly storeKind: string;
  readonly #processes: () => ProcessNode | null;

  constructor(options: AdminOptions) {
    if (typeof options !== "object" || options === null || typeof options.store?.jobList !== "function") {
      throw new OptionsError("new Admin(options): options.store must be a Store");
    }
    this.store = options.store;
    this.clock = options.clock ?? systemClock;
    this.storeKind = options.store.kind;
    const processes = options.processes ?? null;
    this.#processes = typeof processes === "function" ? processes : () => processes;
  }

  /** Every queue that holds jobs, is paused, has a rate limit or a registered job type, by name. */
  async queues(): Promise<QueueSummary[]> {
    const [queues, types] = await Promise.all([this.store.queueList(), this.store.jobTypeList()]);
    const typesOf = new Map<string, string[]>();
    for (const t of types) {
      const list = typesOf.get(t.queue);
      if (list === undefined) typesOf.set(t.queue, [t.name]);
      else list.push(t.name);
    }
    return queues.map((q) => {
      const summary: QueueSummary = {
        name: q.name,
        paused: q.paused,
        counts: { ...q.counts },
        jobTypes: (typesOf.get(q.name) ?? []).sort(),
      };
      if (q.rateLimit !== undefined) summary.rateLimit = { ...q.rateLimit };
      return summary;
    });
  }

  /** Job types registered by workers, by name. */
  jobTypes(): Promise<JobTypeInfo[]> {
    return this.store.jobTypeList();
  }

  /** The front page: queues, totals, live workers, schedules and the last hour's throughput. */
  async overview(): Promise<Overview> {
    const now = this.clock.now();
    const [queues, workers, schedules, throughput] = await Promise.all([
      this.queues(),
      this.store.workerList({ now }),
      this.store.scheduleList(),
      this.#throughput(60, undefined, now),
    ]);
    const totals = emptyCounts();
    for (const q of queues) for (const s of JOB_STATES) totals[s] += q.counts[s];
    return {
      now,
      storeKind: this.storeKind,
      queues,
      totals,
      workers: workers.length,
      schedules: schedules.length,
      throughput,
    };
  }

  /**
   * A page of jobs, newest first, filtered by `query`. `search` is for a search box: it matches an exact job
   * id first (one job, when a job with that id also matches the other filters), else the jobs whose dedupe key
   * equals it, else the jobs whose group key equals it; `matchedBy` says which ("id", "key", "group", or null
   * for none). Each page decides the match again, so keep the same query when following `nextCursor`.
   */
  async jobs(query: JobQuery = {}): Promise<JobPage> {
    if (typeof query !== "object" || query === null)
      throw new OptionsError("jobs(query): query must be an object");
    if (query.state !== undefined && !isJobState(query.state)) {
      throw new OptionsError(
        `jobs query.state must be one of ${JOB_STATES.join(", ")}, got ${JSON.stringify(query.state)}`,
      );
    }
    assertInt(query.limit, "jobs query.limit", 1, ADMIN_PAGE_MAX);
    for (const field of ["queue", "name", "key", "group", "search", "cursor"] as const) {
      const value = query[field];
      if (value !== undefined && (typeof value !== "string" || value === "")) {
        throw new OptionsError(
          `jobs query.${field} must be a non-empty string, got ${JSON.stringify(value)}`,
        );
      }
    }
    if (query.cursor !== undefined && !/^[0-9]+$/.test(query.cursor)) {
      throw new OptionsError(
        `jobs query.cursor must be the nextCursor of a previous page (a job id), got ${JSON.stringify(query.cursor)}`,
      );
    }
    const params: JobListParams = { limit: query.limit ?? ADMIN_PAGE_DEFAULT };
    if (query.queue !== undefined) params.queue = query.queue;
    if (query.state !== undefined) params.state = query.state;
    if (query.name !== undefined) params.name = query.name;
    if (query.key !== undefined) params.key = query.key;
    if (query.group !== undefined) params.group = query.group;
    if (query.cursor !== undefined) params.cursor = query.cursor;
    const search = query.search?.trim();
    if (search === undefined || search === "") return this.store.jobList(params);

    if (/^[0-9]+$/.test(search)) {
      const job = await this.store.jobGet({ id: search });
      if (job !== null && matches(job, params)) {
        const onPage = params.cursor === undefined || Number(job.id) < Number(params.cursor);
        return { jobs: onPage ? [job] : [], nextCursor: null, matchedBy: "id" };
      }
    }
    // Probes ask whether anything matches at all (no cursor), so every page of a search matches the same way.
    const filters: JobListParams = { ...params, limit: 1 };
    delete filters.cursor;
    if (params.key === undefined || params.key === search) {
      const probe = await this.store.jobList({ ...filters, key: search });
      if (probe.jobs.length > 0) {
        return { ...(await this.store.jobList({ ...params, key: search })), matchedBy: "key" };
      }
    }
    if (params.group === undefined || params.group === search) {
      const probe = await this.store.jobList({ ...filters, group: search });
      if (probe.jobs.length > 0) {
        return { ...(await this.store.jobList({ ...params, group: search })), matchedBy: "group" };
      }
    }
    return { jobs: [], nextCursor: null, matchedBy: null };
  }

  /** The job with its data, options, result, progress, logs and every attempt's error (with stack), or null. */
  job(id: string): Promise<JobRecord | null> {
    return this.store.jobGet({ id: String(id) });
  }

  /** Every schedule, by id. */
  schedules(): Promise<ScheduleRecord[]> {
    return this.store.scheduleList();
  }

  /** One schedule, or null. */
  schedule(id: string): Promise<ScheduleRecord | null> {
    return this.store.scheduleGet({ id: String(id) });
  }

  /** Workers whose heartbeat has not expired, by id: host, pid, queues, last heartbeat, running job ids. */
  workers(): Promise<WorkerRecord[]> {
    return this.store.workerList({ now: this.clock.now() });
  }

  /**
   * Attempt outcomes per minute over the last `minutes` (default 60, at most 1440), oldest first, one point
   * per minute (zero-filled), the last being the current minute; every queue summed, or only `queue`.
   */
  throughput(params: { minutes?: number; queue?: string } = {}): Promise<MinutePoint[]> {
    assertInt(params.minutes, "throughput minutes", 1, THROUGHPUT_MAX_MINUTES);
    return this.#throughput(params.minutes ?? 60, params.queue, this.clock.now());
  }

  /**
   * Like {@link Admin.throughput}, per queue, in one store call: every queue with counts in the window, by
   * name, each with its zero-filled points. Queues without counts in the window are left out.
   */
  async queueThroughput(params: { minutes?: number } = {}): Promise<QueueThroughput[]> {
    assertInt(params.minutes, "queueThroughput minutes", 1, THROUGHPUT_MAX_MINUTES);
    const minutes = params.minutes ?? 60;
    const { from, to } = window(minutes, this.clock.now());
    const rows = await this.store.statsList({ from, to });
    const byQueue = new Map<string, MinutePoint[]>();
    for (const row of rows) {
      let points = byQueue.get(row.queue);
      if (points === undefined) {
        points = zeroPoints(from, minutes);
        byQueue.set(row.queue, points);
      }
      addRow(points, from, row);
    }
    return [...byQueue.keys()]
      .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
      .map((queue) => ({ queue, points: byQueue.get(queue)! }));
  }

  async #throughput(minutes: number, queue: string | undefined, now: number): Promise<MinutePoint[]> {
    const { from, to } = window(minutes, now);
    const rows = await this.store.statsList(queue === undefined ? { from, to } : { from, to, queue });
    const points = zeroPoints(from, minutes);
    for (const row of rows) addRow(points, from, row);
    return points;
  }

  /** Live processes of the local runtime with their registered names, in spawn order; null without a runtime. */
  processes(): ProcessSummary[] | null {
    const node = this.#processes();
    if (node === null) return null;
    return node.pids().map((pid) => ({ pid, names: node.registry.namesOf(pid).sort() }));
  }

  /** Runs a scheduled, retryable or finished job again now. Throws for a running or unknown job. */
  retryJob(id: string): Promise<JobRecord> {
    return this.store.jobRetry({ id: String(id), now: this.clock.now() });
  }

  /** Cancels a waiting job at once, or asks the worker running it to abort it. */
  cancelJob(id: string): Promise<JobRecord> {
    return this.store.jobCancel({ id: String(id), now: this.clock.now() });
  }

  /** Deletes a job that is not running; false if there was none. */
  deleteJob(id: string): Promise<boolean> {
    return this.store.jobDelete({ id: String(id) });
  }

  /** Runs a scheduled or retryable job now. Throws for a running, finished or unknown job. */
  promoteJob(id: string): Promise<JobRecord> {
    return this.store.jobPromote({ id: String(id), now: this.clock.now() });
  }

  /**
   * Retries every job in `state` (in `queue`, or in every queue), newest first, paging by cursor (200 a page,
   * 16 retries in flight) through the jobs in that state (a job that reaches the state meanwhile is included
   * only if its id is below the page being read). Each job is read again just before its retry and skipped when it has left `state` since
   * its page was read (run, retried or deleted by someone else); a retry that then fails on a state change is
   * skipped too. Jobs that left the state before their page was read are not listed at all. `onProgress(done,
   * total)` follows each job; `total` is the count at the start, lowered at the end to what was found.
   */
  async retryAll(params: RetryAllParams): Promise<RetryAllResult> {
    if (typeof params !== "object" || params === null) {
      throw new OptionsError("retryAll(params): params must be an object with a state");
    }
    const { queue, state, onProgress } = params;
    if (!RETRY_ALL_STATES.includes(state)) {
      throw new OptionsError(
        `retryAll state must be one of ${RETRY_ALL_STATES.join(", ")}, got ${JSON.stringify(state)}`,
      );
    }
    if (queue !== undefined) assertName(queue, "retryAll queue");
    const counts = await this.store.jobCount(queue === undefined ? {} : { queue });
    let total = counts[state];
    let done = 0;
    let retried = 0;
    let skipped = 0;
    const report = () => {
      if (done > total) total = done;
      onProgress?.(done, total);
    };
    const retryOne = async (id: string): Promise<void> => {
      let ok = false;
      const current = await this.store.jobGet({ id });
      if (current !== null && current.state === state) {
        try {
          await this.store.jobRetry({ id, now: this.clock.now() });
          ok = true;
        } catch (error) {
          if (!(error instanceof JobNotFoundError || error instanceof InvalidStateTransitionError))
            throw error;
        }
      }
      if (ok) retried++;
      else skipped++;
      done++;
      report();
    };
    let cursor: string | undefined;
    for (;;) {
      const page = await this.store.jobList({
        state,
        limit: RETRY_PAGE,
        ...(queue === undefined ? {} : { queue }),
        ...(cursor === undefined ? {} : { cursor }),
      });
      const ids = page.jobs.map((j) => j.id);
      for (let i = 0; i < ids.length; i += RETRY_PARALLEL) {
        await Promise.all(ids.slice(i, i + RETRY_PARALLEL).map(retryOne));
      }
      if (page.nextCursor === null) break;
      cursor = page.nextCursor;
    }
    if (done < total) {
      total = done;
      onProgress?.(done, total);
    }
    return { retried, skipped };
  }

  /** Claims skip the queue until it is resumed; jobs can still be enqueued into it. */
  pauseQueue(queue: string): Promise<void> {
    assertName(queue, "pauseQueue queue");
    return this.store.queuePause({ queue });
  }

  resumeQueue(queue: string): Promise<void> {
    assertName(queue, "resumeQueue queue");
    return this.store.queueResume({ queue });
  }

  /** Stops a schedule from firing until resumed. Throws ScheduleNotFoundError. */
  async pauseSchedule(id: string): Promise<ScheduleRecord> {
    const schedule = await this.store.schedulePause({ id: String(id), now: this.clock.now() });
    if (schedule === null) throw new ScheduleNotFoundError(String(id));
    return schedule;
  }

  /**
   * Resumes a paused schedule from its next tick after now (ticks missed while paused are not caught up). A
   * running scheduler in another process sees it at its next look at the store (at most its poll interval).
   */
  async resumeSchedule(id: string): Promise<ScheduleRecord> {
    const found = await this.store.scheduleGet({ id: String(id) });
    if (found === null) throw new ScheduleNotFoundError(String(id));
    if (!found.paused) return found;
    const now = this.clock.now();
    const schedule = await this.store.scheduleResume({
      id: found.id,
      nextRunAt: nextTick(found.spec, now),
      now,
    });
    if (schedule === null) throw new ScheduleNotFoundError(String(id));
    return schedule;
  }

  /**
   * Checks the store: "reachable" (a round trip, with its latency; when it fails nothing else is tried), the
   * store's own checks (`storeHealth`: schema, journal and durability on SQLite; eviction and persistence on
   * Redis...) and "clock" (skew = the store's time minus this admin's clock, measured at the middle of the
   * round trip: warn above 1 s, fail above 30 s, since leases and schedules are judged by the workers' clocks;
   * skipped with a note for a store without a clock of its own, such as memory). Never throws for a finding.
   */
  async doctor(): Promise<DoctorReport> {
    const checks: DoctorCheck[] = [];
    const at = this.clock.now();
    const kind = this.storeKind;
    const started = performance.now();
    let reachable = true;
    try {
      // A real read on every store (a small table or key), answered from the store itself.
      const workers = await this.store.workerList({ now: at });
      const ms = round(performance.now() - started);
      const live = `${workers.length} live worker${workers.length === 1 ? "" : "s"}`;
      checks.push({
        name: "reachable",
        status: ms > SLOW_ROUND_TRIP_MS ? "warn" : "ok",
        detail:
          ms > SLOW_ROUND_TRIP_MS
            ? `${kind} store answered in ${ms} ms (${live}): slow; check the network and the store's load`
            : `${kind} store answered in ${ms} ms (${live})`,
        latencyMs: ms,
      });
    } catch (error) {
      reachable = false;
      checks.push({
        name: "reachable",
        status: "fail",
        detail: `${kind} store did not answer: ${describeError(error)}`,
      });
    }
    if (reachable) {
      try {
        const before = this.clock.now();
        const t0 = performance.now();
        const health = await this.store.storeHealth({ now: before });
        const rtt = performance.now() - t0;
        for (const check of health.checks) checks.push({ ...check });
        checks.push(this.#clockCheck(health.serverTime, before + rtt / 2, rtt));
      } catch (error) {
        checks.push({
          name: "health",
          status: "fail",
          detail: `the store's health checks failed: ${describeError(error)}`,
        });
      }
    }
    let verdict: DoctorReport["verdict"] = "ok";
    for (const check of checks) if (SEVERITY[check.status] > SEVERITY[verdict]) verdict = check.status;
    return { storeKind: kind, at, checks, verdict };
  }

  #clockCheck(serverTime: number | null, local: number, rttMs: number): DoctorCheck {
    if (serverTime === null) {
      return {
        name: "clock",
        status: "ok",
        detail: `skipped: the ${this.storeKind} store has no clock of its own (it lives in this process)`,
      };
    }
    const skew = Math.round(serverTime - local);
    const abs = Math.abs(skew);
    const give = Math.ceil(rttMs / 2);
    const sign = skew > 0 ? "+" : skew < 0 ? "-" : "";
    const measured = `skew ${sign}${abs} ms ±${give} ms`;
    if (abs > CLOCK_FAIL_MS) {
      return {
        name: "clock",
        status: "fail",
        detail:
          `${measured} against the store: leases and schedules will misfire; ` +
          "sync this machine's clock (NTP) with the store's",
      };
    }
    if (abs > CLOCK_WARN_MS) {
      return {
        name: "clock",
        status: "warn",
        detail: `${measured} against the store: keep clocks within 1 s (NTP) so leases expire on time`,
      };
    }
    if (this.storeKind === "sqlite") {
      return {
        name: "clock",
        status: "ok",
        detail: `ok, same machine: the store's clock is this one (${measured})`,
      };
    }
    return { name: "clock", status: "ok", detail: `${measured} against the store` };
  }
}

/** The minutes [from, to) of a throughput window of `minutes` ending with the minute of `now`. */
function window(minutes: number, now: number): { from: number; to: number } {
  const last = minuteOf(now);
  return { from: last - (minutes - 1) * MINUTE_MS, to: last + MINUTE_MS };
}

function zeroPoints(from: number, minutes: number): MinutePoint[] {
  const points: MinutePoint[] = [];
  for (let i = 0; i < minutes; i++) {
    points.push({
      minute: from + i * MINUTE_MS,
      completed: 0,
      failed: 0,
      retried: 0,
      discarded: 0,
      cancelled: 0,
      rescued: 0,
    });
  }
  return points;
}

/** Adds a store row to the point of its minute (rows outside the window are ignored). */
function addRow(points: MinutePoint[], from: number, row: QueueMinuteStats): void {
  const point = points[Math.round((row.minute - from) / MINUTE_MS)];
  if (point === undefined || point.minute !== row.minute) return;
  point.completed += row.completed;
  point.retried += row.retried;
  point.discarded += row.discarded;
  point.cancelled += row.cancelled;
  point.rescued += row.rescued;
  point.failed += row.retried + row.discarded;
}

/** Whether a job matches the list filters (for a job found by id). */
function matches(job: JobRecord, params: JobListParams): boolean {
  return (
    (params.queue === undefined || job.queue === params.queue) &&
    (params.state === undefined || job.state === params.state) &&
    (params.name === undefined || job.name === params.name) &&
    (params.key === undefined || job.key === params.key) &&
    (params.group === undefined || job.group === params.group)
  );
}
