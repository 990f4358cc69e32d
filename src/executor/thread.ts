import { Worker } from "node:worker_threads";
import { OptionsError } from "../errors.js";
import { assertInt } from "../job/define.js";
import { childEntry } from "./entry.js";
import type { ChildExit, PoolOptions, Spawn } from "./pool.js";
import { PooledExecutor } from "./pooled-executor.js";
import type { ChildMessage } from "./protocol.js";

/** Options of the thread executor: the pool's, plus the V8 heap limit of each thread. */
export interface ThreadExecutorOptions extends PoolOptions {
  /**
   * Each thread's old-generation heap limit (worker_threads `resourceLimits.maxOldGenerationSizeMb`): a
   * thread past it is ended by V8 and its job fails with a crash ("ran out of memory"). Default: Node's.
   */
  maxMemoryMb?: number;
}

/**
 * Runs each job's handler module in a pool of worker threads. A thread has its own event loop and heap, so a
 * hang, an uncaught exception or an out-of-memory death ends only that thread: the job fails with a crash (or
 * a timeout) and a fresh thread takes its place. A thread is NOT a security boundary: it shares the process,
 * its file descriptors, environment and native memory, and `process.exit()` in a thread ends only the thread
 * but native addons can still take the process down. Data and results cross as structured clones.
 */
export class ThreadExecutor extends PooledExecutor {
  constructor(options: ThreadExecutorOptions = {}) {
    validatePoolOptions(options, "thread executor options");
    assertInt(options.maxMemoryMb, "thread executor options.maxMemoryMb", 8);
    const entry = childEntry("child-thread");
    const limits = options.maxMemoryMb ? { maxOldGenerationSizeMb: options.maxMemoryMb } : undefined;
    const spawn: Spawn = (onMessage, onExit) => {
      const worker = new Worker(entry, limits ? { resourceLimits: limits } : {});
      let error: Error | undefined;
      worker.on("message", (m: ChildMessage) => onMessage(m));
      worker.on("error", (err) => {
        error = err;
      });
      worker.on("exit", (code) => onExit({ code, signal: null, error } satisfies ChildExit));
      return {
        send: (message) => worker.postMessage(message),
        kill: () => void worker.terminate(),
        ref: (on) => (on ? worker.ref() : worker.unref()),
      };
    };
    super("thread", spawn, options);
  }
}

/** Checks the options shared by the thread and process executors. @internal */
export function validatePoolOptions(o: PoolOptions, field: string): void {
  if (typeof o !== "object" || o === null) throw new OptionsError(`${field} must be an object`);
  assertInt(o.maxWorkers, `${field}.maxWorkers`, 1, 1_024);
  assertInt(o.minIdle, `${field}.minIdle`, 0, 1_024);
  assertInt(o.maxInitializing, `${field}.maxInitializing`, 1, 1_024);
  assertInt(o.initTimeoutMs, `${field}.initTimeoutMs`, 1);
  assertInt(o.idleTimeoutMs, `${field}.idleTimeoutMs`, 1);
  assertInt(o.pingIntervalMs, `${field}.pingIntervalMs`, 1);
  assertInt(o.pingTimeoutMs, `${field}.pingTimeoutMs`, 1);
  assertInt(o.maxPipelined, `${field}.maxPipelined`, 0, 64);
  assertInt(o.maxJobsPerWorker, `${field}.maxJobsPerWorker`, 1);
  assertInt(o.recycleMemoryMb, `${field}.recycleMemoryMb`, 1);
  assertInt(o.killGraceMs, `${field}.killGraceMs`, 0);
  assertInt(o.respawnBackoffMs, `${field}.respawnBackoffMs`, 0);
  assertInt(o.respawnBackoffMaxMs, `${field}.respawnBackoffMaxMs`, 0);
  if (o.circuitBreaker !== undefined) {
    assertInt(o.circuitBreaker.maxCrashes, `${field}.circuitBreaker.maxCrashes`, 1);
    assertInt(o.circuitBreaker.windowMs, `${field}.circuitBreaker.windowMs`, 1);
    assertInt(o.circuitBreaker.cooldownMs, `${field}.circuitBreaker.cooldownMs`, 0);
  }
}
