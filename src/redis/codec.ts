/**
 * Conversions between Store records and what the Redis scripts read and write: the job hash (short field
 * names, "" or absent for null), insert arguments, schedule hashes. Nothing here talks to Redis.
 */
import { OptionsError } from "../errors.js";
import type { JobState } from "../job/states.js";
import { freshJobRecord } from "../store/fresh-record.js";
import { jsonText } from "../store/schedule-records.js";
import type { JobInsertParams, JobLogEntry, JobRecord, RateLimit, ScheduleRecord } from "../store/store.js";

/**
 * Job hash fields: n name, q queue, s state, d data, p priority, l lifo ("1"), a attempt, ma maxAttempts,
 * st stalls, ms maxStalls, r runAt, c createdAt, at attemptedAt, f finishedAt, lo leaseOwner, lt leaseToken,
 * le leaseExpiresAt, cr cancelRequested ("1"), t timeoutMs, e errors (JSON array), res result, pr progress,
 * m meta, k key, g group, gh group hold ("0": continue), gc group concurrency.
 */
export function decodeJob(
  id: string,
  flat: readonly string[],
  logs: readonly string[] | null,
  from = 0,
): JobRecord {
  const job: JobRecord = {
    id,
    name: "",
    queue: "",
    state: "available",
    data: null,
    priority: 0,
    lifo: false,
    attempt: 0,
    maxAttempts: 0,
    stalls: 0,
    maxStalls: 0,
    runAt: 0,
    createdAt: 0,
    attemptedAt: null,
    finishedAt: null,
    leaseOwner: null,
    leaseToken: null,
    leaseExpiresAt: null,
    cancelRequested: false,
    timeoutMs: null,
    errors: [],
    result: null,
    progress: null,
    logs: [],
    meta: {},
    key: null,
    group: null,
  };
  for (let i = from; i < flat.length; i += 2) {
    const v = flat[i + 1]!;
    switch (flat[i]) {
      case "n":
        job.name = v;
        break;
      case "q":
        job.queue = v;
        break;
      case "s":
        job.state = v as JobState;
        break;
      case "d":
        job.data = JSON.parse(v);
        break;
      case "p":
        job.priority = Number(v);
        break;
      case "l":
        job.lifo = v === "1";
        break;
      case "a":
        job.attempt = Number(v);
        break;
      case "ma":
        job.maxAttempts = Number(v);
        break;
      case "st":
        job.stalls = Number(v);
        break;
      case "ms":
        job.maxStalls = Number(v);
        break;
      case "r":
        job.runAt = Number(v);
        break;
      case "c":
        job.createdAt = Number(v);
        break;
      case "at":
        job.attemptedAt = v === "" ? null : Number(v);
        break;
      case "f":
        job.finishedAt = v === "" ? null : Number(v);
        break;
      case "lo":
        job.leaseOwner = v === "" ? null : v;
        break;
      case "lt":
        job.leaseToken = v === "" ? null : v;
        break;
      case "le":
        job.leaseExpiresAt = v === "" ? null : Number(v);
        break;
      case "cr":
        job.cancelRequested = v === "1";
        break;
      case "t":
        job.timeoutMs = v === "" ? null : Number(v);
        break;
      case "e":
        job.errors = JSON.parse(v);
        break;
      case "res":
        job.result = JSON.parse(v);
        break;
      case "pr":
        job.progress = JSON.parse(v);
        break;
      case "m":
        job.meta = JSON.parse(v);
        break;
      case "k":
        job.key = v === "" ? null : v;
        break;
      case "g":
        job.group = v === "" ? null : v;
        break;
      default:
        break;
    }
  }
  if (job.state !== "running") {
    // Lease fields are left behind when a job stops running; they mean nothing then.
    job.leaseOwner = null;
    job.leaseToken = null;
    job.leaseExpiresAt = null;
    job.cancelRequested = false;
  }
  if (logs !== null) job.logs = logs.map((line) => JSON.parse(line) as JobLogEntry);
  return job;
}

/**
 * A claimed job from its packed text (id and hash fields before the claim, NUL-separated; see claimJobs in
 * lib.lua), with the claim applied.
 */
export function claimedJob(
  packed: string,
  claim: { now: number; owner: string; leaseMs: number; nonce: string },
  index: number,
): JobRecord {
  const parts = packed.split("\u0000");
  const job = decodeJob(parts[0]!, parts, null, 1);
  job.state = "running";
  job.attempt += 1;
  job.attemptedAt = claim.now;
  job.leaseOwner = claim.owner;
  job.leaseToken = `${claim.nonce}.${index + 1}`;
  job.leaseExpiresAt = claim.now + claim.leaseMs;
  job.cancelRequested = false;
  return job;
}

/** A job's hash fields from a map (event payloads carry the hash as a JSON object). */
export function decodeJobMap(map: Record<string, string>): JobRecord {
  const flat: string[] = [];
  for (const [f, v] of Object.entries(map)) if (f !== "id") flat.push(f, v);
  return decodeJob(map.id ?? "", flat, null);
}

/** A job insert serialised (before anything is sent), for rebuilding its record from the reply. */
export interface EncodedInsert {
  dataJson: string;
  metaJson: string;
}

/**
 * Throws OptionsError when `value` holds a NUL character: claim replies separate a job's fields with NUL
 * (see claimJobs in lib.lua), so no stored text field may contain one. JSON never does (it escapes it), and
 * names, keys, group keys and worker ids that pass the public API's checks cannot either.
 */
export function assertNoNul(value: string, what: string): void {
  if (value.includes("\u0000")) throw new OptionsError(`${what} must not contain a NUL character`);
}

/**
 * One job's data and meta as JSON, checked as `encodeInserts` checks them (its name and queue too): throws
 * OptionsError before anything is sent.
 */
export function encodeInsert(p: JobInsertParams): EncodedInsert {
  assertNoNul(p.name, "job name");
  assertNoNul(p.queue, "queue name");
  return {
    dataJson: jsonText(p.data, `data of job "${p.name}"`),
    metaJson: isEmptyObject(p.meta) ? "{}" : jsonText(p.meta, `meta of job "${p.name}"`),
  };
}

/**
 * Appends the insert block of `jobs` to `args` (see readInserts in lib.lua): the distinct "shapes" (the
 * fields jobs of one type enqueued together share), then six arguments per job. `done` holds the jobs' data
 * and meta already encoded (by `encodeInsert`), when the caller has them. Throws OptionsError before
 * anything is sent when data or meta cannot be stored as JSON, or a name or key holds a NUL.
 */
export function encodeInserts(
  jobs: readonly JobInsertParams[],
  args: string[],
  done?: readonly EncodedInsert[],
): EncodedInsert[] {
  const encoded: EncodedInsert[] = new Array(jobs.length);
  const shapes = new Map<string, number>();
  const shapeArgs: string[] = [];
  const jobArgs: string[] = [];
  // The previous job without a dedupe key and its shape: jobs enqueued together usually share it, and
  // comparing fields is cheaper than building the shape's key text for every job.
  let prev: JobInsertParams | null = null;
  let prevShape = 0;
  for (let i = 0; i < jobs.length; i++) {
    const p = jobs[i]!;
    const known = done?.[i];
    const dataJson = known?.dataJson ?? jsonText(p.data, `data of job "${p.name}"`);
    const metaJson =
      known?.metaJson ?? (isEmptyObject(p.meta) ? "{}" : jsonText(p.meta, `meta of job "${p.name}"`));
    encoded[i] = { dataJson, metaJson };
    const key = p.key ?? null;
    const group = p.group ?? null;
    if (key !== null) assertNoNul(key, "dedupe key");
    if (group !== null) assertNoNul(group.key, "group key");
    if (key === null && prev !== null && sameShape(prev, p)) {
      jobArgs.push(String(prevShape), dataJson, String(p.runAt), metaJson, "", group?.key ?? "");
      continue;
    }
    const dedupe = key === null ? null : (p.dedupe ?? { policy: "reject" as const });
    const timeout = p.timeoutMs === null || p.timeoutMs === undefined ? "" : String(p.timeoutMs);
    const windowMs = dedupe !== null && "windowMs" in dedupe ? String(dedupe.windowMs) : "0";
    const concurrency = String(group?.concurrency ?? 1);
    const hold = group?.onFailure === "continue" ? "0" : "1";
    const shapeKey =
      `${p.name}\u0000${p.queue}\u0000${p.priority}\u0000${p.lifo ? 1 : 0}\u0000${p.maxAttempts}\u0000${p.maxStalls}` +
      `\u0000${timeout}\u0000${p.now}\u0000${dedupe?.policy ?? ""}\u0000${windowMs}\u0000${concurrency}\u0000${hold}`;
    let n = shapes.get(shapeKey);
    if (n === undefined) {
      assertNoNul(p.name, "job name");
      assertNoNul(p.queue, "queue name");
      n = shapes.size + 1;
      shapes.set(shapeKey, n);
      shapeArgs.push(
        p.name,
        p.queue,
        String(p.priority),
        p.lifo ? "1" : "0",
        String(p.maxAttempts),
        String(p.maxStalls),
        timeout,
        String(p.now),
        dedupe?.policy ?? "",
        windowMs,
        concurrency,
        hold,
      );
    }
    jobArgs.push(String(n), dataJson, String(p.runAt), metaJson, key ?? "", group?.key ?? "");
    if (key === null) {
      prev = p;
      prevShape = n;
    }
  }
  args.push(String(shapes.size));
  for (const a of shapeArgs) args.push(a);
  args.push(String(jobs.length));
  for (const a of jobArgs) args.push(a);
  return encoded;
}

/** Whether two jobs without a dedupe key have the same shape (the fields encodeInserts sends once per shape). */
function sameShape(a: JobInsertParams, b: JobInsertParams): boolean {
  return (
    a.name === b.name &&
    a.queue === b.queue &&
    a.priority === b.priority &&
    a.lifo === b.lifo &&
    a.maxAttempts === b.maxAttempts &&
    a.maxStalls === b.maxStalls &&
    (a.timeoutMs ?? null) === (b.timeoutMs ?? null) &&
    a.now === b.now &&
    (a.group?.concurrency ?? 1) === (b.group?.concurrency ?? 1) &&
    (a.group?.onFailure === "continue") === (b.group?.onFailure === "continue")
  );
}

/** Whether `value` is absent or an object without own enumerable keys (serialised as "{}"). */
function isEmptyObject(value: unknown): boolean {
  if (value === undefined || value === null) return true;
  if (
    typeof value !== "object" ||
    Array.isArray(value) ||
    Object.getPrototypeOf(value) !== Object.prototype
  ) {
    return false;
  }
  for (const _ in value) return false;
  return true;
}

/** The record of a job just inserted, rebuilt from its params (the script returns only id, state, runAt). */
export function insertedRecord(
  p: JobInsertParams,
  encoded: EncodedInsert,
  id: string,
  state: JobState,
  runAt: number,
): JobRecord {
  return freshJobRecord({
    id,
    name: p.name,
    queue: p.queue,
    state,
    data: JSON.parse(encoded.dataJson),
    priority: p.priority,
    lifo: p.lifo,
    maxAttempts: p.maxAttempts,
    maxStalls: p.maxStalls,
    runAt,
    createdAt: p.now,
    timeoutMs: p.timeoutMs ?? null,
    meta: encoded.metaJson === "{}" ? {} : JSON.parse(encoded.metaJson),
    key: p.key ?? null,
    group: p.group?.key ?? null,
  });
}

/** "max window" text of a rate limit, as lib.lua reads it. */
export function rateText(limit: RateLimit | undefined | null): string {
  return limit === undefined || limit === null ? "" : `${limit.max} ${limit.windowMs}`;
}

/** Parses "max window". */
export function parseRate(text: string): RateLimit {
  const [max, windowMs] = text.split(" ");
  return { max: Number(max), windowMs: Number(windowMs) };
}

/** JSON of an attempt error or a log line, with a message naming the job on failure. */
export function entryJson(value: unknown, what: string): string {
  const text = jsonText(value, what);
  if (text === "null") throw new OptionsError(`${what} must be an object`);
  return text;
}

/**
 * Schedule hash fields: jn jobName, q queue, d data, o options, sp spec, cu catchUp, pa paused ("1"),
 * nr nextRunAt, lt lastTickAt, c createdAt, u updatedAt.
 */
export function decodeSchedule(id: string, flat: readonly string[]): ScheduleRecord {
  const m: Record<string, string> = {};
  for (let i = 0; i < flat.length; i += 2) m[flat[i]!] = flat[i + 1]!;
  const num = (v: string | undefined) => (v === undefined || v === "" ? null : Number(v));
  return {
    id,
    jobName: m.jn ?? "",
    queue: m.q ?? "",
    data: JSON.parse(m.d ?? "null"),
    options: JSON.parse(m.o ?? "{}"),
    spec: JSON.parse(m.sp ?? "{}"),
    catchUp: JSON.parse(m.cu ?? "{}"),
    paused: m.pa === "1",
    nextRunAt: num(m.nr),
    lastTickAt: num(m.lt),
    createdAt: Number(m.c),
    updatedAt: Number(m.u),
  };
}
