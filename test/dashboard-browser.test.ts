/**
 * The dashboard in a real browser: Debian's Chromium driven by playwright-core (never a downloaded browser;
 * `.ci/run` installs `chromium` when it is missing). A real SQLite store and real workers: counts change live
 * while a worker runs, a failed job's stack shows, retry runs it to completion, hostile job data stays text,
 * and actions from elsewhere, without auth or in read-only mode are refused. No request leaves the dashboard.
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Conveyor } from "../src/conveyor.js";
import { type DashboardServer, serveDashboard } from "../src/dashboard/index.js";
import { defineJob } from "../src/job/define.js";
import type { Worker } from "../src/worker/worker.js";
import { eventually } from "./helpers/eventually.js";

const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";

const work = defineJob<{ n: number }>({
  name: "crunch",
  queue: "work",
  async handler(data, ctx) {
    await sleep(120, undefined, { signal: ctx.signal });
    return { n: data.n };
  },
});

/**
 * Fails its first attempt (its only one: it is discarded), and succeeds when an operator retries it, after a
 * second and a half (so the page shows it running before it completes).
 */
const flaky = defineJob<{ file: string }>({
  name: "upload",
  queue: "flaky",
  retry: { attempts: 1 },
  async handler(data, ctx) {
    if (ctx.attempt === 1) throw new Error(`first attempt at ${data.file} fails on purpose`);
    await sleep(1_500, undefined, { signal: ctx.signal });
    ctx.log("second attempt: uploaded");
    return { recovered: true, attempt: ctx.attempt };
  },
});

const XSS = {
  script: "<script>window.__xss=1</script>",
  img: '<img src=x onerror="window.__xss=2">',
};
const hostile = defineJob<typeof XSS>({
  name: "hostile",
  queue: "xss",
  retry: { attempts: 1 },
  async handler(_data, ctx) {
    ctx.log("<script>window.__xss=4</script> logged");
    throw new Error('rejected <img src=x onerror="window.__xss=3">');
  },
});

const dir = mkdtempSync(join(tmpdir(), "conveyor-dashboard-browser-"));
let app: Conveyor;
let browser: Browser;
let dashboard: DashboardServer;
let worker: Worker | null = null;

const LAUNCH_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `no Chromium at ${CHROMIUM}: install Debian's package (apt-get install chromium) or set CHROMIUM`,
    );
  }
  app = await Conveyor.open({ store: `sqlite:${join(dir, "browser.db")}` });
  dashboard = await serveDashboard({ admin: app.admin, port: 0, refreshMs: 500 });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: LAUNCH_ARGS });
});

afterAll(async () => {
  await browser?.close();
  await worker?.stop({ graceMs: 0 });
  await dashboard?.close();
  await app?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A fresh browser context that records every request and every console error or page error. */
async function open(): Promise<{
  context: BrowserContext;
  page: Page;
  requests: string[];
  errors: string[];
}> {
  const context = await browser.newContext({ viewport: { width: 1366, height: 768 } });
  const requests: string[] = [];
  const errors: string[] = [];
  context.on("request", (r) => requests.push(r.url()));
  const page = await context.newPage();
  page.on("console", (m) => {
    if (m.type() === "error") errors.push(m.text());
  });
  page.on("pageerror", (e) => errors.push(e.message));
  page.on("dialog", (d) => void d.accept());
  return { context, page, requests, errors };
}

/** Starts the one worker of these tests (the first call; later calls find it running). */
async function startWorker(): Promise<void> {
  if (worker !== null) return;
  worker = app.worker({ jobs: [work, flaky, hostile], concurrency: 4 });
  await worker.start();
}

async function finalState(id: string): Promise<string> {
  const state = await eventually(async () => {
    const job = await app.getJob(id);
    return job && ["completed", "discarded", "cancelled"].includes(job.state) ? job.state : false;
  });
  return String(state);
}

describe("dashboard in Chromium", () => {
  it("shows the overview's counts changing live while a worker runs, without reloading", async () => {
    const { context, page, requests, errors } = await open();
    try {
      await app.enqueueMany(
        work,
        Array.from({ length: 40 }, (_, n) => ({ data: { n } })),
      );
      await page.goto(dashboard.url);
      await expect.poll(() => page.locator('[data-total="available"]').textContent()).toBe("40");
      expect(await page.locator('[data-total="completed"]').textContent()).toBe("0");
      expect(await page.locator('tr[data-queue="work"] [data-count="available"]').textContent()).toBe("40");
      // Marks this document: a reload would lose it.
      await page.evaluate("window.__sameDocument = true");
      const seen = new Set<string>();
      const watch = setInterval(() => {
        void page
          .locator('[data-total="completed"]')
          .textContent()
          .then((t) => t !== null && seen.add(t))
          .catch(() => {});
      }, 50);
      await startWorker();
      await expect
        .poll(() => page.locator('[data-total="completed"]').textContent(), { timeout: 20_000 })
        .toBe("40");
      clearInterval(watch);
      expect(await page.locator('[data-total="available"]').textContent()).toBe("0");
      expect(await page.locator('tr[data-queue="work"] [data-count="completed"]').textContent()).toBe("40");
      // Counts went up in steps as the page refreshed itself (the worker needs over a second for 40 jobs).
      expect([...seen].filter((t) => t !== "0" && t !== "40").length).toBeGreaterThan(0);
      expect(await page.evaluate("window.__sameDocument")).toBe(true);
      // The chart drew this minute's completions.
      expect(await page.locator("svg.chart rect.ok").count()).toBeGreaterThan(0);
      expect(await page.locator('[data-sum="completed"]').textContent()).toBe("40");
      expect(errors).toEqual([]);
      const origin = new URL(dashboard.url).origin;
      expect(requests.length).toBeGreaterThan(3);
      expect(requests.filter((u) => !u.startsWith(`${origin}/`))).toEqual([]);
    } finally {
      await context.close();
    }
  });

  it("opens a failed job from its queue, shows its stack, retries it and sees it complete", async () => {
    const { context, page, requests, errors } = await open();
    try {
      await startWorker();
      const { id } = await app.enqueue(flaky, { file: "report.pdf" });
      expect(await finalState(id)).toBe("discarded");
      await page.goto(`${dashboard.url}queues/flaky`);
      await page.getByRole("link", { name: /^discarded/ }).click();
      await page.waitForURL(/state=discarded/);
      await page.getByRole("link", { name: `#${id}` }).click();
      await page.waitForURL(new RegExp(`/jobs/${id}$`));
      await expect
        .poll(() => page.locator(".attempt-msg").first().textContent())
        .toBe("Error: first attempt at report.pdf fails on purpose");
      const stack = await page.locator("pre.stack").first().textContent();
      expect(stack).toMatch(/^Error: first attempt at report\.pdf fails on purpose\n\s+at /);
      expect(await page.locator("pre.stack").first().isVisible()).toBe(true);
      await page.getByRole("button", { name: "Retry" }).click();
      await page.waitForURL(new RegExp(`/jobs/${id}`));
      await expect.poll(() => page.locator(".notice").textContent()).toBe(`Job #${id} will run again.`);
      expect(["available", "running"]).toContain(
        await page.locator(".page-head .badge").first().textContent(),
      );
      // The page follows the job live until it completes.
      await expect
        .poll(() => page.locator(".page-head .badge").first().textContent(), { timeout: 15_000 })
        .toBe("completed");
      expect(JSON.parse((await page.locator("#job-result").textContent()) ?? "null")).toEqual({
        recovered: true,
        attempt: 2,
      });
      expect(await page.locator(".logs").textContent()).toContain("second attempt: uploaded");
      expect((await app.getJob(id))?.state).toBe("completed");
      expect(errors).toEqual([]);
      const origin = new URL(dashboard.url).origin;
      expect(requests.filter((u) => !u.startsWith(`${origin}/`))).toEqual([]);
    } finally {
      await context.close();
    }
  });

  it("shows hostile job data, errors and logs as text and never runs them", async () => {
    const { context, page, errors } = await open();
    try {
      await startWorker();
      const { id } = await app.enqueue(hostile, XSS);
      expect(await finalState(id)).toBe("discarded");
      for (const path of [`jobs/${id}`, "queues/xss", "queues/xss?state=discarded", ""]) {
        await page.goto(dashboard.url + path);
        // Long enough for a few live refreshes, which swap server-rendered markup into the page.
        await sleep(1_200);
        expect(await page.evaluate("window.__xss"), path).toBeUndefined();
        expect(await page.locator('img[src="x"]').count(), path).toBe(0);
      }
      await page.goto(`${dashboard.url}jobs/${id}`);
      const data = JSON.parse((await page.locator("#job-data").textContent()) ?? "null");
      expect(data).toEqual(XSS);
      await expect
        .poll(() => page.locator(".attempt-msg").first().textContent())
        .toBe('Error: rejected <img src=x onerror="window.__xss=3">');
      expect(await page.locator(".logs").textContent()).toContain("<script>window.__xss=4</script> logged");
      expect(await page.getByText(XSS.script).first().isVisible()).toBe(true);
      expect(await page.evaluate("window.__xss")).toBeUndefined();
      expect(errors).toEqual([]);
    } finally {
      await context.close();
    }
  });

  it("refuses actions posted without the CSRF token or from another origin, and changes nothing", async () => {
    const { context, page } = await open();
    let evil: Server | null = null;
    try {
      await startWorker();
      const { id } = await app.enqueue(flaky, { file: "keep-me.zip" });
      expect(await finalState(id)).toBe("discarded");
      await page.goto(`${dashboard.url}jobs/${id}`);
      // A script on the dashboard's own page that skips the token.
      const noToken = await page.evaluate(async (jobId) => {
        const r = await fetch(`/jobs/${jobId}/delete`, { method: "POST" });
        return { status: r.status, text: await r.text() };
      }, id);
      expect(noToken.status).toBe(403);
      expect(noToken.text).toContain("CSRF token is missing");
      // Another origin (a sibling port on the same host, so the browser even sends the cookies) posting a form
      // with a valid token copied from the dashboard: the Origin and Sec-Fetch-Site checks refuse it.
      const token = await page.locator('meta[name="csrf-token"]').getAttribute("content");
      evil = createServer((_req, res) => {
        res.setHeader("content-type", "text/html");
        res.end(
          `<form method="post" action="${dashboard.url}jobs/${id}/delete"><input type="hidden" name="_csrf" value="${token}"><button>win a prize</button></form>`,
        );
      });
      await new Promise<void>((r) => evil!.listen(0, "127.0.0.1", r));
      const address = evil.address();
      const evilUrl = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}/`;
      await page.goto(evilUrl);
      const [response] = await Promise.all([
        page.waitForResponse((r) => r.url().includes(`/jobs/${id}/delete`)),
        page.getByRole("button", { name: "win a prize" }).click(),
      ]);
      expect(response.status()).toBe(403);
      await expect
        .poll(() => page.locator("main").textContent())
        .toContain("Refused: the request came from another");
      expect((await app.getJob(id))?.state).toBe("discarded");
    } finally {
      await context.close();
      evil?.close();
    }
  });

  it("with a token: redirects to sign in, refuses unauthenticated actions, lets the signed-in user act", async () => {
    const secured = await serveDashboard({
      admin: app.admin,
      port: 0,
      auth: { token: "browser-token-1" },
      refreshMs: 500,
    });
    const { context, page, requests } = await open();
    try {
      await startWorker();
      const { id } = await app.enqueue(flaky, { file: "secured.bin" });
      expect(await finalState(id)).toBe("discarded");
      const anonymous = await fetch(`${secured.url}jobs/${id}/retry`, { method: "POST", redirect: "manual" });
      expect(anonymous.status).toBe(403);
      expect((await app.getJob(id))?.state).toBe("discarded");
      await page.goto(`${secured.url}jobs/${id}`);
      await page.waitForURL(/\/login\?next=/);
      await page.getByLabel("Access token").fill("wrong-token-0");
      await page.getByRole("button", { name: "Sign in" }).click();
      await expect.poll(() => page.locator(".notice.error").textContent()).toBe("That token is not right.");
      await page.getByLabel("Access token").fill("browser-token-1");
      await page.getByRole("button", { name: "Sign in" }).click();
      await page.waitForURL(new RegExp(`/jobs/${id}$`));
      const cookies = await context.cookies();
      const session = cookies.find((c) => c.name === "conveyor_session");
      expect(session?.httpOnly).toBe(true);
      expect(session?.sameSite).toBe("Strict");
      await page.getByRole("button", { name: "Retry" }).click();
      await expect
        .poll(() => page.locator(".page-head .badge").first().textContent(), { timeout: 15_000 })
        .toBe("completed");
      const origin = new URL(secured.url).origin;
      expect(requests.filter((u) => !u.startsWith(`${origin}/`))).toEqual([]);
    } finally {
      await context.close();
      await secured.close();
    }
  });

  it("read-only: shows no action buttons and refuses a crafted action", async () => {
    const readOnly = await serveDashboard({ admin: app.admin, port: 0, readOnly: true });
    const { context, page } = await open();
    try {
      await startWorker();
      const { id } = await app.enqueue(flaky, { file: "read-only.bin" });
      expect(await finalState(id)).toBe("discarded");
      await page.goto(`${readOnly.url}jobs/${id}`);
      expect(await page.locator(".pill.warn").textContent()).toBe("read-only");
      expect(await page.getByRole("button", { name: "Retry" }).count()).toBe(0);
      expect(await page.locator('form[method="post"]').count()).toBe(0);
      // A request with this page's own CSRF token, as a script on the page could make: still refused.
      const crafted = await page.evaluate<number>(
        `fetch("/jobs/${id}/retry", { method: "POST", headers: { "x-csrf-token": document.querySelector('meta[name="csrf-token"]').content } }).then((r) => r.status)`,
      );
      expect(crafted).toBe(403);
      expect((await app.getJob(id))?.state).toBe("discarded");
    } finally {
      await context.close();
      await readOnly.close();
    }
  });

  it("switches between light and dark and remembers the choice", async () => {
    const { context, page } = await open();
    try {
      await page.goto(dashboard.url);
      const background = () => page.evaluate<string>("getComputedStyle(document.body).backgroundColor");
      const light = await background();
      await page.getByRole("button", { name: /Auto/ }).click();
      expect(await page.getAttribute("html", "data-theme")).toBe("dark");
      const dark = await background();
      expect(dark).not.toBe(light);
      await page.reload();
      expect(await page.getAttribute("html", "data-theme")).toBe("dark");
      expect(await background()).toBe(dark);
    } finally {
      await context.close();
    }
  });
});
