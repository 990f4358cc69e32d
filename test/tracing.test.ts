import {
  context,
  propagation,
  ROOT_CONTEXT,
  type SpanContext,
  SpanKind,
  SpanStatusCode,
  trace,
} from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
// @opentelemetry/core comes with sdk-trace-base (its dependency): the W3C trace-context propagator.
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  ParentBasedSampler,
  type ReadableSpan,
  SimpleSpanProcessor,
  TraceIdRatioBasedSampler,
} from "@opentelemetry/sdk-trace-base";
import Database from "better-sqlite3";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { defineJob, TRACE_META_KEY, ValidationError } from "../src/index.js";
import { eventually, sleep } from "./helpers/eventually.js";
import { openApp, STORE_KINDS, useApp } from "./helpers/stores.js";

const OTEL_GLOBAL = Symbol.for("opentelemetry.js.api.1");
/** A new exporter per install: a provider's shutdown stops its exporter for good. */
let exporter = new InMemorySpanExporter();
const tracer = () => trace.getTracer("test-app");

/** Installs an SDK the way an app does: a tracer provider, an AsyncLocalStorage context manager, W3C propagation. */
function installSdk(sampler?: ParentBasedSampler): BasicTracerProvider {
  exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    spanProcessors: [new SimpleSpanProcessor(exporter)],
    ...(sampler ? { sampler } : {}),
  });
  trace.setGlobalTracerProvider(provider);
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  return provider;
}

function uninstallSdk(): void {
  trace.disable();
  context.disable();
  propagation.disable();
}

const spans = () => exporter.getFinishedSpans();
const named = (name: string) => spans().filter((s) => s.name === name);
const ids = (c: SpanContext | undefined) => (c ? { traceId: c.traceId, spanId: c.spanId } : undefined);
/** The span's parent span context, as the SDK recorded it. */
const parentOf = (s: ReadableSpan) => ids(s.parentSpanContext);

/** The trace id in a job's meta.trace.traceparent. */
const traceIdOf = (meta: Record<string, unknown>) =>
  String((meta[TRACE_META_KEY] as { traceparent?: string } | undefined)?.traceparent).split("-")[1]!;

/** Runs `fn` inside an active span named `name` and returns its result and the span's context. */
async function inSpan<T>(name: string, fn: () => Promise<T>): Promise<{ result: T; ctx: SpanContext }> {
  return tracer().startActiveSpan(name, async (span) => {
    try {
      return { result: await fn(), ctx: span.spanContext() };
    } finally {
      span.end();
    }
  });
}

// Runs first, in a process where no OpenTelemetry global was ever registered.
describe("without an OpenTelemetry SDK", () => {
  const harness = useApp("sqlite");

  it("injects nothing into meta, records nothing, and never loads the API's globals", async () => {
    expect((globalThis as Record<symbol, unknown>)[OTEL_GLOBAL]).toBeUndefined();
    const app = await harness.setup();
    const seen: Array<Record<string, unknown>> = [];
    const job = defineJob({ name: "plain", handler: (_d, ctx) => void seen.push(ctx.job.meta) });
    const one = await app.enqueue(job, {}, { meta: { source: "test" } });
    const many = await app.enqueueMany(job, [{ data: 1 }, { data: 2 }]);
    expect(one.meta).toEqual({ source: "test" });
    for (const j of many) expect(j.meta).toEqual({});
    await harness.start(app.worker({ jobs: [job] }));
    await eventually(async () => expect((await app.countJobs()).completed).toBe(3));
    expect(seen).toEqual([{ source: "test" }, {}, {}]);
    expect((await app.getJob(one.id))?.meta).toEqual({ source: "test" });
    // Nothing above registered a global: Conveyor looked and stayed out of the way.
    expect((globalThis as Record<symbol, unknown>)[OTEL_GLOBAL]).toBeUndefined();
  });
});

describe.each(STORE_KINDS)("with an SDK installed, on the %s store", (kind) => {
  let provider: BasicTracerProvider;
  beforeAll(() => {
    provider = installSdk();
  });
  afterAll(async () => {
    await provider.shutdown();
    uninstallSdk();
  });
  beforeEach(() => exporter.reset());
  const harness = useApp(kind);

  it("carries the trace from enqueue to the worker: send (PRODUCER) → process (CONSUMER) → the handler's own spans", async () => {
    const app = await harness.setup();
    const report = defineJob<{ n: number }>({
      name: "report",
      queue: "reports",
      async handler(data) {
        // A span made by the handler (as an HTTP or DB instrumentation would) nests under the attempt.
        await tracer().startActiveSpan("render", async (span) => {
          await sleep(2);
          span.end();
        });
        return data.n * 2;
      },
    });
    const { result: job, ctx: request } = await inSpan("POST /reports", () => app.enqueue(report, { n: 21 }));
    // The creation context travels in meta.trace as W3C traceparent.
    const carrier = job.meta[TRACE_META_KEY] as Record<string, string>;
    expect(carrier.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    const [send] = named("send reports");
    expect(send).toBeDefined();
    expect(carrier.traceparent).toBe(`00-${send!.spanContext().traceId}-${send!.spanContext().spanId}-01`);
    expect(send!.kind).toBe(SpanKind.PRODUCER);
    expect(parentOf(send!)).toEqual(ids(request));
    expect(send!.attributes).toMatchObject({
      "messaging.system": "conveyor",
      "messaging.operation.type": "send",
      "messaging.operation.name": "send",
      "messaging.destination.name": "reports",
      "messaging.message.id": job.id,
      "conveyor.job.name": "report",
      "conveyor.enqueue.outcome": "inserted",
    });
    // The stored job carries it too (through the store's JSON).
    expect((await app.getJob(job.id))?.meta).toEqual({ [TRACE_META_KEY]: carrier });

    const worker = app.worker({ jobs: [report] });
    // The worker loop runs inside an unrelated active span: the attempt must not become its child.
    await inSpan("app startup", () => harness.start(worker));
    await eventually(() => named("process reports").length === 1 && named("render").length === 1);
    const [process] = named("process reports");
    const [render] = named("render");
    expect(process!.kind).toBe(SpanKind.CONSUMER);
    expect(process!.spanContext().traceId).toBe(request.traceId);
    expect(parentOf(process!)).toEqual(ids(send!.spanContext()));
    expect(parentOf(render!)).toEqual(ids(process!.spanContext()));
    expect(process!.attributes).toMatchObject({
      "messaging.system": "conveyor",
      "messaging.operation.type": "process",
      "messaging.operation.name": "process",
      "messaging.destination.name": "reports",
      "messaging.message.id": job.id,
      "messaging.client.id": worker.id,
      "conveyor.job.name": "report",
      "conveyor.job.attempt": 1,
      "conveyor.job.max_attempts": 3,
      "conveyor.job.outcome": "completed",
    });
    expect(process!.status.code).toBe(SpanStatusCode.UNSET);
    expect(process!.instrumentationScope.name).toBe("conveyor");
  });

  it("marks failed attempts ERROR with the exception, one span per attempt, all children of the enqueue", async () => {
    const app = await harness.setup();
    const doomed = defineJob({
      name: "doomed",
      retry: { attempts: 2, backoff: { type: "fixed", delayMs: 5, jitter: 0 } },
      handler(_d, ctx) {
        throw new RangeError(`attempt ${ctx.attempt} out of range`);
      },
    });
    const { result: job } = await inSpan("request", () => app.enqueue(doomed, {}));
    await harness.start(app.worker({ jobs: [doomed] }));
    await eventually(async () => expect((await app.getJob(job.id))?.state).toBe("discarded"));
    await eventually(() => named("process default").length === 2);
    const [send] = named("send default");
    const attempts = named("process default").sort(
      (a, b) =>
        (a.attributes["conveyor.job.attempt"] as number) - (b.attributes["conveyor.job.attempt"] as number),
    );
    expect(attempts.map((s) => s.attributes["conveyor.job.outcome"])).toEqual(["retried", "discarded"]);
    attempts.forEach((s, i) => {
      expect(parentOf(s)).toEqual(ids(send!.spanContext()));
      expect(s.status).toEqual({ code: SpanStatusCode.ERROR, message: `attempt ${i + 1} out of range` });
      expect(s.attributes["error.type"]).toBe("RangeError");
      const exception = s.events.find((e) => e.name === "exception");
      expect(exception?.attributes).toMatchObject({
        "exception.type": "RangeError",
        "exception.message": `attempt ${i + 1} out of range`,
      });
      expect(String(exception?.attributes?.["exception.stacktrace"])).toContain("RangeError");
    });
    expect(typeof attempts[0]!.attributes["conveyor.job.retry_at"]).toBe("number");
  });

  it("enqueueMany: one send span for the call, every job carries its context; each attempt is its child", async () => {
    const app = await harness.setup();
    const item = defineJob<number>({ name: "item", handler: (n) => n });
    const { result: jobs } = await inSpan("import", () =>
      app.enqueueMany(
        item,
        [1, 2, 3].map((data) => ({ data })),
      ),
    );
    const sends = named("send default");
    expect(sends).toHaveLength(1);
    expect(sends[0]!.attributes).toMatchObject({
      "messaging.batch.message_count": 3,
      "messaging.destination.name": "default",
      "conveyor.job.name": "item",
    });
    expect(sends[0]!.attributes["messaging.message.id"]).toBeUndefined();
    const traceparents = new Set(
      jobs.map((j) => (j.meta[TRACE_META_KEY] as { traceparent: string }).traceparent),
    );
    expect(traceparents.size).toBe(1);
    await harness.start(app.worker({ jobs: [item], concurrency: 3 }));
    await eventually(() => named("process default").length === 3);
    const processed = named("process default");
    expect(processed.map((s) => s.attributes["messaging.message.id"]).sort()).toEqual(
      jobs.map((j) => j.id).sort(),
    );
    for (const s of processed) expect(parentOf(s)).toEqual(ids(sends[0]!.spanContext()));

    // Items sent to different queues: the span is named for the operation alone, without a destination.
    exporter.reset();
    await app.enqueueMany(item, [{ data: 1 }, { data: 2, options: { queue: "elsewhere" } }]);
    const [mixed] = named("send");
    expect(mixed?.attributes["messaging.destination.name"]).toBeUndefined();
  });

  it("a batch handler run is one CONSUMER span linked to each job's creation context, ERROR when a job fails", async () => {
    const app = await harness.setup();
    const rows = defineJob<number>({
      name: "rows",
      batch: { size: 4, waitMs: 20 },
      async batchHandler(items) {
        await tracer().startActiveSpan("bulk insert", async (span) => span.end());
        return items.map((i) => (i.data < 0 ? new Error(`row ${i.data} rejected`) : i.data));
      },
    });
    // Jobs from three traces: two requests, and an enqueue outside any span (its send span is a root)...
    const { result: a, ctx: first } = await inSpan("request A", () => app.enqueue(rows, 1, { attempts: 1 }));
    const { result: b, ctx: second } = await inSpan("request B", () =>
      app.enqueue(rows, -2, { attempts: 1 }),
    );
    const c = await app.enqueue(rows, 3, { attempts: 1 });
    // ...and one whose meta.trace carries no context (the app's own, empty): it gets no link.
    const d = await app.enqueue(rows, 4, { attempts: 1, meta: { trace: {} } });
    expect(d.meta).toEqual({ trace: {} });
    await harness.start(app.worker({ jobs: [rows], concurrency: 1 }));
    await eventually(() => named("process default").length === 1 && named("bulk insert").length === 1);
    const [batch] = named("process default");
    const [bulk] = named("bulk insert");
    expect(batch!.kind).toBe(SpanKind.CONSUMER);
    expect(batch!.parentSpanContext).toBeUndefined();
    expect(parentOf(bulk!)).toEqual(ids(batch!.spanContext()));
    expect(batch!.attributes).toMatchObject({
      "messaging.batch.message_count": 4,
      "messaging.destination.name": "default",
      "conveyor.job.name": "rows",
      "conveyor.batch.completed": 3,
      "conveyor.batch.discarded": 1,
    });
    // Links to the creation contexts (the send spans) of a, b and c; none for d.
    const sendOf = (traceId: string) =>
      named("send default")
        .find((s) => s.spanContext().traceId === traceId)!
        .spanContext();
    expect(
      batch!.links.map((l) => ({ ...ids(l.context), id: l.attributes?.["messaging.message.id"] })),
    ).toEqual([
      { ...ids(sendOf(first.traceId)), id: a.id },
      { ...ids(sendOf(second.traceId)), id: b.id },
      { ...ids(sendOf(traceIdOf(c.meta))), id: c.id },
    ]);
    expect(
      named("send default").find((s) => s.spanContext().traceId === traceIdOf(c.meta))?.parentSpanContext,
    ).toBeUndefined();
    expect(batch!.status).toEqual({
      code: SpanStatusCode.ERROR,
      message: "1 of 4 jobs failed: row -2 rejected",
    });
    const exceptions = batch!.events.filter((e) => e.name === "exception");
    expect(exceptions.map((e) => e.attributes)).toEqual([
      expect.objectContaining({
        "exception.type": "Error",
        "exception.message": "row -2 rejected",
        "messaging.message.id": b.id,
      }),
    ]);
    // Spans end when the outcomes are decided; the outcomes are written right after.
    await eventually(async () => expect((await app.getJob(d.id))?.state).toBe("completed"));
  });

  it("keeps a trace context the app put in meta itself, and records a failed enqueue as an ERROR span", async () => {
    const app = await harness.setup();
    const own = { traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01" };
    const typed = defineJob({ name: "typed", schema: z.object({ n: z.number() }), handler: () => null });
    const { result: job } = await inSpan("request", () =>
      app.enqueue(typed, { n: 1 }, { meta: { trace: own } }),
    );
    expect(job.meta).toEqual({ trace: own });
    await harness.start(app.worker({ jobs: [typed] }));
    await eventually(() => named("process default").length === 1);
    // The attempt continues the app's own trace.
    expect(parentOf(named("process default")[0]!)).toEqual({
      traceId: "0af7651916cd43dd8448eb211c80319c",
      spanId: "b7ad6b7169203331",
    });

    exporter.reset();
    await expect(
      inSpan("bad request", () => app.enqueue(typed, { n: "one" } as unknown as { n: number })),
    ).rejects.toThrow(ValidationError);
    const [failed] = named("send default");
    expect(failed!.status.code).toBe(SpanStatusCode.ERROR);
    expect(failed!.attributes["error.type"]).toBe("ValidationError");
    expect(failed!.events.some((e) => e.name === "exception")).toBe(true);
  });
});

describe("sampling and transactional enqueue", () => {
  let provider: BasicTracerProvider;
  afterAll(async () => {
    await provider?.shutdown();
    uninstallSdk();
  });

  it("a sampled-out request still propagates its (unsampled) context, and the attempt records nothing", async () => {
    provider = installSdk(new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(0) }));
    exporter.reset();
    const { app, cleanup } = await openApp("memory");
    try {
      const job = defineJob({
        name: "quiet",
        handler: () => trace.getSpanContext(context.active())?.traceFlags ?? "no context",
      });
      const { result, ctx } = await inSpan("unsampled request", () => app.enqueue(job, {}));
      expect(ctx.traceFlags).toBe(0);
      const carrier = result.meta[TRACE_META_KEY] as { traceparent: string };
      expect(carrier.traceparent).toMatch(new RegExp(`^00-${ctx.traceId}-[0-9a-f]{16}-00$`));
      const worker = app.worker({ jobs: [job] });
      await worker.start();
      await eventually(async () => expect((await app.getJob(result.id))?.state).toBe("completed"));
      await worker.stop();
      // The handler ran inside the (unsampled) attempt context, so its own spans are not sampled either.
      expect((await app.getJob(result.id))?.result).toBe(0);
      expect(spans()).toEqual([]);
    } finally {
      await cleanup();
      await provider.shutdown();
      uninstallSdk();
    }
  });

  it("enqueueInTransaction gets a send span and carries the context (SQLite)", async () => {
    provider = installSdk();
    exporter.reset();
    const { app, url, cleanup } = await openApp("sqlite");
    const db = new Database(url.slice("sqlite:".length));
    db.pragma("busy_timeout = 5000");
    try {
      const receipt = defineJob<{ order: string }>({ name: "receipt", handler: () => null });
      const { result: job, ctx } = await inSpan("checkout", async () =>
        db.transaction(() => app.enqueueInTransaction(db, receipt, { order: "o-1" })).immediate(),
      );
      const [send] = named("send default");
      expect(parentOf(send!)).toEqual(ids(ctx));
      expect(send!.attributes["messaging.message.id"]).toBe(job.id);
      const stored = await app.getJob(job.id);
      expect(stored?.meta[TRACE_META_KEY]).toEqual({
        traceparent: `00-${ctx.traceId}-${send!.spanContext().spanId}-01`,
      });
    } finally {
      db.close();
      await cleanup();
    }
  });

  it("after the SDK is removed, nothing is injected any more", async () => {
    await provider.shutdown();
    uninstallSdk();
    const { app, cleanup } = await openApp("memory");
    try {
      const job = defineJob({ name: "after", handler: () => null });
      const fake = trace.wrapSpanContext({
        traceId: "0af7651916cd43dd8448eb211c80319c",
        spanId: "b7ad6b7169203331",
        traceFlags: 1,
      });
      // Inside what the app thinks is a span: without a context manager and a propagator, nothing is carried.
      const enqueued = await context.with(trace.setSpan(ROOT_CONTEXT, fake), () => app.enqueue(job, {}));
      expect(enqueued.meta).toEqual({});
    } finally {
      await cleanup();
    }
  });
});
