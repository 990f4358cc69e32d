import { type FSWatcher, watch } from "node:fs";

/** Minimum gap between two hints: a burst of commits gives one hint at its start and one at its end. */
const THROTTLE_MS = 1;
/**
 * When a WAL write is seen but the database has not changed yet for this connection, the write is either
 * this connection's own commit or another process's commit still in flight (frames are written, then
 * fsynced, then published): look again after these delays before deciding it was our own.
 */
const RECHECK_DELAYS_MS: readonly number[] = [1, 2, 4, 8, 16, 32];
/** How often to try again to watch the file when it is missing or the watch failed. */
const REARM_MS = 1000;

/**
 * Cross-process change hints for one SQLite database: an `fs.watch` (inotify on Linux) on its `-wal` file,
 * which every commit of every process appends to. Raw events are filtered through `changed()` (the
 * connection's `PRAGMA data_version`, which moves only on commits of *other* connections), coalesced and
 * throttled, then delivered as `onHint()`.
 *
 * Best effort by design: if the file cannot be watched (missing, unsupported file system, too many
 * watches), it retries quietly every second and delivers nothing meanwhile; workers also poll.
 */
export class WalWatcher {
  readonly #file: string;
  readonly #changed: () => boolean;
  readonly #onHint: () => void;
  #watcher: FSWatcher | null = null;
  #rearmTimer: NodeJS.Timeout | null = null;
  #timer: NodeJS.Timeout | null = null;
  #pending = false;
  #running = false;

  constructor(file: string, changed: () => boolean, onHint: () => void) {
    this.#file = file;
    this.#changed = changed;
    this.#onHint = onHint;
  }

  /** Starts watching; idempotent. */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#arm();
  }

  /** Stops watching and cancels pending timers; idempotent. */
  stop(): void {
    this.#running = false;
    this.#disarm();
    if (this.#rearmTimer) clearTimeout(this.#rearmTimer);
    if (this.#timer) clearTimeout(this.#timer);
    this.#rearmTimer = null;
    this.#timer = null;
    this.#pending = false;
  }

  #arm(): void {
    if (!this.#running || this.#watcher) return;
    try {
      const watcher = watch(this.#file, { persistent: false }, (eventType) => {
        // "rename": the file was deleted or replaced (last connection closed, or a checkpoint truncated it on
        // another file system); the inode we watch is gone, so watch the path again.
        if (eventType === "rename") this.#rearmSoon(0);
        this.#event();
      });
      watcher.on("error", () => this.#rearmSoon(REARM_MS));
      this.#watcher = watcher;
    } catch {
      this.#rearmSoon(REARM_MS);
    }
  }

  #disarm(): void {
    const watcher = this.#watcher;
    this.#watcher = null;
    if (watcher) {
      try {
        watcher.close();
      } catch {
        // already closed
      }
    }
  }

  #rearmSoon(ms: number): void {
    this.#disarm();
    if (!this.#running || this.#rearmTimer) return;
    this.#rearmTimer = setTimeout(() => {
      this.#rearmTimer = null;
      this.#arm();
    }, ms);
    this.#rearmTimer.unref();
  }

  #event(): void {
    if (!this.#running) return;
    if (this.#timer) {
      this.#pending = true;
      return;
    }
    this.#evaluate(0);
  }

  #evaluate(step: number): void {
    if (!this.#running) return;
    let changed: boolean;
    try {
      changed = this.#changed();
    } catch {
      changed = true;
    }
    if (changed) {
      try {
        this.#onHint();
      } catch {
        // listeners' errors are theirs
      }
      this.#schedule(THROTTLE_MS, (pending) => {
        if (pending) this.#evaluate(0);
      });
      return;
    }
    const delay = RECHECK_DELAYS_MS[step];
    if (delay === undefined) return; // nothing changed for us: it was this connection's own commit
    this.#schedule(delay, (pending) => this.#evaluate(pending ? 0 : step + 1));
  }

  /** Runs `fn` after `ms`, telling it whether WAL events arrived meanwhile. */
  #schedule(ms: number, fn: (pending: boolean) => void): void {
    this.#pending = false;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      const pending = this.#pending;
      this.#pending = false;
      fn(pending);
    }, ms);
    this.#timer.unref();
  }
}
