/**
 * Fault tests of the Redis store with real processes: two workers sharing a queue, workers SIGKILLed again
 * and again, and redis-server SIGKILLed and restarted (AOF on) while a producer and workers run. Each test
 * prints a one-line summary of what it observed.
 */
import type { ChildProcess } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { connect, createServer, type Server, type Socket } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Conveyor, defineJob } from "../src/index.js";
import { openRedisStore } from "../src/redis/index.js";
import { openRedisApp, trackedForEnqueue } from "./fixtures/redis-app.js";
import { eventually, sleep } from "./helpers/eventually.js";
import { RedisServer, useRedis } from "./helpers/redis-server.js";
import { useWorkerProcesses } from "./helpers/worker-processes.js";

const WORKER = join(import.meta.dirname, "fixtures", "redis-worker.ts");
const PRODUCER = join(import.meta.dirname, "fixtures", "redis-producer.ts");

interface Run {
  kind: string;
  id: string;
  worker: string;
  seq: number;
  at: number;
}

function readRuns(path: string): Run[] {
  return readFileSync(path, "utf8")
    .split("\n")
    .filter(Boolean)
    .map((line) => {
      const [kind = "", id = "", worker = "", seq = "", at = ""] = line.split(" ");
      return { kind, id, worker, seq: Number(seq), at: Number(at) };
    });
}

function startsById(runs: Run[]): Map<string, number> {
  const starts = new Map<string, number>();
  for (const r of runs) if (r.kind === "start") starts.set(r.id, (starts.get(r.id) ?? 0) + 1);
  return starts;
}

/** Every job of the app (all states), following the list's cursor. */
async function allJobs(app: Conveyor) {
  const out = [];
  let cursor: string | undefined;
  for (;;) {
    const page = await app.listJobs({ limit: 1000, ...(cursor ? { cursor } : {}) });
    out.push(...page.jobs);
    if (page.nextCursor === null) return out;
    cursor = page.nextCursor;
  }
}

function exitOf(child: ChildProcess): Promise<number | string | null> {
  if (child.exitCode !== null || child.signalCode !== null)
    return Promise.resolve(child.signalCode ?? child.exitCode);
  return new Promise((r) => child.once("exit", (code, signal) => r(signal ?? code)));
}

describe("Redis store with worker processes", () => {
  const redis = useRedis();
  const workers = useWorkerProcesses("conveyor-redis-faults-");
  beforeAll(() => redis.start());
  afterAll(() => redis.stop());

  it("two worker processes on one queue: every job runs exactly once, and both take work", async () => {
    const dir = workers.tempDir();
    const log = join(dir, "runs.log");
    writeFileSync(log, "");
    const prefix = redis.prefix();
    const app = await openRedisApp(redis.url(), prefix);
    const a = await workers.start(WORKER, [redis.url(), prefix, log, "worker-a", "5000"]);
    const b = await workers.start(WORKER, [redis.url(), prefix, log, "worker-b", "5000"]);
    const total = 2_000;
    const enqueued = new Set<string>();
    for (let i = 0; i < total; i += 500) {
      const items = Array.from({ length: 500 }, (_, k) => ({ data: { seq: i + k, by: "test" } }));
      for (const job of await app.enqueueMany(trackedForEnqueue, items)) enqueued.add(job.id);
    }
    await eventually(async () => expect((await app.countJobs()).completed).toBe(total), {
      timeoutMs: 60_000,
    });

    const runs = readRuns(log);
    const starts = startsById(runs);
    expect(starts.size).toBe(total);
    for (const [id, n] of starts) {
      expect(enqueued.has(id)).toBe(true);
      expect(n).toBe(1);
    }
    const byWorker = (w: string) => runs.filter((r) => r.kind === "start" && r.worker === w).length;
    expect(byWorker("worker-a")).toBeGreaterThan(0);
    expect(byWorker("worker-b")).toBeGreaterThan(0);
    expect(await app.countJobs()).toMatchObject({ completed: total, running: 0, available: 0, discarded: 0 });
    console.log(
      `redis two workers: ${total} jobs, each run once; worker-a ran ${byWorker("worker-a")}, worker-b ${byWorker("worker-b")}`,
    );
    a.kill("SIGTERM");
    b.kill("SIGTERM");
    expect(await exitOf(a)).toBe(0);
    expect(await exitOf(b)).toBe(0);
    await app.close();
  }, 120_000);

  it("workers SIGKILLed again and again: nothing lost, nothing invented, duplicates only for jobs in flight, each rescued within lease + 1 s", async () => {
    const dir = workers.tempDir();
    const log = join(dir, "runs.log");
    writeFileSync(log, "");
    const prefix = redis.prefix();
    const app = await openRedisApp(redis.url(), prefix);
    const leaseMs = 1_000;
    const total = 4_000;
    const enqueued = new Set<string>();
    for (let i = 0; i < total; i += 1_000) {
      const items = Array.from({ length: 1_000 }, (_, k) => ({ data: { seq: i + k, by: "test" } }));
      for (const job of await app.enqueueMany(trackedForEnqueue, items)) enqueued.add(job.id);
    }
    const live = new Map<string, ChildProcess>();
    let nextId = 0;
    const spawnWorker = async () => {
      const id = `w${nextId++}`;
      live.set(id, await workers.start(WORKER, [redis.url(), prefix, log, id, String(leaseMs), "8"]));
    };
    await spawnWorker();
    await spawnWorker();

    interface Kill {
      worker: string;
      at: number;
      inFlight: string[];
      rescuedAfterMs: Map<string, number>;
    }
    const kills: Kill[] = [];
    const watchers: Promise<void>[] = [];
    // Polls the killed worker's jobs until each is no longer leased by it: that moment is its rescue.
    const watch = async (kill: Kill) => {
      const deadline = kill.at + 30_000;
      while (kill.rescuedAfterMs.size < kill.inFlight.length && Date.now() < deadline) {
        for (const id of kill.inFlight) {
          if (kill.rescuedAfterMs.has(id)) continue;
          const job = await app.getJob(id);
          if (job === null || job.state !== "running" || job.leaseOwner !== kill.worker) {
            kill.rescuedAfterMs.set(id, Date.now() - kill.at);
          }
        }
        await sleep(20);
      }
    };

    // Kills spread over the run by progress (not by time, so a slow or fast machine gets them all), always
    // the oldest live worker, which is replaced at once by a new one.
    const rounds = 6;
    for (let k = 0; k < rounds; k++) {
      const mark = Math.floor((total * (k + 1)) / (rounds + 2));
      await eventually(async () => (await app.countJobs()).completed >= mark, { timeoutMs: 60_000 });
      await sleep(150 + Math.floor(Math.random() * 200));
      const [victim, child] = [...live][0]!;
      live.delete(victim);
      child.kill("SIGKILL");
      await exitOf(child);
      const kill: Kill = { worker: victim, at: Date.now(), inFlight: [], rescuedAfterMs: new Map() };
      kill.inFlight = (await app.listJobs({ state: "running", limit: 1_000 })).jobs
        .filter((j) => j.leaseOwner === victim)
        .map((j) => j.id);
      kills.push(kill);
      watchers.push(watch(kill));
      await spawnWorker();
    }
    await eventually(async () => expect((await app.countJobs()).completed).toBe(total), {
      timeoutMs: 90_000,
    });
    await Promise.all(watchers);

    const starts = startsById(readRuns(log));
    // Every enqueued job ran; nothing ran that was never enqueued.
    expect(starts.size).toBe(total);
    for (const id of starts.keys()) expect(enqueued.has(id)).toBe(true);
    // A job ran more than once only if it was in flight at a kill, and at most once more per such kill.
    const heldAtKills = new Map<string, number>();
    for (const kill of kills)
      for (const id of kill.inFlight) heldAtKills.set(id, (heldAtKills.get(id) ?? 0) + 1);
    const duplicated = [...starts].filter(([, n]) => n > 1);
    for (const [id, n] of duplicated) expect(n).toBeLessThanOrEqual(1 + (heldAtKills.get(id) ?? 0));
    // Each job a killed worker held was rescued within the lease plus one second.
    const rescueTimes = kills.flatMap((k) => [...k.rescuedAfterMs.values()]);
    expect(rescueTimes.length).toBe(kills.reduce((sum, k) => sum + k.inFlight.length, 0));
    const worstRescue = Math.max(0, ...rescueTimes);
    expect(worstRescue).toBeLessThanOrEqual(leaseMs + 1_000);
    expect(kills.length).toBe(rounds);
    expect(heldAtKills.size).toBeGreaterThan(0);
    expect(await app.countJobs()).toMatchObject({ completed: total, running: 0, available: 0, discarded: 0 });
    const sorted = [...rescueTimes].sort((x, y) => x - y);
    console.log(
      `redis kill test: ${total} jobs, ${kills.length} SIGKILLs, ${heldAtKills.size} jobs held by killed workers, ` +
        `${duplicated.length} ran twice, 0 lost, 0 run that were never enqueued; rescue after kill: median ${sorted[Math.floor(sorted.length / 2)] ?? "-"} ms, ` +
        `worst ${worstRescue} ms (lease ${leaseMs} ms)`,
    );
    for (const child of live.values()) child.kill("SIGTERM");
    for (const child of live.values()) expect(await exitOf(child)).toBe(0);
    await app.close();
  }, 120_000);
});

describe("Redis restarted (SIGKILL, AOF on) while a producer and workers run", () => {
  const workers = useWorkerProcesses("conveyor-redis-restart-");
  let server: RedisServer;
  beforeAll(async () => {
    server = await RedisServer.start({ appendonly: true });
  });
  afterAll(() => server.stop());

  it("workers reconnect on their own, every acknowledged enqueue completes, and no enqueue is stored twice", async () => {
    const dir = workers.tempDir();
    const runLog = join(dir, "runs.log");
    const enqueueLog = join(dir, "enqueues.log");
    writeFileSync(runLog, "");
    writeFileSync(enqueueLog, "");
    const prefix = "restart";
    const app = await openRedisApp(server.url, prefix);
    const a = await workers.start(WORKER, [server.url, prefix, runLog, "worker-a", "5000"]);
    const b = await workers.start(WORKER, [server.url, prefix, runLog, "worker-b", "5000"]);
    const total = 3_000;
    const producer = await workers.start(PRODUCER, [
      server.url,
      prefix,
      enqueueLog,
      String(total),
      "8",
      "12",
    ]);
    const finished = new Promise<void>((resolve) =>
      producer.on("message", (m) => m === "finished" && resolve()),
    );
    const acks = () =>
      readFileSync(enqueueLog, "utf8")
        .split("\n")
        .filter((l) => l.startsWith("ack ")).length;

    await eventually(() => acks() >= total / 3, { timeoutMs: 30_000 });
    const acksBefore = acks();
    // Freeze Redis first, so that every producer lane has an enqueue written to the socket and unanswered
    // when the server dies: those are the enqueues in flight at the crash, re-sent after the reconnect.
    process.kill(server.pid!, "SIGSTOP");
    await sleep(300);
    await server.kill();
    const killedAt = Date.now();
    await sleep(700);
    await server.restart();
    const restartedAt = Date.now();
    await finished;
    expect(await exitOf(producer)).toBe(0);

    const lines = readFileSync(enqueueLog, "utf8").split("\n").filter(Boolean);
    const acked = new Map<number, string>();
    const failed: string[] = [];
    let inFlightAtCrash = 0;
    for (const line of lines) {
      const [kind, seq, what, startedAt, endedAt] = line.split(" ");
      if (kind === "ack") {
        acked.set(Number(seq), what!);
        if (Number(startedAt) < killedAt && Number(endedAt) > killedAt) inFlightAtCrash++;
      } else failed.push(line);
    }
    expect(acked.size + failed.length).toBe(total);
    expect(inFlightAtCrash).toBeGreaterThan(0);
    // Every acknowledged job completes; none is left behind.
    await eventually(
      async () => {
        const c = await app.countJobs();
        expect(c.available + c.running + c.scheduled + c.retryable).toBe(0);
        expect(c.completed).toBeGreaterThanOrEqual(acked.size);
      },
      { timeoutMs: 60_000 },
    );
    const jobs = await allJobs(app);
    const copies = new Map<number, number>();
    for (const job of jobs) {
      const seq = (job.data as { seq: number }).seq;
      copies.set(seq, (copies.get(seq) ?? 0) + 1);
    }
    for (const [seq, id] of acked) {
      expect(copies.get(seq)).toBe(1);
      expect(jobs.find((j) => (j.data as { seq: number }).seq === seq)?.id).toBe(id);
    }
    // No enqueue stored twice, acknowledged or not.
    expect(Math.max(...copies.values())).toBe(1);
    // An enqueue that failed had not been stored, unless the error said its outcome was unknown.
    for (const line of failed) {
      const seq = Number(line.split(" ")[1]);
      if (!/outcome is unknown/.test(line)) expect(copies.get(seq) ?? 0).toBe(0);
    }
    expect(jobs.every((j) => j.state === "completed")).toBe(true);
    // The workers never exited: they reconnected and went on, scripts reloaded on the fresh server.
    expect(a.exitCode).toBeNull();
    expect(b.exitCode).toBeNull();
    const runs = readRuns(runLog);
    const afterRestart = runs.filter((r) => r.kind === "done" && r.at > restartedAt);
    expect(afterRestart.length).toBeGreaterThan(0);
    const firstRunAfter = Math.min(
      ...runs.filter((r) => r.kind === "start" && r.at > killedAt).map((r) => r.at),
    );
    const firstAckAfter = Math.min(
      ...lines
        .filter((l) => l.startsWith("ack "))
        .map((l) => Number(l.split(" ")[4]))
        .filter((t) => t > killedAt),
    );
    const starts = startsById(runs);
    const twice = [...starts.values()].filter((n) => n > 1).length;
    console.log(
      `redis restart test: ${total} enqueues (${acksBefore} acknowledged before the kill), ${acked.size} acknowledged, ` +
        `${failed.length} failed, ${inFlightAtCrash} sent before the crash and acknowledged after it, ${jobs.length} ` +
        "stored, max copies per enqueue 1, all completed; after the SIGKILL (Redis frozen 300 ms before it, " +
        `down ~700 ms) the first enqueue was acknowledged after ${firstAckAfter - killedAt} ms and the first job ` +
        `started after ${firstRunAfter - killedAt} ms; ` +
        `${twice} jobs ran twice`,
    );
    a.kill("SIGTERM");
    b.kill("SIGTERM");
    expect(await exitOf(a)).toBe(0);
    expect(await exitOf(b)).toBe(0);
    await app.close();
  }, 120_000);
});

describe("an outage longer than commandTimeoutMs", () => {
  it("a worker rides it out: its calls fail meanwhile, and it goes on when Redis is back", async () => {
    const server = await RedisServer.start({ appendonly: true });
    const warnings: string[] = [];
    const app = await Conveyor.open({
      store: await openRedisStore({
        url: server.url,
        prefix: "long-outage",
        commandTimeoutMs: 500,
        onWarning: (m) => warnings.push(m),
      }),
    });
    try {
      const done = new Set<number>();
      const job = defineJob<{ n: number }>({
        name: "outage",
        async handler(data) {
          await sleep(5);
          done.add(data.n);
          return null;
        },
      });
      const errors: string[] = [];
      app.events.on("worker:error", (e) =>
        errors.push((e.error as { code?: string }).code ?? e.error.message),
      );
      const worker = app.worker({ jobs: [job], concurrency: 4, leaseMs: 2_000, rescueIntervalMs: 200 });
      await worker.start();
      const total = 400;
      await app.enqueueMany(
        job,
        Array.from({ length: total / 2 }, (_, n) => ({ data: { n } })),
      );
      await eventually(() => done.size >= 50, { timeoutMs: 20_000 });
      await server.kill();
      const killedAt = Date.now();
      await sleep(3_000); // six times commandTimeoutMs, longer than the lease
      const doneDuringOutage = done.size;
      await server.restart();
      const restartedAt = Date.now();
      // Enqueues work again at once, and the worker goes on by itself.
      await app.enqueueMany(
        job,
        Array.from({ length: total / 2 }, (_, k) => ({ data: { n: total / 2 + k } })),
      );
      await eventually(async () => expect((await app.countJobs()).completed).toBe(total), {
        timeoutMs: 30_000,
      });
      expect(done.size).toBe(total);
      expect(errors.length).toBeGreaterThan(0);
      expect(errors.every((c) => c === "ERR_STORE_UNAVAILABLE")).toBe(true);
      expect(warnings.some((w) => w.includes("lost the connection"))).toBe(true);
      expect(warnings.some((w) => w.includes("reconnected"))).toBe(true);
      console.log(
        `redis long outage: Redis down ${restartedAt - killedAt} ms with commandTimeoutMs 500 and a ` +
          `2 s lease; ${errors.length} worker calls failed with ERR_STORE_UNAVAILABLE meanwhile ` +
          `(${doneDuringOutage} jobs done by then); all ${total} jobs completed after the restart`,
      );
      await worker.stop();
    } finally {
      await app.close();
      await server.stop();
    }
  }, 60_000);
});

describe("a restart that lost the store's code", () => {
  it("loads it again on the fly: enqueues and the worker go on (no NOSCRIPT failures)", async () => {
    // No persistence: the restarted server has neither data nor functions / cached scripts.
    const server = await RedisServer.start();
    const app = await Conveyor.open({
      store: await openRedisStore({ url: server.url, prefix: "reload", onWarning: () => {} }),
    });
    try {
      let ran = 0;
      const job = defineJob<{ n: number }>({
        name: "reload",
        handler: () => {
          ran++;
          return null;
        },
      });
      const worker = app.worker({ jobs: [job], concurrency: 4 });
      await worker.start();
      await app.enqueueMany(
        job,
        Array.from({ length: 50 }, (_, n) => ({ data: { n } })),
      );
      await eventually(() => ran === 50, { timeoutMs: 20_000 });
      await server.restart();
      // The first calls meet an empty server: the store loads its code again and repeats them.
      const single = await app.enqueue(job, { n: 50 });
      const many = await app.enqueueMany(
        job,
        Array.from({ length: 49 }, (_, k) => ({ data: { n: 51 + k } })),
      );
      expect(many).toHaveLength(49);
      await eventually(() => ran === 100, { timeoutMs: 20_000 });
      expect((await app.getJob(single.id))?.state).toBe("completed");
      expect((await app.countJobs()).completed).toBe(50); // the 50 from before the restart went with the data
      await worker.stop();
    } finally {
      await app.close();
      await server.stop();
    }
  }, 60_000);
});

describe("a connection cut after Redis ran an enqueue but before its reply arrived", () => {
  const redis = useRedis();
  beforeAll(() => redis.start());
  afterAll(() => redis.stop());

  it("the client sends it again after reconnecting, and it is stored once", async () => {
    const target = new URL(redis.url());
    const proxy = await replyDroppingProxy(target.hostname, Number(target.port));
    const prefix = redis.prefix();
    const direct = await openRedisApp(redis.url(), prefix);
    const viaProxy = await openRedisApp(`redis://127.0.0.1:${proxy.port}`, prefix);
    try {
      const total = 1_500;
      const acked = new Set<number>();
      let next = 0;
      let cutAt = 0;
      const lane = async () => {
        for (let seq = next++; seq < total; seq = next++) {
          await viaProxy.enqueue(trackedForEnqueue, { seq, by: "test" });
          acked.add(seq);
          if (seq === 500) cutAt = Date.now();
        }
      };
      const lanes = Promise.all(Array.from({ length: 8 }, () => lane()));
      await eventually(() => cutAt > 0, { timeoutMs: 30_000 });
      // From now on Redis still receives what the client sends, but its replies are dropped; 300 ms later the
      // connection is cut. What Redis stored meanwhile without the client hearing of it:
      proxy.holdReplies();
      await sleep(150);
      const storedUnacked = (await allJobs(direct))
        .map((j) => (j.data as { seq: number }).seq)
        .filter((seq) => !acked.has(seq));
      await sleep(150);
      proxy.cut();
      await lanes;

      const copies = new Map<number, number>();
      for (const job of await allJobs(direct)) {
        const seq = (job.data as { seq: number }).seq;
        copies.set(seq, (copies.get(seq) ?? 0) + 1);
      }
      expect(acked.size).toBe(total);
      expect(copies.size).toBe(total);
      expect(Math.max(...copies.values())).toBe(1);
      // The case the test is about did happen: Redis had run these enqueues when the connection was cut.
      expect(storedUnacked.length).toBeGreaterThan(0);
      for (const seq of storedUnacked) expect(copies.get(seq)).toBe(1);
      console.log(
        `redis reply-lost test: ${total} enqueues over 8 lanes, ${storedUnacked.length} run by Redis whose replies ` +
          `were lost in a cut connection; all re-sent after the reconnect, each stored once (${copies.size} jobs)`,
      );
    } finally {
      await viaProxy.close();
      await direct.close();
      await proxy.close();
    }
  }, 60_000);
});

/**
 * A TCP proxy in front of Redis that can stop passing replies back (requests still go through) and then
 * cut every open connection: the network failing after Redis ran a command but before its reply arrived.
 * Connections made after the cut work normally.
 */
async function replyDroppingProxy(host: string, port: number) {
  const pairs = new Set<{ client: Socket; upstream: Socket; holding: boolean }>();
  const server: Server = createServer((client) => {
    const upstream = connect(port, host);
    const pair = { client, upstream, holding: false };
    pairs.add(pair);
    client.on("data", (chunk) => upstream.write(chunk));
    upstream.on("data", (chunk) => {
      if (!pair.holding) client.write(chunk);
    });
    const end = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on("close", end);
    upstream.on("close", end);
    client.on("error", end);
    upstream.on("error", end);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const address = server.address();
  const cut = () => {
    for (const p of pairs) {
      p.client.destroy();
      p.upstream.destroy();
    }
    pairs.clear();
  };
  return {
    port: typeof address === "object" && address !== null ? address.port : 0,
    holdReplies(): void {
      for (const p of pairs) p.holding = true;
    },
    cut,
    close(): Promise<void> {
      cut();
      return new Promise((r) => server.close(() => r()));
    },
  };
}
