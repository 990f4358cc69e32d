import { describe, expect, it } from "vitest";
import { backoffDelay } from "../src/index.js";

const err = new Error("x");
const mid = () => 0.5; // no jitter spread

describe("backoffDelay", () => {
  it("grows exponentially from delayMs and caps at maxDelayMs", () => {
    const spec = { type: "exponential" as const, delayMs: 100, maxDelayMs: 1_000, jitter: 0 };
    expect([1, 2, 3, 4, 5, 6].map((a) => backoffDelay(spec, a, err))).toEqual([
      100, 200, 400, 800, 1_000, 1_000,
    ]);
  });

  it("defaults to exponential from 1 s", () => {
    expect(backoffDelay(undefined, 1, err, mid)).toBe(1_000);
    expect(backoffDelay("exponential", 3, err, mid)).toBe(4_000);
  });

  it("keeps a fixed delay", () => {
    expect(backoffDelay({ type: "fixed", delayMs: 250, jitter: 0 }, 7, err)).toBe(250);
    expect(backoffDelay("fixed", 7, err, mid)).toBe(1_000);
  });

  it("spreads delays by at most ±jitter", () => {
    const spec = { type: "fixed" as const, delayMs: 1_000, jitter: 0.2 };
    expect(backoffDelay(spec, 1, err, () => 0)).toBe(800);
    expect(backoffDelay(spec, 1, err, () => 0.999999)).toBe(1_200);
    const samples = Array.from({ length: 200 }, () => backoffDelay(spec, 1, err));
    expect(Math.min(...samples)).toBeGreaterThanOrEqual(800);
    expect(Math.max(...samples)).toBeLessThanOrEqual(1_200);
    expect(new Set(samples).size).toBeGreaterThan(10);
  });

  it("calls a custom function with the attempt and the error", () => {
    const seen: Array<[number, string]> = [];
    const fn = (attempt: number, e: Error) => {
      seen.push([attempt, e.message]);
      return attempt * 7;
    };
    expect(backoffDelay(fn, 3, err)).toBe(21);
    expect(seen).toEqual([[3, "x"]]);
    expect(backoffDelay(() => Number.NaN, 1, err)).toBe(0);
  });
});
