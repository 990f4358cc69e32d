/**
 * Typed wrappers of the Redis store's scripts: one method per script, named params in, decoded records out.
 * The positional argument lists and reply shapes of the scripts (documented in each `.lua` header) stay in
 * this file; write scripts also report the queues they woke, which the store hands to its local watchers.
 */
import type { JobState } from "../job/states.js";
import type {
  JobInsertParams,
  JobInsertResult,
  JobLogEntry,
  JobRecord,
  QueueInfo,
  QueueMinuteStats,
  ScheduleRecord,
} from "../store/store.js";
import {
  claimedJob,
  decodeJob,
  decodeSchedule,
  type EncodedInsert,
  encodeInsert,
  encodeInserts,
  insertedRecord,
  parseRate,
} from "./codec.js";
import type { RedisKeys } from "./keys.js";
import type { ScriptName, ScriptRunner } from "./scripts.js";

/** What a write script returns: the queues it woke, and its own reply. */
interface Written<T> {
  wakes: string[];
  reply: T;
}

/** Claim params as the scripts take them. */
export interface ClaimArgs {
  queues: readonly string[];
  names: readonly string[];
  owner: string;
  limit: number;
  leaseMs: number;
  /** Lease tokens of this call are `<nonce>.<n>`. */
  nonce: string;
}

/** One attempt outcome, encoded for finish.lua. */
export interface FinishArgs {
  id: string;
  token: string;
  outcome: "complete" | "retry" | "discard" | "snooze" | "cancel" | "release";
  /** complete: result JSON; retry, snooze: runAt. */
  x1: string;
  /** retry, discard, cancel: error JSON. */
  x2: string;
  /** Progress JSON, or null when not given. */
  progress: string | null;
  /** Log lines, JSON each. */
  logs: string[];
}

/** Result of an operator script on one job. */
export type OperatorReply =
  | { status: "ok"; job: JobRecord }
  | { status: "notfound" }
  | { status: "state"; state: JobState };

type RawRecord = [string, string[], string[] | null | false] | null | false;
/** "<id> <state> <runAt>" for a job inserted, or { outcome, id, state, runAt, record } for one acted on. */
type RawInsertRow = string | [string, string, string, string, RawRecord];
/**
 * One row per job, or (every job inserted) the rows as one text, a line each, or (no job had a dedupe key)
 * "=<first id>".
 */
type RawInsertRows = RawInsertRow[] | string;

function recordOf(raw: RawRecord): JobRecord | null {
  if (!raw) return null;
  const [id, flat, logs] = raw;
  return decodeJob(id, flat, logs ? logs : null);
}

function push(args: string[], list: readonly string[]): void {
  args.push(String(list.length));
  for (const x of list) args.push(x);
}

function claimArgs(args: string[], c: ClaimArgs): void {
  push(args, c.queues);
  push(args, c.names);
  args.push(c.owner, String(c.limit), String(c.leaseMs), c.nonce);
}

/** The scripts of one store, bound to its keys and its instance id (the origin of its wake-ups and events). */
export class RedisCommands {
  readonly #runner: ScriptRunner;
  readonly #keys: RedisKeys;
  readonly #origin: string;

  constructor(runner: ScriptRunner, keys: RedisKeys, origin: string) {
    this.#runner = runner;
    this.#keys = keys;
    this.#origin = origin;
  }

  #run(name: ScriptName, args: string[], extraKeys: string[] = []): Promise<unknown> {
    args.unshift(this.#origin);
    return this.#runner.run(name, args, extraKeys);
  }

  async #write<T>(name: ScriptName, args: string[], extraKeys: string[] = []): Promise<Written<T>> {
    const [wakes, reply] = (await this.#run(name, args, extraKeys)) as [string, T];
    return { wakes: wakes === "" ? [] : wakes.split("\u0000"), reply };
  }

  /** insert.lua: inserts `jobs` atomically, idempotent per `token` for `tokenTtlMs`. */
  async insert(p: {
    jobs: readonly JobInsertParams[];
    token: string;
    tokenTtlMs: number;
    /** The jobs' data and meta already encoded by `encodeInsert`, when the caller has them. */
    encoded?: readonly EncodedInsert[];
  }): Promise<Written<JobInsertResult[]>> {
    const args = [String(p.tokenTtlMs)];
    const encoded = encodeInserts(p.jobs, args, p.encoded);
    const { wakes, reply } = await this.#write<RawInsertRows>("insert", args, [this.#keys.token(p.token)]);
    return { wakes, reply: insertResults(p.jobs, encoded, reply) };
  }

  /**
   * insert1.lua: inserts one job that has no dedupe key and no group (the caller checks), idempotent per
   * `token` for `tokenTtlMs`. Same effect and reply as `insert` with that one job, at a fraction of its cost.
   */
  async insertOne(p: {
    job: JobInsertParams;
    token: string;
    tokenTtlMs: number;
    encoded?: EncodedInsert;
  }): Promise<Written<JobInsertResult>> {
    const j = p.job;
    const encoded = p.encoded ?? encodeInsert(j);
    const args = [
      String(p.tokenTtlMs),
      j.name,
      j.queue,
      String(j.priority),
      j.lifo ? "1" : "0",
      String(j.maxAttempts),
      String(j.maxStalls),
      j.timeoutMs === null || j.timeoutMs === undefined ? "" : String(j.timeoutMs),
      String(j.now),
      encoded.dataJson,
      String(j.runAt),
      encoded.metaJson,
    ];
    const { wakes, reply } = await this.#write<RawInsertRows>("insert1", args, [this.#keys.token(p.token)]);
    return { wakes, reply: insertResults([j], [encoded], reply)[0]! };
  }

  /** claim.lua. */
  async claim(p: ClaimArgs & { now: number }): Promise<Written<JobRecord[]>> {
    const args = [String(p.now)];
    claimArgs(args, p);
    const { wakes, reply } = await this.#write<string[]>("claim", args);
    return { wakes, reply: reply.map((packed, i) => claimedJob(packed, p, i)) };
  }

  /** finish.lua: applies `updates`, then claims with `claim` when given. */
  async finish(p: {
    updates: readonly FinishArgs[];
    now: number;
    claim: ClaimArgs | null;
  }): Promise<Written<{ applied: boolean[]; claimed: JobRecord[]; nextRunAt?: number | null }>> {
    const args = [String(p.now), String(p.updates.length)];
    for (const u of p.updates) {
      if (u.outcome === "complete" && u.progress === null && u.logs.length === 0) {
        // The short forms of finish.lua for the commonest update.
        if (u.x1 === "null") args.push(u.id, u.token, "c");
        else args.push(u.id, u.token, "cr", u.x1);
        continue;
      }
      args.push(u.id, u.token, u.outcome, u.x1, u.x2, u.progress === null ? "0" : "1", u.progress ?? "");
      push(args, u.logs);
    }
    if (p.claim === null) {
      args.push("0");
    } else {
      args.push("1");
      claimArgs(args, p.claim);
    }
    const { wakes, reply } = await this.#write<[string, string[], string]>("finish", args);
    const [applied, claimed, next] = reply;
    const flags: boolean[] = new Array(applied.length);
    for (let i = 0; i < applied.length; i++) flags[i] = applied.charCodeAt(i) === 49;
    const claimInfo = p.claim === null ? null : { ...p.claim, now: p.now };
    const out: { applied: boolean[]; claimed: JobRecord[]; nextRunAt?: number | null } = {
      applied: flags,
      claimed: claimed.map((packed, i) => claimedJob(packed, claimInfo!, i)),
    };
    // "" when the claim was full (or not asked for), "n" when nothing is due later.
    if (next !== "") out.nextRunAt = next === "n" ? null : Number(next);
    return { wakes, reply: out };
  }

  /** rescue.lua. */
  async rescue(p: {
    now: number;
    limit: number;
  }): Promise<Written<{ cancelled: string[]; discarded: string[]; rescued: string[] }>> {
    const { wakes, reply } = await this.#write<[string[], string[], string[]]>("rescue", [
      String(p.now),
      String(p.limit),
    ]);
    return { wakes, reply: { cancelled: reply[0], discarded: reply[1], rescued: reply[2] } };
  }

  /** renew.lua. */
  async renew(p: {
    leases: ReadonlyArray<{ id: string; token: string }>;
    leaseMs: number;
    now: number;
  }): Promise<{ lost: string[]; cancelRequested: string[] }> {
    const args = [String(p.now), String(p.leaseMs)];
    for (const l of p.leases) args.push(l.id, l.token);
    const { reply } = await this.#write<[string[], string[]]>("renew", args);
    return { lost: reply[0], cancelRequested: reply[1] };
  }

  /** report.lua. */
  async report(p: { id: string; token: string; progress: string | null; logs: string[] }): Promise<boolean> {
    const args = [p.id, p.token, p.progress === null ? "0" : "1", p.progress ?? "", ...p.logs];
    const { reply } = await this.#write<string>("report", args);
    return reply === "1";
  }

  /** stage.lua: stages at most `cap` due jobs per queue. */
  async stage(p: { now: number; cap: number }): Promise<Written<{ staged: number; more: boolean }>> {
    const { wakes, reply } = await this.#write<[string, string]>("stage", [String(p.now), String(p.cap)]);
    return { wakes, reply: { staged: Number(reply[0]), more: reply[1] === "1" } };
  }

  /** next-run.lua. */
  async nextRunAt(p: {
    queues: readonly string[];
    names: readonly string[];
    now: number | null;
  }): Promise<number | null> {
    const args = [p.now === null ? "" : String(p.now)];
    push(args, p.queues);
    push(args, p.names);
    const reply = (await this.#run("next-run", args)) as string | null;
    return reply === null ? null : Number(reply);
  }

  /** get.lua. */
  async get(p: { id: string }): Promise<JobRecord | null> {
    return recordOf((await this.#run("get", [p.id])) as RawRecord);
  }

  /** list.lua. */
  async list(p: {
    queue: string;
    state: string;
    name: string;
    key: string;
    group: string;
    limit: number;
    cursor: string;
  }): Promise<{ jobs: JobRecord[]; nextCursor: string | null }> {
    const args = [p.queue, p.state, p.name, p.key, p.group, String(p.limit), p.cursor];
    const [records, next] = (await this.#run("list", args)) as [RawRecord[], string | null];
    return { jobs: records.map((r) => recordOf(r)!), nextCursor: next ?? null };
  }

  /** count.lua: counts of one queue (or all, with ""), only the states that have a count. */
  async count(p: { queue: string }): Promise<Map<string, number>> {
    const flat = (await this.#run("count", [p.queue])) as string[];
    const out = new Map<string, number>();
    for (let i = 0; i < flat.length; i += 2) out.set(flat[i]!, Number(flat[i + 1]));
    return out;
  }

  /** retry.lua, cancel.lua, promote.lua. */
  async operate(p: {
    action: "retry" | "cancel" | "promote";
    id: string;
    now: number;
  }): Promise<Written<OperatorReply>> {
    const { wakes, reply } = await this.#write<[string, unknown]>(p.action, [p.id, String(p.now)]);
    return { wakes, reply: operatorReply(reply) };
  }

  /** delete.lua: "deleted" | "absent" | "running". */
  async delete(p: { id: string }): Promise<Written<"deleted" | "absent" | "running">> {
    const { wakes, reply } = await this.#write<[string, string]>("delete", [p.id]);
    const outcome = reply[0] === "state" ? "running" : reply[1] === "1" ? "deleted" : "absent";
    return { wakes, reply: outcome };
  }

  /** prune.lua. */
  async prune(p: {
    finishedBefore: number | null;
    keepLast: number | null;
    perQueue: boolean;
    limit: number;
    states: readonly string[];
  }): Promise<Written<number>> {
    const args = [
      p.finishedBefore === null ? "" : String(p.finishedBefore),
      p.keepLast === null ? "" : String(p.keepLast),
      p.perQueue ? "1" : "0",
      String(p.limit),
      ...p.states,
    ];
    const { wakes, reply } = await this.#write<string>("prune", args);
    return { wakes, reply: Number(reply) };
  }

  /** types-register.lua. */
  async registerTypes(p: {
    types: ReadonlyArray<{
      name: string;
      json: string;
      maxConcurrency: string;
      rateLimit: string;
      groupRateLimit: string;
    }>;
  }): Promise<void> {
    const args: string[] = [];
    for (const t of p.types) args.push(t.name, t.json, t.maxConcurrency, t.rateLimit, t.groupRateLimit);
    await this.#write("types-register", args);
  }

  /** queue-pause.lua. */
  async queuePause(p: { queue: string; paused: boolean }): Promise<Written<unknown>> {
    return this.#write("queue-pause", [p.queue, p.paused ? "1" : "0"]);
  }

  /** queue-rate.lua ("" lifts the limit). */
  async queueRate(p: { queue: string; limit: string }): Promise<Written<unknown>> {
    return this.#write("queue-rate", [p.queue, p.limit]);
  }

  /** queue-list.lua: queues in no order, counts only for states that have one. */
  async queueList(): Promise<Array<Omit<QueueInfo, "counts"> & { counts: Map<string, number> }>> {
    const rows = (await this.#run("queue-list", [])) as Array<[string, string, string | null, string[]]>;
    return rows.map(([name, paused, rate, flat]) => {
      const counts = new Map<string, number>();
      for (let i = 0; i < flat.length; i += 2) counts.set(flat[i]!, Number(flat[i + 1]));
      return { name, paused: paused === "1", counts, ...(rate ? { rateLimit: parseRate(rate) } : {}) };
    });
  }

  /** schedule-upsert.lua. */
  async scheduleUpsert(p: {
    id: string;
    jobName: string;
    queue: string;
    data: string;
    options: string;
    spec: string;
    catchUp: string;
    nextRunAt: number | null;
    now: number;
  }): Promise<{ schedule: ScheduleRecord; created: boolean }> {
    const args = [
      p.id,
      p.jobName,
      p.queue,
      p.data,
      p.options,
      p.spec,
      p.catchUp,
      p.nextRunAt === null ? "" : String(p.nextRunAt),
      String(p.now),
    ];
    const { reply } = await this.#write<[string, string[]]>("schedule-upsert", args);
    return { created: reply[0] === "1", schedule: decodeSchedule(p.id, reply[1]) };
  }

  /** schedule-pause.lua. */
  async schedulePause(p: {
    id: string;
    paused: boolean;
    nextRunAt: number | null;
    now: number;
  }): Promise<ScheduleRecord | null> {
    const args = [p.id, p.paused ? "1" : "0", p.nextRunAt === null ? "" : String(p.nextRunAt), String(p.now)];
    const { reply } = await this.#write<string[] | null>("schedule-pause", args);
    return reply ? decodeSchedule(p.id, reply) : null;
  }

  /** schedule-delete.lua. */
  async scheduleDelete(p: { id: string }): Promise<boolean> {
    const { reply } = await this.#write<string>("schedule-delete", [p.id]);
    return reply === "1";
  }

  /** schedule-read.lua. */
  async scheduleRead(
    p: { mode: "get"; id: string } | { mode: "list" } | { mode: "due"; now: number; limit: number },
  ): Promise<ScheduleRecord[]> {
    const args =
      p.mode === "get"
        ? ["get", p.id]
        : p.mode === "list"
          ? ["list"]
          : ["due", String(p.now), String(p.limit)];
    const rows = (await this.#run("schedule-read", args)) as Array<[string, string[]]>;
    return rows.map(([id, flat]) => decodeSchedule(id, flat));
  }

  /** schedule-fire.lua. */
  async scheduleFire(p: {
    id: string;
    expectNextRunAt: number;
    nextRunAt: number | null;
    ticks: ReadonlyArray<{ tickAt: number; job: JobInsertParams }>;
  }): Promise<Written<{ fired: boolean; jobs: JobRecord[] }>> {
    const args = [
      p.id,
      String(p.expectNextRunAt),
      p.nextRunAt === null ? "" : String(p.nextRunAt),
      String(p.ticks.length),
    ];
    for (const t of p.ticks) args.push(String(t.tickAt));
    const jobs = p.ticks.map((t) => t.job);
    const encoded = encodeInserts(jobs, args);
    const { wakes, reply } = await this.#write<[string, RawInsertRows, string[]]>("schedule-fire", args);
    if (reply[0] !== "1") return { wakes, reply: { fired: false, jobs: [] } };
    // The script inserted the ticks later than lastTickAt (their positions come back with the rows).
    const picked = reply[2].map(Number);
    const results = insertResults(
      picked.map((i) => jobs[i]!),
      picked.map((i) => encoded[i]!),
      reply[1],
    );
    return { wakes, reply: { fired: true, jobs: results.map((r) => r.job) } };
  }

  /** workers.lua "beat". */
  async workerBeat(p: { id: string; json: string; expiresAt: number; now: number }): Promise<void> {
    await this.#run("workers", ["beat", p.id, p.json, String(p.expiresAt), String(p.now)]);
  }

  /** workers.lua "remove". */
  async workerRemove(p: { id: string }): Promise<void> {
    await this.#run("workers", ["remove", p.id]);
  }

  /** workers.lua "list": the JSON records of live workers. */
  async workerList(p: { now: number }): Promise<string[]> {
    return (await this.#run("workers", ["list", String(p.now)])) as string[];
  }

  /** stats.lua. */
  async stats(p: { from: number; to: number; queue: string }): Promise<QueueMinuteStats[]> {
    const rows = (await this.#run("stats", [String(p.from), String(p.to), p.queue])) as string[][];
    return rows.map(([mq, c, r, d, x, s]) => {
      const slash = mq!.indexOf("/");
      return {
        queue: mq!.slice(slash + 1),
        minute: Number(mq!.slice(0, slash)),
        completed: Number(c),
        retried: Number(r),
        discarded: Number(d),
        cancelled: Number(x),
        rescued: Number(s),
      };
    });
  }
}

function operatorReply(reply: [string, unknown]): OperatorReply {
  if (reply[0] === "notfound") return { status: "notfound" };
  if (reply[0] === "state") return { status: "state", state: reply[1] as JobState };
  return { status: "ok", job: recordOf(reply[1] as RawRecord)! };
}

function insertResults(
  jobs: readonly JobInsertParams[],
  encoded: readonly EncodedInsert[],
  raw: RawInsertRows,
): JobInsertResult[] {
  if (typeof raw === "string" && raw.startsWith("=")) {
    // No job had a dedupe key: all inserted, ids consecutive from the one given, state and run time as sent.
    const first = Number(raw.slice(1));
    return jobs.map((p, i) => ({
      job: insertedRecord(
        p,
        encoded[i]!,
        String(first + i),
        p.runAt > p.now ? "scheduled" : "available",
        p.runAt,
      ),
      outcome: "inserted",
    }));
  }
  const rows: readonly RawInsertRow[] = typeof raw === "string" ? (raw === "" ? [] : raw.split("\n")) : raw;
  return rows.map((row, i) => {
    if (typeof row === "string") {
      const [id, state, runAt] = row.split(" ");
      return {
        job: insertedRecord(jobs[i]!, encoded[i]!, id!, state as JobState, Number(runAt)),
        outcome: "inserted",
      };
    }
    const [outcome, id, state, runAt, raw] = row;
    const job = recordOf(raw) ?? insertedRecord(jobs[i]!, encoded[i]!, id, state as JobState, Number(runAt));
    return { job, outcome: outcome as JobInsertResult["outcome"] };
  });
}

/** Log lines as finish.lua and report.lua store them (JSON each). */
export function logLines(logs: readonly JobLogEntry[] | undefined): string[] {
  if (logs === undefined || logs.length === 0) return [];
  return logs.map((l) =>
    JSON.stringify({ at: l.at, attempt: l.attempt, level: l.level, message: l.message }),
  );
}
