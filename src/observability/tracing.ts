/**
 * OpenTelemetry spans for enqueues and attempts, through `@opentelemetry/api` only: no SDK at run time. The app
 * installs an SDK (a tracer provider, a context manager and a propagator) if it wants traces; until then all of
 * this costs one global lookup per enqueue and per attempt (see {@link otelApi}).
 *
 * Span shapes follow the OpenTelemetry messaging semantic conventions (docs/guides/observability.md):
 * - `send <queue>` (PRODUCER) around `enqueue`, `enqueueMany` and `enqueueInTransaction`, one span per call. Its
 *   context is injected (W3C `traceparent`, `tracestate`, and whatever else the app's propagator writes) into
 *   each job's `meta.trace`, the job's creation context.
 * - `process <queue>` (CONSUMER) around each attempt in the worker, a child of the job's creation context, with
 *   the handler (and middleware) running inside it so the handler's own spans nest under it.
 * - `process <queue>` (CONSUMER) around each run of a batch handler, with a link to every job's creation context
 *   (a batch has many parents, so it takes none).
 */
import { createRequire } from "node:module";
import type * as Otel from "@opentelemetry/api";
import type { Attributes, Context, Link, Span } from "@opentelemetry/api";
import type { EnqueuedJob } from "../job/dedupe.js";
import type { JobFinishUpdate, JobInsertParams, JobRecord } from "../store/store.js";
import { packageVersion } from "../version.js";

/** The key of a job's `meta` that carries its creation (trace) context. */
export const TRACE_META_KEY = "trace";
/** The instrumentation scope name of Conveyor's tracer. */
export const TRACER_NAME = "conveyor";

/** `messaging.system` of every span. */
const SYSTEM = "conveyor";
/** `SpanStatusCode.ERROR`, without loading the API to read it. */
const STATUS_ERROR = 2 as Otel.SpanStatusCode;

/**
 * Where `@opentelemetry/api` 1.x keeps its globals (tracer provider, context manager, propagator, diag): shared by
 * every copy of the API in the process, which is how copies interoperate. It exists once anything registered a
 * global; until then every tracer is a no-op, the propagator injects nothing and the context is always empty, so
 * there is nothing for Conveyor to do and no reason to load the API (about 20 ms at startup).
 */
const OTEL_GLOBAL = Symbol.for("opentelemetry.js.api.1");
const requireFromHere = createRequire(import.meta.url);
let otel: typeof Otel | null = null;
let tracerProvider: Otel.TracerProvider | null = null;
let tracer: Otel.Tracer | null = null;

/** The API once some OpenTelemetry global is registered; null before (tracing is off). */
function otelApi(): typeof Otel | null {
  if (otel !== null) return otel;
  if ((globalThis as Record<symbol, unknown>)[OTEL_GLOBAL] === undefined) return null;
  otel = requireFromHere("@opentelemetry/api") as typeof Otel;
  return otel;
}

/** Conveyor's tracer from the current global provider (a new one when the app swaps providers). */
function getTracer(api: typeof Otel): Otel.Tracer {
  const provider = api.trace.getTracerProvider();
  if (provider !== tracerProvider || tracer === null) {
    tracerProvider = provider;
    tracer = provider.getTracer(TRACER_NAME, packageVersion());
  }
  return tracer;
}

/** A started span with the context it runs in (the parent's context with the span set). */
export interface ActiveSpan {
  span: Span;
  context: Context;
}

/**
 * Starts the PRODUCER span of an enqueue call for `count` jobs of type `name` (null queue: the jobs go to several
 * queues). Null when tracing is off or the span carries no valid context (nothing to record or propagate).
 */
export function startEnqueueSpan(name: string, queue: string | null, count: number): ActiveSpan | null {
  const api = otelApi();
  if (api === null) return null;
  const attributes: Attributes = {
    "messaging.system": SYSTEM,
    "messaging.operation.type": "send",
    "messaging.operation.name": "send",
    "conveyor.job.name": name,
  };
  if (queue !== null) attributes["messaging.destination.name"] = queue;
  if (count !== 1) attributes["messaging.batch.message_count"] = count;
  const parent = api.context.active();
  const span = getTracer(api).startSpan(
    queue === null ? "send" : `send ${queue}`,
    { kind: api.SpanKind.PRODUCER, attributes },
    parent,
  );
  if (!api.isSpanContextValid(span.spanContext())) return null;
  return { span, context: api.trace.setSpan(parent, span) };
}

/**
 * Writes the span's context into each job's `meta.trace` (a new meta object: the caller's is not touched). A job
 * whose meta already has `trace` keeps it: the app propagates a context of its own. Nothing is written when the
 * propagator writes nothing (none installed).
 */
export function injectJobContext(active: ActiveSpan, jobs: readonly JobInsertParams[]): void {
  const api = otel;
  if (api === null) return;
  const carrier: Record<string, string> = {};
  api.propagation.inject(active.context, carrier);
  if (Object.keys(carrier).length === 0) return;
  for (const job of jobs) {
    if (job.meta[TRACE_META_KEY] !== undefined) continue;
    job.meta = { ...job.meta, [TRACE_META_KEY]: { ...carrier } };
  }
}

/** Ends an enqueue span: the stored job's id and what the enqueue did (single enqueues), or the error. */
export function endEnqueueSpan(
  active: ActiveSpan,
  jobs: readonly EnqueuedJob[] | null,
  error?: unknown,
): void {
  const { span } = active;
  if (error !== undefined) {
    failSpan(span, error);
  } else if (jobs !== null && jobs.length === 1) {
    const job = jobs[0]!;
    span.setAttribute("messaging.message.id", job.id);
    span.setAttribute("conveyor.enqueue.outcome", job.outcome);
  }
  span.end();
}

/** The job's creation context, from its `meta.trace` (the root context when it has none). */
function creationContext(api: typeof Otel, job: JobRecord): Context {
  const carrier = job.meta?.[TRACE_META_KEY];
  if (typeof carrier !== "object" || carrier === null || Array.isArray(carrier)) return api.ROOT_CONTEXT;
  return api.propagation.extract(api.ROOT_CONTEXT, carrier);
}

/**
 * Starts the CONSUMER span of one attempt: a child of the job's creation context, never of whatever context the
 * worker's loop happens to run in. Null when tracing is off.
 */
export function startAttemptSpan(job: JobRecord, workerId: string): ActiveSpan | null {
  const api = otelApi();
  if (api === null) return null;
  const parent = creationContext(api, job);
  const span = getTracer(api).startSpan(
    `process ${job.queue}`,
    {
      kind: api.SpanKind.CONSUMER,
      attributes: {
        "messaging.system": SYSTEM,
        "messaging.operation.type": "process",
        "messaging.operation.name": "process",
        "messaging.destination.name": job.queue,
        "messaging.message.id": job.id,
        "messaging.client.id": workerId,
        "conveyor.job.name": job.name,
        "conveyor.job.attempt": job.attempt,
        "conveyor.job.max_attempts": job.maxAttempts,
      },
    },
    parent,
  );
  if (!api.isSpanContextValid(span.spanContext())) return null;
  return { span, context: api.trace.setSpan(parent, span) };
}

/** Runs `fn` with the span's context active (the handler's own spans become its children). */
export function runInSpan<T>(active: ActiveSpan, fn: () => T): T {
  return otel === null ? fn() : otel.context.with(active.context, fn);
}

/**
 * The `conveyor.job.outcome` of a settled attempt: completed, retried, discarded, cancelled, snoozed, released
 * (handed back on shutdown, not counted as an attempt) or lease_lost (another worker may run it).
 */
function outcomeOf(update: JobFinishUpdate | null): string {
  if (update === null) return "lease_lost";
  switch (update.outcome.type) {
    case "complete":
      return "completed";
    case "retry":
      return "retried";
    case "discard":
      return "discarded";
    case "cancel":
      return "cancelled";
    case "snooze":
      return "snoozed";
    case "release":
      return "released";
  }
}

/**
 * Ends an attempt's span from its settled update: status ERROR with the exception recorded for a failure (retried
 * or discarded) and for a lost lease; cancelled, snoozed and released attempts are not errors.
 */
export function endAttemptSpan(active: ActiveSpan, update: JobFinishUpdate | null): void {
  const { span } = active;
  const outcome = outcomeOf(update);
  span.setAttribute("conveyor.job.outcome", outcome);
  const o = update?.outcome;
  if (o !== undefined && (o.type === "retry" || o.type === "discard")) {
    span.recordException({ name: o.error.name, message: o.error.message, stack: o.error.stack });
    span.setAttribute("error.type", o.error.name);
    span.setStatus({ code: STATUS_ERROR, message: o.error.message });
    if (o.type === "retry") span.setAttribute("conveyor.job.retry_at", o.runAt);
  } else if (update === null) {
    span.setAttribute("error.type", "LeaseLostError");
    span.setStatus({ code: STATUS_ERROR, message: "the job's lease was lost; it may run again elsewhere" });
  }
  span.end();
}

/**
 * Starts the CONSUMER span of a batch handler run over `jobs` (one type): linked to each job's creation context,
 * parented to nothing. Null when tracing is off.
 */
export function startBatchSpan(
  name: string,
  jobs: readonly JobRecord[],
  workerId: string,
): ActiveSpan | null {
  const api = otelApi();
  if (api === null) return null;
  const links: Link[] = [];
  for (const job of jobs) {
    const linked = api.trace.getSpanContext(creationContext(api, job));
    if (linked !== undefined && api.isSpanContextValid(linked)) {
      links.push({ context: linked, attributes: { "messaging.message.id": job.id } });
    }
  }
  const queue = jobs.every((j) => j.queue === jobs[0]?.queue) ? (jobs[0]?.queue ?? null) : null;
  const attributes: Attributes = {
    "messaging.system": SYSTEM,
    "messaging.operation.type": "process",
    "messaging.operation.name": "process",
    "messaging.batch.message_count": jobs.length,
    "messaging.client.id": workerId,
    "conveyor.job.name": name,
  };
  if (queue !== null) attributes["messaging.destination.name"] = queue;
  const parent = api.ROOT_CONTEXT;
  const span = getTracer(api).startSpan(
    queue === null ? "process" : `process ${queue}`,
    { kind: api.SpanKind.CONSUMER, attributes, links },
    parent,
  );
  if (!api.isSpanContextValid(span.spanContext())) return null;
  return { span, context: api.trace.setSpan(parent, span) };
}

/**
 * Ends a batch span once every job's outcome is decided: a count per outcome (`conveyor.batch.<outcome>`), and
 * status ERROR with one `exception` event per failed job (carrying its `messaging.message.id`) when any failed.
 */
export function endBatchSpan(
  active: ActiveSpan,
  settled: ReadonlyArray<{ update: JobFinishUpdate | null }>,
  ids: readonly string[],
): void {
  const { span } = active;
  const counts = new Map<string, number>();
  let firstError: string | null = null;
  settled.forEach((s, i) => {
    const outcome = outcomeOf(s.update);
    counts.set(outcome, (counts.get(outcome) ?? 0) + 1);
    const o = s.update?.outcome;
    if (o !== undefined && (o.type === "retry" || o.type === "discard")) {
      firstError ??= o.error.message;
      span.addEvent("exception", {
        "exception.type": o.error.name,
        "exception.message": o.error.message,
        ...(o.error.stack ? { "exception.stacktrace": o.error.stack } : {}),
        "messaging.message.id": ids[i] ?? "",
      });
    } else if (s.update === null) {
      firstError ??= "a job's lease was lost";
    }
  });
  for (const [outcome, n] of counts) span.setAttribute(`conveyor.batch.${outcome}`, n);
  if (firstError !== null) {
    const failed =
      (counts.get("retried") ?? 0) + (counts.get("discarded") ?? 0) + (counts.get("lease_lost") ?? 0);
    span.setStatus({
      code: STATUS_ERROR,
      message: `${failed} of ${settled.length} jobs failed: ${firstError}`,
    });
  }
  span.end();
}

/** Records `error` on the span and sets status ERROR. */
function failSpan(span: Span, error: unknown): void {
  const err = error instanceof Error ? error : new Error(typeof error === "string" ? error : String(error));
  span.recordException(err);
  span.setAttribute("error.type", err.name);
  span.setStatus({ code: STATUS_ERROR, message: err.message });
}
