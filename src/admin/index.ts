/** The admin API (see `admin.ts`): typed, store-independent reads and actions for dashboards and the CLI. */
export {
  ADMIN_PAGE_DEFAULT,
  ADMIN_PAGE_MAX,
  Admin,
  CLOCK_FAIL_MS,
  CLOCK_WARN_MS,
  SLOW_ROUND_TRIP_MS,
  THROUGHPUT_MAX_MINUTES,
} from "./admin.js";
export type {
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
