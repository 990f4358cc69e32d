/**
 * The worker's store calls: two in flight on a store whose writes do not block (memory, Redis), one on a
 * blocking store (SQLite) and while calls fail; claims sized net of the claims in flight; a short claim's
 * `nextRunAt` used instead of a separate `jobNextRunAt` call.
 */
import { describe, expect, it } from "vitest";
import { Conveyor, defineJob, MemoryStore } from "../src/index.js";
import type {
  JobClaimParams,
  JobFinishManyParams,
  JobFinishManyResult,
  JobRecord,
  StoreCapabilities,
} from "../src/store/store.js";
import { eventually, sleep } from "./helpers/eventually.js";

const CONCURRENCY = 10;
const PREFETCH = 5;

/** A memory store whose worker calls take a few milliseconds and are watched. */
class WatchedStore extends MemoryStore {
  inFlight = 0;
  maxInFlight = 0;
  /** Jobs handed to the worker by claims, and outcomes the worker has sent (each ends one of them). */
  claimedTotal = 0;
  outcomesSent = 0;
  /** Limits of the claims in flight. */
  claimsInFlight = 0;
  /** Calls carrying a claim that are in flight, the most at once, and every claim's limit in order. */
  claimCallsInFlight = 0;
  maxClaimCallsInFlight = 0;
  limits: number[] = [];
  /** Calls carrying outcomes that are in flight, and the most at once. */
  updateCallsInFlight = 0;
  maxUpdateCallsInFlight = 0;
  /** Most jobs the worker held or had asked for at the start of a call (must stay within its capacity). */
  maxCommitted = 0;
  nextRunAtCalls = 0;
  /** Calls (1-based) that fail before touching the store. */
  failCalls = new Set<number>();
  calls = 0;
  override readonly capabilities: StoreCapabilities;

  constructor(blockingWrites: boolean) {
    super();
    this.capabilities = { blockingWrites, durable: false, crossProcessWatch: false };
  }

  async #call<T>(
    updates: number,
    limit: number,
    run: () => Promise<T>,
    claimed: (r: T) => number,
  ): Promise<T> {
    this.calls++;
    this.outcomesSent += updates;
    this.claimsInFlight += limit;
    this.maxCommitted = Math.max(
      this.maxCommitted,
      this.claimedTotal - this.outcomesSent + this.claimsInFlight,
    );
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    if (updates > 0) {
      this.updateCallsInFlight++;
      this.maxUpdateCallsInFlight = Math.max(this.maxUpdateCallsInFlight, this.updateCallsInFlight);
    }
    if (limit > 0) {
      this.limits.push(limit);
      this.claimCallsInFlight++;
      this.maxClaimCallsInFlight = Math.max(this.maxClaimCallsInFlight, this.claimCallsInFlight);
    }
    try {
      await sleep(2);
      if (this.failCalls.has(this.calls)) throw new Error("injected store failure");
      const res = await run();
      this.claimedTotal += claimed(res);
      return res;
    } catch (err) {
      this.outcomesSent -= updates;
      throw err;
    } finally {
      this.inFlight--;
      this.claimsInFlight -= limit;
      if (limit > 0) this.claimCallsInFlight--;
      if (updates > 0) this.updateCallsInFlight--;
    }
  }

  override jobClaim(params: JobClaimParams): Promise<JobRecord[]> {
    return this.#call(
      0,
      params.limit,
      () => super.jobClaim(params),
      (r) => r.length,
    );
  }

  override jobFinishMany(params: JobFinishManyParams): Promise<JobFinishManyResult> {
    return this.#call(
      params.updates.length,
      params.claim?.limit ?? 0,
      () => super.jobFinishMany(params),
      (r) => r.claimed.length,
    );
  }

  override jobNextRunAt(params: {
    queues: string[];
    names?: string[];
    now?: number;
  }): Promise<number | null> {
    this.nextRunAtCalls++;
    return super.jobNextRunAt(params);
  }
}

/** An app on `store` with `jobs` jobs of a new type waiting; `runs` counts each job's runs. */
async function appWith(store: WatchedStore, name: string, jobs: number) {
  const app = await Conveyor.open({ store });
  const runs = new Map<number, number>();
  const job = defineJob<{ n: number }>({
    name,
    async handler({ n }) {
      runs.set(n, (runs.get(n) ?? 0) + 1);
    },
  });
  await app.enqueueMany(
    job,
    Array.from({ length: jobs }, (_, n) => ({ data: { n } })),
  );
  return { app, job, runs };
}

async function run(store: WatchedStore, jobs: number) {
  const app = await Conveyor.open({ store });
  const runs = new Map<number, number>();
  const job = defineJob<{ n: number }>({
    name: "pipelined",
    async handler({ n }) {
      runs.set(n, (runs.get(n) ?? 0) + 1);
      if (n % 3 === 0) await sleep(1);
    },
  });
  await app.enqueueMany(
    job,
    Array.from({ length: jobs }, (_, n) => ({ data: { n } })),
  );
  const w = app.worker({ jobs: [job], concurrency: CONCURRENCY, prefetch: PREFETCH });
  await w.start();
  await eventually(async () => expect((await app.countJobs()).completed).toBe(jobs), { timeoutMs: 20_000 });
  await w.stop();
  expect(store.inFlight).toBe(0);
  const counts = await app.countJobs();
  await app.close();
  return { runs, counts };
}

describe("worker store calls", () => {
  it("keeps two calls in flight on a non-blocking store, never claims beyond its capacity, runs each job once", async () => {
    const store = new WatchedStore(false);
    const { runs, counts } = await run(store, 600);
    expect(store.maxInFlight).toBe(2);
    expect(store.maxCommitted).toBeLessThanOrEqual(CONCURRENCY + PREFETCH);
    expect(runs.size).toBe(600);
    expect([...runs.values()].every((k) => k === 1)).toBe(true);
    expect(counts).toMatchObject({ completed: 600, running: 0, available: 0 });
    // Every short claim went with jobFinishMany, which answered when to look again.
    expect(store.nextRunAtCalls).toBe(0);
  });

  it("with a backlog, splits its capacity between two claims in flight; at low load one claim takes all", async () => {
    const busy = new WatchedStore(false);
    await run(busy, 600);
    // The first claim finds the backlog (it asks for everything); later ones ask for half the capacity, and
    // two of them are on the wire at once, so the store claims while the worker runs the jobs it got.
    expect(busy.limits[0]).toBe(CONCURRENCY + PREFETCH);
    expect(busy.maxClaimCallsInFlight).toBe(2);
    expect(Math.max(...busy.limits.slice(1))).toBeLessThanOrEqual(Math.ceil((CONCURRENCY + PREFETCH) / 2));
    expect(busy.maxCommitted).toBeLessThanOrEqual(CONCURRENCY + PREFETCH);

    // One job at a time: every claim comes back short, and none is sent beside another claim.
    const quiet = new WatchedStore(false);
    const app = await Conveyor.open({ store: quiet });
    const job = defineJob<{ n: number }>({ name: "one-by-one", async handler() {} });
    const w = app.worker({ jobs: [job], concurrency: CONCURRENCY, prefetch: PREFETCH });
    await w.start();
    for (let n = 0; n < 5; n++) {
      await app.enqueue(job, { n });
      await eventually(async () => expect((await app.countJobs()).completed).toBe(n + 1));
    }
    await w.stop();
    await app.close();
    expect(quiet.maxClaimCallsInFlight).toBe(1);
  });

  it("sends many settled outcomes as two calls, the second right behind the first; each job once", async () => {
    const store = new WatchedStore(false);
    const { app, job, runs } = await appWith(store, "settle-together", 640);
    // 64 slots, nothing claimed ahead: each claim's 64 jobs settle at once, 64 outcomes to write.
    const w = app.worker({ jobs: [job], concurrency: 64, prefetch: 0 });
    await w.start();
    await eventually(async () => expect((await app.countJobs()).completed).toBe(640), { timeoutMs: 20_000 });
    await w.stop();
    await app.close();
    expect(store.maxUpdateCallsInFlight).toBe(2);
    expect(store.maxCommitted).toBeLessThanOrEqual(64);
    expect(runs.size).toBe(640);
    expect([...runs.values()].every((k) => k === 1)).toBe(true);
  });

  it("keeps one call in flight on a store whose writes block", async () => {
    const store = new WatchedStore(true);
    const { runs } = await run(store, 300);
    expect(store.maxInFlight).toBe(1);
    // (maxCommitted is not checked here: the claim goes first, ahead of the outcomes already taken from the
    // slots, so this store's count of held jobs runs ahead of the worker's.)
    expect([...runs.values()].every((k) => k === 1)).toBe(true);
    // Claims go apart (jobClaim) here, so a short one is followed by jobNextRunAt.
    expect(store.nextRunAtCalls).toBeGreaterThan(0);
  });

  it("keeps every outcome of failed calls and writes it later, one call at a time while failing", async () => {
    const store = new WatchedStore(false);
    for (let c = 6; c <= 9; c++) store.failCalls.add(c);
    const errors: unknown[] = [];
    const { app, job, runs } = await appWith(store, "flaky-store", 200);
    app.events.on("worker:error", ({ error }) => errors.push(error));
    const w = app.worker({ jobs: [job], concurrency: CONCURRENCY, prefetch: PREFETCH });
    await w.start();
    await eventually(async () => expect((await app.countJobs()).completed).toBe(200), { timeoutMs: 20_000 });
    await w.stop();
    expect(errors.length).toBeGreaterThanOrEqual(1);
    expect(runs.size).toBe(200);
    expect([...runs.values()].every((k) => k === 1)).toBe(true);
    expect(store.maxCommitted).toBeLessThanOrEqual(CONCURRENCY + PREFETCH);
    expect(await app.countJobs()).toMatchObject({ completed: 200, running: 0, available: 0 });
    await app.close();
  });
});
