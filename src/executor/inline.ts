import type { ExecutionRequest, Executor } from "./executor.js";

/**
 * Runs the handler in the worker's own event loop: no isolation and no overhead. A handler that blocks the
 * event loop also blocks heartbeats (its lease can expire and the job be rescued); a handler that ignores
 * `ctx.signal` cannot be stopped, only abandoned; a crash or `process.exit` takes the worker down. Use the
 * thread or process executor for untrusted, heavy or crash-prone work.
 */
export class InlineExecutor implements Executor {
  readonly kind = "inline" as const;
  readonly isolation = "none" as const;

  run({ handler, data, ctx }: ExecutionRequest): Promise<unknown> {
    try {
      return Promise.resolve(handler(data, ctx));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  async close(): Promise<void> {}
}
