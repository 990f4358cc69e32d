import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { run } from "../src/cli/run.js";
import { Conveyor } from "../src/conveyor.js";
import type { ScheduleRecord } from "../src/store/store.js";

interface Captured {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI in-process with captured, non-TTY streams. */
async function cli(argv: string[]): Promise<Captured> {
  let stdout = "";
  let stderr = "";
  const code = await run(argv, {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
    env: {},
    cwd: process.cwd(),
  });
  return { code, stdout, stderr };
}

const dir = mkdtempSync(join(tmpdir(), "conveyor-cli-sched-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

/** A store where a worker has registered `report` (queue "reports"). */
async function registeredStore(): Promise<string> {
  const url = `sqlite:${join(dir, `s${++n}.db`)}`;
  const app = await Conveyor.open({ store: url });
  await app.store.jobTypeRegister({
    types: [{ name: "report", queue: "reports", defaults: { maxAttempts: 4 } }],
    now: Date.now(),
  });
  await app.close();
  return url;
}

async function schedulesOf(url: string): Promise<ScheduleRecord[]> {
  const app = await Conveyor.open({ store: url });
  try {
    return await app.listSchedules();
  } finally {
    await app.close();
  }
}

describe("conveyor schedules", () => {
  it("adds a cron schedule with a time zone, data and catch-up, and lists it", async () => {
    const url = await registeredStore();
    const added = await cli([
      "schedules",
      "add",
      "nightly",
      "--job",
      "report",
      "--cron",
      "0 3 * * *",
      "--tz",
      "Asia/Seoul",
      "--data",
      '{"fileId":"all"}',
      "--catch-up",
      "all:5",
      "--store",
      url,
    ]);
    expect(added.stderr).toBe("");
    expect(added.code).toBe(0);
    expect(added.stdout).toContain(
      "added schedule nightly: report on queue reports, cron 0 3 * * * (Asia/Seoul)",
    );
    expect(added.stdout).toContain("catch-up all:5");
    const [s] = await schedulesOf(url);
    expect(s).toMatchObject({
      id: "nightly",
      jobName: "report",
      queue: "reports",
      data: { fileId: "all" },
      spec: { kind: "cron", cron: "0 3 * * *", tz: "Asia/Seoul" },
      catchUp: { policy: "all", max: 5 },
      options: { maxAttempts: 4 },
      paused: false,
    });
    expect(new Date(s!.nextRunAt!).getUTCHours()).toBe(18);

    const ls = await cli(["schedules", "ls", "--store", url]);
    expect(ls.code).toBe(0);
    expect(ls.stdout).toMatch(/^ID\s+JOB\s+QUEUE\s+SPEC\s+CATCH-UP\s+PAUSED\s+NEXT RUN\s+LAST TICK/);
    expect(ls.stdout).toContain("nightly");
    const json = await cli(["schedules", "ls", "--json", "--store", url]);
    expect(JSON.parse(json.stdout)).toEqual([s]);
  });

  it("adds an interval schedule, replaces it, pauses, resumes and removes it", async () => {
    const url = await registeredStore();
    const every = await cli([
      "schedules",
      "add",
      "beat",
      "--job",
      "report",
      "--every",
      "30s",
      "--store",
      url,
    ]);
    expect(every.code).toBe(0);
    expect((await schedulesOf(url))[0]).toMatchObject({ spec: { kind: "interval", everyMs: 30_000 } });
    const again = await cli([
      "schedules",
      "add",
      "beat",
      "--job",
      "report",
      "--every",
      "5000",
      "--json",
      "--store",
      url,
    ]);
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({
      id: "beat",
      spec: { kind: "interval", everyMs: 5_000 },
    });

    const pause = await cli(["schedules", "pause", "beat", "--store", url]);
    expect(pause).toMatchObject({ code: 0 });
    expect(pause.stdout).toContain("schedule beat paused");
    expect((await schedulesOf(url))[0]!.paused).toBe(true);
    expect((await cli(["schedules", "ls", "--store", url])).stdout).toContain("(paused)");
    const resume = await cli(["schedules", "resume", "beat", "--store", url]);
    expect(resume.code).toBe(0);
    expect(resume.stdout).toContain("schedule beat resumed; next run");
    expect((await schedulesOf(url))[0]!.paused).toBe(false);

    expect((await cli(["schedules", "rm", "beat", "--store", url])).stdout).toContain(
      "schedule beat deleted",
    );
    expect(await schedulesOf(url)).toEqual([]);
    const gone = await cli(["schedules", "rm", "beat", "--store", url]);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toContain('no schedule "beat"');
    const pauseGone = await cli(["schedules", "pause", "beat", "--store", url]);
    expect(pauseGone.code).toBe(1);
    expect(pauseGone.stderr).toContain("ERR_SCHEDULE_NOT_FOUND");
    expect((await cli(["schedules", "ls", "--store", url])).stdout).toContain("no schedules yet");
  });

  it("refuses an unknown job name unless --force", async () => {
    const url = await registeredStore();
    const unknown = await cli(["schedules", "add", "x", "--job", "nope", "--every", "1000", "--store", url]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain("ERR_UNKNOWN_JOB");
    expect(await schedulesOf(url)).toEqual([]);
    const forced = await cli([
      "schedules",
      "add",
      "x",
      "--job",
      "nope",
      "--every",
      "1000",
      "--force",
      "--store",
      url,
    ]);
    expect(forced.code).toBe(0);
    expect((await schedulesOf(url))[0]).toMatchObject({ jobName: "nope", queue: "default" });
  });

  it.each([
    [["--cron", "61 * * * *"], /--cron: invalid cron expression "61 \* \* \* \*"/],
    [["--cron", "0 3 * * *", "--tz", "Mars/Base"], /--tz/],
    [["--cron", "0 0 30 2 *"], /never fires/],
    [["--every", "0"], /--every/],
    [["--every", "soon"], /--every/],
    [["--cron", "* * * * *", "--every", "1000"], /exactly one of --cron/],
    [[], /exactly one of --cron/],
    [["--every", "1000", "--tz", "UTC"], /--tz applies to --cron only/],
    [["--every", "1000", "--catch-up", "sometimes"], /--catch-up/],
    [["--every", "1000", "--catch-up", "all:0"], /--catch-up/],
    [["--every", "1000", "--data", "{oops"], /--data/],
  ])("exits 2 on bad flags %j and stores nothing", async (flags, message) => {
    const url = await registeredStore();
    const r = await cli(["schedules", "add", "x", "--job", "report", ...flags, "--store", url]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stdout).toBe("");
    expect(await schedulesOf(url)).toEqual([]);
  });

  it("exits 2 on a bad schedule id, and for a missing --job", async () => {
    const url = await registeredStore();
    expect(
      (await cli(["schedules", "add", "bad id", "--job", "report", "--every", "1s", "--store", url])).code,
    ).toBe(2);
    expect((await cli(["schedules", "add", "x", "--every", "1s", "--store", url])).code).toBe(2);
    expect((await cli(["schedules", "pause", "bad id", "--store", url])).code).toBe(2);
  });

  it("refuses to inspect a store that does not exist", async () => {
    const r = await cli(["schedules", "ls", "--store", `sqlite:${join(dir, "missing.db")}`]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("no SQLite database");
  });
});

describe("conveyor worker --scheduler", () => {
  it("runs a scheduler beside the worker: due schedules get their jobs", async () => {
    const url = await registeredStore();
    const app = await Conveyor.open({ store: url });
    await app.schedule("fast", { everyMs: 50 }, "report", {}, { force: true });
    await app.close();
    const controller = new AbortController();
    let stdout = "";
    const running = run(
      ["worker", "--jobs", join(process.cwd(), "test/fixtures/jobs.mjs"), "--scheduler", "--store", url],
      {
        stdout: { write: (s: string) => (stdout += s) },
        stderr: { write: () => true },
        env: {},
        cwd: process.cwd(),
        signal: controller.signal,
      },
    );
    const check = await Conveyor.open({ store: url });
    try {
      for (let i = 0; i < 200; i++) {
        const { jobs } = await check.listJobs({ limit: 10 });
        if (jobs.some((j) => j.meta.schedule === "fast")) break;
        await new Promise((r) => setTimeout(r, 25));
      }
      const { jobs } = await check.listJobs({ limit: 10 });
      expect(jobs.some((j) => j.meta.schedule === "fast")).toBe(true);
    } finally {
      await check.close();
      controller.abort();
    }
    expect(await running).toBe(0);
    expect(stdout).toContain("scheduler running");
  });
});
