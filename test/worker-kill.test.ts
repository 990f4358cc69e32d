import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { Conveyor, defineJob } from "../src/index.js";
import { eventually } from "./helpers/eventually.js";
import { useWorkerProcesses } from "./helpers/worker-processes.js";

const FIXTURE = join(import.meta.dirname, "fixtures", "kill-worker.ts");

function readLog(path: string): Array<{ kind: string; id: string; worker: string }> {
  return readFileSync(path, "utf8")
    .split("\n")
    .filter(Boolean)
    .map((line) => {
      const [kind = "", id = "", worker = ""] = line.split(" ");
      return { kind, id, worker };
    });
}

describe("a worker process killed with SIGKILL while jobs run (SQLite)", () => {
  const workers = useWorkerProcesses("conveyor-kill-");
  const startWorker = (db: string, log: string, id: string) => workers.start(FIXTURE, [db, log, id]);

  it("loses no job; only the jobs in flight at the kill run twice", async () => {
    const dir = workers.tempDir();
    const db = join(dir, "jobs.db");
    const log = join(dir, "runs.log");
    writeFileSync(log, "");
    const app = await Conveyor.open({ store: `sqlite:${db}` });
    const tracked = defineJob<{ n: number }>({ name: "tracked", handler: () => null });
    const total = 600;
    const enqueued = await app.enqueueMany(
      tracked,
      Array.from({ length: total }, (_, n) => ({ data: { n } })),
    );
    const enqueuedIds = new Set(enqueued.map((j) => j.id));

    const first = await startWorker(db, log, "worker-a");
    await eventually(async () => (await app.countJobs()).completed >= total / 4, { timeoutMs: 20_000 });
    first.kill("SIGKILL");
    await new Promise((r) => first.once("exit", r));
    const killedAt = Date.now();

    // What worker A held when it died: started handlers whose completion was not committed.
    const inFlight = new Set(
      (await app.listJobs({ state: "running", limit: 1_000 })).jobs
        .filter((j) => j.leaseOwner === "worker-a")
        .map((j) => j.id),
    );
    expect(inFlight.size).toBeGreaterThan(0);

    const second = await startWorker(db, log, "worker-b");
    await eventually(async () => expect((await app.countJobs()).completed).toBe(total), {
      timeoutMs: 30_000,
    });
    const recoveredInMs = Date.now() - killedAt;

    const runs = readLog(log);
    const starts = new Map<string, number>();
    for (const r of runs.filter((r) => r.kind === "start")) starts.set(r.id, (starts.get(r.id) ?? 0) + 1);
    // Nothing ran that was never enqueued, and every enqueued job ran.
    for (const id of starts.keys()) expect(enqueuedIds.has(id)).toBe(true);
    expect(starts.size).toBe(total);
    // Jobs that ran twice were all in flight in worker A at the kill.
    const twice = [...starts].filter(([, n]) => n > 1).map(([id]) => id);
    for (const id of twice) expect(inFlight.has(id)).toBe(true);
    expect(Math.max(...starts.values())).toBeLessThanOrEqual(2);
    // Every job is completed, none lost in another state.
    const counts = await app.countJobs();
    expect(counts).toMatchObject({ completed: total, running: 0, available: 0, discarded: 0 });
    console.info(
      `kill test: ${total} jobs, ${inFlight.size} held by the killed worker, ${twice.length} ran twice, ` +
        `all completed ${recoveredInMs} ms after the kill`,
    );
    // Rescued within the lease (1 s) plus the rescue interval, with room for process start-up.
    expect(recoveredInMs).toBeLessThan(15_000);
    second.kill("SIGTERM");
    const code = await new Promise((r) => second.once("exit", (c, s) => r(s ?? c)));
    expect(code).toBe(0);
    await app.close();
  });
});
