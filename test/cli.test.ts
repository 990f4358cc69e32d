import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { run } from "../src/cli/run.js";
import { Conveyor } from "../src/conveyor.js";
import { defineJob } from "../src/job/define.js";
import type { JobListResult, JobRecord, QueueInfo } from "../src/store/store.js";

interface Captured {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI in-process with captured, non-TTY streams. */
async function cli(
  argv: string[],
  options: { env?: Record<string, string>; signal?: AbortSignal } = {},
): Promise<Captured> {
  let stdout = "";
  let stderr = "";
  const code = await run(argv, {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
    env: options.env ?? {},
    cwd: process.cwd(),
    ...(options.signal ? { signal: options.signal } : {}),
  });
  return { code, stdout, stderr };
}

const dir = mkdtempSync(join(tmpdir(), "conveyor-cli-test-"));
let n = 0;
/** A fresh store URL (the file does not exist yet). */
function freshStore(): { url: string; path: string } {
  const path = join(dir, `s${++n}.db`);
  return { url: `sqlite:${path}`, path };
}

const greet = defineJob<{ to: string }>({
  name: "greet",
  queue: "mail",
  async handler(data, ctx) {
    ctx.log(`greeting ${data.to}`);
    ctx.progress(50);
    return { greeted: data.to };
  },
});

const explode = defineJob({
  name: "explode",
  retry: { attempts: 1 },
  async handler(_data, ctx) {
    ctx.log("about to explode", "warn");
    throw new Error("kaboom");
  },
});

/** A store where a worker has registered `greet` and `explode`, so enqueue by name knows them. */
async function registeredStore(): Promise<string> {
  const { url } = freshStore();
  const app = await Conveyor.open({ store: url });
  await app.store.jobTypeRegister({
    types: [
      { name: "greet", queue: "mail" },
      { name: "explode", queue: "default" },
    ],
    now: Date.now(),
  });
  await app.close();
  return url;
}

async function withApp<T>(url: string, fn: (app: Conveyor) => Promise<T>): Promise<T> {
  const app = await Conveyor.open({ store: url });
  try {
    return await fn(app);
  } finally {
    await app.close();
  }
}

async function waitFor(check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error("timed out waiting");
    await new Promise((r) => setTimeout(r, 25));
  }
}

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("help and usage", () => {
  it("prints the program help with every command and an example", async () => {
    const r = await cli(["--help"]);
    expect(r.code).toBe(0);
    for (const c of ["demo", "worker", "enqueue", "jobs", "queues", "stats", "doctor"])
      expect(r.stdout).toContain(c);
    expect(r.stdout).toContain("Example:");
  });

  it.each([
    ["demo"],
    ["worker"],
    ["enqueue"],
    ["jobs"],
    ["jobs", "ls"],
    ["jobs", "show"],
    ["jobs", "retry"],
    ["jobs", "cancel"],
    ["jobs", "delete"],
    ["queues"],
    ["queues", "ls"],
    ["queues", "pause"],
    ["queues", "resume"],
    ["queues", "limit"],
    ["stats"],
    ["doctor"],
  ])("%s %s --help has a description and an example", async (...cmd) => {
    const r = await cli([...cmd.filter(Boolean), "--help"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Usage: conveyor/);
    expect(r.stdout).toContain("Example:");
    if (cmd.length === 2 || ["enqueue", "worker", "stats", "doctor"].includes(cmd[0]!))
      expect(r.stdout).toContain("--store <url>");
  });

  it("prints the version", async () => {
    const r = await cli(["--version"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^\d+\.\d+\.\d+/);
  });

  it("no command: help on stderr, exit 2", async () => {
    const r = await cli([]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("Usage: conveyor");
  });
});

describe("bad flags exit 2, name the flag and the fix, and touch nothing", () => {
  const cases: Array<[string, (url: string) => string[], RegExp]> = [
    [
      "demo --concurrency abc",
      (u) => ["demo", "--store", u, "--concurrency", "abc"],
      /--concurrency.*abc.*integer from 1/,
    ],
    ["demo --jobs 0", (u) => ["demo", "--store", u, "--jobs", "0"], /--jobs.*integer from 1/],
    [
      "worker --concurrency abc",
      (u) => ["worker", "--jobs", "test/fixtures/jobs.mjs", "--store", u, "--concurrency", "abc"],
      /--concurrency/,
    ],
    ["worker without --jobs", (u) => ["worker", "--store", u], /--jobs <module>.*not specified/],
    [
      "worker --queues ,",
      (u) => ["worker", "--jobs", "test/fixtures/jobs.mjs", "--store", u, "--queues", ","],
      /--queues/,
    ],
    [
      "enqueue bad JSON",
      (u) => ["enqueue", "greet", "--data", "{to:", "--store", u],
      /--data.*Not valid JSON.*--data '\{/,
    ],
    ["enqueue --priority x", (u) => ["enqueue", "greet", "--priority", "x", "--store", u], /--priority/],
    ["enqueue --delay -5", (u) => ["enqueue", "greet", "--delay", "-5", "--store", u], /--delay/],
    [
      "enqueue --attempts 0",
      (u) => ["enqueue", "greet", "--attempts", "0", "--store", u],
      /--attempts.*1 to 1000/,
    ],
    ["enqueue --count 1.5", (u) => ["enqueue", "greet", "--count", "1.5", "--store", u], /--count/],
    ["enqueue bad queue", (u) => ["enqueue", "greet", "--queue", "no spaces", "--store", u], /--queue/],
    ["enqueue bad name", (u) => ["enqueue", "bad name!", "--store", u], /name/],
    [
      "jobs ls --state nope",
      (u) => ["jobs", "ls", "--state", "nope", "--store", u],
      /--state.*nope.*scheduled, available/,
    ],
    ["jobs ls --limit 501", (u) => ["jobs", "ls", "--limit", "501", "--store", u], /--limit.*1 to 500/],
    ["jobs ls --cursor x", (u) => ["jobs", "ls", "--cursor", "x", "--store", u], /--cursor/],
    ["jobs show abc", (u) => ["jobs", "show", "abc", "--store", u], /not a job id/],
    ["unknown option", (u) => ["jobs", "ls", "--bogus", "--store", u], /unknown option '--bogus'/],
    ["unknown command", () => ["jbos"], /unknown command 'jbos'/],
    ["bad store URL", () => ["jobs", "ls", "--store", "ftp://nowhere"], /--store.*sqlite:<path>.*redis:\/\//],
  ];

  it.each(cases)("%s", async (_label, argv, message) => {
    const { url, path } = freshStore();
    const r = await cli(argv(url));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stdout).toBe("");
    expect(existsSync(path)).toBe(false);
  });

  it("bad flags on an existing store store nothing", async () => {
    const url = await registeredStore();
    expect((await cli(["enqueue", "greet", "--data", "[1,", "--count", "100", "--store", url])).code).toBe(2);
    expect((await cli(["enqueue", "greet", "--data", "{}", "--count", "x", "--store", url])).code).toBe(2);
    const total = await withApp(url, async (app) =>
      Object.values(await app.countJobs()).reduce((a, b) => a + b, 0),
    );
    expect(total).toBe(0);
  });

  it("an invalid CONVEYOR_STORE is a usage error", async () => {
    const r = await cli(["jobs", "ls"], { env: { CONVEYOR_STORE: "ftp://x" } });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("CONVEYOR_STORE");
  });

  it("read commands refuse a SQLite path that does not exist instead of creating it", async () => {
    const { url, path } = freshStore();
    const r = await cli(["queues", "ls", "--store", url]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("no SQLite database at");
    expect(existsSync(path)).toBe(false);
  });
});

describe("enqueue", () => {
  it("refuses an unknown job name, listing the known ones, exit 1, nothing stored", async () => {
    const url = await registeredStore();
    const r = await cli(["enqueue", "send-sms", "--data", "{}", "--store", url]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /^error \[ERR_UNKNOWN_JOB\]: unknown job "send-sms"; known jobs: .*explode.*greet/,
    );
    expect(r.stderr).toContain("--force");
    expect(await withApp(url, async (app) => (await app.listJobs()).jobs.length)).toBe(0);
  });

  it("--force enqueues an unknown name", async () => {
    const url = await registeredStore();
    const r = await cli([
      "enqueue",
      "send-sms",
      "--data",
      '{"to":"+1"}',
      "--force",
      "--json",
      "--store",
      url,
    ]);
    expect(r.code).toBe(0);
    const job = JSON.parse(r.stdout) as JobRecord;
    expect(job).toMatchObject({ name: "send-sms", queue: "default", state: "available", data: { to: "+1" } });
  });

  it("applies --queue, --priority, --delay and --attempts; --json parses", async () => {
    const url = await registeredStore();
    const r = await cli([
      "enqueue",
      "greet",
      "--data",
      '{"to":"ada"}',
      "--queue",
      "vip",
      "--priority",
      "-3",
      "--delay",
      "60000",
      "--attempts",
      "7",
      "--json",
      "--store",
      url,
    ]);
    expect(r.code).toBe(0);
    const job = JSON.parse(r.stdout) as JobRecord;
    expect(job).toMatchObject({
      name: "greet",
      queue: "vip",
      priority: -3,
      state: "scheduled",
      maxAttempts: 7,
    });
    expect(job.runAt - job.createdAt).toBe(60_000);
    const plain = await cli(["enqueue", "greet", "--data", '{"to":"bob"}', "--store", url]);
    expect(plain.code).toBe(0);
    expect(plain.stdout).toMatch(/^enqueued job \d+ \(greet\) on queue mail: available/);
  });

  it("--count enqueues copies in chunks with a plain progress line when not a TTY", async () => {
    const url = await registeredStore();
    const r = await cli([
      "enqueue",
      "greet",
      "--data",
      '{"to":"x"}',
      "--count",
      "2500",
      "--json",
      "--store",
      url,
    ]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({
      name: "greet",
      queue: "mail",
      count: 2500,
      firstId: "1",
      lastId: "2500",
    });
    expect(r.stderr).toContain("enqueue greet 2500/2500");
    expect(await withApp(url, async (app) => (await app.countJobs("mail")).available)).toBe(2500);
  });

  it("uses CONVEYOR_STORE when --store is absent", async () => {
    const url = await registeredStore();
    const r = await cli(["enqueue", "greet", "--data", '{"to":"env"}'], { env: { CONVEYOR_STORE: url } });
    expect(r.code).toBe(0);
    expect(await withApp(url, async (app) => (await app.listJobs()).jobs.length)).toBe(1);
  });
});

describe("jobs and queues", () => {
  let url: string;
  let failedId: string;
  let completedId: string;

  beforeAll(async () => {
    url = await registeredStore();
    await withApp(url, async (app) => {
      completedId = (await app.enqueue(greet, { to: "ada" })).id;
      failedId = (await app.enqueue(explode, {})).id;
      const worker = app.worker({ jobs: [greet, explode] });
      await worker.start();
      await waitFor(async () => {
        const c = await app.countJobs();
        return c.completed === 1 && c.discarded === 1;
      });
      await worker.stop();
      // Three waiting jobs, for paging, filters and steering.
      for (const to of ["a", "b", "c"]) await app.enqueue(greet, { to }, { delayMs: 3_600_000 });
    });
  });

  it("jobs ls prints a table, newest first", async () => {
    const r = await cli(["jobs", "ls", "--store", url]);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split("\n");
    expect(lines[0]).toMatch(/^\s*ID\s+STATE\s+NAME\s+QUEUE/);
    expect(lines).toHaveLength(6);
    expect(lines[1]).toMatch(/^\s*5\s+scheduled\s+greet\s+mail/);
    expect(r.stdout).toMatch(/discarded\s+explode\s+default.*handler: kaboom/);
  });

  it("jobs ls filters by state, queue and name, and pages with --cursor", async () => {
    const byState = JSON.parse(
      (await cli(["jobs", "ls", "--state", "discarded", "--json", "--store", url])).stdout,
    ) as JobListResult;
    expect(byState.jobs.map((j) => j.id)).toEqual([failedId]);
    const byQueue = JSON.parse(
      (await cli(["jobs", "ls", "--queue", "mail", "--json", "--store", url])).stdout,
    ) as JobListResult;
    expect(byQueue.jobs).toHaveLength(4);
    const byName = JSON.parse(
      (await cli(["jobs", "ls", "--name", "explode", "--json", "--store", url])).stdout,
    ) as JobListResult;
    expect(byName.jobs.map((j) => j.name)).toEqual(["explode"]);

    const page1 = await cli(["jobs", "ls", "--limit", "2", "--store", url]);
    expect(page1.stdout).toContain("more: add --cursor 4 for the next page");
    const p2 = JSON.parse(
      (await cli(["jobs", "ls", "--limit", "2", "--cursor", "4", "--json", "--store", url])).stdout,
    ) as JobListResult;
    expect(p2.jobs.map((j) => j.id)).toEqual(["3", "2"]);
    const none = await cli(["jobs", "ls", "--state", "running", "--store", url]);
    expect(none.stdout).toBe("no jobs match\n");
  });

  it("jobs show prints every field, errors with their stack, logs and the result", async () => {
    const failed = await cli(["jobs", "show", failedId, "--store", url]);
    expect(failed.code).toBe(0);
    expect(failed.stdout).toMatch(new RegExp(`^job ${failedId}  explode  \\(discarded\\)`));
    for (const field of [
      "queue",
      "state",
      "priority",
      "attempts",
      "stalls",
      "timeout",
      "created",
      "run at",
      "finished",
    ]) {
      expect(failed.stdout).toMatch(new RegExp(`\\n  ${field}\\s`));
    }
    expect(failed.stdout).toContain("attempts   1 of 1");
    expect(failed.stdout).toContain("errors (1):");
    expect(failed.stdout).toContain("Error: kaboom");
    expect(failed.stdout).toMatch(/\n {8}at /); // stack frames
    expect(failed.stdout).toMatch(/logs \(1\):\n.*warn\s+#1\s+about to explode/);

    const done = await cli(["jobs", "show", completedId, "--store", url]);
    expect(done.stdout).toContain('"greeted": "ada"');
    expect(done.stdout).toContain("progress   50");
    expect(done.stdout).toContain("greeting ada");

    const json = JSON.parse(
      (await cli(["jobs", "show", failedId, "--json", "--store", url])).stdout,
    ) as JobRecord;
    expect(json.errors[0]).toMatchObject({ attempt: 1, kind: "handler", message: "kaboom" });
    expect(json.errors[0]?.stack).toContain("kaboom");
    expect(json.logs[0]).toMatchObject({ level: "warn", message: "about to explode" });
  });

  it("jobs show of a missing id: error [ERR_JOB_NOT_FOUND], exit 1", async () => {
    const r = await cli(["jobs", "show", "999", "--store", url]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe("error [ERR_JOB_NOT_FOUND]: job 999 not found\n");
  });

  it("jobs retry, cancel and delete", async () => {
    const retried = await cli(["jobs", "retry", failedId, "--json", "--store", url]);
    expect(retried.code).toBe(0);
    expect(JSON.parse(retried.stdout)).toMatchObject({ id: failedId, state: "available", maxAttempts: 2 });

    const cancelled = await cli(["jobs", "cancel", "3", "--store", url]);
    expect(cancelled.code).toBe(0);
    expect(cancelled.stdout).toBe("job 3 (greet) is cancelled\n");
    const again = await cli(["jobs", "cancel", "3", "--store", url]);
    expect(again.stdout).toContain("already cancelled");

    expect((await cli(["jobs", "delete", "3", "--store", url])).stdout).toBe("job 3 deleted\n");
    const gone = await cli(["jobs", "show", "3", "--store", url]);
    expect(gone.code).toBe(1);
    for (const cmd of ["retry", "cancel", "delete"]) {
      const r = await cli(["jobs", cmd, "3", "--store", url]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/^error \[ERR_JOB_NOT_FOUND\]/);
    }
  });

  it("queues pause and resume are reflected in queues ls", async () => {
    const before = await cli(["queues", "ls", "--store", url]);
    expect(before.code).toBe(0);
    expect(before.stdout).toMatch(
      /^QUEUE\s+PAUSED\s+SCHEDULED\s+AVAILABLE\s+RUNNING\s+RETRYABLE\s+COMPLETED\s+CANCELLED\s+DISCARDED/,
    );
    expect(before.stdout).toMatch(/\nmail\s+no\s/);

    const paused = await cli(["queues", "pause", "mail", "--store", url]);
    expect(paused.code).toBe(0);
    expect(paused.stdout).toContain("queue mail paused");
    expect((await cli(["queues", "ls", "--store", url])).stdout).toMatch(/\nmail\s+yes\s/);
    const list = JSON.parse((await cli(["queues", "ls", "--json", "--store", url])).stdout) as QueueInfo[];
    const mail = list.find((q) => q.name === "mail");
    expect(mail?.paused).toBe(true);
    expect(mail?.counts.completed).toBe(1);

    expect((await cli(["queues", "resume", "mail", "--store", url])).code).toBe(0);
    const after = JSON.parse((await cli(["queues", "ls", "--json", "--store", url])).stdout) as QueueInfo[];
    expect(after.find((q) => q.name === "mail")?.paused).toBe(false);
  });

  it("queues limit sets and clears a queue's rate limit, shown by queues ls", async () => {
    const set = await cli(["queues", "limit", "mail", "--max", "5", "--window", "200", "--store", url]);
    expect(set.code).toBe(0);
    expect(set.stdout).toContain("queue mail: at most 5 jobs start in any 200 ms window");
    expect((await cli(["queues", "ls", "--store", url])).stdout).toMatch(/\nmail\s.*\s5\/200ms\n/);
    const list = JSON.parse((await cli(["queues", "ls", "--json", "--store", url])).stdout) as QueueInfo[];
    expect(list.find((q) => q.name === "mail")?.rateLimit).toEqual({ max: 5, windowMs: 200 });

    const bad = await cli(["queues", "limit", "mail", "--max", "5", "--store", url]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/--window/);
    const both = await cli(["queues", "limit", "mail", "--clear", "--max", "5", "--store", url]);
    expect(both.code).not.toBe(0);
    const huge = await cli(["queues", "limit", "mail", "--max", "20000", "--window", "10", "--store", url]);
    expect(huge.code).not.toBe(0);
    expect(huge.stderr).toMatch(/setQueueRateLimit limit\.max/);

    const cleared = await cli(["queues", "limit", "mail", "--clear", "--store", url]);
    expect(cleared.code).toBe(0);
    const after = JSON.parse((await cli(["queues", "ls", "--json", "--store", url])).stdout) as QueueInfo[];
    expect(after.find((q) => q.name === "mail")?.rateLimit).toBeUndefined();
  });
});

describe("worker (in-process, stopped through io.signal)", () => {
  it("runs the job types of a module until stopped, then exits 0", async () => {
    const url = await registeredStore();
    await withApp(url, async (app) => {
      await app.enqueue("fixture-hello", { who: "ada" }, { force: true });
      // By-name enqueue does not know the type's retry.attempts (see the report), so give it here.
      await app.enqueue("fixture-broken", {}, { force: true, attempts: 1 });
    });
    const stop = new AbortController();
    const running = cli(
      ["worker", "--jobs", "test/fixtures/jobs.mjs", "--verbose", "--concurrency", "4", "--store", url],
      {
        signal: stop.signal,
      },
    );
    await withApp(url, (app) =>
      waitFor(async () => {
        const c = await app.countJobs();
        return c.completed === 1 && c.discarded === 1;
      }),
    );
    stop.abort();
    const r = await running;
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      /worker \S+ running 3 job types \(fixture-hello, fixture-slow, fixture-broken\) on queues default, slow, concurrency 4/,
    );
    expect(r.stdout).toMatch(/completed fixture-hello #1 in \d/);
    expect(r.stdout).toMatch(
      /failed {4}fixture-broken #2 attempt 1\/1: fixture failure on purpose \(discarded\)/,
    );
    expect(r.stdout).toContain("worker stopped: 1 completed, 1 failed attempts, 0 released");
    const types = await withApp(url, (app) => app.listJobTypes());
    expect(types.map((t) => t.name).sort()).toEqual([
      "explode",
      "fixture-broken",
      "fixture-hello",
      "fixture-slow",
      "greet",
    ]);
  });

  it("--jobs of a missing file or of a module without job definitions: exit 2", async () => {
    const { url, path } = freshStore();
    const missing = await cli(["worker", "--jobs", "test/fixtures/nope.mjs", "--store", url]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("--jobs: no file at");
    const empty = await cli(["worker", "--jobs", "test/fixtures/no-jobs.mjs", "--store", url]);
    expect(empty.code).toBe(2);
    expect(empty.stderr).toContain("exports no job definitions");
    expect(existsSync(path)).toBe(false);
  });
});

describe("demo (in-process, not a TTY)", () => {
  it("runs every job to its final state and prints the summary", async () => {
    const { url } = freshStore();
    const r = await cli(["demo", "--jobs", "25", "--concurrency", "8", "--store", url]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("all 25 jobs reached a final state");
    expect(r.stdout).toMatch(/retried, then completed: 2\n/);
    expect(r.stdout).toMatch(
      /discarded \(failed for good\): 1\n {2}#\d+ sync-crm: after 2 attempts: CRM rejected/,
    );
    expect(r.stdout).toContain(`conveyor jobs ls --store ${url}`);
    const counts = await withApp(url, (app) => app.countJobs());
    expect(counts).toMatchObject({
      completed: 24,
      discarded: 1,
      available: 0,
      running: 0,
      scheduled: 0,
      retryable: 0,
    });
  });
});

describe("demo dashboard flags", () => {
  it("--no-dashboard serves none; --dashboard-port serves on that port", async () => {
    const none = await cli(["demo", "--jobs", "3", "--no-dashboard", "--store", freshStore().url]);
    expect(none.code).toBe(0);
    expect(none.stdout).not.toContain("dashboard:");
    const { freePort } = await import("./helpers/redis-server.js");
    const port = await freePort();
    const served = await cli([
      "demo",
      "--jobs",
      "3",
      "--dashboard-port",
      String(port),
      "--store",
      freshStore().url,
    ]);
    expect(served.code).toBe(0);
    expect(served.stdout).toContain(`dashboard: http://127.0.0.1:${port}`);
  });
});

describe("format and progress helpers", () => {
  it("formats durations, tables and plain progress lines", async () => {
    const { formatDuration, formatTable } = await import("../src/cli/format.js");
    const { createProgress } = await import("../src/cli/progress.js");
    expect([850, 2_400, 65_000, 7_380_000, 3 * 86_400_000].map(formatDuration)).toEqual([
      "850ms",
      "2.40s",
      "1m 05s",
      "2h 03m",
      "3d 0h",
    ]);
    expect(
      formatTable(
        [{ header: "ID", align: "right" }, { header: "NAME" }],
        [
          ["7", "a"],
          ["12", "bb"],
        ],
      ),
    ).toBe("ID  NAME\n 7  a\n12  bb\n");
    let text = "";
    // A TTY with CI=true still gets plain lines.
    const p = createProgress(
      { write: (s: string) => (text += s), isTTY: true },
      { CI: "true" },
      { label: "x", total: 3 },
    );
    expect(p.interactive).toBe(false);
    p.update(1, "a");
    p.update(2, "b"); // within the interval: not printed
    p.stop();
    expect(text).toBe("x 1/3 a\nx 2/3 b\n");
  });
});

/**
 * Runs the CLI in-process with stdout and stderr as (fake) terminals; `onStdout` sees stdout as it grows.
 */
async function cliTTY(
  argv: string[],
  options: { signal?: AbortSignal; onStdout?: (soFar: string) => void } = {},
): Promise<Captured> {
  let stdout = "";
  let stderr = "";
  const tty = (write: (s: string) => void) => ({
    write: (s: string) => {
      write(s);
      return true;
    },
    isTTY: true,
    columns: 160,
    rows: 40,
    on: () => {},
    removeListener: () => {},
  });
  const code = await run(argv, {
    stdout: tty((s) => {
      stdout += s;
      options.onStdout?.(stdout);
    }),
    stderr: tty((s) => {
      stderr += s;
    }),
    env: {},
    cwd: process.cwd(),
    ...(options.signal ? { signal: options.signal } : {}),
  });
  return { code, stdout, stderr };
}

describe("admin commands: search, retry --all, stats, doctor", () => {
  const flaky = defineJob<{ n: number }>({
    name: "flaky",
    queue: "jobs-q",
    retry: { attempts: 1 },
    async handler(data) {
      throw new Error(`flaky ${data.n}`);
    },
  });

  /** A store with `dead` discarded jobs in queue jobs-q, 2 in queue other-q, and a few keyed/grouped waiting. */
  async function storeWithFailures(dead: number): Promise<string> {
    const { url } = freshStore();
    await withApp(url, async (app) => {
      await app.enqueueMany(
        flaky,
        Array.from({ length: dead }, (_, n) => ({ data: { n } })),
      );
      await app.enqueueMany(flaky, [
        { data: { n: -1 }, options: { queue: "other-q" } },
        { data: { n: -2 }, options: { queue: "other-q" } },
      ]);
      const worker = app.worker({ jobs: [flaky], queues: ["jobs-q", "other-q"], concurrency: 10 });
      await worker.start();
      await waitFor(async () => (await app.countJobs()).discarded === dead + 2);
      await worker.stop();
      await app.enqueue(greet, { to: "k" }, { key: "order-1", delayMs: 3_600_000 });
      await app.enqueue(greet, { to: "g1" }, { group: "player:7", delayMs: 3_600_000 });
      await app.enqueue(greet, { to: "g2" }, { group: "player:7", delayMs: 3_600_000 });
    });
    return url;
  }

  it("jobs ls shows key and group columns; --key, --group and --search filter; --json parses", async () => {
    const url = await storeWithFailures(1);
    const table = await cli(["jobs", "ls", "--store", url]);
    expect(table.code).toBe(0);
    expect(table.stdout.split("\n")[0]).toMatch(/^\s*ID\s+STATE\s+NAME\s+QUEUE\s+KEY\s+GROUP\s+TRIES/);
    expect(table.stdout).toMatch(/\n\s*4\s+scheduled\s+greet\s+mail\s+order-1\s+-\s+0\/3/);
    expect(table.stdout).toMatch(/\n\s*6\s+scheduled\s+greet\s+mail\s+-\s+player:7\s+0\/3/);

    const byKey = JSON.parse(
      (await cli(["jobs", "ls", "--key", "order-1", "--json", "--store", url])).stdout,
    );
    expect(byKey.jobs.map((j: JobRecord) => j.id)).toEqual(["4"]);
    const byGroup = JSON.parse(
      (await cli(["jobs", "ls", "--group", "player:7", "--queue", "mail", "--json", "--store", url])).stdout,
    );
    expect(byGroup.jobs.map((j: JobRecord) => j.id)).toEqual(["6", "5"]);

    const searchKey = await cli(["jobs", "ls", "--search", "order-1", "--store", url]);
    expect(searchKey.stdout).toContain("(--search matched the dedupe key)");
    const searchGroup = JSON.parse(
      (await cli(["jobs", "ls", "--search", "player:7", "--limit", "1", "--json", "--store", url])).stdout,
    );
    expect(searchGroup).toMatchObject({ matchedBy: "group", jobs: [{ id: "6" }], nextCursor: "6" });
    const searchId = JSON.parse(
      (await cli(["jobs", "ls", "--search", "2", "--json", "--store", url])).stdout,
    );
    expect(searchId).toMatchObject({
      matchedBy: "id",
      jobs: [{ id: "2", queue: "other-q" }],
      nextCursor: null,
    });
    const nothing = await cli(["jobs", "ls", "--search", "no-such-thing", "--store", url]);
    expect(nothing.stdout).toBe("no jobs match\n");

    const show = await cli(["jobs", "show", "5", "--store", url]);
    expect(show.stdout).toMatch(/\n {2}key\s+-\n {2}group\s+player:7\n/);
  });

  it("jobs retry --all retries a queue's discarded jobs: plain summary off a terminal, --json counts", async () => {
    const url = await storeWithFailures(30);
    const r = await cli([
      "jobs",
      "retry",
      "--all",
      "--queue",
      "jobs-q",
      "--state",
      "discarded",
      "--store",
      url,
    ]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe("");
    expect(r.stdout).toMatch(/^retried 30 discarded jobs in queue jobs-q in \S+\n$/);
    expect(await withApp(url, (app) => app.countJobs("jobs-q"))).toMatchObject({
      available: 30,
      discarded: 0,
    });
    expect(await withApp(url, (app) => app.countJobs("other-q"))).toMatchObject({ discarded: 2 });

    const again = await cli(["jobs", "retry", "--all", "--queue", "jobs-q", "--store", url]);
    expect(again.stdout).toBe("no discarded jobs in queue jobs-q: nothing to retry\n");
    const rest = JSON.parse((await cli(["jobs", "retry", "--all", "--json", "--store", url])).stdout);
    expect(rest).toMatchObject({ state: "discarded", queue: null, retried: 2, skipped: 0 });
    expect(typeof rest.ms).toBe("number");
  });

  it("jobs retry --all draws a progress bar on a terminal", async () => {
    const url = await storeWithFailures(40);
    const r = await cliTTY(["jobs", "retry", "--all", "--state", "discarded", "--store", url]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("retry discarded");
    expect(r.stderr).toContain("42/42");
    expect(r.stderr).toMatch(/█/);
    expect(r.stdout).toMatch(/^retried 42 discarded jobs in every queue in /);
  });

  it("jobs retry: an id or --all, and --queue/--state only with --all (exit 2, nothing touched)", async () => {
    const url = await storeWithFailures(1);
    for (const argv of [
      ["jobs", "retry"],
      ["jobs", "retry", "1", "--all"],
      ["jobs", "retry", "1", "--state", "discarded"],
      ["jobs", "retry", "--queue", "jobs-q"],
      ["jobs", "retry", "--all", "--state", "running"],
      ["jobs", "retry", "abc"],
    ]) {
      const r = await cli([...argv, "--store", url]);
      expect(r.code, argv.join(" ")).toBe(2);
      expect(r.stderr).not.toBe("");
    }
    expect(await withApp(url, (app) => app.countJobs())).toMatchObject({ discarded: 3 });
  });

  it("stats prints one frame off a terminal or with --once; --json parses", async () => {
    const url = await storeWithFailures(3);
    const r = await cli(["stats", "--store", url]);
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^sqlite store {2}\d{4}-\d\d-\d\dT.*Z {2}workers 0 {2}schedules 0 {2}queues 3$/);
    expect(lines[1]).toMatch(
      /^QUEUE\s+PAUSED\s+SCHEDULED\s+AVAILABLE\s+RUNNING.*DISCARDED\s+DONE\/MIN\s+FAILED\/MIN$/,
    );
    expect(r.stdout).toMatch(/\njobs-q\s+no\s+0\s+0\s+0\s+0\s+0\s+0\s+3\s+0\s+3\n/);
    expect(r.stdout).toMatch(/\n\(all\)\s+3\s+0\s+0\s+0\s+0\s+0\s+5\s+0\s+5\n/);
    const once = await cliTTY(["stats", "--once", "--store", url]);
    expect(once.stdout).toBe(
      r.stdout.replace(/\d{4}-\d\d-\d\dT\S+Z/, once.stdout.match(/\d{4}-\d\d-\d\dT\S+Z/)![0]),
    );
    const json = JSON.parse((await cli(["stats", "--json", "--store", url])).stdout);
    expect(json).toMatchObject({ storeKind: "sqlite", workers: 0, totals: { discarded: 5, scheduled: 3 } });
    expect(json.rates).toEqual([
      { queue: "jobs-q", completed: 0, failed: 3 },
      { queue: "mail", completed: 0, failed: 0 },
      { queue: "other-q", completed: 0, failed: 2 },
    ]);
    expect(json.throughput).toHaveLength(60);
  });

  it("stats redraws on a terminal until stopped, then leaves the last frame", async () => {
    const url = await storeWithFailures(1);
    const stop = new AbortController();
    // Stopped once three frames were drawn (whenever that is: no timing is asserted).
    const r = await cliTTY(["stats", "--interval", "100", "--store", url], {
      signal: stop.signal,
      onStdout: (soFar) => {
        if (soFar.split("(Ctrl-C to quit)").length > 3) stop.abort();
      },
    });
    expect(r.code).toBe(0);
    const frames = r.stdout.split("\u001b[H").length - 1;
    expect(frames).toBeGreaterThanOrEqual(3);
    expect(r.stdout.startsWith("\u001b[?1049h")).toBe(true);
    expect(r.stdout).toContain("(Ctrl-C to quit)");
    const leave = "\u001b[?1049l";
    const after = r.stdout.slice(r.stdout.lastIndexOf(leave) + leave.length);
    expect(after).toMatch(/^sqlite store .*\nQUEUE/);
  });

  it("doctor on a SQLite file: a table of checks and an ok verdict, exit 0; --json parses", async () => {
    const url = await registeredStore();
    const r = await cli(["doctor", "--store", url]);
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^CHECK\s+STATUS\s+DETAIL$/);
    for (const name of ["reachable", "schema", "journal", "durability", "file", "disk", "clock"]) {
      expect(r.stdout).toMatch(new RegExp(`\\n${name}\\s+(ok|WARN)\\s+\\S`));
    }
    expect(r.stdout).toMatch(/\nschema\s+ok\s+schema version 2, current\n/);
    expect(r.stdout).toMatch(/\ndurability\s+ok\s+synchronous=FULL/);
    expect(r.stdout).toMatch(/\nclock\s+ok\s+ok, same machine/);
    expect(lines.at(-1)).toMatch(
      /^verdict: (ok \(sqlite store, 7 checks passed\)|warn \(sqlite store; .*\))$/,
    );
    const json = JSON.parse((await cli(["doctor", "--json", "--store", url])).stdout);
    expect(json.storeKind).toBe("sqlite");
    expect(json.checks.map((c: { name: string }) => c.name)).toEqual([
      "reachable",
      "schema",
      "journal",
      "durability",
      "file",
      "disk",
      "clock",
    ]);
    expect(["ok", "warn"]).toContain(json.verdict);
  });

  it("doctor on memory warns about durability (exit 0); on a missing file it fails (exit 1) and creates nothing", async () => {
    const memory = await cli(["doctor", "--store", "memory"]);
    expect(memory.code).toBe(0);
    expect(memory.stdout).toMatch(/\ndurability\s+WARN\s+memory store: nothing survives the process/);
    expect(memory.stdout).toMatch(/\nclock\s+ok\s+skipped: /);
    expect(memory.stdout.trimEnd().split("\n").at(-1)).toBe(
      "verdict: warn (memory store; 1 to look at: durability)",
    );

    const { url, path } = freshStore();
    const missing = await cli(["doctor", "--store", url]);
    expect(missing.code).toBe(1);
    expect(missing.stdout).toMatch(/^CHECK\s+STATUS\s+DETAIL\nreachable\s+FAIL\s+no SQLite database at /);
    expect(missing.stdout).toContain("verdict: fail (sqlite store; 1 failed: reachable)");
    expect(existsSync(path)).toBe(false);
    const json = JSON.parse((await cli(["doctor", "--json", "--store", url])).stdout);
    expect(json).toMatchObject({ verdict: "fail", checks: [{ name: "reachable", status: "fail" }] });
  });

  it("stats estimates the last 60 s from the current minute and the overlapping part of the previous", async () => {
    const { lastMinute } = await import("../src/cli/commands/stats.js");
    const point = (minute: number, completed: number, failed: number) => ({
      minute,
      completed,
      failed,
      retried: failed,
      discarded: 0,
      cancelled: 0,
      rescued: 0,
    });
    const m = 1_800_000_000_000 - (1_800_000_000_000 % 60_000);
    const points = [point(m - 60_000, 60, 8), point(m, 10, 1)];
    expect(lastMinute(points, m + 15_000)).toEqual({ completed: 55, failed: 7 });
    expect(lastMinute(points, m)).toEqual({ completed: 70, failed: 9 });
    expect(lastMinute(points, m + 59_999)).toEqual({ completed: 10, failed: 1 });
    expect(lastMinute([point(m, 4, 2)], m + 30_000)).toEqual({ completed: 4, failed: 2 });
    expect(lastMinute([], m)).toEqual({ completed: 0, failed: 0 });
  });

  it("queues ls --json carries each queue's job types", async () => {
    const url = await registeredStore();
    const list = JSON.parse((await cli(["queues", "ls", "--json", "--store", url])).stdout);
    expect(list).toEqual([
      expect.objectContaining({ name: "default", jobTypes: ["explode"] }),
      expect.objectContaining({ name: "mail", jobTypes: ["greet"] }),
    ]);
  });
});
