/**
 * Conveyor: durable background jobs for TypeScript on Node.js.
 * The store adapters with heavy dependencies load lazily (`sqlite:` URLs import `conveyor/sqlite`).
 */
export {
  Admin,
  type AdminOptions,
  type DoctorCheck,
  type DoctorReport,
  type JobPage,
  type JobQuery,
  type MinutePoint,
  type Overview,
  type ProcessSummary,
  type QueueSummary,
  type QueueThroughput,
  type RetryAllParams,
  type RetryAllResult,
  type RetryAllState,
} from "./admin/index.js";
export { type Clock, systemClock } from "./clock.js";
export {
  Conveyor,
  type ConveyorOptions,
  type EnqueueByNameOptions,
  type EnqueueOptions,
  type SqliteConnection,
} from "./conveyor.js";
export {
  createDashboard,
  type DashboardAdmin,
  type DashboardAuth,
  type DashboardHandler,
  type DashboardOptions,
  type DashboardServer,
  DEFAULT_DASHBOARD_PORT,
  type MetricsHandler,
  type ServeDashboardOptions,
  serveDashboard,
} from "./dashboard/index.js";
export {
  ClosedError,
  ConveyorError,
  coerceError,
  type ErrorCode,
  ExecutorCrashError,
  ExecutorUnavailableError,
  HandlerLoadError,
  InvalidStateTransitionError,
  JobNotFoundError,
  NotSerialisableError,
  NotSupportedError,
  OptionsError,
  PayloadTooLargeError,
  ScheduleNotFoundError,
  StoreAuthError,
  StoreUnavailableError,
  StoreVersionError,
  UnknownJobError,
  UnknownStoreError,
  ValidationError,
  type ValidationIssue,
} from "./errors.js";
export { type ConveyorEventName, type ConveyorEvents, TypedEmitter } from "./events.js";
export type {
  AbortHook,
  AbortListener,
  ExecutionRequest,
  Executor,
  ExecutorIsolation,
  ExecutorKind,
  HandlerModule,
} from "./executor/executor.js";
export { InlineExecutor } from "./executor/inline.js";
export type { PoolOptions } from "./executor/pool.js";
export { ProcessExecutor, type ProcessExecutorOptions } from "./executor/process.js";
export { PROTOCOL_VERSION } from "./executor/protocol.js";
export { ThreadExecutor, type ThreadExecutorOptions } from "./executor/thread.js";
export { JobCancelledError, JobTimeoutError, LeaseLostError, ShutdownError } from "./job/attempt-errors.js";
export { type BackoffOption, backoffDelay, type RetryOptions } from "./job/backoff.js";
export type {
  BatchContext,
  BatchEntry,
  BatchHandler,
  BatchItem,
  BatchOptions,
  DefineBatchJobOptions,
} from "./job/batch.js";
export { type DedupeOption, type EnqueuedJob, type EnqueueOutcome, MAX_KEY_LENGTH } from "./job/dedupe.js";
export {
  type AnyJobDefinition,
  type DefineJobOptions,
  type DefineModuleJobOptions,
  defineJob,
  type GroupPolicy,
  type JobContext,
  type JobDefinition,
  type JobGroupOptions,
  type JobHandler,
  type JobInput,
  type JobTypeOptions,
  MAX_RATE_LIMIT,
  MAX_RATE_WINDOW_MS,
} from "./job/define.js";
export { type GroupOption, MAX_GROUP_KEY_LENGTH } from "./job/group.js";
export { cancel, discard, type HandlerOutcome, snooze } from "./job/outcome.js";
export { FINAL_STATES, isJobState, JOB_STATES, type JobState, TRANSITIONS } from "./job/states.js";
export {
  DEFAULT_RETENTION,
  type RetentionOptions,
  type RetentionRule,
} from "./maintenance/pruner.js";
export {
  type ConveyorMetrics,
  createMetrics,
  DEFAULT_DURATION_BUCKETS,
  type MetricsOptions,
  type MetricsServer,
  type ServeMetricsOptions,
  serveMetrics,
} from "./observability/metrics.js";
export { TRACE_META_KEY, TRACER_NAME } from "./observability/tracing.js";
export {
  CATCH_UP_MAX,
  type CatchUpInput,
  DEFAULT_CATCH_UP,
  SCHEDULE_SKIP_GRACE_MS,
} from "./scheduler/catch-up.js";
export type { ScheduleOptions } from "./scheduler/options.js";
export { parseScheduleSpec, type ScheduleSpecInput } from "./scheduler/schedule-spec.js";
export { Scheduler, type SchedulerOptions } from "./scheduler/scheduler.js";
export { MemoryStore } from "./store/memory/memory-store.js";
export { type OpenStoreOptions, openStore } from "./store/open.js";
export type {
  AttemptError,
  AttemptErrorKind,
  CatchUpPolicy,
  DedupeSpec,
  GroupOnFailure,
  GroupSpec,
  InsertOutcome,
  JobCounts,
  JobListParams,
  JobListResult,
  JobLogEntry,
  JobRecord,
  JobTypeInfo,
  LogLevel,
  QueueInfo,
  QueueMinuteStats,
  RateLimit,
  ScheduleJobOptions,
  ScheduleRecord,
  ScheduleSpec,
  Store,
  StoreCapabilities,
  StoreCheck,
  WorkerRecord,
} from "./store/store.js";
export type { Middleware } from "./worker/middleware.js";
export {
  type StopOptions,
  Worker,
  type WorkerExecutorOption,
  type WorkerOptions,
} from "./worker/worker.js";
