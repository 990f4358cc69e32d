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
    for (const c of ["demo", "worker", "enqueue", "jobs", "queues"]) expect(r.stdout).toContain(c);
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
  ])("%s %s --help has a description and an example", async (...cmd) => {
    const r = await cli([...cmd.filter(Boolean), "--help"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Usage: conveyor/);
    expect(r.stdout).toContain("Example:");
    if (cmd.length === 2 || cmd[0] === "enqueue" || cmd[0] === "worker")
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
    ["jobs ls --limit 5000", (u) => ["jobs", "ls", "--limit", "5000", "--store", u], /--limit.*1 to 1000/],
    ["jobs ls --cursor x", (u) => ["jobs", "ls", "--cursor", "x", "--store", u], /--cursor/],
    ["jobs show abc", (u) => ["jobs", "show", "abc", "--store", u], /not a job id/],
    ["unknown option", (u) => ["jobs", "ls", "--bogus", "--store", u], /unknown option '--bogus'/],
    ["unknown command", () => ["jbos"], /unknown command 'jbos'/],
    ["bad store URL", () => ["jobs", "ls", "--store", "redis://nowhere"], /--store.*sqlite:<path>/],
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
