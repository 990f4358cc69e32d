import { fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import { assertInt } from "../job/define.js";
import { childEntry } from "./entry.js";
import type { PoolOptions, Spawn } from "./pool.js";
import { PooledExecutor } from "./pooled-executor.js";
import type { ChildMessage } from "./protocol.js";
import { validatePoolOptions } from "./thread.js";

/** Options of the process executor: the pool's, plus each process's heap limit and Node flags. */
export interface ProcessExecutorOptions extends PoolOptions {
  /**
   * Each process's V8 heap limit (`--max-old-space-size`): past it the process dies and its job fails with a
   * crash ("ran out of memory"). Default: Node's. Pair with `recycleMemoryMb` (RSS sampled after each job and
   * on pings) to recycle a growing process before it dies.
   */
  maxMemoryMb?: number;
  /** Node flags of each process. Default: the parent's `process.execArgv` (so loaders such as tsx carry over). */
  execArgv?: string[];
  /** Environment of each process. Default: the parent's. */
  env?: NodeJS.ProcessEnv;
}

/** Bytes of a process's stderr kept to explain its death. */
const STDERR_TAIL = 4_096;

/**
 * Runs each job's handler module in a pool of child processes (`child_process.fork`, advanced serialisation:
 * data and results cross as structured clones). A process is an OS-level boundary for crashes, hangs,
 * `process.exit`, native crashes and memory; it is not a sandbox (same user, same file system, same network).
 * A job that ignores its aborted `ctx.signal` past `killGraceMs` is stopped with SIGKILL.
 */
export class ProcessExecutor extends PooledExecutor {
  constructor(options: ProcessExecutorOptions = {}) {
    validatePoolOptions(options, "process executor options");
    assertInt(options.maxMemoryMb, "process executor options.maxMemoryMb", 8);
    const entry = fileURLToPath(childEntry("child-process"));
    const execArgv = [...(options.execArgv ?? process.execArgv)];
    if (options.maxMemoryMb) execArgv.push(`--max-old-space-size=${options.maxMemoryMb}`);
    const spawn: Spawn = (onMessage, onExit) => {
      const child = fork(entry, [], {
        execArgv,
        env: options.env ?? process.env,
        serialization: "advanced",
        stdio: ["ignore", "inherit", "pipe", "ipc"],
      });
      let tail = "";
      // stderr alone must not keep the worker's process alive.
      (child.stderr as { unref?: () => void } | null)?.unref?.();
      child.stderr?.on("data", (chunk: Buffer) => {
        process.stderr.write(chunk);
        tail = (tail + chunk.toString("utf8")).slice(-STDERR_TAIL);
      });
      let ended = false;
      const end = (code: number | null, signal: string | null, error?: Error) => {
        if (ended) return;
        ended = true;
        onExit({ code, signal, error, detail: tail });
      };
      child.on("message", (m) => onMessage(m as ChildMessage));
      child.on("error", (err) => {
        if (child.exitCode === null && child.signalCode === null && child.pid === undefined)
          end(null, null, err);
      });
      child.on("close", (code, signal) => end(code, signal));
      return {
        send: (message) => {
          if (!child.connected) throw new Error("the process's IPC channel is closed");
          child.send(message);
        },
        kill: () => {
          child.kill("SIGKILL");
        },
        ref: (on) => {
          const channel = child.channel as { ref?: () => void; unref?: () => void } | null | undefined;
          if (on) {
            child.ref();
            channel?.ref?.();
          } else {
            child.unref();
            channel?.unref?.();
          }
        },
      };
    };
    super("process", spawn, options);
  }
}
