/**
 * Prometheus metrics for one Conveyor app (docs/guides/observability.md). Counters and histograms are fed by
 * `app.events`, so the worker's hot path pays only for the event payloads it already builds when someone listens;
 * gauges of the store (jobs by queue and state, live workers) are read on scrape, at most once per `cacheMs`.
 *
 * prom-client is loaded on the first `createMetrics` call, not when the package is imported.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createRequire } from "node:module";
import type * as PromClient from "prom-client";
import type { Conveyor } from "../conveyor.js";
import { coerceError, OptionsError } from "../errors.js";
import type { ConveyorEventName, ConveyorEvents } from "../events.js";
import type { EnqueuedJob } from "../job/dedupe.js";
import { JOB_STATES } from "../job/states.js";
import type { JobRecord, QueueInfo, WorkerRecord } from "../store/store.js";
import type { Worker } from "../worker/worker.js";

export interface MetricsOptions {
  /**
   * The prom-client Registry to register into (for an app that serves its own metrics too). Default: a new
   * registry for this app (never prom-client's global one).
   */
  registry?: PromClient.Registry<PromClient.RegistryContentType>;
  /** Prefix of every metric name. Default "conveyor_". */
  prefix?: string;
  /**
   * Also collect prom-client's default Node.js metrics (CPU, memory, event loop lag, GC) into the registry,
   * under their standard names (`process_*`, `nodejs_*`). Default false.
   */
  collectDefault?: boolean;
  /** How long a read of the store (jobs by state, live workers) is reused by later scrapes. Default 1,000 ms. */
  cacheMs?: number;
  /** Upper bounds (seconds) of `job_duration_seconds` buckets. Default: 1 ms to 10 min. */
  durationBuckets?: number[];
  /** Upper bounds (seconds) of `job_wait_seconds` buckets. Default: 1 ms to 10 min. */
  waitBuckets?: number[];
}

/** What {@link createMetrics} returns. */
export interface ConveyorMetrics {
  readonly registry: PromClient.Registry<PromClient.RegistryContentType>;
  /**
   * A node:http request handler serving the registry in the Prometheus text format (GET and HEAD; other
   * methods get 405). It ignores the path: mount it where you like (`/metrics` by convention).
   */
  handler(req: IncomingMessage, res: ServerResponse): Promise<void>;
  /** The exposition text, as the handler serves it. */
  text(): Promise<string>;
  /**
   * Stops listening to the app's events and removes these metrics from the registry (the whole registry is
   * cleared when it is this app's own). prom-client's default metrics, once collected, cannot be stopped.
   */
  close(): void;
}

/** Duration buckets: 1 ms to 10 min. */
export const DEFAULT_DURATION_BUCKETS: readonly number[] = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600,
];

const PREFIX_RE = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const requireFromHere = createRequire(import.meta.url);

/**
 * Registers Conveyor's metrics for `app` and starts counting its events. Counters count what this process did
 * (its enqueues, its workers' attempts); gauges of the store are the same from every process.
 *
 * ```ts
 * const metrics = createMetrics(app);
 * http.createServer(metrics.handler).listen(9464);   // or serveMetrics(metrics, { port: 9464 })
 * ```
 */
export function createMetrics(app: Conveyor, options: MetricsOptions = {}): ConveyorMetrics {
  if (typeof options !== "object" || options === null) {
    throw new OptionsError("createMetrics(app, options): options must be an object");
  }
  if (typeof app?.events?.on !== "function" || typeof app.listQueues !== "function") {
    throw new OptionsError("createMetrics(app): app must be a Conveyor app from Conveyor.open()");
  }
  const prefix = options.prefix ?? "conveyor_";
  if (typeof prefix !== "string" || (prefix !== "" && !PREFIX_RE.test(prefix))) {
    throw new OptionsError(
      `createMetrics options.prefix must be a Prometheus name prefix ([a-zA-Z_:][a-zA-Z0-9_:]*), got ${JSON.stringify(prefix)}`,
    );
  }
  const cacheMs = options.cacheMs ?? 1_000;
  if (typeof cacheMs !== "number" || !Number.isFinite(cacheMs) || cacheMs < 0) {
    throw new OptionsError("createMetrics options.cacheMs must be a number of milliseconds >= 0");
  }
  const durationBuckets = checkBuckets(options.durationBuckets, "durationBuckets");
  const waitBuckets = checkBuckets(options.waitBuckets, "waitBuckets");
  const prom = requireFromHere("prom-client") as typeof PromClient;
  const given = options.registry as Partial<PromClient.Registry<PromClient.RegistryContentType>> | undefined;
  if (
    given !== undefined &&
    (typeof given?.registerMetric !== "function" || typeof given.getSingleMetric !== "function")
  ) {
    throw new OptionsError("createMetrics options.registry must be a prom-client Registry");
  }
  const ownsRegistry = options.registry === undefined;
  const registry = options.registry ?? new prom.Registry();
  const name = (n: string) => `${prefix}${n}`;
  const names = [
    "jobs_enqueued_total",
    "jobs_completed_total",
    "jobs_failed_total",
    "jobs_discarded_total",
    "jobs_cancelled_total",
    "jobs_snoozed_total",
    "jobs_rescued_total",
    "worker_errors_total",
    "scheduler_errors_total",
    "job_duration_seconds",
    "job_wait_seconds",
    "jobs",
    "queue_paused",
    "store_up",
    "workers",
    "worker_slots",
    "worker_busy_slots",
    "local_workers",
    "local_worker_slots",
    "local_worker_busy_slots",
  ].map(name);
  for (const n of names) {
    if (registry.getSingleMetric(n) !== undefined) {
      throw new OptionsError(
        `createMetrics: the registry already has a metric named "${n}" (one createMetrics per registry and prefix): pass another registry or options.prefix`,
      );
    }
  }
  const registers = [registry];

  // ---- counters and histograms, fed by events ------------------------------------------------------------
  // Kept in Conveyor's own cells (see CounterFamily): an event costs a few map reads and additions, not the
  // label validation and hashing of prom-client's observe/inc (about 0.3-0.7 µs each).
  const family = <F extends CounterFamily | HistogramFamily>(f: F): F => {
    registry.registerMetric(f as unknown as PromClient.Metric);
    return f;
  };
  const enqueued = family(
    new CounterFamily(
      name("jobs_enqueued_total"),
      "Jobs stored by this process's enqueues and schedulers (outcome: inserted, replaced, debounced).",
    ),
  );
  const completed = family(
    new CounterFamily(
      name("jobs_completed_total"),
      "Attempts run by this process's workers that completed (the result is stored).",
    ),
  );
  const failed = family(
    new CounterFamily(
      name("jobs_failed_total"),
      "Attempts run by this process's workers that failed; will_retry tells whether the job runs again.",
    ),
  );
  const discarded = family(
    new CounterFamily(
      name("jobs_discarded_total"),
      "Jobs this process's workers moved to discarded (attempts exhausted, discard(), too many stalls).",
    ),
  );
  const cancelled = family(
    new CounterFamily(
      name("jobs_cancelled_total"),
      "Running jobs that ended cancelled in this process's workers (cancel() or a cancel request).",
    ),
  );
  const snoozed = family(
    new CounterFamily(
      name("jobs_snoozed_total"),
      "Attempts in this process's workers that returned snooze(ms).",
    ),
  );
  const rescued = family(
    new CounterFamily(
      name("jobs_rescued_total"),
      "Expired leases this process's workers rescued, by what became of the job (rescued, discarded, cancelled).",
    ),
  );
  const workerErrors = family(
    new CounterFamily(
      name("worker_errors_total"),
      "Store and internal errors this process's workers survived (they back off and retry).",
    ),
  ).cell({});
  const schedulerErrors = family(
    new CounterFamily(
      name("scheduler_errors_total"),
      "Store errors this process's schedulers survived (they back off and look again).",
    ),
  ).cell({});
  const duration = family(
    new HistogramFamily(
      name("job_duration_seconds"),
      "Attempt duration, from the handler's start to its end, by outcome (completed, retried, discarded, cancelled, snoozed).",
      durationBuckets,
    ),
  );
  const wait = family(
    new HistogramFamily(
      name("job_wait_seconds"),
      "Time from when a job was due (enqueue, run-at, retry or snooze time) to the start of its attempt.",
      waitBuckets,
    ),
  );
  /** The cells of one job type in one queue, made on first use. */
  interface TypeCells {
    labels: { queue: string; name: string };
    completed?: CounterCell;
    retried?: CounterCell;
    failedFinal?: CounterCell;
    discarded?: CounterCell;
    cancelled?: CounterCell;
    snoozed?: CounterCell;
    wait?: HistogramCell;
    took: Partial<Record<AttemptOutcome, HistogramCell>>;
  }
  const byQueue = new Map<string, Map<string, TypeCells>>();
  const cellsOf = (queue: string, jobName: string): TypeCells => {
    let byName = byQueue.get(queue);
    if (byName === undefined) {
      byName = new Map();
      byQueue.set(queue, byName);
    }
    let cells = byName.get(jobName);
    if (cells === undefined) {
      cells = { labels: { queue, name: jobName }, took: {} };
      byName.set(jobName, cells);
    }
    return cells;
  };
  const took = (cells: TypeCells, outcome: AttemptOutcome, ms: number) => {
    let cell = cells.took[outcome];
    if (cell === undefined) {
      cell = duration.cell({ ...cells.labels, outcome });
      cells.took[outcome] = cell;
    }
    duration.observe(cell, ms / 1000);
  };

  // ---- gauges, read on scrape ----------------------------------------------------------------------------
  const snapshot = storeSnapshot(app, cacheMs);
  new prom.Gauge({
    name: name("jobs"),
    help: "Jobs in the store by queue and state (the same from every process: aggregate with max, not sum).",
    labelNames: ["queue", "state"] as const,
    registers,
    async collect() {
      const { queues } = await snapshot();
      this.reset();
      for (const q of queues ?? []) {
        for (const state of JOB_STATES) this.set({ queue: q.name, state }, q.counts[state] ?? 0);
      }
    },
  });
  new prom.Gauge({
    name: name("queue_paused"),
    help: "1 when the queue is paused (workers claim nothing from it), else 0.",
    labelNames: ["queue"] as const,
    registers,
    async collect() {
      const { queues } = await snapshot();
      this.reset();
      for (const q of queues ?? []) this.set({ queue: q.name }, q.paused ? 1 : 0);
    },
  });
  new prom.Gauge({
    name: name("store_up"),
    help: "1 when the last read of the store for the gauges succeeded, else 0 (store gauges are then absent).",
    registers,
    async collect() {
      this.set((await snapshot()).ok ? 1 : 0);
    },
  });
  const storeWorkers = (metric: string, help: string, value: (workers: readonly WorkerRecord[]) => number) =>
    new prom.Gauge({
      name: name(metric),
      help,
      registers,
      async collect() {
        const { workers } = await snapshot();
        // Absent (not 0) when the store could not be read: zero live workers would be a false alarm.
        if (workers !== null) this.set(value(workers));
        else this.remove();
      },
    });
  storeWorkers(
    "workers",
    "Live workers in the store, every process (heartbeat not expired).",
    (ws) => ws.length,
  );
  storeWorkers("worker_slots", "Concurrency of the live workers in the store, summed.", (ws) =>
    ws.reduce((n, w) => n + w.concurrency, 0),
  );
  storeWorkers(
    "worker_busy_slots",
    "Jobs the live workers in the store were running at their last heartbeat.",
    (ws) => ws.reduce((n, w) => n + w.running.length, 0),
  );
  const local = (metric: string, help: string, value: (w: Worker) => number) =>
    new prom.Gauge({
      name: name(metric),
      help,
      registers,
      collect() {
        let total = 0;
        for (const w of app.workers) if (w.state !== "new") total += value(w);
        this.set(total);
      },
    });
  local("local_workers", "Workers of this app running in this process (started, not stopped).", () => 1);
  local("local_worker_slots", "Concurrency of this process's running workers, summed.", (w) => w.concurrency);
  local("local_worker_busy_slots", "Attempts running now in this process's workers.", (w) => w.activeCount);

  if (options.collectDefault === true) prom.collectDefaultMetrics({ register: registry });

  // ---- event listeners -----------------------------------------------------------------------------------
  const offs: Array<() => void> = [];
  // Events another process committed (re-emitted with `remote: true` under `remoteEvents`) are that process's
  // to count: counters here count this process only, so a sum over instances counts each job once.
  const on = <K extends ConveyorEventName>(event: K, fn: (e: ConveyorEvents[K]) => void) => {
    offs.push(
      app.events.on(event, (e) => {
        if ((e as { remote?: unknown }).remote !== true) fn(e);
      }),
    );
  };
  on("job:enqueued", ({ job }) => {
    // The app emits the EnqueuedJob (with `outcome`); the event's type promises only the record.
    const outcome = (job as Partial<EnqueuedJob>).outcome ?? "inserted";
    enqueued.add({ queue: job.queue, name: job.name, outcome });
  });
  on("schedule:fired", ({ jobs }) => {
    for (const job of jobs) enqueued.add({ queue: job.queue, name: job.name, outcome: "inserted" });
  });
  on("job:started", ({ job }) => {
    const cells = cellsOf(job.queue, job.name);
    cells.wait ??= wait.cell(cells.labels);
    wait.observe(cells.wait, Math.max(0, app.clock.now() - job.runAt) / 1000);
  });
  on("job:completed", ({ job, durationMs }) => {
    const cells = cellsOf(job.queue, job.name);
    cells.completed ??= completed.cell(cells.labels);
    cells.completed.value++;
    took(cells, "completed", durationMs);
  });
  on("job:failed", ({ job, willRetry, durationMs }) => {
    const cells = cellsOf(job.queue, job.name);
    if (willRetry) {
      cells.retried ??= failed.cell({ ...cells.labels, will_retry: "true" });
      cells.retried.value++;
    } else {
      cells.failedFinal ??= failed.cell({ ...cells.labels, will_retry: "false" });
      cells.failedFinal.value++;
    }
    took(cells, willRetry ? "retried" : "discarded", durationMs);
  });
  on("job:discarded", ({ job, jobId }) => {
    if (job !== null) {
      const cells = cellsOf(job.queue, job.name);
      cells.discarded ??= discarded.cell(cells.labels);
      cells.discarded.value++;
      return;
    }
    // Discarded by the rescuer (too many stalls): the event has only the id; the labels come from the store.
    void lookUp(app, jobId).then((found) =>
      discarded.add({ queue: found?.queue ?? "", name: found?.name ?? "" }),
    );
  });
  on("job:cancelled", ({ job, durationMs }) => {
    const cells = cellsOf(job.queue, job.name);
    cells.cancelled ??= cancelled.cell(cells.labels);
    cells.cancelled.value++;
    took(cells, "cancelled", durationMs);
  });
  on("job:snoozed", ({ job, durationMs }) => {
    const cells = cellsOf(job.queue, job.name);
    cells.snoozed ??= snoozed.cell(cells.labels);
    cells.snoozed.value++;
    took(cells, "snoozed", durationMs);
  });
  on("job:stalled", ({ outcome }) => rescued.add({ outcome }));
  on("worker:error", () => void workerErrors.value++);
  on("scheduler:error", () => void schedulerErrors.value++);

  let closed = false;
  const text = () => registry.metrics();
  return {
    registry,
    text,
    async handler(req, res) {
      if (req.method !== "GET" && req.method !== "HEAD") {
        res.writeHead(405, { Allow: "GET, HEAD", "Content-Type": "text/plain; charset=utf-8" });
        res.end("method not allowed: use GET\n");
        return;
      }
      let body: string;
      try {
        body = await text();
      } catch (err) {
        res.writeHead(500, { "Content-Type": "text/plain; charset=utf-8" });
        res.end(`collecting metrics failed: ${coerceError(err).message}\n`);
        return;
      }
      res.writeHead(200, {
        "Content-Type": registry.contentType,
        "Content-Length": Buffer.byteLength(body),
        "Cache-Control": "no-store",
      });
      res.end(req.method === "HEAD" ? undefined : body);
    },
    close() {
      if (closed) return;
      closed = true;
      for (const off of offs.splice(0)) off();
      if (ownsRegistry) registry.clear();
      else for (const n of names) registry.removeSingleMetric(n);
    },
  };
}

/** The outcome label of `job_duration_seconds`. */
type AttemptOutcome = "completed" | "retried" | "discarded" | "cancelled" | "snoozed";
type Labels = Readonly<Record<string, string>>;
interface CounterCell {
  readonly labels: Labels;
  value: number;
}
interface HistogramCell {
  readonly labels: Labels;
  /** Observations per bucket (not cumulative); the last one is +Inf. */
  readonly counts: Float64Array;
  sum: number;
  count: number;
}

/** A prom-client value as its Registry reads it from `get()`. */
interface MetricValue {
  labels: Labels;
  value: number;
  metricName?: string;
}

/**
 * A counter family whose cells the event listeners hold and increment directly. Registered in a prom-client
 * Registry through the shape the Registry reads from its own metrics (`name`, `help`, `type`, `aggregator`,
 * `get()` resolving to `{ name, help, type, values, aggregator }`, `reset()`), so the exposition (text or
 * OpenMetrics), `getMetricsAsJSON`, `resetMetrics` and cluster aggregation treat it like a prom-client Counter.
 */
class CounterFamily {
  readonly type = "counter";
  readonly aggregator = "sum";
  readonly #cells = new Map<string, CounterCell>();

  constructor(
    public name: string,
    readonly help: string,
  ) {}

  /** The cell of a label set (made at 0 on first use): hold it and add to `value`. */
  cell(labels: Labels): CounterCell {
    const key = Object.entries(labels).join("\u0000");
    let cell = this.#cells.get(key);
    if (cell === undefined) {
      cell = { labels, value: 0 };
      this.#cells.set(key, cell);
    }
    return cell;
  }

  /** Adds 1 to a label set's cell (for rare events: it looks the cell up). */
  add(labels: Labels): void {
    this.cell(labels).value++;
  }

  async get() {
    const values: MetricValue[] = [];
    for (const c of this.#cells.values()) values.push({ labels: c.labels, value: c.value });
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }

  reset(): void {
    for (const c of this.#cells.values()) c.value = 0;
  }
}

/** A histogram family with cells of per-bucket counts; see {@link CounterFamily} for how it is registered. */
class HistogramFamily {
  readonly type = "histogram";
  readonly aggregator = "sum";
  readonly #cells = new Map<string, HistogramCell>();
  readonly #bounds: readonly number[];

  constructor(
    public name: string,
    readonly help: string,
    bounds: readonly number[],
  ) {
    this.#bounds = bounds;
  }

  cell(labels: Labels): HistogramCell {
    const key = Object.entries(labels).join("\u0000");
    let cell = this.#cells.get(key);
    if (cell === undefined) {
      cell = { labels, counts: new Float64Array(this.#bounds.length + 1), sum: 0, count: 0 };
      this.#cells.set(key, cell);
    }
    return cell;
  }

  observe(cell: HistogramCell, value: number): void {
    const bounds = this.#bounds;
    let i = 0;
    while (i < bounds.length && value > bounds[i]!) i++;
    cell.counts[i]!++;
    cell.sum += value;
    cell.count++;
  }

  async get() {
    const values: MetricValue[] = [];
    const bucket = `${this.name}_bucket`;
    for (const c of this.#cells.values()) {
      let cumulative = 0;
      this.#bounds.forEach((le, i) => {
        cumulative += c.counts[i]!;
        values.push({ metricName: bucket, labels: { ...c.labels, le: String(le) }, value: cumulative });
      });
      values.push({ metricName: bucket, labels: { ...c.labels, le: "+Inf" }, value: c.count });
      values.push({ metricName: `${this.name}_sum`, labels: c.labels, value: c.sum });
      values.push({ metricName: `${this.name}_count`, labels: c.labels, value: c.count });
    }
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }

  reset(): void {
    for (const c of this.#cells.values()) {
      c.counts.fill(0);
      c.sum = 0;
      c.count = 0;
    }
  }
}

/** What a scrape reads from the store. `queues`/`workers` are null when the read failed or is unavailable. */
interface StoreSnapshot {
  ok: boolean;
  queues: QueueInfo[] | null;
  workers: WorkerRecord[] | null;
}

/** One read of the store shared by every gauge of a scrape, reused for `cacheMs` (real time, not the app clock). */
function storeSnapshot(app: Conveyor, cacheMs: number): () => Promise<StoreSnapshot> {
  let last: { at: number; value: Promise<StoreSnapshot>; done: boolean } | null = null;
  return () => {
    const now = performance.now();
    // Every gauge of a scrape (and any scrape meanwhile) shares a read in flight, whatever cacheMs is.
    if (last !== null && (!last.done || now - last.at < cacheMs)) return last.value;
    const value = readStore(app);
    const entry = { at: now, value, done: false };
    last = entry;
    void value.then((s) => {
      entry.done = true;
      // A failed read is not reused: the next scrape tries again.
      if (!s.ok && last === entry) last = null;
    });
    return value;
  };
}

async function readStore(app: Conveyor): Promise<StoreSnapshot> {
  try {
    const [queues, workers] = await Promise.all([app.listQueues(), app.admin.workers()]);
    return { ok: true, queues, workers };
  } catch {
    return { ok: false, queues: null, workers: null };
  }
}

async function lookUp(app: Conveyor, id: string): Promise<JobRecord | null> {
  try {
    return await app.getJob(id);
  } catch {
    return null;
  }
}

function checkBuckets(buckets: number[] | undefined, field: string): number[] {
  if (buckets === undefined) return [...DEFAULT_DURATION_BUCKETS];
  if (
    !Array.isArray(buckets) ||
    buckets.length === 0 ||
    buckets.some(
      (b, i) => typeof b !== "number" || !(b > 0) || !Number.isFinite(b) || (i > 0 && b <= buckets[i - 1]!),
    )
  ) {
    throw new OptionsError(
      `createMetrics options.${field} must be a non-empty list of increasing positive numbers of seconds`,
    );
  }
  return [...buckets];
}

/** Options of {@link serveMetrics}. */
export interface ServeMetricsOptions {
  /** TCP port; 0 picks a free one (see the returned `port`). */
  port: number;
  /** Interface to listen on. Default "127.0.0.1" (this machine only). */
  host?: string;
  /** Path the metrics are served at. Default "/metrics". */
  path?: string;
}

/** A running metrics server (see {@link serveMetrics}). */
export interface MetricsServer {
  /** The port it listens on (the one picked, with port 0). */
  readonly port: number;
  /** `http://host:port/path`. */
  readonly url: string;
  readonly server: Server;
  /** Stops listening and closes open connections. */
  close(): Promise<void>;
}

/**
 * Serves `metrics` over HTTP at `path` (404 elsewhere) until `close()`. What `conveyor worker --metrics-port`
 * runs; an app with its own HTTP server mounts `metrics.handler` instead.
 */
export async function serveMetrics(
  metrics: ConveyorMetrics,
  options: ServeMetricsOptions,
): Promise<MetricsServer> {
  const { port } = options;
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new OptionsError(`serveMetrics options.port must be an integer from 0 to 65535, got ${port}`);
  }
  const host = options.host ?? "127.0.0.1";
  const path = options.path ?? "/metrics";
  if (typeof path !== "string" || !path.startsWith("/")) {
    throw new OptionsError('serveMetrics options.path must start with "/"');
  }
  const server = createServer((req, res) => {
    const url = (req.url ?? "/").split("?")[0];
    if (url === path) {
      void metrics.handler(req, res);
      return;
    }
    res.writeHead(404, { "Content-Type": "text/plain; charset=utf-8" });
    res.end(`not found: metrics are at ${path}\n`);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address();
  const actual = typeof address === "object" && address !== null ? address.port : port;
  const shownHost = host.includes(":") ? `[${host}]` : host;
  return {
    port: actual,
    url: `http://${shownHost}:${actual}${path}`,
    server,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}
