import type { JobRecord } from "./store.js";

/** What an insert decides about a job; every other field of a just-inserted job has its initial value. */
export type InsertedFields = Pick<
  JobRecord,
  | "id"
  | "name"
  | "queue"
  | "state"
  | "data"
  | "priority"
  | "lifo"
  | "maxAttempts"
  | "maxStalls"
  | "runAt"
  | "createdAt"
  | "timeoutMs"
  | "meta"
  | "key"
  | "group"
>;

/**
 * The record of a job just inserted, built without reading it back: the stores whose insert returns only an
 * id (SQLite, Redis) fill in the initial values of attempts, lease, errors, result, progress and logs here,
 * in one place.
 */
export function freshJobRecord(f: InsertedFields): JobRecord {
  return {
    id: f.id,
    name: f.name,
    queue: f.queue,
    state: f.state,
    data: f.data,
    priority: f.priority,
    lifo: f.lifo,
    attempt: 0,
    maxAttempts: f.maxAttempts,
    stalls: 0,
    maxStalls: f.maxStalls,
    runAt: f.runAt,
    createdAt: f.createdAt,
    attemptedAt: null,
    finishedAt: null,
    leaseOwner: null,
    leaseToken: null,
    leaseExpiresAt: null,
    cancelRequested: false,
    timeoutMs: f.timeoutMs,
    errors: [],
    result: null,
    progress: null,
    logs: [],
    meta: f.meta,
    key: f.key,
    group: f.group,
  };
}
