import { readFileSync } from "node:fs";
import { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { Conveyor, type ConveyorEvents, defineJob } from "../src/index.js";
import { RedisCommands } from "../src/redis/commands.js";
import { openRedisStore, type RedisStore } from "../src/redis/index.js";
import { RedisKeys } from "../src/redis/keys.js";
import { loadScripts, ScriptRunner } from "../src/redis/scripts.js";
import { openStore } from "../src/store/open.js";
import type { JobInsertResult } from "../src/store/store.js";
import { jobInsertParams } from "../src/testing/conformance/fixtures.js";
import { describeStore } from "../src/testing/index.js";
import { eventually } from "./helpers/eventually.js";
import { useRedis } from "./helpers/redis-server.js";

const redis = useRedis();
let admin: Redis;
const T0 = 1_700_000_000_000;

beforeAll(async () => {
  await redis.start();
  admin = new Redis(redis.url());
}, 30_000);

afterAll(async () => {
  admin?.disconnect();
  await redis.stop();
});

/** Every key of a prefix (SCAN MATCH on the hash tag). */
async function keysOf(prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor = "0";
  do {
    const [next, batch] = await admin.scan(cursor, "MATCH", `{${prefix}}:*`, "COUNT", 1000);
    cursor = next;
    keys.push(...batch);
  } while (cursor !== "0");
  return keys;
}

/** Deletes every key of a prefix, so a shared REDIS_URL server is left clean. */
async function dropPrefix(prefix: string): Promise<void> {
  const keys = await keysOf(prefix);
  for (let i = 0; i < keys.length; i += 1000) await admin.unlink(...keys.slice(i, i + 1000));
}

for (const scriptMode of ["functions", "eval"] as const) {
  describeStore({
    // Functions on Redis 7+ (the default there); EVALSHA scripts, as on Redis 6.2.
    name: `redis (${scriptMode})`,
    makeStore: async () => {
      const prefix = redis.prefix();
      const open = () => openRedisStore({ url: redis.url(), prefix, scriptMode, onWarning: () => {} });
      const store = await open();
      return { store, cleanup: () => dropPrefix(prefix), connect: open };
    },
    capabilities: { durable: true, crossProcessWatch: true },
  });
}

describe("redis store", () => {
  const stores: RedisStore[] = [];
  const apps: Conveyor[] = [];
  const prefixes: string[] = [];
  const open = async (prefix: string) => {
    const store = await openRedisStore({ url: redis.url(), prefix, onWarning: () => {} });
    stores.push(store);
    return store;
  };
  const fresh = () => {
    const prefix = redis.prefix();
    prefixes.push(prefix);
    return prefix;
  };
  afterEach(async () => {
    for (const app of apps.splice(0)) await app.close({ graceMs: 0 });
    for (const s of stores.splice(0)) await s.close();
    for (const p of prefixes.splice(0)) await dropPrefix(p);
  });

  it("keeps every key it writes under the prefix's hash tag (one Cluster slot)", async () => {
    const prefix = fresh();
    const store = await open(prefix);
    const other = await open(prefix);
    store.watch(["q:1", "q{2}"], () => {});
    const feed = store.subscribeEvents(() => {});
    await store.jobTypeRegister({
      types: [
        { name: "a", queue: "q:1", defaults: { maxConcurrency: 5, rateLimit: { max: 10, windowMs: 1_000 } } },
        { name: "b", queue: "q{2}", defaults: { group: { rateLimit: { max: 2, windowMs: 1_000 } } } },
      ],
      now: T0,
    });
    await store.queueRateLimit({ queue: "q:1", limit: { max: 100, windowMs: 1_000 } });
    await store.queuePause({ queue: "paused" });
    await store.jobInsertMany({
      jobs: [
        jobInsertParams({ name: "a", queue: "q:1", key: "k{1}*" }),
        jobInsertParams({ name: "a", queue: "q:1", priority: -3, lifo: true }),
        jobInsertParams({
          name: "b",
          queue: "q{2}",
          group: { key: "g:*{x}", concurrency: 1, onFailure: "hold" },
        }),
        jobInsertParams({
          name: "b",
          queue: "q{2}",
          group: { key: "g:*{x}", concurrency: 1, onFailure: "hold" },
        }),
        jobInsertParams({ name: "a", queue: "q:1", runAt: T0 + 60_000 }),
      ],
    });
    const claimed = await other.jobClaim({
      queues: ["q:1", "q{2}"],
      names: ["a", "b"],
      owner: "w",
      limit: 10,
      leaseMs: 1_000,
      now: T0,
    });
    expect(claimed.length).toBe(3);
    await other.jobFinishMany({
      updates: [
        { id: claimed[0]!.id, token: claimed[0]!.leaseToken!, outcome: { type: "complete", result: 1 } },
        {
          id: claimed[1]!.id,
          token: claimed[1]!.leaseToken!,
          outcome: {
            type: "discard",
            error: { attempt: 1, at: T0, kind: "handler", message: "x", name: "E" },
          },
          logs: [{ at: T0, attempt: 1, level: "info", message: "log line" }],
        },
      ],
      now: T0,
    });
    await store.jobRescue({ now: T0 + 5_000, limit: 10 });
    await store.scheduleUpsert({
      id: "s{1}",
      jobName: "a",
      queue: "q:1",
      data: null,
      options: { priority: 0, lifo: false, maxAttempts: 1, maxStalls: 0, timeoutMs: null, meta: {} },
      spec: { kind: "interval", everyMs: 1_000 },
      catchUp: { policy: "last" },
      nextRunAt: T0,
      now: T0,
    });
    await store.workerBeat({
      worker: {
        id: "w{1}",
        hostname: "h",
        pid: 1,
        queues: ["q:1"],
        names: ["a"],
        concurrency: 1,
        executor: "inline",
        startedAt: T0,
        running: [],
        meta: {},
      },
      ttlMs: 10_000,
      now: T0,
    });
    await store.jobPrune({ keepLast: 0, limit: 10 });
    feed();
    const keys = await keysOf(prefix);
    expect(keys.length).toBeGreaterThan(20);
    // A scan for the bare prefix finds nothing outside the tag.
    let cursor = "0";
    const stray: string[] = [];
    do {
      const [next, batch] = await admin.scan(cursor, "MATCH", `*${prefix}*`, "COUNT", 1000);
      cursor = next;
      stray.push(...batch.filter((k) => !k.startsWith(`{${prefix}}:`)));
    } while (cursor !== "0");
    expect(stray).toEqual([]);
  });

  it("assembles each EVALSHA script with every lib function it calls (its @uses sections)", () => {
    const lib = readFileSync(new URL("../src/redis/lua/lib.lua", import.meta.url), "utf8");
    const localsOf = (source: string) =>
      new Set(
        [...source.matchAll(/^local (?:function )?([A-Za-z_]\w*(?:, *[A-Za-z_]\w*)*)/gm)].flatMap((m) =>
          m[1]!.split(/, */),
        ),
      );
    const all = localsOf(lib);
    const missing: string[] = [];
    for (const script of loadScripts().scripts.values()) {
      const defined = localsOf(script.source);
      const code = script.source.replace(/--[^\n]*/g, "");
      for (const name of all) {
        if (!defined.has(name) && new RegExp(`\\b${name}\\b`).test(code))
          missing.push(`${script.name}: ${name}`);
      }
    }
    expect(missing).toEqual([]);
  });

  it.each([
    ["functions", "FUNCTION"],
    ["eval", "SCRIPT"],
  ] as const)(
    "reloads its %s after the server lost them (%s FLUSH, as after a restart)",
    async (mode, command) => {
      const prefix = fresh();
      const store = await openRedisStore({ url: redis.url(), prefix, scriptMode: mode, onWarning: () => {} });
      stores.push(store);
      await store.jobInsert(jobInsertParams());
      await admin.call(command, "FLUSH");
      const { job } = await store.jobInsert(jobInsertParams({ data: "after flush" }));
      const [claimed] = await store.jobClaim({
        queues: ["default"],
        names: ["test-job"],
        owner: "w",
        limit: 1,
        leaseMs: 1_000,
        now: T0,
      });
      expect(claimed?.id).not.toBe(job.id);
      expect((await store.jobCount({})).available).toBe(1);
    },
  );

  it("stores an insert call once when the same call is sent again (a re-send after a reconnect)", async () => {
    const prefix = fresh();
    const store = await open(prefix);
    const client = new Redis(redis.url());
    try {
      const keys = new RedisKeys(prefix);
      const commands = new RedisCommands(new ScriptRunner(client, keys, "functions"), keys, "test-origin");
      const jobs = [jobInsertParams({ data: 1 }), jobInsertParams({ data: 2, key: "k" })];
      const first = await commands.insert({ jobs, token: "call-1", tokenTtlMs: 60_000 });
      const again = await commands.insert({ jobs, token: "call-1", tokenTtlMs: 60_000 });
      expect(again.reply.map((r) => [r.outcome, r.job.id])).toEqual(
        first.reply.map((r) => [r.outcome, r.job.id]),
      );
      expect(again.reply[1]!.job).toEqual(await store.jobGet({ id: first.reply[1]!.job.id }));
      expect((await store.jobCount({})).available).toBe(2);
      // The token is kept for a while only.
      const ttl = await admin.pttl(`{${prefix}}:tok:call-1`);
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(60_000);
      // Another call with the same jobs is a new insert. Without dedupe keys the token holds the first id and
      // the count only ("=<id> <n>"), and a re-send still answers each job.
      const plain = [
        jobInsertParams({ data: 3 }),
        jobInsertParams({ data: 3.5, runAt: Date.now() + 60_000 }),
      ];
      const second = await commands.insert({ jobs: plain, token: "call-2", tokenTtlMs: 60_000 });
      expect(await admin.get(`{${prefix}}:tok:call-2`)).toBe(`=${second.reply[0]!.job.id} 2`);
      expect(second.reply.map((r) => [r.outcome, r.job.state])).toEqual([
        ["inserted", "available"],
        ["inserted", "scheduled"],
      ]);
      const secondAgain = await commands.insert({ jobs: plain, token: "call-2", tokenTtlMs: 60_000 });
      expect(secondAgain.reply.map((r) => r.job)).toEqual(
        await Promise.all(second.reply.map((r) => store.jobGet({ id: r.job.id }))),
      );
      expect(secondAgain.reply.map((r) => r.job)).toEqual(second.reply.map((r) => ({ ...r.job, logs: [] })));
      expect((await store.jobCount({})).available).toBe(3);
      expect((await store.jobCount({})).scheduled).toBe(1);
      // A call where the dedupe policy returned an existing job (its token is stored in the other form).
      const mixed = [jobInsertParams({ data: 4 }), jobInsertParams({ data: 5, key: "k" })];
      const third = await commands.insert({ jobs: mixed, token: "call-3", tokenTtlMs: 60_000 });
      expect(third.reply.map((r) => r.outcome)).toEqual(["inserted", "duplicate"]);
      const thirdAgain = await commands.insert({ jobs: mixed, token: "call-3", tokenTtlMs: 60_000 });
      expect(thirdAgain.reply.map((r) => [r.outcome, r.job.id])).toEqual(
        third.reply.map((r) => [r.outcome, r.job.id]),
      );
      expect((await store.jobCount({})).available).toBe(4);
      expect((await store.jobCount({})).scheduled).toBe(1);
      // The one-job script (insert1.lua, a plain single enqueue) keeps the same promise.
      const one = jobInsertParams({ data: 6, runAt: Date.now() + 60_000 });
      const single = await commands.insertOne({ job: one, token: "call-4", tokenTtlMs: 60_000 });
      const singleAgain = await commands.insertOne({ job: one, token: "call-4", tokenTtlMs: 60_000 });
      expect(single.reply.outcome).toBe("inserted");
      expect(single.reply.job.state).toBe("scheduled");
      expect(singleAgain.reply.outcome).toBe("inserted");
      expect(singleAgain.reply.job).toEqual(await store.jobGet({ id: single.reply.job.id }));
      expect(singleAgain.reply.job).toEqual({ ...single.reply.job, logs: [] });
      expect((await store.jobCount({})).scheduled).toBe(2);
    } finally {
      client.disconnect();
    }
  });

  it("sends concurrent single inserts as shared calls: each stored once, in order; bad data fails alone", async () => {
    const prefix = fresh();
    const store = await open(prefix);
    const bad = { n: 1n }; // JSON cannot hold a BigInt
    const calls = Array.from({ length: 201 }, (_, i) =>
      store.jobInsert(jobInsertParams({ data: i === 100 ? bad : i })),
    );
    const settled = await Promise.allSettled(calls);
    const failed = settled[100]!;
    expect(failed.status).toBe("rejected");
    expect(String((failed as PromiseRejectedResult).reason)).toMatch(/data of job "test-job"/);
    const ok = settled.filter((_, i) => i !== 100) as PromiseFulfilledResult<JobInsertResult>[];
    expect(ok.every((r) => r.value.outcome === "inserted")).toBe(true);
    const ids = ok.map((r) => Number(r.value.job.id));
    expect(ids).toEqual([...ids].sort((a, b) => a - b)); // stored in the order they were enqueued
    expect(new Set(ids).size).toBe(200);
    expect(ok.map((r) => r.value.job.data)).toEqual([...Array(201).keys()].filter((i) => i !== 100));
    expect((await store.jobCount({})).available).toBe(200);
    // One call token per script call: far fewer calls than jobs (two go out alone, the rest share calls).
    const tokens = (await keysOf(prefix)).filter((k) => k.includes(":tok:"));
    expect(tokens.length).toBeGreaterThanOrEqual(2);
    expect(tokens.length).toBeLessThanOrEqual(10);

    // close() sends and answers the inserts accepted before it.
    const late = Array.from({ length: 50 }, (_, i) => store.jobInsert(jobInsertParams({ data: 1000 + i })));
    const closing = store.close();
    const lateResults = await Promise.all(late);
    await closing;
    expect(lateResults.every((r) => r.outcome === "inserted")).toBe(true);
    const again = await open(prefix);
    expect((await again.jobCount({})).available).toBe(250);
  });

  it("wakes a watcher when another instance (another process) makes jobs available", async () => {
    const prefix = fresh();
    const watcher = await open(prefix);
    const writer = await open(prefix);
    let calls = 0;
    const unwatch = watcher.watch(["remote-q"], () => calls++);
    // SUBSCRIBE is asynchronous: hint until it lands.
    await eventually(
      async () => {
        await writer.jobInsert(jobInsertParams({ queue: "remote-q" }));
        expect(calls).toBeGreaterThan(0);
      },
      { timeoutMs: 5_000 },
    );
    unwatch();
  });

  it("refuses a prefix whose key layout is newer than this code", async () => {
    const prefix = fresh();
    await admin.hset(`{${prefix}}:meta`, "layout", "999");
    await expect(openRedisStore({ url: redis.url(), prefix, onWarning: () => {} })).rejects.toMatchObject({
      code: "ERR_STORE_UNAVAILABLE",
      message: expect.stringContaining("layout version 999"),
    });
  });

  it("reports its own health: connection, eviction, persistence, schema, and the server's clock", async () => {
    const store = await open(fresh());
    const { checks, serverTime } = await store.storeHealth({ now: T0 });
    expect(checks.map((c) => c.name)).toEqual(["connection", "eviction", "persistence", "schema"]);
    const byName = Object.fromEntries(checks.map((c) => [c.name, c]));
    expect(byName.connection?.status).toBe("ok");
    expect(byName.schema?.status).toBe("ok");
    const policy = (await admin.config("GET", "maxmemory-policy")) as string[];
    expect(byName.eviction?.status).toBe(
      policy[1] === "noeviction" ? "ok" : expect.stringMatching(/warn|fail/),
    );
    const aof = ((await admin.config("GET", "appendonly")) as string[])[1] === "yes";
    if (aof) expect(byName.persistence?.status).toBe("ok");
    else expect(byName.persistence?.status).not.toBe("ok");
    expect(Math.abs(serverTime! - Date.now())).toBeLessThan(5_000);
  });

  it("opens from a redis:// URL with ?prefix=, and Conveyor.open takes a prefix", async () => {
    const prefix = fresh();
    const store = await openStore(`${redis.url()}?prefix=${prefix}`);
    try {
      expect(store.kind).toBe("redis");
      expect((store as RedisStore).prefix).toBe(prefix);
      await store.jobInsert(jobInsertParams({ data: "via url" }));
    } finally {
      await store.close();
    }
    const app = await Conveyor.open({ store: redis.url(), prefix, retention: false });
    apps.push(app);
    expect((await app.store.jobList({ limit: 10 })).jobs.map((j) => j.data)).toEqual(["via url"]);
    await expect(openStore(`${redis.url()}?prefx=${prefix}`)).rejects.toMatchObject({
      code: "ERR_INVALID_OPTIONS",
    });
  });

  it("delivers job events committed by another app to remoteEvents listeners, never its own twice", async () => {
    const prefix = fresh();
    const double = defineJob({
      name: "double",
      queue: "events",
      async handler(data: { n: number }, ctx) {
        ctx.progress(50);
        return { doubled: data.n * 2 };
      },
    });
    const workerApp = await Conveyor.open({ store: redis.url(), prefix, retention: false });
    apps.push(workerApp);
    const listenerApp = await Conveyor.open({
      store: redis.url(),
      prefix,
      retention: false,
      remoteEvents: true,
    });
    apps.push(listenerApp);
    await (listenerApp.store as RedisStore).eventsReady();
    const completed: Array<ConveyorEvents["job:completed"]> = [];
    const enqueued: Array<ConveyorEvents["job:enqueued"]> = [];
    const started: Array<ConveyorEvents["job:started"]> = [];
    listenerApp.events.on("job:completed", (e) => completed.push(e));
    listenerApp.events.on("job:enqueued", (e) => enqueued.push(e));
    listenerApp.events.on("job:started", (e) => started.push(e));
    // Enqueued by the listening app: its own job:enqueued comes once, locally.
    const job = await listenerApp.enqueue(double, { n: 21 });
    const worker = workerApp.worker({ jobs: [double], concurrency: 2 });
    await worker.start();
    try {
      await eventually(() => expect(completed).toHaveLength(1), { timeoutMs: 10_000 });
      expect(completed[0]).toMatchObject({
        remote: true,
        result: { doubled: 42 },
        job: { id: job.id, state: "completed", name: "double", data: { n: 21 } },
      });
      expect(started[0]).toMatchObject({ remote: true, workerId: worker.id, job: { id: job.id } });
      expect(enqueued).toHaveLength(1);
      expect(enqueued[0]?.remote).toBeUndefined();
      // The worker's own app sees its events once, from its own worker (not again from the stream).
      let own = 0;
      workerApp.events.on("job:completed", () => own++);
      await listenerApp.enqueue(double, { n: 1 });
      await eventually(() => expect(completed).toHaveLength(2), { timeoutMs: 10_000 });
      await new Promise((r) => setTimeout(r, 200));
      expect(own).toBe(1);
    } finally {
      await worker.stop({ graceMs: 0 });
    }
  });

  it("refuses remoteEvents on a store that cannot carry them", async () => {
    await expect(Conveyor.open({ store: "memory", remoteEvents: true })).rejects.toMatchObject({
      code: "ERR_INVALID_OPTIONS",
    });
  });
});
