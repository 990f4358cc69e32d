import { EventEmitter } from "node:events";
import type { AttemptError, JobRecord } from "./store/store.js";

/**
 * Every in-process event, by name. Names are `scope:verb`. Payloads are plain objects; `job` is a snapshot
 * of the job as the worker saw it when the event happened (not re-read from the store).
 */
export interface ConveyorEvents {
  /** A job was stored by `enqueue` / `enqueueMany` in this process. */
  "job:enqueued": { job: JobRecord } & RemoteMark;
  /** A worker began an attempt. */
  "job:started": { job: JobRecord; workerId: string } & RemoteMark;
  /** `ctx.progress` was called. */
  "job:progress": { job: JobRecord; progress: unknown } & RemoteMark;
  /** `ctx.log` was called. */
  "job:log": { job: JobRecord; level: string; message: string } & RemoteMark;
  /** The handler returned; the result is stored. */
  "job:completed": { job: JobRecord; result: unknown; durationMs: number } & RemoteMark;
  /**
   * An attempt failed. `willRetry` tells whether it goes to `retryable` (at `retryAt`) or `discarded`.
   * `durationMs`: from the attempt's start to its failure.
   */
  "job:failed": {
    job: JobRecord;
    error: AttemptError;
    willRetry: boolean;
    retryAt: number | null;
    durationMs: number;
  } & RemoteMark;
  /** The job reached `discarded` (attempts exhausted, a discard outcome, or too many stalls). */
  "job:discarded": { job: JobRecord | null; jobId: string; reason: string } & RemoteMark;
  /** The handler returned `snooze(ms)`. */
  "job:snoozed": { job: JobRecord; runAt: number; durationMs: number } & RemoteMark;
  /** The job reached `cancelled` while running (cancel outcome or a cancel request). */
  "job:cancelled": { job: JobRecord; reason: string; durationMs: number } & RemoteMark;
  /** A lease expired and the rescuer acted on the job. */
  "job:stalled": { jobId: string; outcome: "rescued" | "discarded" | "cancelled" } & RemoteMark;
  "worker:started": { workerId: string };
  "worker:stopped": { workerId: string; released: number };
  /** A store or internal error the worker survived (it backs off and retries). */
  "worker:error": { workerId: string; error: Error };
  /** A scheduler enqueued the jobs of a schedule's due ticks (`ticks` may be empty: catch-up dropped them). */
  "schedule:fired": { scheduleId: string; schedulerId: string; ticks: number[]; jobs: JobRecord[] };
  "scheduler:started": { schedulerId: string };
  "scheduler:stopped": { schedulerId: string };
  /** A store error the scheduler survived (it backs off and looks again). */
  "scheduler:error": { schedulerId: string; error: Error };
}

export type ConveyorEventName = keyof ConveyorEvents;

/**
 * Set on a job event that another process committed and the store carried here (`Conveyor.open({
 * remoteEvents: true })` on a store that can, such as Redis); absent on the events of this process. The
 * payload has the same shape, with `job` as the store held it right after the change.
 */
export interface RemoteMark {
  remote?: true;
}

/** A store that carries job events between processes (the Redis store); see `ConveyorOptions.remoteEvents`. */
export interface RemoteEventSource {
  /** Delivers events committed by other processes until the returned function is called. */
  subscribeEvents(listener: (event: { name: ConveyorEventName; payload: object }) => void): () => void;
}

/**
 * A typed wrapper over Node's EventEmitter. A listener that throws does not break the emitter or the worker:
 * the error is reported on stderr (listeners are the app's code; they must not take the worker down).
 */
export class TypedEmitter<E extends { [K in keyof E]: object }> {
  readonly #ee = new EventEmitter({ captureRejections: false });

  constructor() {
    this.#ee.setMaxListeners(0);
  }

  on<K extends keyof E & string>(name: K, listener: (event: E[K]) => void): () => void {
    this.#ee.on(name, listener);
    return () => this.#ee.off(name, listener);
  }

  once<K extends keyof E & string>(name: K, listener: (event: E[K]) => void): () => void {
    this.#ee.once(name, listener);
    return () => this.#ee.off(name, listener);
  }

  off<K extends keyof E & string>(name: K, listener: (event: E[K]) => void): void {
    this.#ee.off(name, listener);
  }

  /** True when someone listens: emitters skip building payloads otherwise (hot path). */
  has(name: keyof E & string): boolean {
    return this.#ee.listenerCount(name) > 0;
  }

  emit<K extends keyof E & string>(name: K, event: E[K]): void {
    const listeners = this.#ee.listeners(name) as Array<(event: E[K]) => void>;
    for (const listener of listeners) {
      try {
        const r = listener(event) as unknown;
        if (r instanceof Promise) r.catch((err) => reportListenerError(name, err));
      } catch (err) {
        reportListenerError(name, err);
      }
    }
  }
}

function reportListenerError(name: string, err: unknown): void {
  process.emitWarning(`conveyor: a "${name}" listener threw: ${String((err as Error)?.stack ?? err)}`);
}
