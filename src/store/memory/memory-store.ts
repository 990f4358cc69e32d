/**
 * The in-memory Store: the reference implementation of every semantic in `../store.ts`, used by default in
 * tests and benchmarks. Not durable: everything is lost when the process exits, and `watch` only sees this
 * process (it is the only one that can reach the store anyway).
 *
 * Layout, chosen so the hot path (insert, claim, finish) stays O(log n):
 * - `jobs`: every job by id. Ids come from a counter starting at 1.
 * - `available`: per queue, per job name, a heap in claim order. Claim merges the heaps of the queues and
 *   names it was asked for.
 * - `waiting`: per queue, a heap of scheduled and retryable jobs by `runAt`, for staging and `jobNextRunAt`.
 * - `running`: running jobs by id, for rescue.
 * Heaps use lazy deletion: each job carries a `seq` that changes on every state change; an entry whose `seq`
 * no longer matches its job is stale and skipped, and a heap is compacted when stale entries dominate it.
 *
 * Records returned to callers are fresh copies; data, result, progress and meta are kept as JSON text, so
 * they round-trip exactly as through a durable store.
 */
import { randomUUID } from "node:crypto";
import { ClosedError, InvalidStateTransitionError, JobNotFoundError } from "../../errors.js";
import { FINAL_STATES, JOB_STATES, type JobState } from "../../job/states.js";
import { ClaimRates, type RateLog, type RateWrite, rateKey } from "../rate-window.js";
import type {
  AttemptError,
  DedupeSpec,
  JobClaimParams,
  JobCounts,
  JobFinishManyParams,
  JobFinishManyResult,
  JobInsertManyParams,
  JobInsertParams,
  JobInsertResult,
  JobLeaseRenewParams,
  JobLeaseRenewResult,
  JobListParams,
  JobListResult,
  JobLogEntry,
  JobOutcome,
  JobPruneParams,
  JobRecord,
  JobReportParams,
  JobRescueParams,
  JobRescueResult,
  JobTypeInfo,
  JobTypeRegistration,
  QueueInfo,
  QueueMinuteStats,
  RateLimit,
  ScheduleFireParams,
  ScheduleFireResult,
  ScheduleRecord,
  ScheduleUpsertParams,
  ScheduleUpsertResult,
  Store,
  StoreCapabilities,
  StoreCheck,
  Unwatch,
  WorkerRecord,
} from "../store.js";
import { MemoryStats, MemoryWorkers, type StatField } from "./memory-registry.js";
import { MemorySchedules } from "./memory-schedules.js";

/** A job as held in memory. JSON fields are kept serialised so every read hands out a fresh copy. */
interface MemJob {
  id: string;
  num: number;
  name: string;
  queue: string;
  state: JobState;
  dataJson: string;
  priority: number;
  lifo: boolean;
  attempt: number;
  maxAttempts: number;
  stalls: number;
  maxStalls: number;
  runAt: number;
  createdAt: number;
  attemptedAt: number | null;
  finishedAt: number | null;
  leaseOwner: string | null;
  leaseToken: string | null;
  leaseExpiresAt: number | null;
  cancelRequested: boolean;
  timeoutMs: number | null;
  errors: AttemptError[];
  resultJson: string;
  progressJson: string;
  logs: JobLogEntry[];
  metaJson: string;
  key: string | null;
  /** Group key (null: ungrouped), whether it holds its group while waiting, and its group concurrency. */
  group: string | null;
  groupHold: boolean;
  groupConcurrency: number;
  /** Changes on every state change and on delete: heap entries holding an older value are stale. */
  seq: number;
}

/**
 * One group of one queue: its non-final jobs in id order and its standing in the ready-groups heap. Deleted
 * when it holds no non-final job (its `served` is forgotten: a returning group counts as never served).
 */
interface MemGroup {
  queue: string;
  key: string;
  concurrency: number;
  /** Non-final jobs, ascending id. */
  live: MemJob[];
  running: number;
  /** Sequence number of the claim that last served it (0: never). */
  served: number;
  /** Whether it has a claimable job, and that job's priority (its place in the ready heap). */
  ready: boolean;
  priority: number;
  /** Whether a valid entry for it is in the ready heap; `rseq` changes to invalidate entries. */
  inHeap: boolean;
  rseq: number;
}

interface GroupEntry {
  group: MemGroup;
  rseq: number;
  priority: number;
  served: number;
}

/** Ready groups of a queue by (priority, served): a binary min-heap with lazy deletion by `rseq`. */
class GroupHeap {
  private readonly items: GroupEntry[] = [];

  push(group: MemGroup): void {
    const items = this.items;
    const entry: GroupEntry = { group, rseq: group.rseq, priority: group.priority, served: group.served };
    items.push(entry);
    let i = items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!groupBefore(entry, items[parent]!)) break;
      items[i] = items[parent]!;
      i = parent;
    }
    items[i] = entry;
    if (items.length > 64 && items.length > 4 * this.validCount()) this.compact();
  }

  /** Removes and returns the first group whose entry is still valid. */
  pop(): MemGroup | undefined {
    for (;;) {
      const top = this.items[0];
      if (top === undefined) return undefined;
      this.removeTop();
      if (top.rseq === top.group.rseq) return top.group;
    }
  }

  private validCount(): number {
    let n = 0;
    for (const e of this.items) if (e.rseq === e.group.rseq) n++;
    return n;
  }

  private compact(): void {
    const keep = this.items.filter((e) => e.rseq === e.group.rseq);
    this.items.length = 0;
    for (const e of keep) this.items.push(e);
    for (let i = (this.items.length >> 1) - 1; i >= 0; i--) this.down(i);
  }

  private removeTop(): void {
    const last = this.items.pop();
    if (last === undefined || this.items.length === 0) return;
    this.items[0] = last;
    this.down(0);
  }

  private down(index: number): void {
    const items = this.items;
    const n = items.length;
    let i = index;
    const entry = items[i]!;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= n) break;
      const right = left + 1;
      let child = left;
      if (right < n && groupBefore(items[right]!, items[left]!)) child = right;
      const c = items[child]!;
      if (!groupBefore(c, entry)) break;
      items[i] = c;
      i = child;
    }
    items[i] = entry;
  }
}

function groupBefore(a: GroupEntry, b: GroupEntry): boolean {
  if (a.priority !== b.priority) return a.priority < b.priority;
  return a.served < b.served;
}

/** Whether a non-final job takes a place in its group's window (see `GroupSpec`). */
function occupies(job: MemJob): boolean {
  return job.state === "available" || job.state === "running" || job.groupHold;
}

function isLive(state: JobState): boolean {
  return state === "scheduled" || state === "available" || state === "running" || state === "retryable";
}

/** Index of the first job in `list` (ascending num) with `num >= num`. */
function lowerBound(list: MemJob[], num: number): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (list[mid]!.num < num) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

interface HeapEntry {
  job: MemJob;
  seq: number;
}

/** A binary min-heap of jobs with lazy deletion (see the module comment). */
class JobHeap {
  private readonly items: HeapEntry[] = [];
  /** Entries still valid (pushed and not yet invalidated). */
  private live = 0;

  constructor(private readonly before: (a: MemJob, b: MemJob) => boolean) {}

  push(job: MemJob): void {
    this.items.push({ job, seq: job.seq });
    this.live++;
    this.up(this.items.length - 1);
  }

  /** The first valid job, dropping stale entries from the top; undefined when empty. */
  peek(): MemJob | undefined {
    for (;;) {
      const top = this.items[0];
      if (top === undefined) return undefined;
      if (top.seq === top.job.seq) return top.job;
      this.removeTop();
    }
  }

  /** Removes and returns the first valid job. */
  pop(): MemJob | undefined {
    const job = this.peek();
    if (job !== undefined) {
      this.removeTop();
      this.live--;
    }
    return job;
  }

  /** Records that one entry of this heap became stale; compacts when stale entries dominate. */
  invalidated(): void {
    this.live--;
    if (this.items.length > 64 && this.items.length > this.live * 2) this.compact();
  }

  get size(): number {
    return this.live;
  }

  private compact(): void {
    const keep = this.items.filter((e) => e.seq === e.job.seq);
    this.items.length = 0;
    for (const e of keep) this.items.push(e);
    for (let i = (this.items.length >> 1) - 1; i >= 0; i--) this.down(i);
    this.live = keep.length;
  }

  private removeTop(): void {
    const last = this.items.pop();
    if (last === undefined || this.items.length === 0) return;
    this.items[0] = last;
    this.down(0);
  }

  private up(index: number): void {
    const items = this.items;
    let i = index;
    const entry = items[i]!;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = items[parent]!;
      if (!this.before(entry.job, p.job)) break;
      items[i] = p;
      i = parent;
    }
    items[i] = entry;
  }

  private down(index: number): void {
    const items = this.items;
    const n = items.length;
    let i = index;
    const entry = items[i]!;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= n) break;
      const right = left + 1;
      let child = left;
      if (right < n && this.before(items[right]!.job, items[left]!.job)) child = right;
      const c = items[child]!;
      if (!this.before(c.job, entry.job)) break;
      items[i] = c;
      i = child;
    }
    items[i] = entry;
  }
}

/**
 * Claim order: lower priority first; within a priority, LIFO jobs first, newest (highest id) first; then the
 * other jobs by runAt, then id.
 */
function claimsBefore(a: MemJob, b: MemJob): boolean {
  if (a.priority !== b.priority) return a.priority < b.priority;
  if (a.lifo !== b.lifo) return a.lifo;
  if (a.lifo) return a.num > b.num;
  if (a.runAt !== b.runAt) return a.runAt < b.runAt;
  return a.num < b.num;
}

/** Between a grouped and an ungrouped candidate: lower priority first, then earlier runAt, then id. */
function mergesBefore(a: MemJob, b: MemJob): boolean {
  if (a.priority !== b.priority) return a.priority < b.priority;
  if (a.runAt !== b.runAt) return a.runAt < b.runAt;
  return a.num < b.num;
}

/** Staging order: earliest runAt first, then id. */
function runsBefore(a: MemJob, b: MemJob): boolean {
  return a.runAt !== b.runAt ? a.runAt < b.runAt : a.num < b.num;
}

function emptyCounts(): JobCounts {
  const counts = {} as JobCounts;
  for (const state of JOB_STATES) counts[state] = 0;
  return counts;
}

/** JSON text of a value; `undefined` is stored as null. Throws on values JSON cannot hold (BigInt, cycles). */
function toJson(value: unknown): string {
  return JSON.stringify(value) ?? "null";
}

function copyError(e: AttemptError): AttemptError {
  const copy: AttemptError = { attempt: e.attempt, at: e.at, kind: e.kind, message: e.message, name: e.name };
  if (typeof e.stack === "string") copy.stack = e.stack;
  return copy;
}

function copyLog(l: JobLogEntry): JobLogEntry {
  return { at: l.at, attempt: l.attempt, level: l.level, message: l.message };
}

interface Watcher {
  queues: ReadonlySet<string>;
  listener: () => void;
  pending: boolean;
  active: boolean;
}

/** Params of one finish update, validated and serialised before anything is applied. */
interface PreparedUpdate {
  job: MemJob | undefined;
  outcome: JobOutcome;
  resultJson: string | undefined;
  progressJson: string | undefined;
  logs: JobLogEntry[];
}

const LIST_LIMIT_MAX = 1000;

/** The counter each attempt outcome adds to (see `Store.statsList`); snooze and release count nothing. */
const OUTCOME_STAT: Record<JobOutcome["type"], StatField | null> = {
  complete: "completed",
  retry: "retried",
  discard: "discarded",
  cancel: "cancelled",
  snooze: null,
  release: null,
};

/**
 * The reference {@link Store}, held in process memory. `kind` is "memory"; it is neither durable nor
 * cross-process. Every method follows the contract in `store.ts`; where that contract is silent this class
 * decides, and the conformance suite (`describeStore`) pins the decision for every store.
 *
 * All methods are safe to call concurrently: each runs to completion synchronously inside its promise, so
 * two claims can never see the same available job. After {@link MemoryStore.close} every method rejects
 * (or, for `watch`, throws) `ClosedError`.
 */
export class MemoryStore implements Store {
  readonly kind = "memory";
  readonly capabilities: StoreCapabilities = {
    blockingWrites: false,
    durable: false,
    crossProcessWatch: false,
  };

  private closed = false;
  private lastId = 0;
  private lastSeq = 0;
  private readonly jobs = new Map<string, MemJob>();
  /** queue → job name → available jobs in claim order. */
  private readonly available = new Map<string, Map<string, JobHeap>>();
  /** queue → scheduled and retryable jobs by runAt. */
  private readonly waiting = new Map<string, JobHeap>();
  private readonly running = new Map<string, MemJob>();
  private readonly counts = new Map<string, JobCounts>();
  private readonly totals: JobCounts = emptyCounts();
  private readonly paused = new Set<string>();
  private readonly jobTypes = new Map<string, JobTypeInfo>();
  private readonly watchers = new Set<Watcher>();
  /** Schedules; fire inserts its tick jobs through `insertAll`, in the same synchronous step. */
  private readonly scheduleBook = new MemorySchedules((jobs) => this.insertAll(jobs));
  /** Dedupe key → every job holding it (any state), for the dedupe policies. */
  private readonly keyed = new Map<string, Set<MemJob>>();
  /** queue + "\0" + group key → groups holding non-final jobs. */
  private readonly groups = new Map<string, MemGroup>();
  /** queue → its ready groups, least recently served first. */
  private readonly readyGroups = new Map<string, GroupHeap>();
  /** Claims that served a group, numbered (round-robin order of groups). */
  private servedSeq = 0;
  /** queue → its rate limit. */
  private readonly queueRates = new Map<string, RateLimit>();
  /** Rate logs by key (see `rate-window.ts`); expired ones are swept every 256 writes. */
  private readonly rateLogs = new Map<string, RateWrite>();
  private rateWrites = 0;
  /** Live workers (see `workerBeat`). */
  private readonly workerBook = new MemoryWorkers();
  /** Outcome counts per queue and minute (see `statsList`). */
  private readonly stats = new MemoryStats();

  /** Inserts one job: `scheduled` if `runAt > now`, else `available`. Rejects data JSON cannot hold. */
  async jobInsert(params: JobInsertParams): Promise<JobInsertResult> {
    this.assertOpen();
    const [result] = this.insertAll([params]);
    return result!;
  }

  /** Inserts many jobs atomically (all or none, e.g. when one holds non-JSON data), ids increasing in order. */
  async jobInsertMany(params: JobInsertManyParams): Promise<JobInsertResult[]> {
    this.assertOpen();
    return this.insertAll(params.jobs);
  }

  /** Stages due jobs, then leases up to `limit` available jobs in claim order (see `Store.jobClaim`). */
  async jobClaim(params: JobClaimParams): Promise<JobRecord[]> {
    this.assertOpen();
    return this.claim(params, params.now);
  }

  /**
   * Applies the outcomes of jobs still running under their token, in order, then (if asked) stages due jobs
   * and claims like `jobClaim`. A missing job or a lost lease yields `false` for that update. The whole call
   * is atomic: a result or progress that JSON cannot hold rejects it before any update is applied.
   */
  async jobFinishMany(params: JobFinishManyParams): Promise<JobFinishManyResult> {
    this.assertOpen();
    const { now } = params;
    const prepared: PreparedUpdate[] = params.updates.map((u) => ({
      job: this.jobs.get(u.id),
      outcome: u.outcome,
      resultJson: u.outcome.type === "complete" ? toJson(u.outcome.result) : undefined,
      progressJson: u.progress === undefined ? undefined : toJson(u.progress),
      logs: (u.logs ?? []).map(copyLog),
    }));
    const applied: boolean[] = [];
    for (let i = 0; i < prepared.length; i++) {
      const p = prepared[i]!;
      const job = p.job;
      const token = params.updates[i]!.token;
      if (job === undefined || job.state !== "running" || job.leaseToken !== token) {
        applied.push(false);
        continue;
      }
      for (const line of p.logs) job.logs.push(line);
      if (p.progressJson !== undefined) job.progressJson = p.progressJson;
      this.applyOutcome(job, p.outcome, p.resultJson, now);
      const counted = OUTCOME_STAT[p.outcome.type];
      if (counted !== null) this.stats.count(job.queue, counted, now);
      applied.push(true);
    }
    if (params.claim === undefined) return { applied, claimed: [] };
    const claimed = this.claim({ ...params.claim, now }, now);
    if (claimed.length >= params.claim.limit) return { applied, claimed };
    const { queues, names } = params.claim;
    return { applied, claimed, nextRunAt: this.nextRunAt({ queues, names, now }) };
  }

  /** Extends leases still held (running under the token, even if expired but not yet rescued). */
  async jobLeaseRenew(params: JobLeaseRenewParams): Promise<JobLeaseRenewResult> {
    this.assertOpen();
    const lost: string[] = [];
    const cancelRequested: string[] = [];
    for (const { id, token } of params.leases) {
      const job = this.heldJob(id, token);
      if (job === undefined) {
        lost.push(id);
        continue;
      }
      job.leaseExpiresAt = params.now + params.leaseMs;
      if (job.cancelRequested) cancelRequested.push(id);
    }
    return { lost, cancelRequested };
  }

  /** Stores progress (when given) and appends logs of a job still running under `token`. */
  async jobReport(params: JobReportParams): Promise<boolean> {
    this.assertOpen();
    const job = this.heldJob(params.id, params.token);
    if (job === undefined) return false;
    const progressJson = params.progress === undefined ? undefined : toJson(params.progress);
    if (progressJson !== undefined) job.progressJson = progressJson;
    for (const line of params.logs ?? []) job.logs.push(copyLog(line));
    return true;
  }

  /**
   * Rescues running jobs whose `leaseExpiresAt < now`, earliest expiry first, at most `limit`. A stalled job
   * gets its attempt given back and a stall error (name "StallError", numbered with the attempt that
   * stalled), whether it is then made available or discarded. A job with a cancel request is cancelled with a
   * "cancel" error (name "JobCancelledError") instead: no stall counted, and its attempt is kept, as with a
   * cancel outcome.
   */
  async jobRescue(params: JobRescueParams): Promise<JobRescueResult> {
    this.assertOpen();
    const { now } = params;
    const result: JobRescueResult = { cancelled: [], discarded: [], rescued: [] };
    if (params.limit <= 0) return result;
    const expired: MemJob[] = [];
    for (const job of this.running.values()) {
      if (job.leaseExpiresAt !== null && job.leaseExpiresAt < now) expired.push(job);
    }
    expired.sort((a, b) => a.leaseExpiresAt! - b.leaseExpiresAt! || a.num - b.num);
    for (const job of expired.slice(0, params.limit)) {
      if (job.cancelRequested) {
        job.errors.push({
          attempt: job.attempt,
          at: now,
          kind: "cancel",
          message: "cancel requested; the lease expired before the worker finished the job",
          name: "JobCancelledError",
        });
        job.finishedAt = now;
        this.setState(job, "cancelled");
        result.cancelled.push(job.id);
        this.stats.count(job.queue, "rescued", now);
        this.stats.count(job.queue, "cancelled", now);
        continue;
      }
      job.stalls++;
      job.errors.push({
        attempt: job.attempt,
        at: now,
        kind: "stall",
        message: `lease expired at ${job.leaseExpiresAt} without renewal: the worker died or blocked its event loop`,
        name: "StallError",
      });
      job.attempt = Math.max(0, job.attempt - 1);
      this.stats.count(job.queue, "rescued", now);
      if (job.stalls > job.maxStalls) {
        job.finishedAt = now;
        this.setState(job, "discarded");
        result.discarded.push(job.id);
        this.stats.count(job.queue, "discarded", now);
      } else {
        job.runAt = now;
        this.setState(job, "available");
        result.rescued.push(job.id);
        this.notify(job.queue);
      }
    }
    return result;
  }

  /** Moves scheduled and retryable jobs with `runAt <= now` to available (runAt unchanged); returns how many. */
  async jobStage(params: { now: number }): Promise<number> {
    this.assertOpen();
    return this.stage(params.now);
  }

  /**
   * Earliest runAt of scheduled or retryable jobs in these queues (paused or not) and, with `now`, earliest
   * time after `now` a full rate limit of these queues, of the types in `names` or of a group in these queues
   * frees; or null.
   */
  async jobNextRunAt(params: { queues: string[]; names?: string[]; now?: number }): Promise<number | null> {
    this.assertOpen();
    return this.nextRunAt(params);
  }

  private nextRunAt(params: { queues: string[]; names?: string[]; now?: number }): number | null {
    let next: number | null = null;
    for (const queue of params.queues) {
      const job = this.waiting.get(queue)?.peek();
      if (job !== undefined && (next === null || job.runAt < next)) next = job.runAt;
    }
    const now = params.now;
    if (now === undefined || this.rateLogs.size === 0) return next;
    const queues = new Set(params.queues);
    const names = new Set(params.names ?? []);
    for (const w of this.rateLogs.values()) {
      if (w.freeAt === null || w.freeAt <= now || (next !== null && w.freeAt >= next)) continue;
      const applies = w.kind === "type" ? names.has(w.name ?? "") : queues.has(w.queue ?? "");
      if (applies) next = w.freeAt;
    }
    return next;
  }

  /** A copy of the job with all its logs, or null. */
  async jobGet(params: { id: string }): Promise<JobRecord | null> {
    this.assertOpen();
    const job = this.jobs.get(params.id);
    return job === undefined ? null : toRecord(job, true);
  }

  /**
   * Jobs newest first, filtered; `limit` is clamped to 1..1000. `nextCursor` is the last job's id when more
   * jobs match after it, else null (so an exactly full last page still ends with null). A `key` filter reads
   * the key's own index instead of walking every id.
   */
  async jobList(params: JobListParams): Promise<JobListResult> {
    this.assertOpen();
    const limit = Math.min(LIST_LIMIT_MAX, Math.max(1, Math.floor(params.limit)));
    let from = this.lastId;
    if (params.cursor !== undefined) {
      const cursor = Number(params.cursor);
      from = Number.isFinite(cursor) ? Math.min(from, Math.ceil(cursor) - 1) : 0;
    }
    const matches = (job: MemJob): boolean =>
      (params.queue === undefined || job.queue === params.queue) &&
      (params.state === undefined || job.state === params.state) &&
      (params.name === undefined || job.name === params.name) &&
      (params.key === undefined || job.key === params.key) &&
      (params.group === undefined || job.group === params.group);
    const jobs: JobRecord[] = [];
    let more = false;
    const take = (job: MemJob): boolean => {
      if (!matches(job)) return true;
      if (jobs.length === limit) {
        more = true;
        return false;
      }
      jobs.push(toRecord(job, true));
      return true;
    };
    if (params.key !== undefined) {
      const keyed = [...(this.keyed.get(params.key) ?? [])].filter((job) => job.num <= from);
      keyed.sort((a, b) => b.num - a.num);
      for (const job of keyed) if (!take(job)) break;
    } else {
      for (let num = from; num >= 1; num--) {
        const job = this.jobs.get(String(num));
        if (job !== undefined && !take(job)) break;
      }
    }
    return { jobs, nextCursor: more ? jobs[jobs.length - 1]!.id : null };
  }

  /** Counts per state in one queue, or in all; every state present. */
  async jobCount(params: { queue?: string }): Promise<JobCounts> {
    this.assertOpen();
    const counts = params.queue === undefined ? this.totals : this.counts.get(params.queue);
    return counts === undefined ? emptyCounts() : { ...counts };
  }

  /**
   * Operator retry: scheduled, retryable and final jobs become available at `now` (`finishedAt` and `result`
   * cleared; errors, logs, progress and stalls kept; `maxAttempts` raised to `attempt + 1` if exhausted).
   */
  async jobRetry(params: { id: string; now: number }): Promise<JobRecord> {
    this.assertOpen();
    const job = this.jobs.get(params.id);
    if (job === undefined) throw new JobNotFoundError(params.id);
    if (job.state === "running") throw new InvalidStateTransitionError(job.id, job.state, "retry");
    if (job.state === "available") return toRecord(job, true);
    if (job.attempt >= job.maxAttempts) job.maxAttempts = job.attempt + 1;
    job.runAt = params.now;
    job.finishedAt = null;
    job.resultJson = "null";
    this.setState(job, "available");
    this.notify(job.queue);
    return toRecord(job, true);
  }

  /** Cancels a waiting job, requests cancellation of a running one, leaves a final one unchanged. */
  async jobCancel(params: { id: string; now: number }): Promise<JobRecord> {
    this.assertOpen();
    const job = this.jobs.get(params.id);
    if (job === undefined) throw new JobNotFoundError(params.id);
    if (job.state === "running") {
      job.cancelRequested = true;
    } else if (job.state === "scheduled" || job.state === "available" || job.state === "retryable") {
      job.finishedAt = params.now;
      this.setState(job, "cancelled");
    }
    return toRecord(job, true);
  }

  /** Makes a scheduled or retryable job available at `now`; an available job is returned unchanged. */
  async jobPromote(params: { id: string; now: number }): Promise<JobRecord> {
    this.assertOpen();
    const job = this.jobs.get(params.id);
    if (job === undefined) throw new JobNotFoundError(params.id);
    if (job.state === "available") return toRecord(job, true);
    if (job.state !== "scheduled" && job.state !== "retryable") {
      throw new InvalidStateTransitionError(job.id, job.state, "promote");
    }
    job.runAt = params.now;
    this.setState(job, "available");
    this.notify(job.queue);
    return toRecord(job, true);
  }

  /** Deletes a job that is not running; false if it did not exist. */
  async jobDelete(params: { id: string }): Promise<boolean> {
    this.assertOpen();
    const job = this.jobs.get(params.id);
    if (job === undefined) return false;
    if (job.state === "running") throw new InvalidStateTransitionError(job.id, job.state, "delete");
    this.remove(job);
    return true;
  }

  /**
   * Deletes final jobs (of `states`, default all three; other states are ignored) with
   * `finishedAt < finishedBefore`, or beyond the newest `keepLast` of their state (per queue with
   * `perQueue`), oldest finish first, at most `limit`.
   */
  async jobPrune(params: JobPruneParams): Promise<number> {
    this.assertOpen();
    if (params.limit <= 0) return 0;
    const { finishedBefore, keepLast } = params;
    const states = new Set((params.states ?? FINAL_STATES).filter((s) => FINAL_STATES.includes(s)));
    // Final jobs per state (and queue), to rank them for keepLast.
    const groups = new Map<string, MemJob[]>();
    const old = new Set<MemJob>();
    for (const job of this.jobs.values()) {
      if (!states.has(job.state) || job.finishedAt === null) continue;
      if (finishedBefore !== undefined && job.finishedAt < finishedBefore) old.add(job);
      if (keepLast === undefined) continue;
      const group = params.perQueue ? `${job.state}\u0000${job.queue}` : job.state;
      const list = groups.get(group);
      if (list === undefined) groups.set(group, [job]);
      else list.push(job);
    }
    for (const list of groups.values()) {
      if (keepLast === undefined || list.length <= keepLast) continue;
      list.sort((a, b) => b.finishedAt! - a.finishedAt! || b.num - a.num);
      for (const job of list.slice(Math.max(0, keepLast))) old.add(job);
    }
    const sorted = [...old].sort((a, b) => a.finishedAt! - b.finishedAt! || a.num - b.num);
    const doomed = sorted.slice(0, params.limit);
    for (const job of doomed) this.remove(job);
    return doomed.length;
  }

  /** Remembers each type by name (a later registration replaces its queue, defaults and `seenAt`). */
  async jobTypeRegister(params: { types: JobTypeRegistration[]; now: number }): Promise<void> {
    this.assertOpen();
    for (const t of params.types) {
      const defaults = structuredClone(t.defaults ?? {});
      this.jobTypes.set(t.name, { name: t.name, queue: t.queue, defaults, seenAt: params.now });
    }
  }

  /** Registered job types, by name. */
  async jobTypeList(): Promise<JobTypeInfo[]> {
    this.assertOpen();
    return [...this.jobTypes.values()]
      .sort((a, b) => compareNames(a.name, b.name))
      .map((t) => ({ ...t, defaults: structuredClone(t.defaults) }));
  }

  /** Pauses a queue (idempotent; the queue need not hold jobs yet). */
  async queuePause(params: { queue: string }): Promise<void> {
    this.assertOpen();
    this.paused.add(params.queue);
  }

  /** Resumes a queue (idempotent) and wakes its watchers. */
  async queueResume(params: { queue: string }): Promise<void> {
    this.assertOpen();
    if (this.paused.delete(params.queue)) this.notify(params.queue);
  }

  /** Sets or lifts (null) a queue's rate limit; its log (claims already counted) is kept. */
  async queueRateLimit(params: { queue: string; limit: RateLimit | null }): Promise<void> {
    this.assertOpen();
    if (params.limit === null) {
      if (this.queueRates.delete(params.queue)) this.notify(params.queue);
    } else {
      this.queueRates.set(params.queue, { max: params.limit.max, windowMs: params.limit.windowMs });
      this.notify(params.queue);
    }
  }

  /** Every queue that holds jobs, is paused, has a rate limit or has a registered job type, sorted by name. */
  async queueList(): Promise<QueueInfo[]> {
    this.assertOpen();
    const names = new Set<string>(this.paused);
    for (const queue of this.queueRates.keys()) names.add(queue);
    for (const [queue, counts] of this.counts) {
      if (JOB_STATES.some((s) => counts[s] > 0)) names.add(queue);
    }
    for (const t of this.jobTypes.values()) names.add(t.queue);
    return [...names].sort(compareNames).map((name) => {
      const info: QueueInfo = {
        name,
        paused: this.paused.has(name),
        counts: { ...(this.counts.get(name) ?? emptyCounts()) },
      };
      const rateLimit = this.queueRates.get(name);
      if (rateLimit !== undefined) info.rateLimit = { ...rateLimit };
      return info;
    });
  }

  /** Upserts the worker's record; listed while `now < lastBeatAt + ttlMs`. */
  async workerBeat(params: {
    worker: Omit<WorkerRecord, "lastBeatAt">;
    ttlMs: number;
    now: number;
  }): Promise<void> {
    this.assertOpen();
    this.workerBook.beat(params.worker, params.ttlMs, params.now);
  }

  async workerRemove(params: { id: string }): Promise<void> {
    this.assertOpen();
    this.workerBook.remove(params.id);
  }

  async workerList(params: { now: number }): Promise<WorkerRecord[]> {
    this.assertOpen();
    return this.workerBook.list(params.now);
  }

  /** Counts by minute then queue; kept for 24 hours behind the newest minute counted. */
  async statsList(params: { from: number; to: number; queue?: string }): Promise<QueueMinuteStats[]> {
    this.assertOpen();
    return this.stats.list(params.from, params.to, params.queue);
  }

  /** One check: nothing in this store survives the process. No clock of its own. */
  async storeHealth(_params: { now: number }): Promise<{ checks: StoreCheck[]; serverTime: number | null }> {
    this.assertOpen();
    return {
      checks: [
        {
          name: "durability",
          status: "warn",
          detail:
            "memory store: nothing survives the process; use sqlite: or redis:// for jobs that must survive",
        },
      ],
      serverTime: null,
    };
  }

  /** Inserts or replaces a schedule; a replaced one keeps `nextRunAt` when its spec is unchanged. */
  async scheduleUpsert(params: ScheduleUpsertParams): Promise<ScheduleUpsertResult> {
    this.assertOpen();
    return this.scheduleBook.upsert(params);
  }

  async scheduleGet(params: { id: string }): Promise<ScheduleRecord | null> {
    this.assertOpen();
    return this.scheduleBook.get(params.id);
  }

  async scheduleList(): Promise<ScheduleRecord[]> {
    this.assertOpen();
    return this.scheduleBook.list();
  }

  async scheduleDelete(params: { id: string }): Promise<boolean> {
    this.assertOpen();
    return this.scheduleBook.delete(params.id);
  }

  async schedulePause(params: { id: string; now: number }): Promise<ScheduleRecord | null> {
    this.assertOpen();
    return this.scheduleBook.pause(params.id, params.now);
  }

  async scheduleResume(params: {
    id: string;
    nextRunAt: number | null;
    now: number;
  }): Promise<ScheduleRecord | null> {
    this.assertOpen();
    return this.scheduleBook.resume(params.id, params.nextRunAt, params.now);
  }

  async scheduleDue(params: { now: number; limit: number }): Promise<ScheduleRecord[]> {
    this.assertOpen();
    return this.scheduleBook.due(params.now, params.limit);
  }

  /** Compare-and-set on `nextRunAt`, then the tick jobs are inserted, in one synchronous step. */
  async scheduleFire(params: ScheduleFireParams): Promise<ScheduleFireResult> {
    this.assertOpen();
    return this.scheduleBook.fire(params);
  }

  /**
   * Calls `listener` in a microtask, coalesced per listener, after an insert into one of `queues` (any
   * state), an operator retry, a resume, a release, a retry or snooze outcome, or a rescue to available.
   * Errors thrown by the listener are swallowed. Throws ClosedError after close.
   */
  watch(queues: string[], listener: () => void): Unwatch {
    this.assertOpen();
    const watcher: Watcher = { queues: new Set(queues), listener, pending: false, active: true };
    this.watchers.add(watcher);
    return () => {
      watcher.active = false;
      this.watchers.delete(watcher);
    };
  }

  /** Drops every job and watcher. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const w of this.watchers) w.active = false;
    this.watchers.clear();
    this.jobs.clear();
    this.available.clear();
    this.waiting.clear();
    this.running.clear();
    this.scheduleBook.clear();
    this.keyed.clear();
    this.groups.clear();
    this.readyGroups.clear();
    this.rateLogs.clear();
    this.workerBook.clear();
    this.stats.clear();
  }

  private assertOpen(): void {
    if (this.closed) throw new ClosedError("memory store");
  }

  private insertAll(list: JobInsertParams[]): JobInsertResult[] {
    // Serialise everything first, so a bad value rejects the whole batch before anything is stored.
    const serialised = list.map((p) => ({ p, dataJson: toJson(p.data), metaJson: toJson(p.meta ?? {}) }));
    const results: JobInsertResult[] = [];
    for (const { p, dataJson, metaJson } of serialised) {
      const key = p.key ?? null;
      let runAt = p.runAt;
      if (key !== null) {
        const dedupe = p.dedupe ?? { policy: "reject" };
        const hit = this.dedupe(key, dedupe, dataJson, metaJson, p.now);
        if (hit !== null) {
          results.push(hit);
          continue;
        }
        if (dedupe.policy === "debounce") runAt = p.now + dedupe.windowMs;
      }
      const num = ++this.lastId;
      const job: MemJob = {
        id: String(num),
        num,
        name: p.name,
        queue: p.queue,
        state: runAt > p.now ? "scheduled" : "available",
        dataJson,
        priority: p.priority,
        lifo: p.lifo,
        attempt: 0,
        maxAttempts: p.maxAttempts,
        stalls: 0,
        maxStalls: p.maxStalls,
        runAt,
        createdAt: p.now,
        attemptedAt: null,
        finishedAt: null,
        leaseOwner: null,
        leaseToken: null,
        leaseExpiresAt: null,
        cancelRequested: false,
        timeoutMs: p.timeoutMs,
        errors: [],
        resultJson: "null",
        progressJson: "null",
        logs: [],
        metaJson,
        key,
        group: p.group?.key ?? null,
        groupHold: p.group?.onFailure !== "continue",
        groupConcurrency: p.group?.concurrency ?? 1,
        seq: ++this.lastSeq,
      };
      this.jobs.set(job.id, job);
      if (key !== null) {
        const set = this.keyed.get(key);
        if (set === undefined) this.keyed.set(key, new Set([job]));
        else set.add(job);
      }
      this.countsOf(job.queue)[job.state]++;
      this.totals[job.state]++;
      this.index(job);
      if (job.group !== null) {
        this.groupOf(job).concurrency = job.groupConcurrency;
        this.groupMoved(job, null, job.state);
      }
      this.notify(job.queue);
      results.push({ job: toRecord(job, true), outcome: "inserted" });
    }
    return results;
  }

  /** Applies `dedupe` to the jobs holding `key`: the result if it acted on one, null if a job is to be inserted. */
  private dedupe(
    key: string,
    dedupe: DedupeSpec,
    dataJson: string,
    metaJson: string,
    now: number,
  ): JobInsertResult | null {
    const jobs = this.keyed.get(key);
    if (jobs === undefined || jobs.size === 0) return null;
    const newest = (match: (job: MemJob) => boolean): MemJob | undefined => {
      let best: MemJob | undefined;
      for (const job of jobs) if (match(job) && (best === undefined || job.num > best.num)) best = job;
      return best;
    };
    const pending = (job: MemJob) =>
      job.state === "scheduled" || job.state === "available" || job.state === "retryable";
    switch (dedupe.policy) {
      case "reject": {
        const job = newest((j) => pending(j) || j.state === "running");
        return job === undefined ? null : { job: toRecord(job, true), outcome: "duplicate" };
      }
      case "throttle": {
        const job = newest((j) => j.createdAt > now - dedupe.windowMs);
        return job === undefined ? null : { job: toRecord(job, true), outcome: "throttled" };
      }
      case "replace":
      case "debounce": {
        const job = newest(pending);
        if (job === undefined) return null;
        job.dataJson = dataJson;
        job.metaJson = metaJson;
        if (dedupe.policy === "replace") return { job: toRecord(job, true), outcome: "replaced" };
        job.runAt = now + dedupe.windowMs;
        this.setState(job, job.runAt > now ? "scheduled" : "available");
        this.notify(job.queue);
        return { job: toRecord(job, true), outcome: "debounced" };
      }
    }
  }

  private stage(now: number): number {
    let staged = 0;
    for (const heap of this.waiting.values()) {
      for (let job = heap.peek(); job !== undefined && job.runAt <= now; job = heap.peek()) {
        heap.pop();
        // The entry is already gone from `waiting`, so move the job without invalidating it there.
        this.setState(job, "available", false);
        staged++;
      }
    }
    return staged;
  }

  /**
   * Stages due jobs, then leases available ones: a k-way merge of the matching per-name heaps, merged with the
   * claimable jobs of ready groups (least recently served first). Names at their `maxConcurrency` or rate limit
   * are skipped, and so are queues and groups at their rate limit.
   */
  private claim(params: JobClaimParams, now: number): JobRecord[] {
    this.stage(now);
    if (params.limit <= 0 || params.names.length === 0) return [];
    const rates = this.hasRateLimits(params.names) ? new ClaimRates(now, (key) => this.rateLog(key)) : null;
    const budgets = this.nameBudgets(params.names, rates);
    const names = new Set(params.names);
    if (budgets !== null) for (const [name, left] of budgets) if (left <= 0) names.delete(name);
    if (names.size === 0) return [];
    /** Group rate limits of the claimable names (null: none). */
    let groupRates: Map<string, RateLimit> | null = null;
    if (rates !== null) {
      for (const name of names) {
        const limit = this.jobTypes.get(name)?.defaults.group?.rateLimit;
        if (limit !== undefined) {
          groupRates ??= new Map();
          groupRates.set(name, limit);
        }
      }
    }
    /** Room left per queue with a rate limit (null: no queue of the claim has one). */
    let queueRoom: Map<string, number> | null = null;
    const heaps: JobHeap[] = [];
    const popped: MemGroup[] = [];
    const grouped: MemJob[] = [];
    for (const queue of new Set(params.queues)) {
      if (this.paused.has(queue)) continue;
      const queueLimit = rates === null ? undefined : this.queueRates.get(queue);
      if (queueLimit !== undefined) {
        const room = rates!.room("queue", rateKey("queue", queue), queueLimit, queue, null);
        queueRoom ??= new Map();
        queueRoom.set(queue, room);
        if (room <= 0) continue;
      }
      const byName = this.available.get(queue);
      if (byName !== undefined) {
        if (byName.size <= names.size) {
          for (const [name, heap] of byName) if (names.has(name) && heap.size > 0) heaps.push(heap);
        } else {
          for (const name of names) {
            const heap = byName.get(name);
            if (heap !== undefined && heap.size > 0) heaps.push(heap);
          }
        }
      }
      const ready = this.readyGroups.get(queue);
      // Groups held back by their rate limit are passed over, up to a bound so a claim stays cheap.
      let skips = groupRates === null ? 0 : 4 * params.limit + 16;
      for (let taken = 0; ready !== undefined && taken < params.limit; ) {
        const group = ready.pop();
        if (group === undefined) break;
        group.inHeap = false;
        popped.push(group);
        const picks = this.groupPicks(group, names, groupRates, rates);
        for (const job of picks) {
          grouped.push(job);
          taken++;
        }
        if (picks.length === 0 && --skips < 0) break;
      }
    }
    const groupOrder = (job: MemJob) => this.groups.get(`${job.queue}\u0000${job.group}`)!;
    if (popped.length > 1) {
      grouped.sort((a, b) => {
        const ga = groupOrder(a);
        const gb = groupOrder(b);
        return ga.priority - gb.priority || ga.served - gb.served || a.num - b.num;
      });
    }
    /** Whether a limit (concurrency or rate, of the job's name or queue) has no room left for `job`. */
    const blocked = (job: MemJob): boolean =>
      (budgets !== null && (budgets.get(job.name) ?? 1) <= 0) ||
      (queueRoom !== null && (queueRoom.get(job.queue) ?? 1) <= 0);
    const served = new Set<MemGroup>();
    const claimed: JobRecord[] = [];
    let next = 0;
    while (claimed.length < params.limit) {
      let best: JobHeap | undefined;
      let bestJob: MemJob | undefined;
      for (let i = 0; i < heaps.length; i++) {
        const heap = heaps[i]!;
        const job = heap.peek();
        if (job !== undefined && blocked(job)) {
          heaps.splice(i--, 1);
          continue;
        }
        if (job !== undefined && (bestJob === undefined || claimsBefore(job, bestJob))) {
          best = heap;
          bestJob = job;
        }
      }
      while (next < grouped.length && blocked(grouped[next]!)) next++;
      const groupJob = grouped[next];
      let job: MemJob;
      if (groupJob !== undefined && (bestJob === undefined || mergesBefore(groupJob, bestJob))) {
        job = groupJob;
        next++;
        served.add(groupOrder(job));
        if (groupRates?.has(job.name)) rates!.take(rateKey("group", job.queue, job.group ?? ""));
      } else if (best !== undefined && bestJob !== undefined) {
        best.pop();
        job = bestJob;
      } else {
        break;
      }
      if (budgets !== null) {
        const left = budgets.get(job.name);
        if (left !== undefined) budgets.set(job.name, left - 1);
      }
      if (rates !== null) {
        const room = queueRoom?.get(job.queue);
        if (room !== undefined) {
          queueRoom!.set(job.queue, room - 1);
          rates.take(rateKey("queue", job.queue));
        }
        if (this.jobTypes.get(job.name)?.defaults.rateLimit !== undefined)
          rates.take(rateKey("type", job.name));
      }
      job.attempt++;
      job.attemptedAt = now;
      job.leaseOwner = params.owner;
      job.leaseToken = randomUUID();
      job.leaseExpiresAt = now + params.leaseMs;
      job.cancelRequested = false;
      this.setState(job, "running", false);
      claimed.push(toRecord(job, false));
    }
    for (const group of served) group.served = ++this.servedSeq;
    for (const group of popped) this.refreshGroup(group, true);
    if (rates !== null) this.writeRates(rates.writes(), now);
    return claimed;
  }

  /** Whether a rate limit may apply to a claim of `names`: a queue has one, or one of the types does. */
  private hasRateLimits(names: readonly string[]): boolean {
    if (this.queueRates.size > 0) return true;
    for (const name of names) {
      const defaults = this.jobTypes.get(name)?.defaults;
      if (defaults?.rateLimit !== undefined || defaults?.group?.rateLimit !== undefined) return true;
    }
    return false;
  }

  private rateLog(key: string): RateLog {
    return this.rateLogs.get(key)?.log ?? [];
  }

  /** Stores the logs a claim took from; every 256 writes, forgets logs whose entries all expired. */
  private writeRates(writes: RateWrite[], now: number): void {
    for (const w of writes) this.rateLogs.set(w.key, w);
    this.rateWrites += writes.length;
    if (this.rateWrites < 256) return;
    this.rateWrites = 0;
    for (const [key, w] of this.rateLogs) if (w.expiresAt <= now) this.rateLogs.delete(key);
  }

  /**
   * Jobs left to claim per name, for the names among `names` whose latest registration has `maxConcurrency`
   * (running jobs of the name counted store-wide) or a `rateLimit` (the room left in its log); null when none
   * of them is limited, so unlimited types pay no counting.
   */
  private nameBudgets(names: readonly string[], rates: ClaimRates | null): Map<string, number> | null {
    let budgets: Map<string, number> | null = null;
    let counted = false;
    for (const name of names) {
      const defaults = this.jobTypes.get(name)?.defaults;
      const max = defaults?.maxConcurrency;
      const rate = rates === null ? undefined : defaults?.rateLimit;
      if (max === undefined && rate === undefined) continue;
      budgets ??= new Map();
      let left = Number.POSITIVE_INFINITY;
      if (max !== undefined) {
        left = max;
        counted = true;
      }
      if (rate !== undefined)
        left = Math.min(left, rates!.room("type", rateKey("type", name), rate, null, name));
      budgets.set(name, left);
    }
    if (budgets === null || !counted) return budgets;
    for (const job of this.running.values()) {
      const left = budgets.get(job.name);
      if (left !== undefined && this.jobTypes.get(job.name)?.defaults.maxConcurrency !== undefined) {
        budgets.set(job.name, left - 1);
      }
    }
    return budgets;
  }

  /**
   * The group's claimable jobs whose name is in `names`: available, inside the window, within its free slots
   * and, for names with a group rate limit (`groupRates`), within the room left in the group's log.
   */
  private groupPicks(
    group: MemGroup,
    names: ReadonlySet<string>,
    groupRates: ReadonlyMap<string, RateLimit> | null,
    rates: ClaimRates | null,
  ): MemJob[] {
    const picks: MemJob[] = [];
    let free = group.concurrency - group.running;
    let place = 0;
    let room = Number.POSITIVE_INFINITY;
    for (const job of group.live) {
      if (free <= 0 || place >= group.concurrency) break;
      if (!occupies(job)) continue;
      place++;
      if (job.state !== "available" || !names.has(job.name)) continue;
      const limit = groupRates?.get(job.name);
      if (limit !== undefined) {
        const key = rateKey("group", group.queue, group.key);
        room = Math.min(room, rates!.room("group", key, limit, group.queue, null) - picks.length);
        if (room <= 0) break;
      }
      picks.push(job);
      free--;
    }
    return picks;
  }

  /** The job's group, created (with the job's concurrency) when it has none. */
  private groupOf(job: MemJob): MemGroup {
    const id = `${job.queue}\u0000${job.group}`;
    let group = this.groups.get(id);
    if (group === undefined) {
      group = {
        queue: job.queue,
        key: job.group ?? "",
        concurrency: job.groupConcurrency,
        live: [],
        running: 0,
        served: 0,
        ready: false,
        priority: 0,
        inHeap: false,
        rseq: 0,
      };
      this.groups.set(id, group);
    }
    return group;
  }

  /** Keeps a grouped job's group right after the job moved `from` a state `to` another (null: none). */
  private groupMoved(job: MemJob, from: JobState | null, to: JobState | null): void {
    const group = this.groupOf(job);
    if (from === "running") group.running--;
    if (to === "running") group.running++;
    const wasLive = from !== null && isLive(from);
    const nowLive = to !== null && isLive(to);
    if (wasLive && !nowLive) {
      const i = lowerBound(group.live, job.num);
      if (group.live[i] === job) group.live.splice(i, 1);
    } else if (!wasLive && nowLive) {
      group.live.splice(lowerBound(group.live, job.num), 0, job);
    }
    // A job left running, was staged or changed by an operator: the group's next job may be claimable now.
    if (this.refreshGroup(group) && from !== null && to !== "running") this.notify(group.queue);
  }

  /**
   * Recomputes whether the group has a claimable job (and that job's priority), and its place in the ready
   * heap (`force`: re-entered even if unchanged, after a claim popped it or changed `served`). Forgets a group
   * with no non-final job. Returns whether the group is ready.
   */
  private refreshGroup(group: MemGroup, force = false): boolean {
    if (group.live.length === 0) {
      this.groups.delete(`${group.queue}\u0000${group.key}`);
      group.rseq++;
      group.inHeap = false;
      group.ready = false;
      return false;
    }
    let ready = false;
    let priority = 0;
    if (group.running < group.concurrency) {
      let place = 0;
      for (const job of group.live) {
        if (place >= group.concurrency) break;
        if (!occupies(job)) continue;
        if (job.state === "available") {
          ready = true;
          priority = job.priority;
          break;
        }
        place++;
      }
    }
    if (!force && ready === group.ready && priority === group.priority && (!ready || group.inHeap))
      return ready;
    group.ready = ready;
    group.priority = priority;
    group.rseq++;
    group.inHeap = false;
    if (ready) {
      let heap = this.readyGroups.get(group.queue);
      if (heap === undefined) {
        heap = new GroupHeap();
        this.readyGroups.set(group.queue, heap);
      }
      heap.push(group);
      group.inHeap = true;
    }
    return ready;
  }

  private applyOutcome(job: MemJob, outcome: JobOutcome, resultJson: string | undefined, now: number): void {
    switch (outcome.type) {
      case "complete":
        job.resultJson = resultJson ?? "null";
        job.finishedAt = now;
        this.setState(job, "completed");
        return;
      case "retry":
        job.errors.push(copyError(outcome.error));
        job.runAt = outcome.runAt;
        this.setState(job, "retryable");
        this.notify(job.queue);
        return;
      case "discard":
        job.errors.push(copyError(outcome.error));
        job.finishedAt = now;
        this.setState(job, "discarded");
        return;
      case "snooze":
        job.attempt = Math.max(0, job.attempt - 1);
        job.runAt = outcome.runAt;
        this.setState(job, "scheduled");
        this.notify(job.queue);
        return;
      case "cancel":
        job.errors.push(copyError(outcome.error));
        job.finishedAt = now;
        this.setState(job, "cancelled");
        return;
      case "release":
        job.attempt = Math.max(0, job.attempt - 1);
        job.runAt = now;
        this.setState(job, "available");
        this.notify(job.queue);
        return;
    }
  }

  /** The job if it is running under `token`, whether or not its lease has expired yet. */
  private heldJob(id: string, token: string): MemJob | undefined {
    const job = this.jobs.get(id);
    return job !== undefined && job.state === "running" && job.leaseToken === token ? job : undefined;
  }

  /**
   * Moves a job to `state`, keeping counts and indexes right. `invalidate` is false when the caller already
   * popped the job's entry from the heap it leaves.
   */
  private setState(job: MemJob, state: JobState, invalidate = true): void {
    if (invalidate) this.unindex(job);
    const from = job.state;
    const counts = this.countsOf(job.queue);
    counts[job.state]--;
    this.totals[job.state]--;
    if (job.state === "running") this.running.delete(job.id);
    job.state = state;
    job.seq = ++this.lastSeq;
    counts[state]++;
    this.totals[state]++;
    if (state !== "running") {
      job.leaseOwner = null;
      job.leaseToken = null;
      job.leaseExpiresAt = null;
      job.cancelRequested = false;
    }
    this.index(job);
    if (job.group !== null) this.groupMoved(job, from, state);
  }

  private remove(job: MemJob): void {
    this.unindex(job);
    if (job.group !== null) this.groupMoved(job, job.state, null);
    this.countsOf(job.queue)[job.state]--;
    this.totals[job.state]--;
    this.running.delete(job.id);
    this.jobs.delete(job.id);
    if (job.key !== null) {
      const set = this.keyed.get(job.key);
      set?.delete(job);
      if (set?.size === 0) this.keyed.delete(job.key);
    }
    job.seq = ++this.lastSeq;
  }

  /** Adds the job to the structure its state uses. */
  private index(job: MemJob): void {
    switch (job.state) {
      case "available":
        // A grouped job is claimed through its group (see `groupPicks`), never from the per-name heaps.
        if (job.group === null) this.availableHeap(job.queue, job.name).push(job);
        return;
      case "scheduled":
      case "retryable":
        this.waitingHeap(job.queue).push(job);
        return;
      case "running":
        this.running.set(job.id, job);
        return;
      default:
        return;
    }
  }

  /** Marks the job's current heap entry stale (the caller then changes `seq`). */
  private unindex(job: MemJob): void {
    if (job.state === "available") {
      if (job.group === null) this.availableHeap(job.queue, job.name).invalidated();
    } else if (job.state === "scheduled" || job.state === "retryable") {
      this.waitingHeap(job.queue).invalidated();
    }
  }

  private availableHeap(queue: string, name: string): JobHeap {
    let byName = this.available.get(queue);
    if (byName === undefined) {
      byName = new Map();
      this.available.set(queue, byName);
    }
    let heap = byName.get(name);
    if (heap === undefined) {
      heap = new JobHeap(claimsBefore);
      byName.set(name, heap);
    }
    return heap;
  }

  private waitingHeap(queue: string): JobHeap {
    let heap = this.waiting.get(queue);
    if (heap === undefined) {
      heap = new JobHeap(runsBefore);
      this.waiting.set(queue, heap);
    }
    return heap;
  }

  private countsOf(queue: string): JobCounts {
    let counts = this.counts.get(queue);
    if (counts === undefined) {
      counts = emptyCounts();
      this.counts.set(queue, counts);
    }
    return counts;
  }

  /** Schedules one coalesced call of every active watcher of `queue`. */
  private notify(queue: string): void {
    if (this.watchers.size === 0) return;
    for (const w of this.watchers) {
      if (w.pending || !w.queues.has(queue)) continue;
      w.pending = true;
      queueMicrotask(() => {
        w.pending = false;
        if (!w.active || this.closed) return;
        try {
          w.listener();
        } catch {
          // A hint listener must not break the store or the caller that triggered it.
        }
      });
    }
  }
}

/** Code-unit order, the same as SQLite's default BINARY collation. */
function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** A fresh record for callers; claim leaves `logs` empty (the contract allows it and claims stay cheap). */
function toRecord(job: MemJob, withLogs: boolean): JobRecord {
  return {
    id: job.id,
    name: job.name,
    queue: job.queue,
    state: job.state,
    data: JSON.parse(job.dataJson),
    priority: job.priority,
    lifo: job.lifo,
    attempt: job.attempt,
    maxAttempts: job.maxAttempts,
    stalls: job.stalls,
    maxStalls: job.maxStalls,
    runAt: job.runAt,
    createdAt: job.createdAt,
    attemptedAt: job.attemptedAt,
    finishedAt: job.finishedAt,
    leaseOwner: job.leaseOwner,
    leaseToken: job.leaseToken,
    leaseExpiresAt: job.leaseExpiresAt,
    cancelRequested: job.cancelRequested,
    timeoutMs: job.timeoutMs,
    errors: job.errors.map(copyError),
    result: JSON.parse(job.resultJson),
    progress: JSON.parse(job.progressJson),
    logs: withLogs ? job.logs.map(copyLog) : [],
    meta: JSON.parse(job.metaJson),
    key: job.key,
    group: job.group,
  };
}
