/** Retries `fn` until it stops throwing (or returns truthy), with backoff, up to `timeoutMs`. */
export async function eventually<T>(
  fn: () => T | Promise<T>,
  { timeoutMs = 10_000, intervalMs = 10 } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let wait = intervalMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await fn();
      if (value !== false) return value;
      lastError = new Error("condition stayed false");
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) throw lastError;
    await new Promise((r) => setTimeout(r, wait));
    wait = Math.min(wait * 2, 200);
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
