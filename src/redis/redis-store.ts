import { randomBytes } from "node:crypto";
import {
  ClosedError,
  InvalidStateTransitionError,
  JobNotFoundError,
  StoreUnavailableError,
} from "../errors.js";
import { FINAL_STATES, JOB_STATES } from "../job/states.js";
import { catchUpText, jsonText, scheduleOptionsText, specText } from "../store/schedule-records.js";
import type {
  AttemptError,
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
} from "../store/store.js";
import { assertNoNul, type EncodedInsert, encodeInsert, rateText } from "./codec.js";
import { type ClaimArgs, type FinishArgs, logLines, type OperatorReply, RedisCommands } from "./commands.js";
import { compareVersions, MIN_REDIS_VERSION, parseInfo, type RedisConnection } from "./connection.js";
import { RedisEventFeed, type RemoteEventListener } from "./event-feed.js";
import { LAYOUT_VERSION, RedisKeys } from "./keys.js";
import type { ScriptRunner } from "./scripts.js";

/** Options of the Redis store beyond the connection's (see `openRedisStore`). */
export interface RedisStoreTuning {
  /**
   * How long an insert call's token is kept, so that the same call re-sent after a reconnect is recognised
   * and not stored twice (ms). Default: 3 × commandTimeoutMs, at least 60,000.
   */
  insertTokenTtlMs: number;
  /** Upper bound of the event stream's length in entries (one entry per script call). Default 10,000. */
  eventStreamMaxLen: number;
}

interface Watcher {
  queues: ReadonlySet<string>;
  listener: () => void;
  pending: boolean;
  active: boolean;
}

const LIST_LIMIT_MAX = 1_000;
const STAGE_CAP = 1_000;

function byCodeUnit(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function emptyCounts(): JobCounts {
  const counts = {} as JobCounts;
  for (const state of JOB_STATES) counts[state] = 0;
  return counts;
}

function countsOf(map: Map<string, number>): JobCounts {
  const counts = emptyCounts();
  for (const state of JOB_STATES) counts[state] = map.get(state) ?? 0;
  return counts;
}

function errorJson(e: AttemptError): string {
  const copy: AttemptError = { attempt: e.attempt, at: e.at, kind: e.kind, message: e.message, name: e.name };
  if (typeof e.stack === "string") copy.stack = e.stack;
  return JSON.stringify(copy);
}

/**
 * The Redis store (ioredis): every state change is one atomic Lua call (`src/redis/lua`: a Functions library
 * called with FCALL on Redis 7+, EVALSHA scripts on 6.2) on one command connection; `watch` listens on one
 * pub/sub connection; job events reach other processes through a capped stream read by a third connection,
 * opened only while someone listens. Durable as the server's
 * persistence makes it (AOF recommended; `storeHealth` reports it), and `watch` sees every process's writes.
 * All keys share the hash tag `{prefix}` (one Redis Cluster slot per prefix). See docs/guides/redis.md.
 *
 * Create it with `openRedisStore`.
 */
export class RedisStore implements Store {
  readonly kind = "redis";
  readonly capabilities: StoreCapabilities = {
    blockingWrites: false,
    durable: true,
    crossProcessWatch: true,
  };
  /** The key prefix (keys are `{prefix}:...`). */
  readonly prefix: string;
  /** This instance's id: the origin of its wake-ups and events. */
  readonly instanceId: string;

  readonly #conn: RedisConnection;
  readonly #keys: RedisKeys;
  readonly #cmd: RedisCommands;
  readonly #tuning: RedisStoreTuning;
  readonly #watchers = new Set<Watcher>();
  /** Watchers per queue, for SUBSCRIBE / UNSUBSCRIBE of the queue's wake-up channel. */
  readonly #channelRefs = new Map<string, number>();
  #subscribed = false;
  #closed = false;
  #closing: Promise<void> | null = null;
  #seq = 0;
  #feed: RedisEventFeed | null = null;
  /** Single inserts waiting for a call (see #insertSingle), the insert calls in flight, and close() waiting. */
  readonly #singles: QueuedInsert[] = [];
  #singlesInFlight = 0;
  readonly #singlesIdle: Array<() => void> = [];

  /** @internal Use `openRedisStore`. */
  constructor(conn: RedisConnection, runner: ScriptRunner, tuning: RedisStoreTuning) {
    this.#conn = conn;
    this.prefix = conn.prefix;
    this.#keys = new RedisKeys(conn.prefix);
    this.instanceId = randomBytes(6).toString("base64url");
    this.#cmd = new RedisCommands(runner, this.#keys, this.instanceId);
    this.#tuning = tuning;
  }

  /** @internal Checks the key layout of the prefix, writing it on first use. */
  async init(): Promise<void> {
    const meta = this.#keys.key("meta");
    await this.#conn.client.hsetnx(meta, "layout", String(LAYOUT_VERSION));
    const layout = Number(await this.#conn.client.hget(meta, "layout"));
    if (layout > LAYOUT_VERSION) {
      throw new StoreUnavailableError(
        `Redis prefix "${this.prefix}" at ${this.#conn.safeUrl} holds key layout version ${layout}, newer than ` +
          `this version of Conveyor knows (${LAYOUT_VERSION}): upgrade Conveyor, or use another prefix`,
        false,
      );
    }
  }

  #assertOpen(): void {
    if (this.#closed) throw new ClosedError("redis store");
  }

  #nonce(): string {
    return `${this.instanceId}${(++this.#seq).toString(36)}`;
  }

  async jobInsert(params: JobInsertParams): Promise<JobInsertResult> {
    const [result] = await this.jobInsertMany({ jobs: [params] });
    return result!;
  }

  /**
   * Inserts atomically in one script call (all or none), idempotent if ioredis re-sends it after a reconnect.
   * A single job goes through {@link #insertSingle}, which shares a call with concurrent single inserts.
   */
  async jobInsertMany(params: JobInsertManyParams): Promise<JobInsertResult[]> {
    this.#assertOpen();
    if (params.jobs.length === 0) return [];
    if (params.jobs.length === 1) return [await this.#insertSingle(params.jobs[0]!)];
    const { wakes, reply } = await this.#cmd.insert({
      jobs: params.jobs,
      token: this.#nonce(),
      tokenTtlMs: this.#tuning.insertTokenTtlMs,
    });
    this.#notify(wakes);
    return reply;
  }

  /**
   * One job: sent at once while fewer than {@link SINGLE_INSERTS_IN_FLIGHT} insert calls are on the wire (a
   * lone or sequential caller never waits), else queued and sent with the other jobs queued meanwhile as one
   * call when a call returns. Many concurrent enqueues (a busy web server) thus cost one script call per
   * batch, not one per job. Jobs of one call are stored atomically, in the order they were enqueued; a job
   * whose data cannot be stored fails alone, before it joins a call.
   */
  #insertSingle(job: JobInsertParams): Promise<JobInsertResult> {
    const encoded = encodeInsert(job);
    return new Promise<JobInsertResult>((resolve, reject) => {
      this.#singles.push({ job, encoded, resolve, reject });
      if (this.#singlesInFlight < SINGLE_INSERTS_IN_FLIGHT) this.#sendSingles();
    });
  }

  #sendSingles(): void {
    const batch = this.#singles.splice(0, MAX_COALESCED_INSERTS);
    if (batch.length === 0) {
      if (this.#singlesInFlight === 0) for (const r of this.#singlesIdle.splice(0)) r();
      return;
    }
    this.#singlesInFlight++;
    const token = this.#nonce();
    const tokenTtlMs = this.#tuning.insertTokenTtlMs;
    const first = batch[0]!;
    const call: Promise<{ wakes: string[]; reply: JobInsertResult[] }> =
      batch.length === 1 && (first.job.key ?? null) === null && (first.job.group ?? null) === null
        ? // The common lone enqueue: a lean script (insert1.lua) without insert.lua's batch machinery.
          this.#cmd
            .insertOne({ job: first.job, encoded: first.encoded, token, tokenTtlMs })
            .then(({ wakes, reply }) => ({ wakes, reply: [reply] }))
        : this.#cmd.insert({
            jobs: batch.map((b) => b.job),
            encoded: batch.map((b) => b.encoded),
            token,
            tokenTtlMs,
          });
    call.then(
      ({ wakes, reply }) => {
        this.#singlesInFlight--;
        this.#notify(wakes);
        for (let i = 0; i < batch.length; i++) batch[i]!.resolve(reply[i]!);
        this.#sendSingles();
      },
      (err: unknown) => {
        this.#singlesInFlight--;
        for (const b of batch) b.reject(err);
        this.#sendSingles();
      },
    );
  }

  async jobClaim(params: JobClaimParams): Promise<JobRecord[]> {
    this.#assertOpen();
    const { wakes, reply } = await this.#cmd.claim({ ...this.#claimArgs(params), now: params.now });
    this.#notify(wakes);
    return reply;
  }

  #claimArgs(c: Omit<JobClaimParams, "now">): ClaimArgs {
    assertNoNul(c.owner, "worker id (lease owner)");
    return {
      queues: c.queues,
      names: c.names,
      owner: c.owner,
      limit: Math.max(0, Math.floor(c.limit)),
      leaseMs: c.leaseMs,
      nonce: this.#nonce(),
    };
  }

  /** Applies outcomes and claims in one script call: one round trip per worker batch. */
  async jobFinishMany(params: JobFinishManyParams): Promise<JobFinishManyResult> {
    this.#assertOpen();
    // Everything is serialised first: a value JSON cannot hold rejects the call before anything is applied.
    const updates: FinishArgs[] = params.updates.map((u) => {
      const o = u.outcome;
      let x1 = "";
      let x2 = "";
      switch (o.type) {
        case "complete":
          x1 = jsonText(o.result, `result of job ${u.id}`);
          break;
        case "retry":
          x1 = String(o.runAt);
          x2 = errorJson(o.error);
          break;
        case "snooze":
          x1 = String(o.runAt);
          break;
        case "discard":
        case "cancel":
          x2 = errorJson(o.error);
          break;
        case "release":
          break;
      }
      return {
        id: u.id,
        token: u.token,
        outcome: o.type,
        x1,
        x2,
        progress: u.progress === undefined ? null : jsonText(u.progress, `progress of job ${u.id}`),
        logs: logLines(u.logs),
      };
    });
    const claim = params.claim === undefined ? null : this.#claimArgs(params.claim);
    if (updates.length === 0 && (claim === null || claim.limit === 0)) return { applied: [], claimed: [] };
    const { wakes, reply } = await this.#cmd.finish({ updates, now: params.now, claim });
    this.#notify(wakes);
    return reply;
  }

  async jobLeaseRenew(params: JobLeaseRenewParams): Promise<JobLeaseRenewResult> {
    this.#assertOpen();
    if (params.leases.length === 0) return { lost: [], cancelRequested: [] };
    return this.#cmd.renew(params);
  }

  async jobReport(params: JobReportParams): Promise<boolean> {
    this.#assertOpen();
    const progress =
      params.progress === undefined ? null : jsonText(params.progress, `progress of job ${params.id}`);
    return this.#cmd.report({ id: params.id, token: params.token, progress, logs: logLines(params.logs) });
  }

  async jobRescue(params: JobRescueParams): Promise<JobRescueResult> {
    this.#assertOpen();
    const { wakes, reply } = await this.#cmd.rescue({ now: params.now, limit: Math.floor(params.limit) });
    this.#notify(wakes);
    return reply;
  }

  /** Stages due jobs of every queue, in calls of at most 1,000 per queue (so no call holds Redis for long). */
  async jobStage(params: { now: number }): Promise<number> {
    this.#assertOpen();
    let total = 0;
    for (;;) {
      const { wakes, reply } = await this.#cmd.stage({ now: params.now, cap: STAGE_CAP });
      this.#notify(wakes);
      total += reply.staged;
      if (!reply.more) return total;
    }
  }

  async jobNextRunAt(params: { queues: string[]; names?: string[]; now?: number }): Promise<number | null> {
    this.#assertOpen();
    return this.#cmd.nextRunAt({ queues: params.queues, names: params.names ?? [], now: params.now ?? null });
  }

  async jobGet(params: { id: string }): Promise<JobRecord | null> {
    this.#assertOpen();
    return this.#cmd.get(params);
  }

  async jobList(params: JobListParams): Promise<JobListResult> {
    this.#assertOpen();
    const limit = Math.min(LIST_LIMIT_MAX, Math.max(1, Math.floor(params.limit)));
    return this.#cmd.list({
      queue: params.queue ?? "",
      state: params.state ?? "",
      name: params.name ?? "",
      key: params.key ?? "",
      group: params.group ?? "",
      limit,
      cursor: params.cursor ?? "",
    });
  }

  async jobCount(params: { queue?: string }): Promise<JobCounts> {
    this.#assertOpen();
    return countsOf(await this.#cmd.count({ queue: params.queue ?? "" }));
  }

  async jobRetry(params: { id: string; now: number }): Promise<JobRecord> {
    return this.#operate("retry", params);
  }

  async jobCancel(params: { id: string; now: number }): Promise<JobRecord> {
    return this.#operate("cancel", params);
  }

  async jobPromote(params: { id: string; now: number }): Promise<JobRecord> {
    return this.#operate("promote", params);
  }

  async #operate(
    action: "retry" | "cancel" | "promote",
    params: { id: string; now: number },
  ): Promise<JobRecord> {
    this.#assertOpen();
    const { wakes, reply } = await this.#cmd.operate({ action, id: params.id, now: params.now });
    this.#notify(wakes);
    return operated(reply, params.id, action);
  }

  async jobDelete(params: { id: string }): Promise<boolean> {
    this.#assertOpen();
    const { wakes, reply } = await this.#cmd.delete(params);
    this.#notify(wakes);
    if (reply === "running") throw new InvalidStateTransitionError(params.id, "running", "delete");
    return reply === "deleted";
  }

  async jobPrune(params: JobPruneParams): Promise<number> {
    this.#assertOpen();
    if (params.limit <= 0) return 0;
    if (params.finishedBefore === undefined && params.keepLast === undefined) return 0;
    const states = (params.states ?? FINAL_STATES).filter((s) => FINAL_STATES.includes(s));
    if (states.length === 0) return 0;
    const { wakes, reply } = await this.#cmd.prune({
      finishedBefore: params.finishedBefore ?? null,
      keepLast: params.keepLast === undefined ? null : Math.max(0, Math.floor(params.keepLast)),
      perQueue: params.perQueue === true,
      limit: Math.floor(params.limit),
      states,
    });
    this.#notify(wakes);
    return reply;
  }

  async jobTypeRegister(params: { types: JobTypeRegistration[]; now: number }): Promise<void> {
    this.#assertOpen();
    if (params.types.length === 0) return;
    await this.#cmd.registerTypes({
      types: params.types.map((t) => {
        const defaults = t.defaults ?? {};
        return {
          name: t.name,
          json: JSON.stringify({ name: t.name, queue: t.queue, defaults, seenAt: params.now }),
          maxConcurrency: defaults.maxConcurrency === undefined ? "" : String(defaults.maxConcurrency),
          rateLimit: rateText(defaults.rateLimit),
          groupRateLimit: rateText(defaults.group?.rateLimit),
        };
      }),
    });
  }

  async jobTypeList(): Promise<JobTypeInfo[]> {
    this.#assertOpen();
    const all = await this.#conn.client.hvals(this.#keys.key("types"));
    return all.map((json) => JSON.parse(json) as JobTypeInfo).sort((a, b) => byCodeUnit(a.name, b.name));
  }

  async queuePause(params: { queue: string }): Promise<void> {
    this.#assertOpen();
    this.#notify((await this.#cmd.queuePause({ queue: params.queue, paused: true })).wakes);
  }

  async queueResume(params: { queue: string }): Promise<void> {
    this.#assertOpen();
    this.#notify((await this.#cmd.queuePause({ queue: params.queue, paused: false })).wakes);
  }

  async queueRateLimit(params: { queue: string; limit: RateLimit | null }): Promise<void> {
    this.#assertOpen();
    this.#notify((await this.#cmd.queueRate({ queue: params.queue, limit: rateText(params.limit) })).wakes);
  }

  async queueList(): Promise<QueueInfo[]> {
    this.#assertOpen();
    const rows = await this.#cmd.queueList();
    return rows
      .map((r) => {
        const info: QueueInfo = { name: r.name, paused: r.paused, counts: countsOf(r.counts) };
        if (r.rateLimit !== undefined) info.rateLimit = r.rateLimit;
        return info;
      })
      .sort((a, b) => byCodeUnit(a.name, b.name));
  }

  async workerBeat(params: {
    worker: Omit<WorkerRecord, "lastBeatAt">;
    ttlMs: number;
    now: number;
  }): Promise<void> {
    this.#assertOpen();
    const record: WorkerRecord = { ...params.worker, lastBeatAt: params.now };
    await this.#cmd.workerBeat({
      id: params.worker.id,
      json: JSON.stringify(record),
      expiresAt: params.now + params.ttlMs,
      now: params.now,
    });
  }

  async workerRemove(params: { id: string }): Promise<void> {
    this.#assertOpen();
    await this.#cmd.workerRemove(params);
  }

  async workerList(params: { now: number }): Promise<WorkerRecord[]> {
    this.#assertOpen();
    const all = await this.#cmd.workerList(params);
    return all.map((json) => JSON.parse(json) as WorkerRecord).sort((a, b) => byCodeUnit(a.id, b.id));
  }

  async statsList(params: { from: number; to: number; queue?: string }): Promise<QueueMinuteStats[]> {
    this.#assertOpen();
    if (!(params.to > params.from)) return [];
    const rows = await this.#cmd.stats({ from: params.from, to: params.to, queue: params.queue ?? "" });
    return rows.sort((a, b) => a.minute - b.minute || byCodeUnit(a.queue, b.queue));
  }

  /**
   * Checks read live from the server: connection (version), eviction (maxmemory-policy), persistence (AOF,
   * RDB) and schema (the prefix's key layout); `serverTime` from TIME. An unreachable server is a failed
   * "connection" check, not an error.
   */
  async storeHealth(_params: { now: number }): Promise<{ checks: StoreCheck[]; serverTime: number | null }> {
    this.#assertOpen();
    const client = this.#conn.client;
    const url = this.#conn.safeUrl;
    let time: number[];
    let info: Map<string, string>;
    let layout: string | null;
    try {
      [time, info, layout] = await Promise.all([
        client.time(),
        client.info().then(parseInfo),
        client.hget(this.#keys.key("meta"), "layout"),
      ]);
    } catch (err) {
      return {
        checks: [
          {
            name: "connection",
            status: "fail",
            detail: `Redis at ${url} did not answer: ${(err as Error).message.split("\n")[0]}`,
          },
        ],
        serverTime: null,
      };
    }
    const checks: StoreCheck[] = [];
    const version = info.get("redis_version") ?? this.#conn.info.version;
    const recent = version === "unknown" || compareVersions(version, MIN_REDIS_VERSION) >= 0;
    checks.push({
      name: "connection",
      status: recent ? "ok" : "fail",
      detail: recent
        ? `Redis ${version} at ${url}, prefix "${this.prefix}"`
        : `Redis ${version} at ${url} is older than ${MIN_REDIS_VERSION}; upgrade Redis`,
    });
    const policy = info.get("maxmemory_policy") ?? this.#conn.info.maxmemoryPolicy;
    if (policy === "noeviction") {
      checks.push({
        name: "eviction",
        status: "ok",
        detail: "maxmemory-policy noeviction: no key is ever evicted",
      });
    } else if (policy.startsWith("volatile-")) {
      checks.push({
        name: "eviction",
        status: "warn",
        detail:
          `maxmemory-policy ${policy}: only keys with a TTL can go (insert tokens), so a re-sent insert may be ` +
          "stored twice under memory pressure; set maxmemory-policy noeviction",
      });
    } else {
      checks.push({
        name: "eviction",
        status: policy === "unknown" ? "warn" : "fail",
        detail:
          policy === "unknown"
            ? "maxmemory-policy could not be read (INFO not permitted); it must be noeviction"
            : `maxmemory-policy ${policy}: Redis may evict job keys when memory runs out, and jobs vanish; ` +
              "set maxmemory-policy noeviction",
      });
    }
    const aof = info.get("aof_enabled") === "1";
    if (aof) {
      const fsync = this.#conn.info.appendfsync;
      checks.push({
        name: "persistence",
        status: "ok",
        detail: `append-only file on${fsync === null ? "" : ` (appendfsync ${fsync})`}`,
      });
    } else if (this.#conn.info.rdb) {
      checks.push({
        name: "persistence",
        status: "warn",
        detail:
          "RDB snapshots only: a crash loses the writes since the last snapshot (acknowledged jobs too); " +
          "turn on appendonly yes",
      });
    } else {
      checks.push({
        name: "persistence",
        status: "fail",
        detail: "no persistence (no AOF, no RDB): a restart of Redis loses every job; turn on appendonly yes",
      });
    }
    const stored = Number(layout);
    checks.push(
      layout === null
        ? { name: "schema", status: "warn", detail: `prefix "${this.prefix}" has no layout version yet` }
        : stored === LAYOUT_VERSION
          ? { name: "schema", status: "ok", detail: `key layout version ${stored} (current)` }
          : {
              name: "schema",
              status: "fail",
              detail: `key layout version ${stored}, this Conveyor writes ${LAYOUT_VERSION}: use a matching version`,
            },
    );
    return { checks, serverTime: Number(time[0]) * 1000 + Math.floor(Number(time[1]) / 1000) };
  }

  async scheduleUpsert(params: ScheduleUpsertParams): Promise<ScheduleUpsertResult> {
    this.#assertOpen();
    return this.#cmd.scheduleUpsert({
      id: params.id,
      jobName: params.jobName,
      queue: params.queue,
      data: jsonText(params.data ?? null, `data of schedule "${params.id}"`),
      options: scheduleOptionsText(params.options, params.id),
      spec: specText(params.spec),
      catchUp: catchUpText(params.catchUp),
      nextRunAt: params.nextRunAt,
      now: params.now,
    });
  }

  async scheduleGet(params: { id: string }): Promise<ScheduleRecord | null> {
    this.#assertOpen();
    return (await this.#cmd.scheduleRead({ mode: "get", id: params.id }))[0] ?? null;
  }

  async scheduleList(): Promise<ScheduleRecord[]> {
    this.#assertOpen();
    return (await this.#cmd.scheduleRead({ mode: "list" })).sort((a, b) => byCodeUnit(a.id, b.id));
  }

  async scheduleDelete(params: { id: string }): Promise<boolean> {
    this.#assertOpen();
    return this.#cmd.scheduleDelete(params);
  }

  async schedulePause(params: { id: string; now: number }): Promise<ScheduleRecord | null> {
    this.#assertOpen();
    return this.#cmd.schedulePause({ id: params.id, paused: true, nextRunAt: null, now: params.now });
  }

  async scheduleResume(params: {
    id: string;
    nextRunAt: number | null;
    now: number;
  }): Promise<ScheduleRecord | null> {
    this.#assertOpen();
    return this.#cmd.schedulePause({
      id: params.id,
      paused: false,
      nextRunAt: params.nextRunAt,
      now: params.now,
    });
  }

  async scheduleDue(params: { now: number; limit: number }): Promise<ScheduleRecord[]> {
    this.#assertOpen();
    if (!(params.limit > 0)) return [];
    const due = await this.#cmd.scheduleRead({
      mode: "due",
      now: params.now,
      limit: Math.floor(params.limit),
    });
    return due.sort((a, b) => a.nextRunAt! - b.nextRunAt! || byCodeUnit(a.id, b.id));
  }

  async scheduleFire(params: ScheduleFireParams): Promise<ScheduleFireResult> {
    this.#assertOpen();
    const { wakes, reply } = await this.#cmd.scheduleFire({
      id: params.id,
      expectNextRunAt: params.expectNextRunAt,
      nextRunAt: params.nextRunAt,
      ticks: params.ticks,
    });
    this.#notify(wakes);
    return reply;
  }

  /**
   * Calls `listener` (coalesced per listener, in a microtask) when this instance's own writes or another
   * process's make jobs claimable in one of `queues`: the scripts publish one message per queue and call on
   * `{prefix}:wake:<queue>`, which the first watcher of a queue subscribes to (one connection per store).
   */
  watch(queues: string[], listener: () => void): Unwatch {
    this.#assertOpen();
    const watcher: Watcher = { queues: new Set(queues), listener, pending: false, active: true };
    this.#watchers.add(watcher);
    const channels: string[] = [];
    for (const queue of watcher.queues) {
      const refs = this.#channelRefs.get(queue) ?? 0;
      this.#channelRefs.set(queue, refs + 1);
      if (refs === 0) channels.push(this.#keys.wakeChannel(queue));
    }
    if (channels.length > 0) this.#subscribe(channels);
    return () => {
      if (!watcher.active) return;
      watcher.active = false;
      this.#watchers.delete(watcher);
      const gone: string[] = [];
      for (const queue of watcher.queues) {
        const refs = (this.#channelRefs.get(queue) ?? 1) - 1;
        if (refs <= 0) {
          this.#channelRefs.delete(queue);
          gone.push(this.#keys.wakeChannel(queue));
        } else {
          this.#channelRefs.set(queue, refs);
        }
      }
      if (gone.length > 0 && !this.#closed)
        this.#conn
          .subscriber()
          .unsubscribe(...gone)
          .catch(() => {});
    };
  }

  #subscribe(channels: string[]): void {
    const sub = this.#conn.subscriber();
    if (!this.#subscribed) {
      this.#subscribed = true;
      const channelPrefix = this.#keys.wakeChannel("");
      sub.on("message", (channel: string, origin: string) => {
        // This instance's own writes were already announced locally.
        if (origin === this.instanceId || !channel.startsWith(channelPrefix)) return;
        this.#notify([channel.slice(channelPrefix.length)]);
      });
    }
    // A failed SUBSCRIBE (Redis down) is redone by ioredis when it reconnects (autoResubscribe).
    sub.subscribe(...channels).catch(() => {});
  }

  /** Schedules one coalesced call of every active watcher of the `queues`. */
  #notify(queues: readonly string[]): void {
    if (queues.length === 0 || this.#watchers.size === 0) return;
    for (const w of this.#watchers) {
      if (w.pending || !queues.some((q) => w.queues.has(q))) continue;
      w.pending = true;
      queueMicrotask(() => {
        w.pending = false;
        if (!w.active || this.#closed) return;
        try {
          w.listener();
        } catch {
          // A hint listener must not break the store or the caller that triggered it.
        }
      });
    }
  }

  /**
   * Delivers job events committed by other store instances (other processes, other machines) on the same
   * Redis and prefix, from the moment this is called until the returned function is called. See
   * {@link RedisEventFeed} for the delivery guarantee.
   */
  subscribeEvents(listener: RemoteEventListener): () => void {
    this.#assertOpen();
    this.#feed ??= new RedisEventFeed(
      this.#conn,
      this.#keys,
      this.instanceId,
      this.#tuning.eventStreamMaxLen,
    );
    return this.#feed.add(listener);
  }

  /** Resolves once the event feed started by {@link subscribeEvents} reads the stream (tests, tools). */
  eventsReady(): Promise<void> {
    return this.#feed?.ready() ?? Promise.resolve();
  }

  /** Closes the connections (replies to commands already sent arrive first). Idempotent. */
  close(): Promise<void> {
    if (this.#closing !== null) return this.#closing;
    this.#closed = true;
    for (const w of this.#watchers) w.active = false;
    this.#watchers.clear();
    this.#channelRefs.clear();
    this.#closing = (async () => {
      // Enqueues accepted before close() are sent, and answered, first.
      if (this.#singlesInFlight > 0 || this.#singles.length > 0) {
        await new Promise<void>((resolve) => this.#singlesIdle.push(resolve));
      }
      await this.#feed?.close();
      await this.#conn.close();
    })();
    return this.#closing;
  }
}

/** Insert calls of single jobs on the wire at once; more single inserts wait and share the next call. */
const SINGLE_INSERTS_IN_FLIGHT = 2;
/** Most single inserts sent in one call. */
const MAX_COALESCED_INSERTS = 1_000;

interface QueuedInsert {
  job: JobInsertParams;
  encoded: EncodedInsert;
  resolve(result: JobInsertResult): void;
  reject(err: unknown): void;
}

function operated(reply: OperatorReply, id: string, action: string): JobRecord {
  if (reply.status === "notfound") throw new JobNotFoundError(id);
  if (reply.status === "state") throw new InvalidStateTransitionError(id, reply.state, action);
  return reply.job;
}
