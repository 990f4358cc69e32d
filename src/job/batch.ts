import type { StandardSchemaV1 } from "@standard-schema/spec";
import { OptionsError } from "../errors.js";
import type { JobContext, JobHandler, JobTypeOptions } from "./define.js";
import type { HandlerOutcome } from "./outcome.js";

/** When a worker runs a batch: `size` jobs are waiting, or `waitMs` after the first one arrived. */
export interface BatchOptions {
  /** Most jobs per batch, 1 to 10,000. */
  size: number;
  /** Longest wait for a batch to fill, from the arrival of its first job: 0 to 3,600,000 ms. */
  waitMs: number;
}

/**
 * One job of a batch: its context (the same fields as a single handler's `ctx`, with its own `signal`,
 * `progress` and `log`) and its data, validated like a single handler's.
 */
export interface BatchItem<TData> extends JobContext {
  readonly data: TData;
}

/** What a batch handler gets besides its items (each item has its own `queue`, `attempt` and so on). */
export interface BatchContext {
  /** The job type. */
  readonly name: string;
  /** Aborted on the batch's timeout and on shutdown past the grace period (each item's signal too). */
  readonly signal: AbortSignal;
}

/**
 * One entry of a batch handler's return array: a result (stored as JSON), an `Error` instance (that job fails
 * and follows its retry policy) or an outcome from `snooze`, `cancel` or `discard`.
 */
export type BatchEntry<TResult> = TResult | Error | HandlerOutcome;

/**
 * Receives up to `batch.size` jobs at once and returns one entry per item, in the order of `items` (see
 * {@link BatchEntry}). Throwing fails every job of the batch; an array of the wrong length fails them all too.
 */
export type BatchHandler<TData, TResult> = (
  items: BatchItem<TData>[],
  ctx: BatchContext,
) => Promise<readonly BatchEntry<TResult>[]> | readonly BatchEntry<TResult>[];

/** `defineJob` options of a job type that runs its jobs in batches (see docs/guides/batches.md). */
export interface DefineBatchJobOptions<TData, TResult, S extends StandardSchemaV1 | undefined>
  extends JobTypeOptions {
  /** The job type's stable name: how it is stored and how workers find its handler. */
  name: string;
  /** Any Standard Schema validator; checked at enqueue and again for each item before the batch runs. */
  schema?: S;
  batch: BatchOptions;
  batchHandler: BatchHandler<TData, TResult>;
  handler?: undefined;
}

/** Checks a definition's `batch` and `batchHandler`; `job` names the definition in messages. */
export function validateBatch(batch: unknown, batchHandler: unknown, job: string): void {
  if (typeof batchHandler !== "function") {
    throw new OptionsError(`defineJob options.batchHandler must be a function (job "${job}")`);
  }
  if (typeof batch !== "object" || batch === null) {
    throw new OptionsError(
      `defineJob options.batch must be an object like { size: 100, waitMs: 50 } when batchHandler is given (job "${job}")`,
    );
  }
  const { size, waitMs } = batch as Partial<BatchOptions>;
  const check = (value: unknown, field: string, max: number) => {
    if (
      typeof value !== "number" ||
      !Number.isInteger(value) ||
      value < (field === "size" ? 1 : 0) ||
      value > max
    ) {
      throw new OptionsError(
        `defineJob options.batch.${field} must be an integer from ${field === "size" ? 1 : 0} to ${max}, got ${JSON.stringify(value)} (job "${job}")`,
      );
    }
  };
  check(size, "size", 10_000);
  check(waitMs, "waitMs", 3_600_000);
}

/** The error recorded on every job of a batch whose handler returned something other than one entry per item. */
export function batchLengthError(job: string, items: number, returned: unknown): TypeError {
  const got = Array.isArray(returned) ? `an array of ${returned.length}` : describe(returned);
  return new TypeError(
    `the batch handler of "${job}" returned ${got} for ${items} item(s); it must return an array with one entry per item, in the order of items`,
  );
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (value === undefined) return "undefined";
  return typeof value === "object" ? `a ${value.constructor?.name ?? "object"}` : `a ${typeof value}`;
}

/**
 * The `handler` of a batch job type: runs `batchHandler` with a batch of one. Workers run batch types through
 * the batcher; this keeps a batch definition usable wherever a single handler is expected.
 */
export function batchOfOne<TData, TResult>(
  name: string,
  batchHandler: BatchHandler<TData, TResult>,
): JobHandler<TData, BatchEntry<TResult>> {
  return async (data, ctx) => {
    const item: BatchItem<TData> = {
      id: ctx.id,
      name: ctx.name,
      queue: ctx.queue,
      attempt: ctx.attempt,
      maxAttempts: ctx.maxAttempts,
      job: ctx.job,
      get signal() {
        return ctx.signal;
      },
      progress: (value) => ctx.progress(value),
      log: (message, level) => ctx.log(message, level),
      data,
    };
    const batchCtx: BatchContext = {
      name: ctx.name,
      get signal() {
        return ctx.signal;
      },
    };
    const results = await batchHandler([item], batchCtx);
    if (!Array.isArray(results) || results.length !== 1) throw batchLengthError(name, 1, results);
    const entry = results[0];
    if (entry instanceof Error) throw entry;
    return entry as BatchEntry<TResult>;
  };
}
