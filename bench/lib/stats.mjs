/**
 * Wall-clock milliseconds since the epoch with sub-millisecond resolution. `performance.timeOrigin` is
 * wall-clock, so values from different processes on one machine are comparable (as `Date.now()` is).
 * @returns {number}
 */
export function wallNow() {
  return performance.timeOrigin + performance.now();
}

/**
 * The q-th percentile (0..100) of a sorted array, nearest-rank method.
 * @param {number[]} sorted ascending
 * @param {number} q
 * @returns {number | null}
 */
export function percentile(sorted, q) {
  if (sorted.length === 0) return null;
  const rank = Math.ceil((q / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

/**
 * p50/p95/p99 of samples in ms, rounded to microseconds.
 * @param {number[]} samples
 * @returns {{ p50Ms: number | null, p95Ms: number | null, p99Ms: number | null }}
 */
export function latencySummary(samples) {
  const sorted = Float64Array.from(samples).sort();
  const arr = Array.from(sorted);
  return {
    p50Ms: round3(percentile(arr, 50)),
    p95Ms: round3(percentile(arr, 95)),
    p99Ms: round3(percentile(arr, 99)),
  };
}

/**
 * Median of the non-null numbers, or null if there are none.
 * @param {Array<number | null | undefined>} values
 * @returns {number | null}
 */
export function median(values) {
  const xs = values.filter((v) => typeof v === "number" && Number.isFinite(v)).sort((a, b) => a - b);
  if (xs.length === 0) return null;
  const mid = xs.length >> 1;
  return xs.length % 2 ? xs[mid] : (xs[mid - 1] + xs[mid]) / 2;
}

/**
 * @param {number | null} x
 * @returns {number | null}
 */
export function round3(x) {
  return x === null ? null : Math.round(x * 1000) / 1000;
}
