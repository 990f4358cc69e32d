import { afterEach, describe, expect, expectTypeOf, it } from "vitest";
import { run } from "../src/cli/run.js";
import {
  type Conveyor,
  defineJob,
  type EnqueuedJob,
  InvalidStateTransitionError,
  type JobRecord,
  OptionsError,
} from "../src/index.js";
import { FakeClock } from "../src/testing/index.js";
import { openApp, STORE_KINDS } from "./helpers/stores.js";

const reindex = defineJob<{ doc: string; rev?: number }>({ name: "reindex", handler: (d) => d.doc });

describe.each(STORE_KINDS)("dedupe and promote through the app on the %s store", (kind) => {
  let app: Conveyor;
  let clock: FakeClock;
  let cleanup: () => Promise<void>;
  afterEach(async () => cleanup?.());

  async function setup() {
    clock = new FakeClock();
    ({ app, cleanup } = await openApp(kind, { clock, retention: false }));
  }

  it("enqueue resolves to the job plus its outcome, still assignable to JobRecord", async () => {
    await setup();
    const job = await app.enqueue(reindex, { doc: "d1" });
    expectTypeOf(job).toEqualTypeOf<EnqueuedJob>();
    const plain: JobRecord = job;
    expect(plain.key).toBeNull();
    expect(job.outcome).toBe("inserted");
  });

  it("reject by default: a second enqueue with the key returns the first job", async () => {
    await setup();
    const events: string[] = [];
    app.events.on("job:enqueued", (e) => events.push(e.job.id));
    const first = await app.enqueue(reindex, { doc: "d1" }, { key: "reindex:d1" });
    const second = await app.enqueue(reindex, { doc: "d1", rev: 2 }, { key: "reindex:d1" });
    expect(second).toMatchObject({ outcome: "duplicate", id: first.id, data: { doc: "d1" } });
    expect(events).toEqual([first.id]);
    expect((await app.countJobs()).available).toBe(1);
  });

  it("replace, debounce and throttle, with time from a fake clock", async () => {
    await setup();
    const a = await app.enqueue(reindex, { doc: "a" }, { key: "r", dedupe: "replace" });
    const b = await app.enqueue(reindex, { doc: "b" }, { key: "r", dedupe: "replace" });
    expect(b).toMatchObject({ outcome: "replaced", id: a.id, data: { doc: "b" } });

    const window = { policy: "debounce", windowMs: 1_000 } as const;
    const d1 = await app.enqueue(reindex, { doc: "x", rev: 1 }, { key: "d", dedupe: window });
    expect(d1).toMatchObject({ outcome: "inserted", state: "scheduled", runAt: clock.now() + 1_000 });
    clock.advance(600);
    const d2 = await app.enqueue(reindex, { doc: "x", rev: 2 }, { key: "d", dedupe: window });
    expect(d2).toMatchObject({
      outcome: "debounced",
      id: d1.id,
      runAt: clock.now() + 1_000,
      data: { rev: 2 },
    });

    const t = { policy: "throttle", windowMs: 10_000 } as const;
    const t1 = await app.enqueue(reindex, { doc: "t" }, { key: "t", dedupe: t });
    clock.advance(9_999);
    expect(await app.enqueue(reindex, { doc: "t" }, { key: "t", dedupe: t })).toMatchObject({
      outcome: "throttled",
      id: t1.id,
    });
    clock.advance(1);
    expect((await app.enqueue(reindex, { doc: "t" }, { key: "t", dedupe: t })).outcome).toBe("inserted");
  });

  it("enqueueMany reports an outcome per item", async () => {
    await setup();
    const jobs = await app.enqueueMany(reindex, [
      { data: { doc: "1" }, options: { key: "m" } },
      { data: { doc: "2" }, options: { key: "m" } },
      { data: { doc: "3" } },
    ]);
    expect(jobs.map((j) => j.outcome)).toEqual(["inserted", "duplicate", "inserted"]);
  });

  it("rejects bad keys and policies with an OptionsError naming the option; nothing stored", async () => {
    await setup();
    const bad: Array<[object, RegExp]> = [
      [{ key: "" }, /enqueue options\.key/],
      [{ key: "x".repeat(256) }, /enqueue options\.key/],
      [{ key: "line\nbreak" }, /enqueue options\.key/],
      [{ key: 42 }, /enqueue options\.key/],
      [{ dedupe: "reject" }, /enqueue options\.dedupe needs enqueue options\.key/],
      [{ key: "k", dedupe: "debounce" }, /enqueue options\.dedupe/],
      [{ key: "k", dedupe: { policy: "throttle" } }, /windowMs/],
      [{ key: "k", dedupe: { policy: "debounce", windowMs: 0 } }, /windowMs/],
      [{ key: "k", dedupe: { policy: "debounce", windowMs: 5 }, delayMs: 10 }, /delayMs/],
    ];
    for (const [options, message] of bad) {
      const err = await app.enqueue(reindex, { doc: "x" }, options as never).catch((e) => e);
      expect(err, JSON.stringify(options)).toBeInstanceOf(OptionsError);
      expect(err.message).toMatch(message);
    }
    expect((await app.listJobs()).jobs).toEqual([]);
  });

  it("promoteJob runs a delayed job now; running and finished jobs are refused", async () => {
    await setup();
    const later = await app.enqueue(reindex, { doc: "p" }, { delayMs: 60_000 });
    const promoted = await app.promoteJob(later.id);
    expect(promoted).toMatchObject({ state: "available", runAt: clock.now() });
    await app.cancelJob(later.id);
    await expect(app.promoteJob(later.id)).rejects.toBeInstanceOf(InvalidStateTransitionError);
  });
});

describe("CLI: enqueue --key --dedupe, jobs promote", () => {
  it("prints the outcome, and promotes a delayed job", async () => {
    const { mkdtempSync, rmSync } = await import("node:fs");
    const { tmpdir } = await import("node:os");
    const { join } = await import("node:path");
    const dir = mkdtempSync(join(tmpdir(), "conveyor-dedupe-cli-"));
    const store = `sqlite:${join(dir, "jobs.db")}`;
    const cli = async (argv: string[]) => {
      let stdout = "";
      let stderr = "";
      const code = await run(argv, {
        stdout: { write: (s: string) => (stdout += s) },
        stderr: { write: (s: string) => (stderr += s) },
        env: {},
        cwd: process.cwd(),
      });
      return { code, stdout, stderr };
    };
    try {
      const base = ["enqueue", "reindex", "--force", "--store", store, "--key", "k1"];
      const first = await cli([...base, "--delay", "60000"]);
      expect(first.stdout).toMatch(/^enqueued job 1 \(reindex\)/);
      expect((await cli(base)).stdout).toMatch(/^duplicate of job 1 /);
      expect((await cli([...base, "--dedupe", "replace", "--data", '{"v":2}'])).stdout).toMatch(
        /^replaced the data of job 1 /,
      );
      const json = await cli([...base, "--dedupe", "throttle:60000", "--json"]);
      expect(JSON.parse(json.stdout)).toMatchObject({ id: "1", outcome: "throttled", data: { v: 2 } });
      const bad = await cli([...base, "--dedupe", "debounce"]);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toMatch(/--dedupe/);
      const promoted = await cli(["jobs", "promote", "1", "--store", store]);
      expect(promoted.stdout).toMatch(/job 1 \(reindex\) is available now \(was scheduled\)/);
      expect((await cli(["jobs", "promote", "1", "--store", store])).stdout).toMatch(/already available/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
