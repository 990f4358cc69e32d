/** What a CLI run reads and writes: injected so tests run commands in-process with captured streams. */
export interface CliStream {
  write(chunk: string): unknown;
  /** True when the stream is a terminal: progress bars and live output are drawn only then. */
  isTTY?: boolean;
  columns?: number;
}

/** The CLI's world: its output streams, environment and working directory, and an optional stop signal. */
export interface CliIO {
  stdout: CliStream;
  stderr: CliStream;
  env: Record<string, string | undefined>;
  /** Directory relative paths (`--jobs`, `sqlite:./x.db`) resolve against. Default `process.cwd()`. */
  cwd?: string;
  /**
   * Stops long-running commands (`worker`, an interactive `demo`) as SIGTERM would. When absent, those
   * commands listen for SIGTERM and SIGINT on the process.
   */
  signal?: AbortSignal;
}

/** A bad flag, argument or value: printed as `error: ...` with exit code 2, before anything is touched. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** Writes one line (a newline is appended). */
export function println(stream: CliStream, line = ""): void {
  stream.write(`${line}\n`);
}

/**
 * Resolves on SIGINT or SIGTERM (or when `io.signal` aborts), keeping the process alive until then: how the
 * long-running commands (`dashboard`, an interactive `demo`) wait for Ctrl-C.
 */
export function waitForStop(io: CliIO): Promise<void> {
  return new Promise<void>((resolve) => {
    const keepAlive = setInterval(() => {}, 60_000);
    const stop = (): void => {
      clearInterval(keepAlive);
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      resolve();
    };
    if (io.signal) {
      if (io.signal.aborted) stop();
      else io.signal.addEventListener("abort", stop, { once: true });
    } else {
      process.on("SIGINT", stop);
      process.on("SIGTERM", stop);
    }
  });
}
