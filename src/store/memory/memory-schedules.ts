/**
 * The memory store's schedules: a map by id, JSON fields kept serialised so every read hands out a fresh
 * copy. Fire inserts its tick jobs through the store's own insert, in the same synchronous step as the
 * compare-and-set, so it is atomic like every other memory store operation.
 */
import { catchUpText, jsonText, scheduleOptionsText, specText } from "../schedule-records.js";
import type {
  JobInsertParams,
  JobInsertResult,
  ScheduleFireParams,
  ScheduleFireResult,
  ScheduleRecord,
  ScheduleUpsertParams,
  ScheduleUpsertResult,
} from "../store.js";

interface MemSchedule {
  id: string;
  jobName: string;
  queue: string;
  dataJson: string;
  optionsJson: string;
  specJson: string;
  catchUpJson: string;
  paused: boolean;
  nextRunAt: number | null;
  lastTickAt: number | null;
  createdAt: number;
  updatedAt: number;
}

/** Schedules held in memory. `insertJobs` inserts jobs atomically (all or none) and synchronously. */
export class MemorySchedules {
  readonly #byId = new Map<string, MemSchedule>();

  constructor(private readonly insertJobs: (jobs: JobInsertParams[]) => JobInsertResult[]) {}

  upsert(params: ScheduleUpsertParams): ScheduleUpsertResult {
    const dataJson = jsonText(params.data ?? null, `data of schedule "${params.id}"`);
    const optionsJson = scheduleOptionsText(params.options, params.id);
    const specJson = specText(params.spec);
    const catchUpJson = catchUpText(params.catchUp);
    const old = this.#byId.get(params.id);
    const next: MemSchedule = {
      id: params.id,
      jobName: params.jobName,
      queue: params.queue,
      dataJson,
      optionsJson,
      specJson,
      catchUpJson,
      paused: old?.paused ?? false,
      nextRunAt: old !== undefined && old.specJson === specJson ? old.nextRunAt : params.nextRunAt,
      lastTickAt: old?.lastTickAt ?? null,
      createdAt: old?.createdAt ?? params.now,
      updatedAt: params.now,
    };
    this.#byId.set(params.id, next);
    return { schedule: toRecord(next), created: old === undefined };
  }

  get(id: string): ScheduleRecord | null {
    const s = this.#byId.get(id);
    return s === undefined ? null : toRecord(s);
  }

  list(): ScheduleRecord[] {
    return [...this.#byId.values()].sort((a, b) => compare(a.id, b.id)).map(toRecord);
  }

  delete(id: string): boolean {
    return this.#byId.delete(id);
  }

  pause(id: string, now: number): ScheduleRecord | null {
    const s = this.#byId.get(id);
    if (s === undefined) return null;
    if (!s.paused) {
      s.paused = true;
      s.updatedAt = now;
    }
    return toRecord(s);
  }

  resume(id: string, nextRunAt: number | null, now: number): ScheduleRecord | null {
    const s = this.#byId.get(id);
    if (s === undefined) return null;
    if (s.paused) {
      s.paused = false;
      s.nextRunAt = nextRunAt;
      s.updatedAt = now;
    }
    return toRecord(s);
  }

  due(now: number, limit: number): ScheduleRecord[] {
    if (!(limit > 0)) return [];
    const due: MemSchedule[] = [];
    for (const s of this.#byId.values()) {
      if (!s.paused && s.nextRunAt !== null && s.nextRunAt <= now) due.push(s);
    }
    due.sort((a, b) => a.nextRunAt! - b.nextRunAt! || compare(a.id, b.id));
    return due.slice(0, limit).map(toRecord);
  }

  fire(params: ScheduleFireParams): ScheduleFireResult {
    const s = this.#byId.get(params.id);
    if (s === undefined || s.paused || s.nextRunAt !== params.expectNextRunAt)
      return { fired: false, jobs: [] };
    const fresh = params.ticks.filter((t) => s.lastTickAt === null || t.tickAt > s.lastTickAt);
    // Inserting first: a job JSON cannot hold throws before the schedule moves.
    const inserted = fresh.length === 0 ? [] : this.insertJobs(fresh.map((t) => t.job));
    for (const t of fresh) if (s.lastTickAt === null || t.tickAt > s.lastTickAt) s.lastTickAt = t.tickAt;
    s.nextRunAt = params.nextRunAt;
    return { fired: true, jobs: inserted.map((r) => r.job) };
  }

  clear(): void {
    this.#byId.clear();
  }
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function toRecord(s: MemSchedule): ScheduleRecord {
  return {
    id: s.id,
    jobName: s.jobName,
    queue: s.queue,
    data: JSON.parse(s.dataJson),
    options: JSON.parse(s.optionsJson),
    spec: JSON.parse(s.specJson),
    catchUp: JSON.parse(s.catchUpJson),
    paused: s.paused,
    nextRunAt: s.nextRunAt,
    lastTickAt: s.lastTickAt,
    createdAt: s.createdAt,
    updatedAt: s.updatedAt,
  };
}
