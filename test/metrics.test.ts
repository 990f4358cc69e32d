import { type OpenMetricsContentType, Registry } from "prom-client";
import { afterEach, describe, expect, it, vi } from "vitest";
import {
  type Conveyor,
  type ConveyorMetrics,
  cancel,
  createMetrics,
  defineJob,
  discard,
  type MetricsServer,
  OptionsError,
  serveMetrics,
  snooze,
  type Worker,
} from "../src/index.js";
import { JOB_STATES } from "../src/job/states.js";
import { eventually, sleep } from "./helpers/eventually.js";
import { STORE_KINDS, useApp } from "./helpers/stores.js";

/** One sample of the text exposition: `name{labels} value`. */
interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

interface Exposition {
  samples: Sample[];
  /** `# TYPE` lines: metric family name → type. */
  types: Map<string, string>;
  /** `# HELP` lines: metric family name → help text. */
  help: Map<string, string>;
}

/** Parses the Prometheus text format (version 0.0.4), strictly enough that a malformed line fails the test. */
function parseExposition(text: string): Exposition {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  const help = new Map<string, string>();
  for (const line of text.split("\n")) {
    if (line === "") continue;
    const meta = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/.exec(line);
    if (meta) {
      (meta[1] === "TYPE" ? types : help).set(meta[2]!, meta[3]!);
      continue;
    }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`not an exposition line: ${JSON.stringify(line)}`);
    const labels: Record<string, string> = {};
    if (m[2]) {
      const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)",?/g;
      let consumed = 0;
      for (const l of m[2].matchAll(re)) {
        labels[l[1]!] = l[2]!.replace(/\\n/g, "\n").replace(/\\"/g, '"').replace(/\\\\/g, "\\");
        consumed += l[0].length;
      }
      if (consumed !== m[2].length) throw new Error(`bad labels in ${JSON.stringify(line)}`);
    }
    // Go's ParseFloat, which Prometheus uses, takes NaN and Inf in any case (prom-client writes "Nan").
    const raw = m[3]!.toLowerCase();
    const value =
      raw === "nan"
        ? Number.NaN
        : raw === "+inf" || raw === "inf"
          ? Infinity
          : raw === "-inf"
            ? -Infinity
            : Number(raw);
    if (Number.isNaN(value) && raw !== "nan") throw new Error(`bad value in ${JSON.stringify(line)}`);
    samples.push({ name: m[1]!, labels, value });
  }
  return { samples, types, help };
}

/** The samples of `name` whose labels include `where`. */
function find(e: Exposition, name: string, where: Record<string, string> = {}): Sample[] {
  return e.samples.filter(
    (s) => s.name === name && Object.entries(where).every(([k, v]) => s.labels[k] === v),
  );
}

/** The value of the one sample of `name` matching `where` (0 when there is none: counters start absent). */
function value(e: Exposition, name: string, where: Record<string, string> = {}): number {
  const found = find(e, name, where);
  if (found.length > 1) throw new Error(`${name} ${JSON.stringify(where)} matches ${found.length} samples`);
  return found[0]?.value ?? 0;
}

async function scrape(url: string): Promise<{ e: Exposition; contentType: string | null }> {
  const res = await fetch(url);
  expect(res.status).toBe(200);
  return { e: parseExposition(await res.text()), contentType: res.headers.get("content-type") };
}

const opened: Array<{ metrics: ConveyorMetrics; server: MetricsServer | null }> = [];
afterEach(async () => {
  for (const { metrics, server } of opened.splice(0)) {
    await server?.close();
    metrics.close();
  }
});

async function serve(app: Conveyor, options: Parameters<typeof createMetrics>[1] = {}) {
  const metrics = createMetrics(app, options);
  const server = await serveMetrics(metrics, { port: 0 });
  opened.push({ metrics, server });
  return { metrics, server };
}

const fast = { type: "fixed", delayMs: 5, jitter: 0 } as const;

describe.each(STORE_KINDS)("metrics on the %s store", (kind) => {
  const harness = useApp(kind);

  it("counts what the worker did, times it in histograms, and reads the store's gauges, over real HTTP", async () => {
    const app = await harness.setup();
    const { server } = await serve(app, { cacheMs: 0 });
    const ok = defineJob({ name: "ok", handler: () => "done" });
    const slow = defineJob({
      name: "slow",
      queue: "slow-lane",
      async handler() {
        await sleep(40);
        return null;
      },
    });
    // Fails on its first attempt, then completes.
    const flaky = defineJob<{ k: string }>({
      name: "flaky",
      retry: { attempts: 3, backoff: fast },
      handler(_data, ctx) {
        if (ctx.attempt === 1) throw new Error("first attempt fails");
        return null;
      },
    });
    const doomed = defineJob({
      name: "doomed",
      retry: { attempts: 2, backoff: fast },
      handler() {
        throw new TypeError("always fails");
      },
    });
    let snoozedOnce = false;
    const sleepy = defineJob({
      name: "sleepy",
      handler() {
        if (snoozedOnce) return "awake";
        snoozedOnce = true;
        return snooze(5);
      },
    });
    const quitter = defineJob({ name: "quitter", handler: () => cancel("not today") });
    const dropper = defineJob({ name: "dropper", handler: () => discard("bad input") });

    await app.enqueueMany(
      ok,
      Array.from({ length: 5 }, (_, i) => ({ data: { i } })),
    );
    await app.enqueue(ok, { i: 99 }, { key: "ok-key" });
    await app.enqueue(ok, { i: 100 }, { key: "ok-key" }); // a duplicate: nothing stored, not counted
    await app.enqueue(slow, {});
    await app.enqueueMany(
      flaky,
      ["a", "b", "c"].map((k) => ({ data: { k } })),
    );
    await app.enqueueMany(doomed, [{ data: 1 }, { data: 2 }]);
    await app.enqueue(sleepy, {});
    await app.enqueue(quitter, {});
    await app.enqueue(dropper, {});

    const worker = app.worker({
      jobs: [ok, slow, flaky, doomed, sleepy, quitter, dropper],
      concurrency: 3,
    });
    await harness.start(worker);
    await eventually(async () => {
      const c = await app.countJobs();
      expect(c).toMatchObject({ completed: 11, discarded: 3, cancelled: 1 });
    });

    // While the worker runs: local and store-wide worker gauges.
    const running = await scrape(server.url);
    expect(running.contentType).toBe("text/plain; version=0.0.4; charset=utf-8");
    expect(value(running.e, "conveyor_local_workers")).toBe(1);
    expect(value(running.e, "conveyor_local_worker_slots")).toBe(3);
    expect(value(running.e, "conveyor_workers")).toBe(1);
    expect(value(running.e, "conveyor_worker_slots")).toBe(3);
    expect(value(running.e, "conveyor_store_up")).toBe(1);

    // Stop: every outcome is written and its event emitted before stop resolves.
    await worker.stop();
    const { e } = await scrape(server.url);
    expect(value(e, "conveyor_local_workers")).toBe(0);
    expect(value(e, "conveyor_local_worker_busy_slots")).toBe(0);

    // Types and help of every family.
    expect(e.types.get("conveyor_jobs_completed_total")).toBe("counter");
    expect(e.types.get("conveyor_job_duration_seconds")).toBe("histogram");
    expect(e.types.get("conveyor_job_wait_seconds")).toBe("histogram");
    expect(e.types.get("conveyor_jobs")).toBe("gauge");
    for (const [family, text] of e.help) expect(text.length, family).toBeGreaterThan(10);

    // Enqueues: one per stored job, by outcome; the duplicate is not counted.
    expect(value(e, "conveyor_jobs_enqueued_total", { name: "ok", outcome: "inserted" })).toBe(6);
    expect(value(e, "conveyor_jobs_enqueued_total", { name: "flaky", outcome: "inserted" })).toBe(3);
    expect(
      value(e, "conveyor_jobs_enqueued_total", { queue: "slow-lane", name: "slow", outcome: "inserted" }),
    ).toBe(1);
    expect(find(e, "conveyor_jobs_enqueued_total", { outcome: "duplicate" })).toEqual([]);

    // Attempt counters.
    const d = { queue: "default" };
    expect(value(e, "conveyor_jobs_completed_total", { ...d, name: "ok" })).toBe(6);
    expect(value(e, "conveyor_jobs_completed_total", { queue: "slow-lane", name: "slow" })).toBe(1);
    expect(value(e, "conveyor_jobs_completed_total", { ...d, name: "flaky" })).toBe(3);
    expect(value(e, "conveyor_jobs_completed_total", { ...d, name: "sleepy" })).toBe(1);
    expect(value(e, "conveyor_jobs_failed_total", { name: "flaky", will_retry: "true" })).toBe(3);
    expect(value(e, "conveyor_jobs_failed_total", { name: "flaky", will_retry: "false" })).toBe(0);
    expect(value(e, "conveyor_jobs_failed_total", { name: "doomed", will_retry: "true" })).toBe(2);
    expect(value(e, "conveyor_jobs_failed_total", { name: "doomed", will_retry: "false" })).toBe(2);
    expect(value(e, "conveyor_jobs_failed_total", { name: "dropper", will_retry: "false" })).toBe(1);
    expect(value(e, "conveyor_jobs_discarded_total", { ...d, name: "doomed" })).toBe(2);
    expect(value(e, "conveyor_jobs_discarded_total", { ...d, name: "dropper" })).toBe(1);
    expect(value(e, "conveyor_jobs_cancelled_total", { ...d, name: "quitter" })).toBe(1);
    expect(value(e, "conveyor_jobs_snoozed_total", { ...d, name: "sleepy" })).toBe(1);
    expect(find(e, "conveyor_jobs_rescued_total")).toEqual([]);
    expect(value(e, "conveyor_worker_errors_total")).toBe(0);
    // Labels are bounded: never a job id.
    for (const s of e.samples) expect(Object.keys(s.labels)).not.toContain("id");

    // Duration histogram: one observation per attempt, by outcome; buckets cumulative, +Inf = count.
    const dur = "conveyor_job_duration_seconds";
    const count = (where: Record<string, string>) => value(e, `${dur}_count`, where);
    expect(count({ name: "ok", outcome: "completed" })).toBe(6);
    expect(count({ name: "flaky", outcome: "retried" })).toBe(3);
    expect(count({ name: "flaky", outcome: "completed" })).toBe(3);
    expect(count({ name: "doomed", outcome: "retried" })).toBe(2);
    expect(count({ name: "doomed", outcome: "discarded" })).toBe(2);
    expect(count({ name: "dropper", outcome: "discarded" })).toBe(1);
    expect(count({ name: "quitter", outcome: "cancelled" })).toBe(1);
    expect(count({ name: "sleepy", outcome: "snoozed" })).toBe(1);
    expect(count({ name: "sleepy", outcome: "completed" })).toBe(1);
    const slowBuckets = find(e, `${dur}_bucket`, { name: "slow", outcome: "completed" });
    expect(slowBuckets.map((b) => b.labels.le)).toEqual([
      "0.001",
      "0.0025",
      "0.005",
      "0.01",
      "0.025",
      "0.05",
      "0.1",
      "0.25",
      "0.5",
      "1",
      "2.5",
      "5",
      "10",
      "30",
      "60",
      "120",
      "300",
      "600",
      "+Inf",
    ]);
    for (let i = 1; i < slowBuckets.length; i++) {
      expect(slowBuckets[i]!.value).toBeGreaterThanOrEqual(slowBuckets[i - 1]!.value);
    }
    // The slow handler sleeps 40 ms: nothing at or under 25 ms, everything by +Inf.
    expect(value(e, `${dur}_bucket`, { name: "slow", outcome: "completed", le: "0.025" })).toBe(0);
    expect(value(e, `${dur}_bucket`, { name: "slow", outcome: "completed", le: "+Inf" })).toBe(1);
    expect(value(e, `${dur}_sum`, { name: "slow", outcome: "completed" })).toBeGreaterThanOrEqual(0.039);

    // Wait histogram: one observation per attempt started.
    const waits = (name: string) => value(e, "conveyor_job_wait_seconds_count", { name });
    expect(waits("ok")).toBe(6);
    expect(waits("flaky")).toBe(6);
    expect(waits("doomed")).toBe(4);
    expect(waits("sleepy")).toBe(2);
    // A retry waits for its backoff from its retry time, not from its enqueue: no negative or absurd waits.
    expect(value(e, "conveyor_job_wait_seconds_sum", { name: "flaky" })).toBeGreaterThanOrEqual(0);
    expect(value(e, "conveyor_job_wait_seconds_sum", { name: "flaky" })).toBeLessThan(30);

    // Jobs by queue and state, from the store: every state of every queue, equal to countJobs.
    for (const queue of ["default", "slow-lane"]) {
      const counts = await app.countJobs(queue);
      for (const state of JOB_STATES) {
        expect(value(e, "conveyor_jobs", { queue, state }), `${queue} ${state}`).toBe(counts[state]);
      }
    }
    expect(value(e, "conveyor_queue_paused", { queue: "default" })).toBe(0);
    await app.pauseQueue("slow-lane");
    const paused = await scrape(server.url);
    expect(value(paused.e, "conveyor_queue_paused", { queue: "slow-lane" })).toBe(1);
  });

  it("counts lease rescues by outcome; a job discarded for stalling is labelled from the store", async () => {
    const app = await harness.setup();
    const { metrics } = await serve(app, { cacheMs: 0 });
    const ran: string[] = [];
    const revived = defineJob({ name: "revived", handler: (_d, ctx) => void ran.push(ctx.id) });
    const fragile = defineJob({ name: "fragile", queue: "glass", maxStalls: 0, handler: () => null });
    const a = await app.enqueue(revived, {});
    const b = await app.enqueue(fragile, {});
    // A worker that died holding both jobs: leases taken under another owner, never renewed.
    const claimed = await app.store.jobClaim({
      queues: ["default", "glass"],
      names: ["revived", "fragile"],
      owner: "dead-worker",
      limit: 2,
      leaseMs: 100,
      now: Date.now(),
    });
    expect(claimed.map((j) => j.id).sort()).toEqual([a.id, b.id].sort());
    const worker = app.worker({ jobs: [revived, fragile], rescueIntervalMs: 20 });
    await harness.start(worker);
    await eventually(async () => {
      expect((await app.getJob(a.id))?.state).toBe("completed");
      expect((await app.getJob(b.id))?.state).toBe("discarded");
    });
    expect(ran).toEqual([a.id]);
    await eventually(async () => {
      const e = parseExposition(await metrics.text());
      expect(value(e, "conveyor_jobs_rescued_total", { outcome: "rescued" })).toBe(1);
      expect(value(e, "conveyor_jobs_rescued_total", { outcome: "discarded" })).toBe(1);
      expect(value(e, "conveyor_jobs_discarded_total", { queue: "glass", name: "fragile" })).toBe(1);
      expect(value(e, "conveyor_jobs_completed_total", { name: "revived" })).toBe(1);
    });
  });

  it("reads the store at most once per cacheMs, and reports a failed read as store_up 0 without failing the scrape", async () => {
    const app = await harness.setup();
    const cached = await serve(app, { cacheMs: 60_000 });
    const uncached = createMetrics(app, { cacheMs: 0, registry: new Registry() });
    opened.push({ metrics: uncached, server: null });
    const spy = vi.spyOn(app.store, "queueList");
    await app.enqueue(defineJob({ name: "x", handler: () => null }), {});
    await scrape(cached.server.url);
    await scrape(cached.server.url);
    await scrape(cached.server.url);
    expect(spy).toHaveBeenCalledTimes(1);
    spy.mockClear();
    await uncached.text();
    await uncached.text();
    expect(spy).toHaveBeenCalledTimes(2);

    spy.mockRejectedValue(new Error("disk on fire"));
    const e = parseExposition(await uncached.text());
    expect(value(e, "conveyor_store_up")).toBe(0);
    expect(find(e, "conveyor_jobs")).toEqual([]);
    expect(find(e, "conveyor_workers")).toEqual([]);
    expect(e.types.get("conveyor_jobs_completed_total")).toBe("counter");
    // The next scrape reads again (a failure is not cached) and recovers.
    spy.mockRestore();
    const again = parseExposition(await uncached.text());
    expect(value(again, "conveyor_store_up")).toBe(1);
    expect(value(again, "conveyor_jobs", { queue: "default", state: "available" })).toBe(1);
  });
});

describe("metrics: registry, options, handler", () => {
  const harness = useApp("memory");

  it("uses its own registry (not prom-client's global one), or the one given; close() removes its metrics and stops counting", async () => {
    const app = await harness.setup();
    const job = defineJob({ name: "j", handler: () => null });
    const own = createMetrics(app);
    expect(own.registry).toBeInstanceOf(Registry);
    const { register: globalRegistry } = await import("prom-client");
    expect(own.registry).not.toBe(globalRegistry);
    expect(globalRegistry.getSingleMetric("conveyor_jobs_completed_total")).toBeUndefined();

    const shared = new Registry();
    const appMetric = new (await import("prom-client")).Counter({
      name: "app_requests_total",
      help: "the app's own metric",
      registers: [shared],
    });
    appMetric.inc(7);
    const given = createMetrics(app, { registry: shared, prefix: "jobs_" });
    expect(given.registry).toBe(shared);
    expect(() => createMetrics(app, { registry: shared, prefix: "jobs_" })).toThrow(OptionsError);
    expect(() => createMetrics(app, { registry: shared, prefix: "jobs_" })).toThrow(
      /already has a metric named "jobs_jobs_enqueued_total"/,
    );

    await app.enqueue(job, {});
    const w = app.worker({ jobs: [job] });
    await harness.start(w);
    await eventually(async () => expect((await app.countJobs()).completed).toBe(1));
    await w.stop();
    let e = parseExposition(await given.text());
    expect(value(e, "jobs_jobs_completed_total", { name: "j" })).toBe(1);
    expect(value(e, "app_requests_total")).toBe(7);
    expect(value(parseExposition(await own.text()), "conveyor_jobs_completed_total", { name: "j" })).toBe(1);

    given.close();
    e = parseExposition(await shared.metrics());
    expect(e.samples.filter((s) => s.name.startsWith("jobs_"))).toEqual([]);
    expect(value(e, "app_requests_total")).toBe(7);
    own.close();
    expect((await own.registry.metrics()).trim()).toBe("");
    // Closed metrics no longer listen: a second createMetrics on the same registry works again.
    const again = createMetrics(app, { registry: shared, prefix: "jobs_" });
    opened.push({ metrics: again, server: null });
    await app.enqueue(job, {});
    const w2: Worker = app.worker({ jobs: [job] });
    await harness.start(w2);
    await eventually(async () => expect((await app.countJobs()).completed).toBe(2));
    await w2.stop();
    expect(value(parseExposition(await again.text()), "jobs_jobs_completed_total", { name: "j" })).toBe(1);
  });

  it("its event-fed families behave like prom-client's own: OpenMetrics, JSON, resetMetrics", async () => {
    const app = await harness.setup();
    const job = defineJob({ name: "om", handler: () => null });
    const open = new Registry<OpenMetricsContentType>();
    open.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
    const m = createMetrics(app, { registry: open });
    opened.push({ metrics: m, server: null });
    await app.enqueue(job, {});
    const w = app.worker({ jobs: [job] });
    await harness.start(w);
    await eventually(async () => expect((await app.countJobs()).completed).toBe(1));
    await w.stop();
    const text = await m.text();
    expect(text).toContain("# TYPE conveyor_jobs_completed counter");
    expect(text).toContain('conveyor_jobs_completed_total{queue="default",name="om"} 1');
    expect(text).toContain(
      'conveyor_job_duration_seconds_bucket{queue="default",name="om",outcome="completed",le="+Inf"} 1',
    );
    expect(text.endsWith("# EOF\n")).toBe(true);
    const json = await open.getMetricsAsJSON();
    // (prom-client renames counters for OpenMetrics once exposed: conveyor_jobs_enqueued, samples _total.)
    const enqueuedJson = json.find((f) => f.name.startsWith("conveyor_jobs_enqueued"));
    expect(enqueuedJson?.type).toBe("counter");
    expect(enqueuedJson?.values).toEqual([
      { labels: { queue: "default", name: "om", outcome: "inserted" }, value: 1 },
    ]);
    open.resetMetrics();
    const after = parseExposition((await m.text()).replace("# EOF\n", ""));
    expect(value(after, "conveyor_jobs_completed_total", { name: "om" })).toBe(0);
    expect(value(after, "conveyor_job_duration_seconds_count", { name: "om" })).toBe(0);
  });

  it("counts the jobs a scheduler enqueues, and a dedupe replace by its outcome", async () => {
    const app = await harness.setup();
    const m = createMetrics(app);
    opened.push({ metrics: m, server: null });
    const tick = defineJob({ name: "tick", queue: "cron", handler: () => null });
    await app.schedule("every-20ms", { everyMs: 20 }, tick, {}, { force: true });
    const scheduler = app.scheduler({ pollMs: 10 });
    await scheduler.start();
    await eventually(async () => expect((await app.countJobs("cron")).available).toBeGreaterThanOrEqual(2));
    await scheduler.stop();
    const stored = (await app.countJobs("cron")).available;
    const pending = defineJob({ name: "pending", handler: () => null });
    await app.enqueue(pending, { v: 1 }, { key: "k", delayMs: 60_000 });
    await app.enqueue(pending, { v: 2 }, { key: "k", dedupe: "replace" });
    const e = parseExposition(await m.text());
    expect(
      value(e, "conveyor_jobs_enqueued_total", { queue: "cron", name: "tick", outcome: "inserted" }),
    ).toBe(stored);
    expect(value(e, "conveyor_jobs_enqueued_total", { name: "pending", outcome: "inserted" })).toBe(1);
    expect(value(e, "conveyor_jobs_enqueued_total", { name: "pending", outcome: "replaced" })).toBe(1);
  });

  it("ignores events other processes committed (remote: true): each process counts its own", async () => {
    const app = await harness.setup();
    const m = createMetrics(app);
    opened.push({ metrics: m, server: null });
    const job = defineJob({ name: "here", handler: () => null });
    const stored = await app.enqueue(job, {});
    // What `remoteEvents` delivers from another worker: the same payloads, marked remote.
    const remote = { remote: true } as const;
    app.events.emit("job:enqueued", { job: stored, ...remote });
    app.events.emit("job:started", { job: stored, workerId: "elsewhere", ...remote });
    app.events.emit("job:completed", { job: stored, result: null, durationMs: 5, ...remote });
    app.events.emit("job:stalled", { jobId: stored.id, outcome: "rescued", ...remote });
    const e = parseExposition(await m.text());
    expect(value(e, "conveyor_jobs_enqueued_total", { name: "here" })).toBe(1);
    expect(find(e, "conveyor_jobs_completed_total")).toEqual([]);
    expect(find(e, "conveyor_job_wait_seconds_count")).toEqual([]);
    expect(find(e, "conveyor_jobs_rescued_total")).toEqual([]);
  });

  it("collects prom-client's default process metrics only when asked", async () => {
    const app = await harness.setup();
    const plain = createMetrics(app);
    const full = createMetrics(app, { collectDefault: true });
    opened.push({ metrics: plain, server: null }, { metrics: full, server: null });
    expect((await plain.text()).includes("process_cpu_user_seconds_total")).toBe(false);
    const e = parseExposition(await full.text());
    expect(e.types.get("process_cpu_user_seconds_total")).toBe("counter");
    expect(e.types.get("nodejs_heap_size_used_bytes")).toBe("gauge");
  });

  it("rejects bad options with OptionsError naming the field", async () => {
    const app = await harness.setup();
    expect(() => createMetrics(app, { prefix: "9lives" })).toThrow(/options\.prefix/);
    expect(() => createMetrics(app, { prefix: "has-dash_" })).toThrow(OptionsError);
    expect(() => createMetrics(app, { cacheMs: -1 })).toThrow(/options\.cacheMs/);
    expect(() => createMetrics(app, { durationBuckets: [1, 0.5] })).toThrow(/options\.durationBuckets/);
    expect(() => createMetrics(app, { waitBuckets: [] })).toThrow(/options\.waitBuckets/);
    expect(() => createMetrics(app, { registry: {} as Registry })).toThrow(/options\.registry/);
    expect(() => createMetrics({} as Conveyor)).toThrow(/app must be a Conveyor app/);
    const m = createMetrics(app, { prefix: "", durationBuckets: [0.5, 1, 2] });
    opened.push({ metrics: m, server: null });
    expect((await m.text()).includes("# TYPE jobs_completed_total counter")).toBe(true);
    await expect(serveMetrics(m, { port: 70_000 })).rejects.toThrow(/options\.port/);
    await expect(serveMetrics(m, { port: 0, path: "metrics" })).rejects.toThrow(/options\.path/);
  });

  it("the handler answers GET and HEAD, refuses other methods; serveMetrics answers 404 off its path", async () => {
    const app = await harness.setup();
    const { server } = await serve(app);
    const get = await fetch(server.url);
    const body = await get.text();
    expect(get.status).toBe(200);
    expect(Number(get.headers.get("content-length"))).toBe(Buffer.byteLength(body));
    const head = await fetch(server.url, { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(head.headers.get("content-type")).toContain("text/plain; version=0.0.4");
    expect(await head.text()).toBe("");
    const post = await fetch(server.url, { method: "POST", body: "x" });
    expect(post.status).toBe(405);
    expect(post.headers.get("allow")).toBe("GET, HEAD");
    const other = await fetch(new URL("/other", server.url));
    expect(other.status).toBe(404);
    expect(await other.text()).toContain("/metrics");
    const withQuery = await fetch(`${server.url}?x=1`);
    expect(withQuery.status).toBe(200);
    await withQuery.text();
  });
});

describe("conveyor worker --metrics-port", () => {
  it("serves the worker's metrics while it runs, and stops serving when it stops", async () => {
    const { mkdtempSync, rmSync } = await import("node:fs");
    const { tmpdir } = await import("node:os");
    const { join } = await import("node:path");
    const { run } = await import("../src/cli/run.js");
    const { Conveyor } = await import("../src/conveyor.js");
    const dir = mkdtempSync(join(tmpdir(), "conveyor-metrics-cli-"));
    const url = `sqlite:${join(dir, "jobs.db")}`;
    try {
      let stdout = "";
      let stderr = "";
      let exitCode: number | null = null;
      const stop = new AbortController();
      const running = run(
        ["worker", "--jobs", "test/fixtures/jobs.mjs", "--store", url, "--metrics-port", "0"],
        {
          stdout: { write: (s: string) => (stdout += s) },
          stderr: { write: (s: string) => (stderr += s) },
          env: {},
          cwd: process.cwd(),
          signal: stop.signal,
        },
      ).then((code) => (exitCode = code));
      const metricsUrl = await eventually(() => {
        const found = /metrics at (http:\S+)/.exec(stdout)?.[1];
        if (found !== undefined) return found;
        throw new Error(`no metrics line yet (exit code ${exitCode}); stdout: ${stdout}; stderr: ${stderr}`);
      });
      expect(metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
      const app = await Conveyor.open({ store: url });
      try {
        await app.enqueue("fixture-hello", { who: "ada" }, { force: true });
        await eventually(async () => {
          const { e } = await scrape(metricsUrl);
          expect(value(e, "conveyor_jobs_completed_total", { name: "fixture-hello" })).toBe(1);
          expect(value(e, "conveyor_local_workers")).toBe(1);
          expect(value(e, "conveyor_jobs", { queue: "default", state: "completed" })).toBe(1);
        });
      } finally {
        await app.close();
      }
      stop.abort();
      expect(await running).toBe(0);
      await expect(fetch(metricsUrl)).rejects.toThrow();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("--metrics-host without --metrics-port is a usage error (exit 2)", async () => {
    const { run } = await import("../src/cli/run.js");
    let stderr = "";
    const code = await run(
      ["worker", "--jobs", "test/fixtures/jobs.mjs", "--store", "memory", "--metrics-host", "0.0.0.0"],
      {
        stdout: { write: () => true },
        stderr: { write: (s: string) => (stderr += s) },
        env: {},
        cwd: process.cwd(),
      },
    );
    expect(code).toBe(2);
    expect(stderr).toContain("--metrics-host applies to --metrics-port");
  });
});
