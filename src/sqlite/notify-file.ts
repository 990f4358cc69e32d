import { closeSync, type FSWatcher, openSync, watch, writeSync } from "node:fs";

/** How often to try again to watch the file when the watch failed. */
const REARM_MS = 1_000;
const BYTE = Buffer.from([1]);

/**
 * Cross-process wake-ups for one SQLite database, through a small side file (`<db>-notify`).
 *
 * After a commit that may make jobs available (an insert, a retry, a release...), the writing process writes
 * one byte to the file; every process watching it gets an inotify event (`fs.watch`) within microseconds. The
 * byte is written after the commit returns, so a woken worker always finds the new rows: unlike watching the
 * WAL file, no "has it committed yet?" polling is needed. Best effort: if the file cannot be written or watched,
 * nothing breaks (workers also poll); the watch is re-armed every second until it works.
 */
export class NotifyFile {
  readonly path: string;
  #fd: number | null = null;
  #watcher: FSWatcher | null = null;
  #rearm: NodeJS.Timeout | null = null;
  #onEvent: (() => void) | null = null;

  constructor(path: string) {
    this.path = path;
  }

  /** Wakes the other processes' watchers. Never throws. */
  announce(): void {
    try {
      if (this.#fd === null) this.#fd = openSync(this.path, "a+");
      writeSync(this.#fd, BYTE, 0, 1, 0);
    } catch {
      this.#closeFd();
    }
  }

  /** Calls `onEvent` on every announcement (including this process's own). Idempotent. */
  watch(onEvent: () => void): void {
    this.#onEvent = onEvent;
    this.#arm();
  }

  unwatch(): void {
    this.#onEvent = null;
    if (this.#rearm) clearTimeout(this.#rearm);
    this.#rearm = null;
    try {
      this.#watcher?.close();
    } catch {
      // already closed
    }
    this.#watcher = null;
  }

  close(): void {
    this.unwatch();
    this.#closeFd();
  }

  #arm(): void {
    if (this.#watcher || !this.#onEvent) return;
    try {
      closeSync(openSync(this.path, "a"));
      const watcher = watch(this.path, { persistent: false }, () => this.#onEvent?.());
      watcher.on("error", () => this.#retry());
      this.#watcher = watcher;
    } catch {
      this.#retry();
    }
  }

  #retry(): void {
    try {
      this.#watcher?.close();
    } catch {
      // already closed
    }
    this.#watcher = null;
    if (this.#rearm || !this.#onEvent) return;
    this.#rearm = setTimeout(() => {
      this.#rearm = null;
      this.#arm();
    }, REARM_MS);
    this.#rearm.unref();
  }

  #closeFd(): void {
    if (this.#fd === null) return;
    try {
      closeSync(this.#fd);
    } catch {
      // already closed
    }
    this.#fd = null;
  }
}
