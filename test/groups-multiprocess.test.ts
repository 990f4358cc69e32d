import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { Conveyor, defineJob } from "../src/index.js";
import { eventually } from "./helpers/eventually.js";
import { useWorkerProcesses } from "./helpers/worker-processes.js";

const FIXTURE = join(import.meta.dirname, "fixtures", "group-worker.ts");
const GROUPS = 20;
const PER_GROUP = 50;
const LIMITED = 150;

/** Checks the log: order and exclusivity within each group, runs per job, and the limited type's peak. */
function analyse(lines: string[]) {
  let violations = 0;
  const next = new Map<string, number>();
  const inFlight = new Map<string, number>();
  const done = new Map<string, number>();
  let limitedNow = 0;
  let limitedMax = 0;
  let limitedDone = 0;
  for (const line of lines) {
    const [kind = "", a = "", b = ""] = line.split(" ");
    if (kind === "lstart") limitedMax = Math.max(limitedMax, ++limitedNow);
    else if (kind === "ldone") {
      limitedNow--;
      limitedDone++;
    } else if (kind === "start") {
      const seq = Number(b);
      // A job starts only when it is its group's next one and nothing else of the group runs.
      if (seq !== (next.get(a) ?? 0) || (inFlight.get(a) ?? 0) > 0) violations++;
      inFlight.set(a, (inFlight.get(a) ?? 0) + 1);
    } else if (kind === "fail") {
      inFlight.set(a, (inFlight.get(a) ?? 0) - 1);
    } else if (kind === "done") {
      inFlight.set(a, (inFlight.get(a) ?? 0) - 1);
      next.set(a, Number(b) + 1);
      done.set(`${a} ${b}`, (done.get(`${a} ${b}`) ?? 0) + 1);
    }
  }
  return { violations, done, limitedMax, limitedDone };
}

describe("groups and maxConcurrency across two worker processes (SQLite)", () => {
  const workers = useWorkerProcesses("conveyor-groups-");
  const startWorker = (db: string, log: string, id: string) => workers.start(FIXTURE, [db, log, id]);

  it("keeps strict order within each group and never exceeds the type's limit", async () => {
    const dir = workers.tempDir();
    const db = join(dir, "jobs.db");
    const log = join(dir, "runs.log");
    writeFileSync(log, "");
    const app = await Conveyor.open({ store: `sqlite:${db}` });
    // Definitions with the same names and options as the fixture's (enqueue needs only these).
    const ordered = defineJob<{ group: string; seq: number; failOnce: boolean }>({
      name: "ordered",
      group: { concurrency: 1, onFailure: "hold" },
      retry: { attempts: 3, backoff: { type: "fixed", delayMs: 20, jitter: 0 } },
      handler: () => null,
    });
    const limited = defineJob<{ n: number }>({ name: "limited", maxConcurrency: 3, handler: () => null });

    const first = await startWorker(db, log, "worker-a");
    const second = await startWorker(db, log, "worker-b");

    // Interleaved across groups, as events arrive; about one job in 12 fails once.
    const items = [];
    for (let seq = 0; seq < PER_GROUP; seq++) {
      for (let g = 0; g < GROUPS; g++) {
        const group = `player:${g}`;
        items.push({ data: { group, seq, failOnce: (g * 7 + seq) % 12 === 0 }, options: { group } });
      }
    }
    const started = Date.now();
    await app.enqueueMany(ordered, items.slice(0, items.length / 2));
    await app.enqueueMany(
      limited,
      Array.from({ length: LIMITED }, (_, n) => ({ data: { n } })),
    );
    await app.enqueueMany(ordered, items.slice(items.length / 2));
    const total = GROUPS * PER_GROUP + LIMITED;
    await eventually(async () => expect((await app.countJobs()).completed).toBe(total), {
      timeoutMs: 25_000,
    });
    const elapsedMs = Date.now() - started;

    const lines = readFileSync(log, "utf8").split("\n").filter(Boolean);
    const { violations, done, limitedMax, limitedDone } = analyse(lines);
    const pids = new Set(lines.map((l) => l.split(" ").at(-1)));
    console.log(
      `groups multi-process: ${GROUPS} groups x ${PER_GROUP} jobs + ${LIMITED} limited jobs in ${elapsedMs} ms ` +
        `on ${pids.size} processes; ordering violations: ${violations}; ` +
        `max observed concurrency of "limited" (maxConcurrency 3): ${limitedMax}`,
    );
    expect(pids.size).toBe(2);
    expect(violations).toBe(0);
    expect(done.size).toBe(GROUPS * PER_GROUP);
    expect(Math.max(...done.values())).toBe(1);
    expect(limitedDone).toBe(LIMITED);
    expect(limitedMax).toBeLessThanOrEqual(3);
    expect(limitedMax).toBeGreaterThan(1);
    expect(lines.filter((l) => l.startsWith("fail")).length).toBeGreaterThan(0);

    for (const child of [first, second]) child.kill("SIGTERM");
    await Promise.all([first, second].map((c) => new Promise((r) => c.once("exit", r))));
    await app.close();
  }, 40_000);
});
