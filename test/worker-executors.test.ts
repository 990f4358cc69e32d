import { afterEach, describe, expect, it } from "vitest";
import { type Conveyor, defineJob, type Worker } from "../src/index.js";
import { eventually } from "./helpers/eventually.js";
import { openApp } from "./helpers/stores.js";

const FIXTURES = new URL("./fixtures/executor/", import.meta.url);

describe("worker with thread and process executors", () => {
  let app: Conveyor;
  let cleanup: () => Promise<void>;
  const workers: Worker[] = [];

  afterEach(async () => {
    await Promise.all(workers.splice(0).map((w) => w.stop({ graceMs: 0 })));
    await cleanup?.();
  });

  it("a job type on the process executor that crashes is retried (kind crash); the worker survives", async () => {
    ({ app, cleanup } = await openApp("memory"));
    const crashy = defineJob({
      name: "crash-once",
      module: new URL("crash-once.mjs", FIXTURES),
      executor: "process",
      retry: { attempts: 3, backoff: { type: "fixed", delayMs: 1 } },
    });
    const ok = defineJob({ name: "ok", module: new URL("ok.mjs", FIXTURES) });
    const w = app.worker({ jobs: [crashy, ok], concurrency: 2, pollMs: 10 });
    workers.push(w);
    await w.start();
    const crashed = await app.enqueue(crashy, {});
    const fine = await app.enqueue(ok, { n: 4 });
    await eventually(async () => (await app.getJob(crashed.id))?.state === "completed");
    const record = await app.getJob(crashed.id);
    expect(record?.result).toBe("survived");
    expect(record?.errors.map((e) => [e.attempt, e.kind])).toEqual([[1, "crash"]]);
    expect(record?.errors[0]?.message).toMatch(/exit code 7/);
    await eventually(async () => (await app.getJob(fine.id))?.state === "completed");
    expect((await app.getJob(fine.id))?.result).toMatchObject({ doubled: 8 });
    expect(w.state).toBe("running");
  });

  it("a timeout on the thread executor stops a hung handler, records kind timeout and retries", async () => {
    ({ app, cleanup } = await openApp("memory"));
    const hang = defineJob({
      name: "hang",
      module: new URL("hang.mjs", FIXTURES),
      timeoutMs: 100,
      retry: { attempts: 2, backoff: { type: "fixed", delayMs: 1 } },
    });
    const w = app.worker({
      jobs: [hang],
      pollMs: 10,
      executor: { kind: "thread", maxWorkers: 1, killGraceMs: 50 },
    });
    workers.push(w);
    await w.start();
    const job = await app.enqueue(hang, {});
    await eventually(async () => (await app.getJob(job.id))?.state === "discarded");
    const record = await app.getJob(job.id);
    expect(record?.errors.map((e) => [e.attempt, e.kind])).toEqual([
      [1, "timeout"],
      [2, "timeout"],
    ]);
  });

  it("refuses a function handler on the thread or process executor at definition", () => {
    expect(() => defineJob({ name: "x", handler: () => 1, executor: "process" as "inline" })).toThrow(
      /needs a handler module/,
    );
  });
});
