/**
 * An abort signal that costs nothing until someone reads it: the AbortController is created on the first
 * `signal` access (already aborted if `abort` came first). Most no-op and CPU-bound handlers never read
 * `ctx.signal`, and an AbortController per job was a tenth of the worker's hot path.
 */
export class LazyAbort {
  #controller: AbortController | null = null;
  #reason: Error | null = null;

  get signal(): AbortSignal {
    if (!this.#controller) {
      this.#controller = new AbortController();
      if (this.#reason) this.#controller.abort(this.#reason);
    }
    return this.#controller.signal;
  }

  /** Aborts once; later calls are ignored. Returns whether this call aborted. */
  abort(reason: Error): boolean {
    if (this.#reason) return false;
    this.#reason = reason;
    this.#controller?.abort(reason);
    return true;
  }
}
