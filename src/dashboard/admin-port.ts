/**
 * What the dashboard needs from the admin API: a slice of {@link Admin}, so an app passes `app.admin` (or its
 * own `new Admin({ store, processes })`) and tests can pass the same. The dashboard never reads a store.
 */
import type { Admin } from "../admin/admin.js";

export type {
  JobPage,
  JobQuery,
  MinutePoint,
  Overview,
  ProcessSummary,
  QueueSummary,
  RetryAllState,
} from "../admin/types.js";
export type { WorkerRecord } from "../store/store.js";

/** The part of the admin API the dashboard calls. */
export type DashboardAdmin = Pick<
  Admin,
  | "storeKind"
  | "clock"
  | "overview"
  | "queues"
  | "jobs"
  | "job"
  | "schedules"
  | "workers"
  | "throughput"
  | "processes"
  | "retryJob"
  | "cancelJob"
  | "deleteJob"
  | "promoteJob"
  | "retryAll"
  | "pauseQueue"
  | "resumeQueue"
  | "pauseSchedule"
  | "resumeSchedule"
>;
