/**
 * Job events across processes. The store's scripts append the events of each call (when at least one feed
 * listens anywhere) as one entry of the capped stream `{prefix}:events`; a feed reads it with XREAD BLOCK on
 * a connection of its own and hands each event of another store instance to its listeners, shaped as the
 * in-process event of the same name with `remote: true`.
 *
 * Delivery: every event committed after the feed started is delivered once, in commit order, while the feed
 * runs, including across reconnects (it resumes after the last entry it read), unless the reader falls more
 * than the stream's bound (`eventStreamMaxLen` entries, one per script call) behind, in which case the
 * trimmed entries are skipped. Nothing is replayed from before the feed started; events of this store
 * instance itself are never delivered (its app already emitted them).
 */
import type { Redis } from "ioredis";
import type { ConveyorEventName, ConveyorEvents } from "../events.js";
import type { AttemptError, JobLogEntry, JobRecord } from "../store/store.js";
import { decodeJobMap } from "./codec.js";
import type { RedisConnection } from "./connection.js";
import type { RedisKeys } from "./keys.js";

/** One event from another store instance. */
export interface RemoteEvent<K extends ConveyorEventName = ConveyorEventName> {
  name: K;
  payload: ConveyorEvents[K];
  /** The instance id of the store that committed it. */
  origin: string;
}

export type RemoteEventListener = (event: RemoteEvent) => void;

/** How long the presence key lives without a refresh, and how often a running feed refreshes it. */
const PRESENCE_TTL_MS = 30_000;
const PRESENCE_REFRESH_MS = 10_000;
const BLOCK_MS = 2_000;

interface RawEvent {
  t: "enqueued" | "started" | "finished" | "stalled" | "progress" | "log";
  j: Record<string, string>;
  o?: string;
  w?: string;
  n?: string;
  l?: string;
}

/** Reads `{prefix}:events` for the listeners of one store instance. */
export class RedisEventFeed {
  readonly #conn: RedisConnection;
  readonly #keys: RedisKeys;
  readonly #origin: string;
  readonly #maxLen: number;
  readonly #listeners = new Set<RemoteEventListener>();
  #reader: Redis | null = null;
  #running: Promise<void> | null = null;
  #ready: Promise<void> | null = null;
  #refresh: NodeJS.Timeout | null = null;
  #stopped = true;
  #lastId = "0-0";

  constructor(conn: RedisConnection, keys: RedisKeys, origin: string, maxLen: number) {
    this.#conn = conn;
    this.#keys = keys;
    this.#origin = origin;
    this.#maxLen = maxLen;
  }

  /** Adds a listener (starting the feed for the first); returns its removal (stopping the feed after the last). */
  add(listener: RemoteEventListener): () => void {
    this.#listeners.add(listener);
    if (this.#stopped) this.#start();
    return () => {
      this.#listeners.delete(listener);
      if (this.#listeners.size === 0) void this.#stop();
    };
  }

  /** Resolves once the feed reads the stream (events committed from then on are delivered). */
  ready(): Promise<void> {
    return this.#ready ?? Promise.resolve();
  }

  #start(): void {
    this.#stopped = false;
    const client = this.#conn.client;
    const reader = client.duplicate({
      connectionName: `${client.options.connectionName ?? "conveyor"}:events`,
    });
    reader.on("error", () => {
      // Reconnection is automatic; the read loop retries.
    });
    this.#reader = reader;
    this.#ready = (async () => {
      // The last entry first, then the presence key: no entry written after the key can sort before it.
      const last = (await client.xrevrange(this.#keys.key("events"), "+", "-", "COUNT", 1)) as Array<
        [string, string[]]
      >;
      this.#lastId = last[0]?.[0] ?? "0-0";
      await this.#announce();
      await reader.connect().catch(() => {});
    })();
    this.#refresh = setInterval(() => void this.#announce().catch(() => {}), PRESENCE_REFRESH_MS);
    this.#refresh.unref();
    this.#running = this.#ready.then(
      () => this.#loop(reader),
      () => this.#loop(reader),
    );
  }

  /** Tells the scripts that someone listens, and the stream's bound. */
  async #announce(): Promise<void> {
    await this.#conn.client.set(this.#keys.key("evon"), String(this.#maxLen), "PX", PRESENCE_TTL_MS);
  }

  async #loop(reader: Redis): Promise<void> {
    const key = this.#keys.key("events");
    while (!this.#stopped) {
      let reply: Array<[string, Array<[string, string[]]>]> | null;
      try {
        reply = (await reader.xread(
          "COUNT",
          256,
          "BLOCK",
          BLOCK_MS,
          "STREAMS",
          key,
          this.#lastId,
        )) as typeof reply;
      } catch {
        if (this.#stopped) return;
        await new Promise((r) => setTimeout(r, 250).unref());
        continue;
      }
      if (reply === null) continue;
      for (const [, entries] of reply) {
        for (const [id, fields] of entries) {
          this.#lastId = id;
          this.#deliver(fields);
        }
      }
    }
  }

  #deliver(fields: string[]): void {
    let origin = "";
    let text = "[]";
    for (let i = 0; i < fields.length; i += 2) {
      if (fields[i] === "o") origin = fields[i + 1]!;
      else if (fields[i] === "e") text = fields[i + 1]!;
    }
    if (origin === this.#origin || this.#listeners.size === 0) return;
    let raw: RawEvent[];
    try {
      raw = JSON.parse(text) as RawEvent[];
    } catch {
      return;
    }
    for (const r of raw) {
      for (const event of toEvents(r, origin)) {
        for (const listener of this.#listeners) {
          try {
            listener(event);
          } catch (err) {
            process.emitWarning(
              `conveyor: a remote event listener threw: ${String((err as Error)?.stack ?? err)}`,
            );
          }
        }
      }
    }
  }

  async #stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    if (this.#refresh !== null) clearInterval(this.#refresh);
    this.#refresh = null;
    const reader = this.#reader;
    this.#reader = null;
    reader?.disconnect();
    await this.#running?.catch(() => {});
  }

  /** Stops reading and closes the feed's connection. */
  async close(): Promise<void> {
    this.#listeners.clear();
    await this.#stop();
  }
}

function lastError(job: JobRecord): AttemptError {
  return (
    job.errors[job.errors.length - 1] ?? {
      attempt: job.attempt,
      at: 0,
      kind: "handler",
      message: "",
      name: "Error",
    }
  );
}

/** The in-process events a raw stream event stands for. */
export function toEvents(r: RawEvent, origin: string): RemoteEvent[] {
  const job = decodeJobMap(r.j);
  const out: RemoteEvent[] = [];
  const add = <K extends ConveyorEventName>(name: K, payload: ConveyorEvents[K]) =>
    out.push({ name, payload: { ...payload, remote: true } as ConveyorEvents[K], origin } as RemoteEvent);
  const now = r.n === undefined ? null : Number(r.n);
  const durationMs = now !== null && job.attemptedAt !== null ? Math.max(0, now - job.attemptedAt) : 0;
  switch (r.t) {
    case "enqueued":
      add("job:enqueued", { job });
      break;
    case "started":
      add("job:started", { job, workerId: r.w ?? "" });
      break;
    case "progress":
      add("job:progress", { job, progress: job.progress });
      break;
    case "log": {
      const lines = JSON.parse(r.l ?? "[]") as JobLogEntry[];
      for (const line of lines) add("job:log", { job, level: line.level, message: line.message });
      break;
    }
    case "stalled": {
      const outcome = (r.o ?? "rescued") as "rescued" | "discarded" | "cancelled";
      add("job:stalled", { jobId: job.id, outcome });
      if (outcome === "discarded")
        add("job:discarded", { job, jobId: job.id, reason: "stalled too many times" });
      break;
    }
    case "finished":
      switch (r.o) {
        case "complete":
          add("job:completed", { job, result: job.result, durationMs });
          break;
        case "retry":
          add("job:failed", { job, error: lastError(job), willRetry: true, retryAt: job.runAt, durationMs });
          break;
        case "discard": {
          const error = lastError(job);
          add("job:failed", { job, error, willRetry: false, retryAt: null, durationMs });
          add("job:discarded", { job, jobId: job.id, reason: error.message });
          break;
        }
        case "snooze":
          add("job:snoozed", { job, runAt: job.runAt, durationMs });
          break;
        case "cancel":
          add("job:cancelled", { job, reason: lastError(job).message, durationMs });
          break;
        default:
          break;
      }
      break;
  }
  return out;
}
