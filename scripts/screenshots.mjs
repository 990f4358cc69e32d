#!/usr/bin/env node
/**
 * `npm run screenshots`: fills a demo SQLite store with an hour of history, serves the dashboard on it, and
 * saves a screenshot of each page with Debian's Chromium (driven by playwright-core; never a downloaded
 * browser) under docs/img/.
 *
 * The hour of history is real work done by a real worker on the demo's job types, with the app's clock set
 * back: each wave of jobs runs "at" one of the last 60 minutes (the clock is injected; nothing is written to
 * the store directly). The last waves run on the real clock, and a slow job stays running for the pictures.
 *
 * Env: CHROMIUM (default /usr/bin/chromium), OUT (default docs/img), KEEP=1 keeps serving after the pictures.
 */
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { setTimeout as sleep } from "node:timers/promises";
import { chromium } from "playwright-core";
import { z } from "zod";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const { Conveyor, defineJob } = await import(join(root, "dist/index.js"));
const { Admin } = await import(join(root, "dist/admin/index.js"));
const { serveDashboard } = await import(join(root, "dist/dashboard/index.js"));
const { createNode } = await import(join(root, "dist/process/index.js"));
const demo = await import(join(root, "dist/demo/jobs.js"));
const { planDemo } = await import(join(root, "dist/demo/demo.js"));

const OUT = resolve(root, process.env.OUT ?? "docs/img");
const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
const VIEWPORT = { width: 1366, height: 768 };

/** A clock that runs `offsetMs` behind the wall clock; setting the offset moves "now". */
function shiftedClock() {
  const clock = {
    offsetMs: 0,
    now: () => Date.now() - clock.offsetMs,
    setTimeout(fn, ms) {
      const t = setTimeout(fn, Math.max(0, ms));
      t.unref();
      return () => clearTimeout(t);
    },
  };
  return clock;
}

/** A report that takes a while, so the pictures show a running job with progress and logs. */
const buildReport = defineJob({
  name: "build-report",
  queue: "files",
  schema: z.object({ reportId: z.string(), pages: z.number().int().positive() }),
  async handler(data, ctx) {
    ctx.log(`building ${data.reportId}: ${data.pages} pages`);
    for (let page = 1; page <= data.pages; page++) {
      await sleep(1_000, undefined, { signal: ctx.signal });
      ctx.progress(Math.round((page / data.pages) * 100));
      if (page % 20 === 0) ctx.log(`rendered ${page} of ${data.pages} pages`);
    }
    return { reportId: data.reportId, pages: data.pages };
  },
});

const jobs = [...demo.default, buildReport];

async function waitUntilQuiet(app, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const c = await app.countJobs();
    if (c.available + c.running + c.retryable === 0) return;
    await sleep(25);
  }
}

async function enqueueWave(app, n, salt) {
  const plan = planDemo(n);
  for (const def of demo.default) {
    const items = plan.items
      .filter((it) => it.def === def)
      .map((it) => ({
        data: it.data,
        // Delays would spill into the next minute; the wave runs now.
        options: { ...it.options, delayMs: undefined, ...(def === demo.sendEmail && salt % 3 === 0 ? { group: `tenant:${salt % 7}` } : {}) },
      }));
    if (items.length > 0) await app.enqueueMany(def, items);
  }
}

async function fill(app, clock) {
  const start = Math.floor(Date.now() / 60_000) * 60_000;
  // 58 minutes of waves, busier in the middle of the hour, with a failure burst around minute 22.
  for (let ago = 58; ago >= 1; ago--) {
    // Two seconds into the minute `ago` minutes before the fill started, so each wave's outcomes land in one
    // minute of their own (the minutes are counted from a fixed start, not from the moving wall clock).
    clock.offsetMs = Date.now() - (start - ago * 60_000 + 2_000);
    const n = Math.round(28 + 22 * Math.sin(((58 - ago) / 58) * Math.PI) + ((ago * 37) % 11));
    await enqueueWave(app, n, ago);
    if (ago >= 20 && ago <= 23) {
      await app.enqueueMany(
        demo.syncCrm,
        Array.from({ length: 6 }, (_, i) => ({ data: { accountId: `acct-${2_000 + ago * 10 + i}` } })),
      );
    }
    await waitUntilQuiet(app, 10_000);
  }
  clock.offsetMs = 0;
}

const dir = mkdtempSync(join(tmpdir(), "conveyor-shots-"));
const url = `sqlite:${join(dir, "demo.db")}`;
const clock = shiftedClock();
const app = await Conveyor.open({ store: url, clock });
const worker = app.worker({ jobs, concurrency: 16, graceMs: 500 });
await worker.start();
// Two more workers, as other processes or machines would run them (they show on the workers page).
const more = [
  app.worker({ jobs: [demo.resizeImage, demo.analyseFile, demo.flakyUpload, buildReport], concurrency: 8, graceMs: 500 }),
  app.worker({ jobs: [demo.sendEmail, demo.syncCrm], concurrency: 32, graceMs: 500 }),
];
for (const w of more) await w.start();
console.log(`store ${url}: filling an hour of history...`);
await fill(app, clock);

// The present: a few jobs waiting, delayed, retrying, one running slowly; paused e-mails; schedules.
await app.enqueue(buildReport, { reportId: "q3-revenue", pages: 120 }, { key: "report:q3-revenue" });
await app.schedule("nightly-digest", { cron: "0 7 * * *", tz: "Europe/Paris" }, demo.sendEmail, {
  to: "team@example.com",
  subject: "Nightly digest",
});
await app.schedule("thumbnail-sweep", { everyMs: 5 * 60_000 }, demo.resizeImage, { imageId: "sweep", width: 320 });
await app.schedule("crm-reconcile", { cron: "30 2 * * 1-5", tz: "America/New_York" }, demo.syncCrm, {
  accountId: "all",
});
await app.pauseSchedule("crm-reconcile");
await sleep(300);
await app.pauseQueue("emails");
await enqueueWave(app, 60, 1);
await app.enqueueMany(
  demo.sendEmail,
  Array.from({ length: 14 }, (_, i) => ({
    data: { to: `later${i}@example.com`, subject: "Reminder: your trial ends soon" },
    options: { delayMs: (i + 1) * 9 * 60_000 },
  })),
);
await app.enqueue(demo.flakyUpload, { fileId: "backup-2026-11.tar", failTimes: 3 });
// A job whose data would be an attack if the dashboard did not escape it: it shows as text.
await app.enqueue(demo.sendEmail, {
  to: "mallory@example.com",
  subject: '<script>alert("xss")</script><img src=x onerror=alert(1)>',
});
await sleep(1_500);

// A process runtime in this node: the processes page lists its live, named processes.
const node = createNode({ name: "app" });
const idle = async (self) => {
  for (;;) await self.inbox().receive();
};
for (const name of ["mailer", "rate-limiter", "cache-warmer", "webhook-relay"]) node.spawn(idle, [], { name });
for (let i = 0; i < 3; i++) node.spawn(idle, []);
const admin = new Admin({ store: app.store, clock: app.clock, processes: node });

const server = await serveDashboard({ admin, port: 0 });
console.log(`dashboard: ${server.url}`);

mkdirSync(OUT, { recursive: true });
const browser = await chromium.launch({
  executablePath: CHROMIUM,
  args: [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
});
const shots = [];
try {
  const shoot = async (name, path, colorScheme = "light", prepare) => {
    const context = await browser.newContext({ viewport: VIEWPORT, colorScheme, deviceScaleFactor: 1 });
    const page = await context.newPage();
    await page.goto(server.url + path, { waitUntil: "load" });
    if (prepare) await prepare(page);
    const file = join(OUT, `dashboard-${name}.png`);
    await page.screenshot({ path: file });
    shots.push(file);
    await context.close();
  };
  const failed = await admin.jobs({ state: "discarded", limit: 1 });
  const report = await admin.jobs({ key: "report:q3-revenue", limit: 1 });
  await shoot("overview", "");
  await shoot("overview-dark", "", "dark");
  await shoot("queue", "queues/crm?state=discarded");
  if (failed.jobs[0]) await shoot("job", `jobs/${failed.jobs[0].id}`);
  if (report.jobs[0]) await shoot("job-running", `jobs/${report.jobs[0].id}`, "dark");
  await shoot("schedules", "schedules");
  await shoot("workers", "workers");
  await shoot("processes", "processes");
} finally {
  await browser.close();
}
for (const f of shots) console.log(`saved ${f}`);

if (process.env.KEEP === "1") {
  console.log("KEEP=1: serving until Ctrl-C");
  await new Promise((r) => process.once("SIGINT", r));
}
await server.close();
for (const w of [worker, ...more]) await w.stop({ graceMs: 0 });
await app.close({ graceMs: 0 });
rmSync(dir, { recursive: true, force: true });
