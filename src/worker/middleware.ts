import type { JobContext } from "../job/define.js";

/**
 * Wraps every attempt, outermost first (as gocraft/work's middleware): `await next()` runs the rest of the
 * chain and the handler, and resolves with the handler's return value. Throwing fails the attempt; not
 * calling `next` skips the handler (the job completes with no result). For a batch job type it runs per job,
 * around that job's share of the batch: `next()` resolves with the job's entry (docs/guides/batches.md).
 */
export type Middleware = (job: JobContext, next: () => Promise<unknown>) => Promise<unknown> | unknown;

/** Composes middleware into one, once, at worker start (not per job). */
export function composeMiddleware(list: readonly Middleware[]): Middleware | null {
  if (list.length === 0) return null;
  return async (ctx, handler) => {
    // The handler's value, whatever each middleware returns: `await next()` alone must not lose it.
    let result: unknown;
    const dispatch = async (i: number): Promise<unknown> => {
      const mw = list[i];
      if (!mw) {
        result = await handler();
        return result;
      }
      let called = false;
      await mw(ctx, () => {
        if (called) return Promise.reject(new Error(`middleware ${i} called next() twice`));
        called = true;
        return dispatch(i + 1);
      });
      return result;
    };
    await dispatch(0);
    return result;
  };
}
