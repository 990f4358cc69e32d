/**
 * End-to-end tests of the BUILT CLI (`node dist/cli/main.js`, built by `npm test` before vitest): real child
 * processes, real SQLite files, real signals.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { JobListResult } from "../src/store/store.js";

const root = resolve(import.meta.dirname, "..");
const main = join(root, "dist/cli/main.js");
const dir = mkdtempSync(join(tmpdir(), "conveyor-cli-e2e-"));
const children: ChildProcess[] = [];

afterAll(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  rmSync(dir, { recursive: true, force: true });
});

interface Result {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs the built CLI to completion, with pipes (not a TTY) and CI unset. */
function conveyor(args: string[], timeoutMs = 60_000): Promise<Result> {
  return new Promise((done) => {
    const env = { ...process.env, CI: "", CONVEYOR_STORE: "" };
    execFile(
      process.execPath,
      [main, ...args],
      { cwd: root, env, timeout: timeoutMs },
      (err, stdout, stderr) => {
        const e = err as (Error & { code?: number; signal?: NodeJS.Signals }) | null;
        done({
          code: e ? (typeof e.code === "number" ? e.code : null) : 0,
          signal: e?.signal ?? null,
          stdout,
          stderr,
        });
      },
    );
  });
}

async function waitFor(check: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error("timed out waiting");
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe.skipIf(!existsSync(main))("the built conveyor CLI", () => {
  it("--help lists the commands; a bad flag exits 2", async () => {
    const help = await conveyor(["--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("Usage: conveyor");
    for (const c of ["demo", "worker", "enqueue", "jobs", "queues", "stats", "doctor"])
      expect(help.stdout).toContain(c);
    const bad = await conveyor(["demo", "--concurrency", "abc"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("option '--concurrency <n>' argument 'abc' is invalid");
  });

  it("demo --jobs 40 (not a TTY) runs every job to its final state, summarises and exits 0", async () => {
    const r = await conveyor(["demo", "--jobs", "40"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const store = /^store: (sqlite:\S+) \(a fresh SQLite file\)$/m.exec(r.stdout)?.[1];
    expect(store).toBeDefined();
    expect(r.stdout).toMatch(/enqueued 40 jobs/);
    expect(r.stdout).toMatch(/^jobs final \d+\/40/m); // plain progress lines
    expect(r.stdout).toMatch(/all 40 jobs reached a final state in [\d.]+m?s \([\d.,]+\/s\)/);
    expect(r.stdout).toMatch(/completed\s+38\n/);
    expect(r.stdout).toMatch(/discarded\s+2\n/);
    expect(r.stdout).toMatch(
      /retried, then completed: 3\n( {2}#\d+ flaky-upload: \d attempts; last error: upload of .* interrupted.*\n){3}/,
    );
    expect(r.stdout).toMatch(
      /discarded \(failed for good\): 2\n( {2}#\d+ sync-crm: after 2 attempts: CRM rejected .*\n){2}/,
    );
    // Run from a checkout (no `conveyor` on the PATH), it prints commands that work from here.
    expect(r.stdout).toContain(`node dist/cli/main.js jobs ls --store ${store}`);

    // The file it names holds the jobs, as the printed commands show.
    const ls = await conveyor(["jobs", "ls", "--state", "discarded", "--json", "--store", String(store)]);
    expect(ls.code).toBe(0);
    const page = JSON.parse(ls.stdout) as JobListResult;
    expect(page.jobs.map((j) => j.name)).toEqual(["sync-crm", "sync-crm"]);
    const queues = await conveyor(["queues", "ls", "--store", String(store)]);
    expect(queues.stdout).toMatch(/\ncrm\s+no\s+0\s+0\s+0\s+0\s+0\s+0\s+2\s+-\n/);

    // The operator's commands on the same file: doctor, stats, and a bulk retry of the discarded jobs.
    const doctor = await conveyor(["doctor", "--store", String(store)]);
    expect(doctor.code).toBe(0);
    expect(doctor.stdout).toMatch(/^CHECK\s+STATUS\s+DETAIL\nreachable\s+ok\s+sqlite store answered in /);
    expect(doctor.stdout).toMatch(/\nverdict: (ok|warn) \(sqlite store/);
    const stats = await conveyor(["stats", "--store", String(store)]);
    expect(stats.code).toBe(0);
    expect(stats.stdout).toMatch(/\ncrm\s+no\s+0\s+0\s+0\s+0\s+0\s+0\s+2\s+0\s+[1-9]\d*\n/);
    const retry = await conveyor(["jobs", "retry", "--all", "--queue", "crm", "--store", String(store)]);
    expect(retry.code).toBe(0);
    expect(retry.stdout).toMatch(/^retried 2 discarded jobs in queue crm in /);
    rmSync(
      String(store)
        .slice("sqlite:".length)
        .replace(/demo\.db$/, ""),
      { recursive: true, force: true },
    );
  });

  it("worker --jobs <module> processes jobs enqueued by another process and stops gracefully on SIGTERM", async () => {
    const store = `sqlite:${join(dir, "worker.db")}`;
    const worker = spawn(
      process.execPath,
      [
        main,
        "worker",
        "--jobs",
        "test/fixtures/jobs.mjs",
        "--store",
        store,
        "--concurrency",
        "4",
        "--verbose",
      ],
      { cwd: root, env: { ...process.env, CI: "" }, stdio: ["ignore", "pipe", "pipe"] },
    );
    children.push(worker);
    let stdout = "";
    let stderr = "";
    worker.stdout?.on("data", (d: Buffer) => (stdout += d.toString()));
    worker.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) =>
      worker.on("exit", (code, signal) => done({ code, signal })),
    );
    await waitFor(async () => stdout.includes("Ctrl-C or SIGTERM stops it gracefully"));

    // The worker registered its job types, so enqueue by name works without --force.
    const one = await conveyor(["enqueue", "fixture-hello", "--data", '{"who":"e2e"}', "--store", store]);
    expect(one.code).toBe(0);
    const many = await conveyor([
      "enqueue",
      "fixture-hello",
      "--data",
      '{"who":"bulk"}',
      "--count",
      "20",
      "--store",
      store,
    ]);
    expect(many.code).toBe(0);
    expect(many.stdout).toMatch(/enqueued 20 jobs \(fixture-hello\) on queue default: ids 2 to 21/);
    const completed = async (): Promise<number> => {
      const r = await conveyor([
        "jobs",
        "ls",
        "--state",
        "completed",
        "--limit",
        "100",
        "--json",
        "--store",
        store,
      ]);
      return (JSON.parse(r.stdout) as JobListResult).jobs.length;
    };
    await waitFor(async () => (await completed()) === 21);
    expect(stdout).toMatch(/completed fixture-hello #21 in/);

    // A slow job is running when SIGTERM arrives: the graceful stop lets it finish, then exits 0.
    const slow = await conveyor([
      "enqueue",
      "fixture-slow",
      "--data",
      '{"ms":1500}',
      "--json",
      "--store",
      store,
    ]);
    const slowId = (JSON.parse(slow.stdout) as { id: string }).id;
    await waitFor(async () => stdout.includes(`fixture-slow #${slowId}`) || (await isRunning(store, slowId)));
    worker.kill("SIGTERM");
    const exit = await exited;
    expect(stderr).toContain("SIGTERM: stopping gracefully");
    expect(exit).toEqual({ code: 0, signal: null });
    expect(stdout).toMatch(new RegExp(`completed fixture-slow #${slowId} in 1\\.`));
    expect(stdout).toContain("worker stopped: 22 completed, 0 failed attempts, 0 released");
    const show = await conveyor(["jobs", "show", slowId, "--json", "--store", store]);
    expect(JSON.parse(show.stdout)).toMatchObject({
      state: "completed",
      result: { slept: 1500 },
      progress: 100,
    });
  });
});

async function isRunning(store: string, id: string): Promise<boolean> {
  const r = await conveyor(["jobs", "show", id, "--json", "--store", store]);
  return r.code === 0 && (JSON.parse(r.stdout) as { state: string }).state === "running";
}
