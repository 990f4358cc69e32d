import { availableParallelism } from "node:os";
import type { ExecutionRequest, Executor } from "./executor.js";
import { Pool, type PoolOptions, type Spawn } from "./pool.js";

/**
 * What the thread and process executors share: a {@link Pool} of children started by their own `Spawn`, and
 * the Executor calls delegated to it. Subclasses only say how a child is started.
 */
export abstract class PooledExecutor implements Executor {
  readonly kind: "thread" | "process";
  readonly isolation: "thread" | "process";
  readonly #pool: Pool;

  protected constructor(kind: "thread" | "process", spawn: Spawn, options: PoolOptions) {
    this.kind = kind;
    this.isolation = kind;
    this.#pool = new Pool(kind, spawn, options, Math.max(2, availableParallelism()));
  }

  /** Children alive now. */
  get size(): number {
    return this.#pool.size;
  }

  /** Starts the prewarmed children; `run` also starts the pool on first use. */
  start(): Promise<void> {
    return this.#pool.start();
  }

  run(request: ExecutionRequest): Promise<unknown> {
    return this.#pool.run(request);
  }

  close(): Promise<void> {
    return this.#pool.close();
  }
}
