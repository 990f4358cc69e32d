import type { StandardSchemaV1 } from "@standard-schema/spec";
import { OptionsError } from "../errors.js";
import type { ExecutorKind, HandlerModule } from "../executor/executor.js";
import { handlerModuleOf, loadHandler } from "../executor/handler-module.js";
import type { JobLogEntry, JobRecord, LogLevel, RateLimit } from "../store/store.js";
import { type RetryOptions, validateBackoff } from "./backoff.js";
import {
  type BatchHandler,
  type BatchOptions,
  batchOfOne,
  type DefineBatchJobOptions,
  validateBatch,
} from "./batch.js";
import type { HandlerOutcome } from "./outcome.js";

/** What a handler gets besides its data. */
export interface JobContext {
  readonly id: string;
  readonly name: string;
  readonly queue: string;
  /** 1 on the first attempt. */
  readonly attempt: number;
  readonly maxAttempts: number;
  /** Aborted on timeout, cancellation, lost lease or shutdown past the grace period. Pass it to fetch() etc. */
  readonly signal: AbortSignal;
  /** The job as claimed (read-only snapshot). */
  readonly job: Readonly<JobRecord>;
  /** Stores progress (a number 0-100 or any JSON) and emits `job:progress`. Writes are coalesced. */
  progress(value: unknown): void;
  /** Appends a line to the job's log, kept with the job. */
  log(message: string, level?: LogLevel): void;
}

/**
 * A handler returns its result (stored as JSON), or an outcome from `snooze`, `cancel`, `discard` (so
 * `TResult` may include {@link HandlerOutcome}).
 */
export type JobHandler<TData, TResult> = (data: TData, ctx: JobContext) => Promise<TResult> | TResult;

/** Options shared by a job type's definition and, where noted, overridable per enqueue. */
export interface JobTypeOptions {
  /** Queue its jobs go to. Default "default". */
  queue?: string;
  /** Lower runs first. Default 0. */
  priority?: number;
  /** Newest first within its priority. Default false. */
  lifo?: boolean;
  retry?: RetryOptions;
  /** An attempt running longer is aborted and fails with a timeout error. Default none. */
  timeoutMs?: number;
  /** Lease rescues allowed before the job is discarded as stalled. Default 25. */
  maxStalls?: number;
  /**
   * How the groups of this type's grouped jobs behave (jobs get a group at enqueue: `{ group: "player:42" }`).
   * Default `{ concurrency: 1, onFailure: "hold" }`. See docs/guides/groups.md.
   */
  group?: JobGroupOptions;
  /**
   * Most jobs of this type running at once across every worker of the store (as gocraft/work's
   * MaxConcurrency). Workers register it with the type; claims enforce the latest registration. Default none.
   */
  maxConcurrency?: number;
  /**
   * Most jobs of this type started (claimed) in any window of `windowMs`, across every worker of the store,
   * e.g. `{ max: 5, windowMs: 1_000 }`. Registered with the type like `maxConcurrency`. Default none. See
   * docs/guides/limits.md.
   */
  rateLimit?: RateLimit;
}

/** A job type's `group` option: the group policy, plus a rate limit applied to each group separately. */
export interface JobGroupOptions extends GroupPolicy {
  /**
   * Most jobs of this type started in any window of `windowMs` in each group (each queue and group key
   * separately), across every worker. Default none.
   */
  rateLimit?: RateLimit;
}

/** How a group behaves (see docs/guides/groups.md). */
export interface GroupPolicy {
  /** Jobs of one group running at once, 1 to 1,000. Default 1: strictly one at a time. */
  concurrency?: number;
  /**
   * `"hold"` (default): a job waiting for its retry (or snoozed, or delayed) keeps its place and holds the jobs
   * after it until it completes, is discarded or is cancelled. `"continue"`: it steps aside while it waits, so
   * the jobs after it run; it rejoins the group (at its place by id) when it is due again.
   */
  onFailure?: "hold" | "continue";
}

export interface DefineJobOptions<TData, TResult, S extends StandardSchemaV1 | undefined>
  extends JobTypeOptions {
  /** The job type's stable name: how it is stored and how workers find its handler. */
  name: string;
  /** Any Standard Schema validator; checked at enqueue and again before the handler runs. */
  schema?: S;
  handler: JobHandler<TData, TResult>;
  /** Only with `batchHandler` (see {@link DefineBatchJobOptions}). */
  batch?: undefined;
  batchHandler?: undefined;
  /** A function handler runs inline (the default) only; give `module` to run in a thread or process. */
  executor?: "inline";
  module?: undefined;
}

/**
 * A job type whose handler lives in a module, so the thread and process executors can load it (once per
 * thread or process) by URL: `defineJob({ name: "resize", module: new URL("./resize.js", import.meta.url),
 * executor: "process" })`. The module's export (default `"default"`) is a {@link JobHandler}. On the inline
 * executor the module is imported lazily in the worker's own thread.
 */
export interface DefineModuleJobOptions<S extends StandardSchemaV1 | undefined> extends JobTypeOptions {
  name: string;
  schema?: S;
  /** The handler's module: a URL (best: `new URL("./x.js", import.meta.url)`) or a path (resolved against the current directory at definition). */
  module: string | URL;
  /** The module's export to call. Default "default". */
  export?: string;
  /**
   * Which executor runs this type's jobs: "inline", "thread" or "process". Default: the worker's executor.
   * A worker whose own executor is of another kind starts a pool of this kind for such types.
   */
  executor?: ExecutorKind;
  handler?: undefined;
  batch?: undefined;
  batchHandler?: undefined;
}

/** A job type: returned by {@link defineJob}, passed to `enqueue` and to workers. */
export interface JobDefinition<TInput = unknown, TData = TInput, TResult = unknown> extends JobTypeOptions {
  readonly name: string;
  readonly schema: StandardSchemaV1<TInput, TData> | undefined;
  /** For a batch type, a derived handler that runs `batchHandler` with a batch of one. */
  readonly handler: JobHandler<TData, TResult>;
  /** Set on batch types: workers collect their jobs and run `batchHandler` (see docs/guides/batches.md). */
  readonly batch?: Readonly<BatchOptions>;
  readonly batchHandler?: BatchHandler<TData, TResult>;
  /** Set on module types: the handler's module, for the thread and process executors. */
  readonly module?: HandlerModule;
  /** The executor this type asks for; absent: the worker's. */
  readonly executor?: ExecutorKind;
  /** Phantom field carrying the enqueue input type; never set. */
  readonly __input?: TInput;
}

/** Any job definition, whatever its types. */
// biome-ignore lint/suspicious/noExplicitAny: a heterogeneous list of job types needs the widest element type
export type AnyJobDefinition = JobDefinition<any, any, any>;

/** The data type `enqueue` accepts for a definition. */
export type JobInput<J> = J extends { readonly __input?: infer I } ? I : never;

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/;

export function assertName(value: unknown, field: string): asserts value is string {
  if (typeof value !== "string" || !NAME_RE.test(value)) {
    throw new OptionsError(
      `${field} must be 1-128 characters of letters, digits, "_", ".", ":" or "-", starting with a letter or digit; got ${JSON.stringify(value)}`,
    );
  }
}

export function assertInt(value: unknown, field: string, min: number, max = Number.MAX_SAFE_INTEGER): void {
  if (value === undefined) return;
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    throw new OptionsError(`${field} must be an integer from ${min} to ${max}, got ${JSON.stringify(value)}`);
  }
}

/** Checks options shared by definitions and enqueue calls; `prefix` names where they came from. */
export function validateJobTypeOptions(o: JobTypeOptions, prefix: string): void {
  if (o.queue !== undefined) assertName(o.queue, `${prefix}queue`);
  assertInt(o.priority, `${prefix}priority`, -1_000_000, 1_000_000);
  if (o.lifo !== undefined && typeof o.lifo !== "boolean") {
    throw new OptionsError(`${prefix}lifo must be a boolean`);
  }
  assertInt(o.timeoutMs, `${prefix}timeoutMs`, 1);
  assertInt(o.maxStalls, `${prefix}maxStalls`, 0, 1_000);
  validateGroupPolicy(o.group, `${prefix}group`);
  if (o.group !== undefined) validateRateLimit(o.group.rateLimit, `${prefix}group.rateLimit`);
  assertInt(o.maxConcurrency, `${prefix}maxConcurrency`, 1, 100_000);
  validateRateLimit(o.rateLimit, `${prefix}rateLimit`);
  if (o.retry !== undefined) {
    if (typeof o.retry !== "object" || o.retry === null) {
      throw new OptionsError(`${prefix}retry must be an object like { attempts: 5, backoff: "exponential" }`);
    }
    assertInt(o.retry.attempts, `${prefix}retry.attempts`, 1, 1_000);
    validateBackoff(o.retry.backoff, `${prefix}retry.backoff`);
  }
}

/** Largest `max` of a rate limit. */
export const MAX_RATE_LIMIT = 10_000;
/** Longest `windowMs` of a rate limit: 7 days. */
export const MAX_RATE_WINDOW_MS = 7 * 24 * 3_600_000;

/** Checks a {@link RateLimit} (undefined passes); `field` names it in the OptionsError. */
export function validateRateLimit(limit: unknown, field: string): void {
  if (limit === undefined) return;
  if (typeof limit !== "object" || limit === null) {
    throw new OptionsError(`${field} must be an object like { max: 10, windowMs: 1000 }`);
  }
  const l = limit as Partial<RateLimit>;
  if (l.max === undefined) throw new OptionsError(`${field}.max is required (claims per window)`);
  if (l.windowMs === undefined) throw new OptionsError(`${field}.windowMs is required (the window in ms)`);
  assertInt(l.max, `${field}.max`, 1, MAX_RATE_LIMIT);
  assertInt(l.windowMs, `${field}.windowMs`, 1, MAX_RATE_WINDOW_MS);
}

/** Checks a {@link GroupPolicy} (undefined passes). */
export function validateGroupPolicy(policy: unknown, field: string): void {
  if (policy === undefined) return;
  if (typeof policy !== "object" || policy === null) {
    throw new OptionsError(`${field} must be an object like { concurrency: 1, onFailure: "hold" }`);
  }
  const p = policy as GroupPolicy;
  assertInt(p.concurrency, `${field}.concurrency`, 1, 1_000);
  if (p.onFailure !== undefined && p.onFailure !== "hold" && p.onFailure !== "continue") {
    throw new OptionsError(
      `${field}.onFailure must be "hold" or "continue", got ${JSON.stringify(p.onFailure)}`,
    );
  }
}

/**
 * Defines a job type. With a schema, the handler's data type is the schema's output and `enqueue` accepts
 * the schema's input; without one, give the data type explicitly: `defineJob<{ id: string }>({...})`.
 * Give either `handler` (one job at a time) or `batch` and `batchHandler` (many jobs at once), not both.
 */
export function defineJob<S extends StandardSchemaV1, TResult = unknown>(
  options: (
    | DefineJobOptions<StandardSchemaV1.InferOutput<S>, TResult, S>
    | DefineBatchJobOptions<StandardSchemaV1.InferOutput<S>, TResult, S>
    | DefineModuleJobOptions<S>
  ) & { schema: S },
): JobDefinition<StandardSchemaV1.InferInput<S>, StandardSchemaV1.InferOutput<S>, TResult>;
export function defineJob<TData = unknown, TResult = unknown>(
  options: (
    | DefineJobOptions<TData, TResult, undefined>
    | DefineBatchJobOptions<TData, TResult, undefined>
    | DefineModuleJobOptions<undefined>
  ) & {
    schema?: undefined;
  },
): JobDefinition<TData, TData, TResult>;
export function defineJob(
  options:
    | DefineJobOptions<unknown, unknown, StandardSchemaV1 | undefined>
    | DefineBatchJobOptions<unknown, unknown, StandardSchemaV1 | undefined>
    | DefineModuleJobOptions<StandardSchemaV1 | undefined>,
): JobDefinition<unknown, unknown, unknown> {
  if (typeof options !== "object" || options === null) {
    throw new OptionsError("defineJob(options): options must be an object with a name and a handler");
  }
  assertName(options.name, "defineJob options.name");
  const name = options.name;
  const isBatch = options.batchHandler !== undefined || options.batch !== undefined;
  const executor = (options as { executor?: unknown }).executor;
  if (executor !== undefined && executor !== "inline" && executor !== "thread" && executor !== "process") {
    throw new OptionsError(
      `defineJob options.executor must be "inline", "thread" or "process", got ${JSON.stringify(executor)} (job "${name}")`,
    );
  }
  if ("module" in options && options.module !== undefined) {
    if (isBatch || options.handler !== undefined) {
      throw new OptionsError(
        `defineJob options: give a handler module or a handler (or batchHandler), not both (job "${name}")`,
      );
    }
    const module = handlerModuleOf(options.module, options.export, "defineJob options");
    if (options.schema !== undefined && typeof options.schema?.["~standard"]?.validate !== "function") {
      throw new OptionsError(
        `defineJob options.schema must be a Standard Schema validator such as a zod or valibot schema (job "${name}")`,
      );
    }
    validateJobTypeOptions(options, "defineJob options.");
    let loaded: ReturnType<typeof loadHandler> | null = null;
    const handler: JobHandler<unknown, unknown> = async (data, ctx) => {
      if (!loaded) {
        loaded = loadHandler(module);
        loaded.catch(() => {
          loaded = null;
        });
      }
      return (await loaded)(data, ctx);
    };
    const { export: _export, ...rest } = options;
    return Object.freeze({ ...rest, schema: options.schema, module, handler });
  }
  if (executor !== undefined && executor !== "inline") {
    throw new OptionsError(
      `defineJob options.executor "${String(executor)}" needs a handler module: give module (a URL or path) instead of handler (job "${name}")`,
    );
  }
  if (isBatch && options.handler !== undefined) {
    throw new OptionsError(
      `defineJob options: give either handler or batchHandler (with batch), not both (job "${name}")`,
    );
  }
  if (isBatch) validateBatch(options.batch, options.batchHandler, options.name);
  else if (typeof options.handler !== "function") {
    throw new OptionsError(
      `defineJob options.handler must be a function, or give batch and batchHandler (job "${name}")`,
    );
  }
  if (options.schema !== undefined && typeof options.schema?.["~standard"]?.validate !== "function") {
    throw new OptionsError(
      `defineJob options.schema must be a Standard Schema validator such as a zod or valibot schema (job "${name}")`,
    );
  }
  validateJobTypeOptions(options, "defineJob options.");
  if (options.batchHandler) {
    const batch = Object.freeze({ size: options.batch.size, waitMs: options.batch.waitMs });
    const handler = batchOfOne(options.name, options.batchHandler);
    return Object.freeze({ ...options, schema: options.schema, batch, handler });
  }
  return Object.freeze({ ...options, schema: options.schema });
}

export type { JobLogEntry };
