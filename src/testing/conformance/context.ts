/**
 * What every area of the conformance suite shares: the per-test setup bundle and small helpers. Time is
 * always passed explicitly (`T0` plus offsets); only `watch` tests wait, through {@link eventually}.
 */
import { expect } from "vitest";
import type { ErrorCode } from "../../errors.js";
import type { JobLogEntry, JobOutcome, JobRecord, Store, StoreCapabilities } from "../../store/store.js";
import { FIXTURE_NOW, insertJobFixture, type JobFixtureOptions } from "./fixtures.js";

/** The base instant of every test. */
export const T0 = FIXTURE_NOW;

/** What a test gets from {@link ConformanceContext.setup}. */
export interface StoreBundle {
  /** A fresh, empty store, closed (and cleaned up) after the test. */
  store: Store;
  /** {@link insertJobFixture} bound to `store`. */
  insert(options?: JobFixtureOptions): Promise<JobRecord>;
  /**
   * Opens a second instance on the same data (another connection to the same file), closed after the test;
   * absent for stores that cannot have two (memory).
   */
  connect?: () => Promise<Store>;
}

/** Passed to each area of the suite. */
export interface ConformanceContext {
  /** Opens a fresh store for the calling test. */
  setup(): Promise<StoreBundle>;
  /** The capabilities the store under test declared to `describeStore`. */
  capabilities: Partial<StoreCapabilities>;
}

/** Builds a bundle around a store. */
export function bundleOf(store: Store): StoreBundle {
  return { store, insert: (options) => insertJobFixture(store, options) };
}

/** Finishes one running job with `outcome` at `now`; returns whether it was applied. */
export async function finishOne(
  store: Store,
  job: Pick<JobRecord, "id" | "leaseToken">,
  outcome: JobOutcome,
  now: number,
  extra: { progress?: unknown; logs?: JobLogEntry[] } = {},
): Promise<boolean> {
  const { applied } = await store.jobFinishMany({
    updates: [{ id: job.id, token: job.leaseToken ?? "", outcome, ...extra }],
    now,
  });
  return applied[0] === true;
}

/** Claims from `queues` (default ["default"]) every job named "test-job" (or `names`), up to `limit`. */
export function claim(
  store: Store,
  now: number,
  options: { queues?: string[]; names?: string[]; limit?: number; owner?: string; leaseMs?: number } = {},
): Promise<JobRecord[]> {
  return store.jobClaim({
    queues: options.queues ?? ["default"],
    names: options.names ?? ["test-job"],
    owner: options.owner ?? "worker-1",
    limit: options.limit ?? 100,
    leaseMs: options.leaseMs ?? 30_000,
    now,
  });
}

/** Reads a job that must exist. */
export async function mustGet(store: Store, id: string): Promise<JobRecord> {
  const job = await store.jobGet({ id });
  expect(job, `job ${id} exists`).not.toBeNull();
  return job!;
}

/** Asserts that `promise` rejects with a Conveyor error of `code`. */
export async function expectCode(promise: Promise<unknown>, code: ErrorCode): Promise<void> {
  await expect(promise).rejects.toMatchObject({ code });
}

/** An attempt error for outcomes. */
export function attemptError(attempt: number, at: number, kind: "handler" | "cancel" = "handler") {
  return { attempt, at, kind, message: `boom ${attempt}`, name: "Error", stack: "Error: boom\n    at test" };
}

/** Retries `check` with backoff until it passes or `timeoutMs` elapses (then throws its last error). */
export async function eventually(check: () => void | Promise<void>, timeoutMs = 2_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let delay = 1;
  for (;;) {
    try {
      await check();
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(delay * 2, 50);
    }
  }
}
