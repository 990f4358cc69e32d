import type { AbortHook, AbortListener } from "../executor/executor.js";

/**
 * An abort signal that costs nothing until someone reads it: the AbortController is created on the first
 * `signal` access (already aborted if `abort` came first). Most no-op and CPU-bound handlers never read
 * `ctx.signal`, and an AbortController per job was a tenth of the worker's hot path. Executors listen through
 * the {@link AbortHook} side (a plain listener slot) instead of the signal, so no signal is made for them.
 */
export class LazyAbort implements AbortHook {
  #controller: AbortController | null = null;
  #reason: Error | null = null;
  /** The first listener (the common case: one executor run per attempt), then any others. */
  #listener: AbortListener | null = null;
  #more: AbortListener[] | null = null;

  get signal(): AbortSignal {
    if (!this.#controller) {
      this.#controller = new AbortController();
      if (this.#reason) this.#controller.abort(this.#reason);
    }
    return this.#controller.signal;
  }

  get reason(): Error | null {
    return this.#reason;
  }

  listen(listener: AbortListener): void {
    if (this.#listener === null) this.#listener = listener;
    else if (this.#more) this.#more.push(listener);
    else this.#more = [listener];
  }

  unlisten(listener: AbortListener): void {
    if (this.#listener === listener) this.#listener = null;
    else if (this.#more) {
      const i = this.#more.indexOf(listener);
      if (i >= 0) this.#more.splice(i, 1);
    }
  }

  /** Aborts once; later calls are ignored. Returns whether this call aborted. */
  abort(reason: Error): boolean {
    if (this.#reason) return false;
    this.#reason = reason;
    this.#controller?.abort(reason);
    const first = this.#listener;
    const more = this.#more;
    this.#listener = null;
    this.#more = null;
    first?.onAbort(reason);
    if (more) for (const l of more) l.onAbort(reason);
    return true;
  }
}
