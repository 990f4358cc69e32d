import { JobCancelledError, JobTimeoutError } from "../job/attempt-errors.js";
import { type BatchContext, type BatchItem, batchLengthError } from "../job/batch.js";
import type { AnyJobDefinition } from "../job/define.js";
import { validateData } from "../job/validate.js";
import { endBatchSpan, runInSpan, startBatchSpan } from "../observability/tracing.js";
import type { JobRecord } from "../store/store.js";
import { Attempt, type AttemptEnv, type SettledAttempt } from "./attempt.js";
import { LazyAbort } from "./lazy-abort.js";
import type { Middleware } from "./middleware.js";

/** An item on its way into the batch handler, and where its entry goes. */
interface Entry {
  index: number;
  item: BatchItem<unknown>;
  resolve(value: unknown): void;
  reject(err: unknown): void;
}

/**
 * One run of a batch handler over several jobs of one type. Each job keeps its own {@link Attempt} (context,
 * signal, progress, logs, outcome mapping, events); this class runs validation, middleware and the handler once
 * for all of them and hands each job its entry of the returned array.
 *
 * - The batch's timeout is the smallest `timeoutMs` of its jobs (the type's unless overridden at enqueue): it
 *   aborts the batch signal and fails every job still undecided with a timeout error.
 * - {@link abort} (shutdown, timeout) ends the batch at once; {@link abortJob} (a cancel request, a lost lease)
 *   decides one job and leaves the others running: that job's entry is ignored when the handler returns.
 * - Middleware runs per job around its share of the batch: the batch handler starts once every job's chain has
 *   called `next()` (or ended without calling it), and each `next()` resolves with that job's entry.
 */
export class BatchAttempt {
  readonly attempts: readonly Attempt[];
  /** Resolves once every job's outcome is decided, with one settled attempt per job. */
  readonly promise: Promise<SettledAttempt[]>;
  readonly #env: AttemptEnv;
  readonly #def: AnyJobDefinition;
  readonly #abort = new LazyAbort();
  #cancelTimeout: (() => void) | null = null;
  #ended = false;
  #end!: () => void;

  constructor(env: AttemptEnv, def: AnyJobDefinition, jobs: readonly JobRecord[]) {
    this.#env = env;
    this.#def = def;
    this.attempts = jobs.map((job) => new Attempt(env, def, job, true));
    const ended = new Promise<void>((resolve) => {
      this.#end = resolve;
    });
    this.promise = ended.then(() => Promise.all(this.attempts.map((a) => a.promise)));
    for (const a of this.attempts) if (a.job.cancelRequested) a.abort(new JobCancelledError());
    let timeoutMs = 0;
    for (const job of jobs) {
      const t = job.timeoutMs ?? def.timeoutMs ?? 0;
      if (t > 0 && (timeoutMs === 0 || t < timeoutMs)) timeoutMs = t;
    }
    if (timeoutMs > 0) {
      this.#cancelTimeout = env.clock.setTimeout(() => this.abort(new JobTimeoutError(timeoutMs)), timeoutMs);
    }
    // One CONSUMER span per run of the batch handler, linked to every job's creation context (null: tracing off).
    const span = startBatchSpan(def.name, jobs, env.workerId);
    if (span !== null) {
      const ids = jobs.map((j) => j.id);
      void this.promise.then((settled) => endBatchSpan(span, settled, ids));
    }
    let run: Promise<void>;
    try {
      run = span === null ? this.#run() : runInSpan(span, () => this.#run());
    } catch (err) {
      run = Promise.reject(err);
    }
    run.then(
      () => this.#finish(null),
      (err) => this.#finish(err),
    );
  }

  /** The batch handler's `ctx.signal`, created on first use. */
  get signal(): AbortSignal {
    return this.#abort.signal;
  }

  /** Aborts the whole batch: every signal fires and every undecided job settles with what `reason` implies. */
  abort(reason: Error): void {
    if (this.#ended || !this.#abort.abort(reason)) return;
    for (const a of this.attempts) a.abort(reason);
    this.#finish(null);
  }

  /** Aborts one job of the batch (its item's signal fires; its outcome is decided now, written with the batch). */
  abortJob(id: string, reason: Error): void {
    for (const a of this.attempts) if (a.job.id === id) a.abort(reason);
  }

  /** Ends the batch: a thrown error (or a wrong return) fails every job still undecided. */
  #finish(err: unknown): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#cancelTimeout?.();
    if (err !== null) for (const a of this.attempts) a.fail(err);
    // Unreachable when the handler returned normally (every job got an entry); kept so a job cannot hang.
    for (const a of this.attempts) a.fail(new Error("the batch ended without an entry for this job"));
    this.#end();
  }

  async #run(): Promise<void> {
    const def = this.#def;
    const live: Array<{ attempt: Attempt; item: BatchItem<unknown> }> = [];
    for (const attempt of this.attempts) {
      if (attempt.done) continue;
      let data = attempt.job.data;
      if (def.schema) {
        try {
          data = await validateData(def.name, def.schema, data);
        } catch (err) {
          attempt.fail(err); // a ValidationError: that job is discarded, the others still run
          continue;
        }
      }
      live.push({ attempt, item: Object.assign(attempt.context(), { data }) });
    }
    const pending = live.filter((l) => !l.attempt.done);
    if (pending.length === 0 || this.#ended) return;
    const middleware = this.#env.middleware;
    if (!middleware) {
      await this.#invoke(
        pending.map(({ attempt, item }, index) => ({
          index,
          item,
          resolve: (value) => attempt.finish(value),
          reject: (err) => attempt.fail(err),
        })),
      );
      return;
    }
    await this.#invokeWrapped(pending, middleware);
  }

  /** Runs each job's middleware chain; the batch handler runs once every chain reached `next()` or ended. */
  async #invokeWrapped(
    live: Array<{ attempt: Attempt; item: BatchItem<unknown> }>,
    middleware: Middleware,
  ): Promise<void> {
    const entered: Entry[] = [];
    let outstanding = live.length;
    let allArrived!: () => void;
    const arrivals = new Promise<void>((resolve) => {
      allArrived = resolve;
    });
    const chains = live.map(({ attempt, item }, index) => {
      let arrived = false;
      const arrive = () => {
        if (arrived) return;
        arrived = true;
        if (--outstanding === 0) allArrived();
      };
      let resolve!: (value: unknown) => void;
      let reject!: (err: unknown) => void;
      const share = new Promise<unknown>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      const next = () => {
        if (!arrived) entered.push({ index, item, resolve, reject });
        arrive();
        return share;
      };
      // The chain's value is what the job's share of the batch resolved with (as for a single job).
      void (async () => middleware(item, next))().then(
        (value) => attempt.finish(value),
        (err) => attempt.fail(err),
      );
      // A chain that ends (or throws) without calling next() takes no part in the batch.
      void attempt.promise.then(arrive);
      return attempt.promise;
    });
    await arrivals;
    entered.sort((a, b) => a.index - b.index);
    await this.#invoke(entered);
    await Promise.all(chains);
  }

  /** Calls the batch handler once and hands each entry its value; a throw or a wrong return fails them all. */
  async #invoke(entries: Entry[]): Promise<void> {
    if (entries.length === 0 || this.#ended) return;
    const def = this.#def;
    const items = entries.map((e) => e.item);
    let results: unknown;
    try {
      results = await def.batchHandler!(items, this.#context());
      if (!Array.isArray(results) || results.length !== items.length) {
        throw batchLengthError(def.name, items.length, results);
      }
    } catch (err) {
      for (const e of entries) e.reject(err);
      return;
    }
    const list = results as unknown[];
    entries.forEach((e, i) => {
      const entry = list[i];
      if (entry instanceof Error) e.reject(entry);
      else e.resolve(entry);
    });
  }

  #context(): BatchContext {
    const batch = this;
    return {
      name: this.#def.name,
      get signal() {
        return batch.signal;
      },
    };
  }
}
