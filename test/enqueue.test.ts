import * as v from "valibot";
import { afterEach, describe, expect, expectTypeOf, it } from "vitest";
import { z } from "zod";
import {
  type Conveyor,
  ConveyorError,
  defineJob,
  OptionsError,
  PayloadTooLargeError,
  UnknownJobError,
  ValidationError,
} from "../src/index.js";
import { eventually } from "./helpers/eventually.js";
import { openApp, STORE_KINDS } from "./helpers/stores.js";

const signup = defineJob({
  name: "signup-email",
  schema: z.object({ email: z.string().email(), plan: z.enum(["free", "pro"]).default("free") }),
  handler: (data) => {
    expectTypeOf(data).toEqualTypeOf<{ email: string; plan: "free" | "pro" }>();
    return data.plan;
  },
});

const resize = defineJob({
  name: "resize",
  schema: v.object({ width: v.pipe(v.number(), v.integer(), v.minValue(1)) }),
  handler: (data) => data.width,
});

describe.each(STORE_KINDS)("enqueue on the %s store", (kind) => {
  let app: Conveyor;
  let cleanup: () => Promise<void>;
  afterEach(async () => cleanup?.());

  async function setup(options: { maxPayloadBytes?: number } = {}) {
    ({ app, cleanup } = await openApp(kind, options));
  }

  /** Nothing stored may change when an enqueue is rejected. */
  async function snapshot() {
    return JSON.stringify(await app.listJobs({ limit: 1_000 }));
  }

  it("stores the data as given once it validates, and infers the input type", async () => {
    await setup();
    expectTypeOf(app.enqueue<typeof signup>)
      .parameter(1)
      .toEqualTypeOf<{ email: string; plan?: "free" | "pro" }>();
    const job = await app.enqueue(signup, { email: "ada@example.com" });
    expect(job.state).toBe("available");
    expect(job.data).toEqual({ email: "ada@example.com" });
    expect(job.maxAttempts).toBe(3);
    expect(job.queue).toBe("default");
  });

  it("rejects data that fails a zod or valibot schema with ERR_INVALID_DATA naming the field", async () => {
    await setup();
    await app.enqueue(signup, { email: "ok@example.com" });
    const before = await snapshot();
    const err = await app.enqueue(signup, { email: "nope" }).catch((e) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect(err.code).toBe("ERR_INVALID_DATA");
    expect(err.issues[0].path).toBe("email");
    // @ts-expect-error width must be a number
    const err2 = await app.enqueue(resize, { width: "wide" }).catch((e) => e);
    expect(err2).toBeInstanceOf(ValidationError);
    expect(err2.message).toContain("width");
    expect(await snapshot()).toBe(before);
  });

  it("hands the handler the schema's output: defaults and transforms apply at run time (regression)", async () => {
    await setup();
    const seen: unknown[] = [];
    const transformed = defineJob({
      name: "transformed",
      schema: z.object({ amount: z.string().transform(Number), currency: z.string().default("EUR") }),
      handler: (data) => {
        expectTypeOf(data).toEqualTypeOf<{ amount: number; currency: string }>();
        seen.push(data);
        return data.amount * 2;
      },
    });
    const rec = await app.enqueue(transformed, { amount: "21" });
    expect(rec.data).toEqual({ amount: "21" });
    const w = app.worker({ jobs: [transformed] });
    await w.start();
    await eventually(async () => expect((await app.getJob(rec.id))?.state).toBe("completed"));
    await w.stop({ graceMs: 0 });
    expect(seen).toEqual([{ amount: 21, currency: "EUR" }]);
    expect((await app.getJob(rec.id))?.result).toBe(42);
  });

  it("rejects oversize payloads with ERR_PAYLOAD_TOO_LARGE and stores nothing", async () => {
    await setup({ maxPayloadBytes: 1_000 });
    const blob = defineJob<{ text: string }>({ name: "blob", handler: () => null });
    await app.enqueue(blob, { text: "small" });
    const before = await snapshot();
    const err = await app.enqueue(blob, { text: "x".repeat(2_000) }).catch((e) => e);
    expect(err).toBeInstanceOf(PayloadTooLargeError);
    expect(err.code).toBe("ERR_PAYLOAD_TOO_LARGE");
    expect(err.message).toMatch(/over the limit of 1000 bytes/);
    expect(await snapshot()).toBe(before);
  });

  it("rejects data that cannot be stored as JSON", async () => {
    await setup();
    const loose = defineJob<unknown>({ name: "loose", handler: () => null });
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    const err = await app.enqueue(loose, cyclic).catch((e) => e);
    expect(err).toBeInstanceOf(OptionsError);
    expect(err.message).toContain("cannot be stored as JSON");
    expect((await app.countJobs()).available).toBe(0);
  });

  it("rejects bad options with ERR_INVALID_OPTIONS naming the field", async () => {
    await setup();
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ priority: 1.5 }, /enqueue options\.priority must be an integer/],
      [{ attempts: 0 }, /enqueue options\.attempts must be an integer from 1/],
      [{ delayMs: -1 }, /enqueue options\.delayMs/],
      [{ queue: "bad queue!" }, /enqueue options\.queue must be/],
      [{ runAt: "tomorrow" }, /enqueue options\.runAt must be a Date/],
      [{ lifo: "yes" }, /enqueue options\.lifo must be a boolean/],
      [{ delayMs: 5, runAt: Date.now() }, /delayMs and enqueue options\.runAt both set a run time/],
    ];
    for (const [options, message] of cases) {
      const err = await app.enqueue(signup, { email: "a@example.com" }, options).catch((e) => e);
      expect(err, JSON.stringify(options)).toBeInstanceOf(OptionsError);
      expect(err.code).toBe("ERR_INVALID_OPTIONS");
      expect(err.message).toMatch(message);
    }
    expect((await app.countJobs()).available).toBe(0);
  });

  it("enqueues by name only when a worker registered it, unless forced", async () => {
    await setup();
    const err = await app.enqueue("signup-email", { email: "a@example.com" }).catch((e) => e);
    expect(err).toBeInstanceOf(UnknownJobError);
    expect(err.code).toBe("ERR_UNKNOWN_JOB");
    expect(err.message).toContain("(none registered yet)");
    await app.store.jobTypeRegister({ types: [{ name: "resize", queue: "images" }], now: Date.now() });
    const err2 = await app.enqueue("signup-emial", {}).catch((e) => e);
    expect(err2.message).toMatch(/known jobs: resize/);
    const byName = await app.enqueue("resize", { width: 3 });
    expect(byName.queue).toBe("images");
    const forced = await app.enqueue("not-yet-deployed", { x: 1 }, { force: true });
    expect(forced.name).toBe("not-yet-deployed");
  });

  it("enqueue by name applies the options the worker's definition registered", async () => {
    await setup();
    const strict = defineJob({
      name: "strict",
      queue: "billing",
      priority: -2,
      timeoutMs: 5_000,
      maxStalls: 1,
      retry: { attempts: 1 },
      handler: () => null,
    });
    const w = app.worker({ jobs: [strict] });
    await w.start();
    await w.stop({ graceMs: 0 });
    const byName = await app.enqueue("strict", {});
    expect(byName).toMatchObject({
      queue: "billing",
      priority: -2,
      timeoutMs: 5_000,
      maxStalls: 1,
      maxAttempts: 1,
    });
    const overridden = await app.enqueue("strict", {}, { attempts: 4, priority: 3 });
    expect(overridden).toMatchObject({ maxAttempts: 4, priority: 3 });
  });

  it("enqueues many atomically and in order; one bad item stores none", async () => {
    await setup();
    const jobs = await app.enqueueMany(signup, [
      { data: { email: "a@example.com" } },
      { data: { email: "b@example.com" }, options: { priority: 2 } },
    ]);
    expect(jobs.map((j) => j.data)).toEqual([{ email: "a@example.com" }, { email: "b@example.com" }]);
    expect(Number(jobs[1]!.id)).toBeGreaterThan(Number(jobs[0]!.id));
    expect(jobs[1]!.priority).toBe(2);
    const before = await snapshot();
    const err = await app
      .enqueueMany(signup, [{ data: { email: "c@example.com" } }, { data: { email: "broken" } }])
      .catch((e) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect(await snapshot()).toBe(before);
  });

  it("schedules delayed and run-at jobs", async () => {
    await setup();
    const now = Date.now();
    const delayed = await app.enqueue(signup, { email: "a@example.com" }, { delayMs: 60_000 });
    expect(delayed.state).toBe("scheduled");
    expect(delayed.runAt).toBeGreaterThanOrEqual(now + 60_000);
    const at = await app.enqueue(signup, { email: "a@example.com" }, { runAt: new Date(now + 5_000) });
    expect(at.state).toBe("scheduled");
    expect(at.runAt).toBe(now + 5_000);
    const past = await app.enqueue(signup, { email: "a@example.com" }, { runAt: now - 5_000 });
    expect(past.state).toBe("available");
  });
});

describe("defineJob", () => {
  it("rejects bad definitions with OptionsError naming the field", () => {
    const handler = () => null;
    expect(() => defineJob({ name: "", handler })).toThrow(/defineJob options\.name must be/);
    expect(() => defineJob({ name: "x", handler: "nope" as never })).toThrow(
      /options\.handler must be a function/,
    );
    expect(() => defineJob({ name: "x", handler, retry: { attempts: 0 } })).toThrow(/retry\.attempts/);
    expect(() => defineJob({ name: "x", handler, retry: { backoff: "linear" as never } })).toThrow(
      /retry\.backoff/,
    );
    expect(() => defineJob({ name: "x", handler, timeoutMs: -5 })).toThrow(/timeoutMs/);
    expect(() => defineJob({ name: "x", handler, schema: {} as never })).toThrow(/Standard Schema/);
    try {
      defineJob({ name: "x", handler, priority: 0.5 });
    } catch (err) {
      expect(err).toBeInstanceOf(ConveyorError);
      expect((err as ConveyorError).code).toBe("ERR_INVALID_OPTIONS");
    }
  });
});
