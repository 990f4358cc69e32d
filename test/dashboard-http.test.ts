/**
 * The dashboard's HTTP surface without a browser: pages, the JSON API, auth, CSRF, read-only mode, escaping,
 * hostile requests, mounting under a path, and the refusal to bind elsewhere than loopback without auth.
 * Real SQLite stores and real HTTP servers on ephemeral ports.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type IncomingMessage, request, type Server, type ServerResponse } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Admin } from "../src/admin/admin.js";
import { run } from "../src/cli/run.js";
import { Conveyor } from "../src/conveyor.js";
import { compactJson, everyText, prettyJson, relativeTime } from "../src/dashboard/format.js";
import { _internals } from "../src/dashboard/handler.js";
import { escapeHtml, html, unsafeRaw } from "../src/dashboard/html.js";
import { createDashboard, type DashboardOptions, serveDashboard } from "../src/dashboard/index.js";
import { isLoopback } from "../src/dashboard/server.js";
import { OptionsError } from "../src/errors.js";
import { defineJob } from "../src/job/define.js";
import { createNode } from "../src/process/index.js";
import { eventually } from "./helpers/eventually.js";

interface Reply {
  status: number;
  headers: IncomingMessage["headers"];
  body: string;
}

/** One raw HTTP request (node:http, so Host, Origin and Sec-Fetch-* are exactly what the test says). */
function http(
  method: string,
  url: string,
  options: { headers?: Record<string, string>; body?: string } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers: options.headers ?? {} }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks).toString(),
        }),
      );
    });
    req.on("error", reject);
    if (options.body !== undefined) req.write(options.body);
    req.end();
  });
}

/** The cookies a response sets, as one Cookie header value. */
function cookiesOf(r: Reply, previous = ""): string {
  const jar = new Map<string, string>();
  for (const part of previous.split("; ").filter(Boolean)) {
    const [k, ...v] = part.split("=");
    jar.set(k!, v.join("="));
  }
  for (const c of r.headers["set-cookie"] ?? []) {
    const [pair] = c.split(";");
    const [k, ...v] = pair!.split("=");
    jar.set(k!, v.join("="));
  }
  return [...jar].map(([k, v]) => `${k}=${v}`).join("; ");
}

/** A browser-like session: the CSRF cookie and token of a page. */
async function session(
  base: string,
  headers: Record<string, string> = {},
): Promise<{ cookie: string; token: string }> {
  const page = await http("GET", base, { headers });
  expect(page.status).toBe(200);
  const token = /<meta name="csrf-token" content="([^"]+)">/.exec(page.body)?.[1];
  expect(token).toBeDefined();
  return { cookie: cookiesOf(page, headers.cookie ?? ""), token: token! };
}

function form(fields: Record<string, string>): { body: string; headers: Record<string, string> } {
  return {
    body: new URLSearchParams(fields).toString(),
    headers: { "content-type": "application/x-www-form-urlencoded" },
  };
}

const dir = mkdtempSync(join(tmpdir(), "conveyor-dashboard-http-"));
let app: Conveyor;
let ids: { ok: string; failed: string; xss: string; scheduled: string };

const XSS_DATA = {
  note: "<script>window.__xss=1</script>",
  img: '<img src=x onerror="window.__xss=2">',
  quote: `"'><svg onload=alert(1)>`,
};

const greet = defineJob<{ to: string }>({
  name: "greet",
  queue: "mail",
  async handler(data, ctx) {
    ctx.log(`greeting <b>${data.to}</b>`);
    return { greeted: data.to };
  },
});
const explode = defineJob<Record<string, string>>({
  name: "explode",
  queue: "mail",
  retry: { attempts: 1 },
  async handler() {
    throw new Error('kaboom <img src=x onerror="window.__xss=3">');
  },
});

beforeAll(async () => {
  app = await Conveyor.open({ store: `sqlite:${join(dir, "http.db")}` });
  const ok = await app.enqueue(greet, { to: "ada@example.com" });
  const failed = await app.enqueue(explode, { reason: "on purpose" });
  const xss = await app.enqueue(explode, XSS_DATA);
  const worker = app.worker({ jobs: [greet, explode], concurrency: 4 });
  await worker.start();
  await eventually(
    async () => (await app.countJobs("mail")).available + (await app.countJobs("mail")).running === 0,
  );
  await worker.stop();
  const scheduled = await app.enqueue(greet, { to: "later@example.com" }, { delayMs: 3_600_000 });
  await app.schedule("nightly", { cron: "0 3 * * *", tz: "Asia/Seoul" }, greet, { to: "<script>x</script>" });
  ids = { ok: ok.id, failed: failed.id, xss: xss.id, scheduled: scheduled.id };
});

afterAll(async () => {
  await app.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Serves a dashboard over `app` for one test. */
async function serve(options: Partial<DashboardOptions> & { host?: string; port?: number } = {}) {
  return serveDashboard({ admin: app.admin, port: 0, ...options });
}

describe("the html template", () => {
  it("escapes every interpolation unless it is a fragment built by html", () => {
    const evil = `<script>alert("x")</script>&'\``;
    expect(html`<p title="${evil}">${evil}</p>`.toString()).toBe(
      '<p title="&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;&#96;">&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;&#96;</p>',
    );
    expect(html`<ul>${["<a>", html`<li>${"<b>"}</li>`, null, false, 3]}</ul>`.toString()).toBe(
      "<ul>&lt;a&gt;<li>&lt;b&gt;</li>3</ul>",
    );
    expect(html`${unsafeRaw("<br>")}`.toString()).toBe("<br>");
    expect(escapeHtml("a&b")).toBe("a&amp;b");
  });
});

describe("text helpers", () => {
  it("writes times and intervals for people", () => {
    const now = 1_800_000_000_000;
    expect(relativeTime(now - 400, now)).toBe("just now");
    expect(relativeTime(now - 12_500, now)).toBe("12 s ago");
    expect(relativeTime(now + 3 * 60_000, now)).toBe("in 3 min");
    expect(relativeTime(now + 95 * 60_000, now)).toBe("in 1 h 35 min");
    expect(relativeTime(now - 14 * 3_600_000, now)).toBe("14 h ago");
    expect(relativeTime(now - 53 * 3_600_000, now)).toBe("2 d 5 h ago");
    expect(everyText(90_000)).toBe("every 1 min 30 s");
    expect(everyText(5 * 60_000)).toBe("every 5 min");
    expect(compactJson({ a: "x".repeat(100) }, 20)).toBe('{"a":"xxxxxxxxxxxxx…');
    expect(prettyJson("y".repeat(70_000)).truncatedFrom).toBe(70_002);
  });
});

describe("pages", () => {
  it("serves every page with a strict CSP and no inline script or style", async () => {
    const node = createNode({ name: "t" });
    const pid = node.spawn(
      async (self) => {
        await self.inbox().receive();
      },
      [],
      { name: "mailer" },
    );
    const admin = new Admin({ store: app.store, clock: app.clock, processes: node });
    const s = await serveDashboard({ admin, port: 0 });
    try {
      const pages = [
        "",
        "queues/mail",
        "queues/mail?state=discarded",
        `jobs/${ids.failed}`,
        "schedules",
        "workers",
        "processes",
      ];
      for (const p of pages) {
        const r = await http("GET", s.url + p);
        expect(r.status, p).toBe(200);
        expect(r.headers["content-type"]).toBe("text/html; charset=utf-8");
        expect(r.headers["content-security-policy"]).toContain("default-src 'self'");
        expect(r.headers["content-security-policy"]).toContain("script-src 'self'");
        expect(r.headers["content-security-policy"]).toContain("frame-ancestors 'none'");
        expect(r.headers["x-content-type-options"]).toBe("nosniff");
        expect(r.headers["referrer-policy"]).toBe("same-origin");
        expect(r.headers["cache-control"]).toBe("no-store");
        // Every script is the bundled file; nothing inline, no style attributes, nothing from elsewhere.
        expect([...r.body.matchAll(/<script\b[^>]*>[^<]*<\/script>/g)].map((m) => m[0])).toEqual([
          expect.stringMatching(/^<script src="\/assets\/app\.js\?v=[0-9a-f]{12}"><\/script>$/),
        ]);
        expect(r.body.match(/<script/g)).toHaveLength(1);
        expect(r.body).not.toMatch(/\sstyle=/);
        expect(r.body).not.toMatch(/(src|href)="(https?:)?\/\//);
      }
      const processes = await http("GET", `${s.url}processes`);
      expect(processes.body).toContain(pid);
      expect(processes.body).toContain("mailer");
    } finally {
      await s.close();
      node.kill(pid);
    }
  });

  it("shows a failed job's error and stack, and the counts of its queue", async () => {
    const s = await serve();
    try {
      const job = await http("GET", `${s.url}jobs/${ids.failed}`);
      expect(job.body).toContain("discarded");
      expect(job.body).toContain("kaboom");
      expect(job.body).toMatch(/<pre class="stack">Error: kaboom[^<]*\n\s+at /);
      const queue = await http("GET", `${s.url}queues/mail`);
      expect(queue.body).toMatch(/discarded<span class="n">2<\/span>/);
      expect(queue.body).toMatch(/completed<span class="n">1<\/span>/);
      const overview = await http("GET", s.url);
      expect(overview.body).toContain('data-queue="mail"');
      expect(overview.body).toMatch(/<svg class="chart"/);
    } finally {
      await s.close();
    }
  });

  it("shows job data, errors, logs and schedule data as text, never as markup", async () => {
    const s = await serve();
    try {
      const job = await http("GET", `${s.url}jobs/${ids.xss}`);
      expect(job.status).toBe(200);
      expect(job.body).not.toContain("<script>window.__xss");
      expect(job.body).not.toContain("<img src=x");
      expect(job.body).not.toContain("<svg onload");
      expect(job.body).toContain("&lt;script&gt;window.__xss=1&lt;/script&gt;");
      expect(job.body).toContain("kaboom &lt;img src=x onerror=&quot;window.__xss=3&quot;&gt;");
      const queue = await http("GET", `${s.url}queues/mail`);
      expect(queue.body).not.toContain("<script>window.__xss");
      expect(queue.body).not.toContain("<img src=x");
      const log = await http("GET", `${s.url}jobs/${ids.ok}`);
      expect(log.body).toContain("greeting &lt;b&gt;ada@example.com&lt;/b&gt;");
      const schedules = await http("GET", `${s.url}schedules`);
      expect(schedules.body).toContain("&lt;script&gt;x&lt;/script&gt;");
      expect(schedules.body).toContain("Asia/Seoul");
      // The JSON API returns the data as data, served as JSON (never sniffed as HTML).
      const api = await http("GET", `${s.url}api/jobs/${ids.xss}`);
      expect(api.headers["content-type"]).toBe("application/json; charset=utf-8");
      expect(JSON.parse(api.body).data).toEqual(XSS_DATA);
    } finally {
      await s.close();
    }
  });

  it("answers bad ids, unknown pages and broken URLs with 404 and goes on serving", async () => {
    const s = await serve();
    try {
      for (const p of [
        "jobs/999999",
        "jobs/abc",
        "jobs/0",
        "jobs/%E0%A4%A",
        "jobs/1%00",
        "queues/nope",
        "queues/..%2F..%2Fetc",
        "queues/%3Cscript%3E",
        "nothing/here",
        "assets/nope.js",
        "processes", // no process runtime in app.admin
        "api/jobs/999999",
        "api/nothing",
      ]) {
        const r = await http("GET", s.url + p);
        expect(r.status, p).toBe(404);
        expect(r.body).not.toContain("<script>");
      }
      const api = await http("GET", `${s.url}api/jobs/999999`);
      expect(JSON.parse(api.body)).toEqual({
        error: { status: 404, message: "job 999999 not found", code: "ERR_JOB_NOT_FOUND" },
      });
      expect((await http("GET", `${s.url}queues/mail?state=bogus`)).status).toBe(400);
      expect((await http("GET", `${s.url}api/jobs?limit=100000000`)).status).toBe(400);
      expect((await http("GET", `${s.url}api/jobs?state=nope`)).status).toBe(400);
      expect((await http("PUT", s.url)).status).toBe(405);
      expect((await http("GET", `${s.url}jobs/${ids.ok}/retry`)).status).toBe(405);
      expect((await http("GET", s.url)).status).toBe(200);
    } finally {
      await s.close();
    }
  });

  it("serves its assets with a content hash, long caching and ETags", async () => {
    const s = await serve();
    try {
      const page = await http("GET", s.url);
      const src = /<script src="([^"]+)"/.exec(page.body)?.[1];
      const css = /<link rel="stylesheet" href="([^"]+)"/.exec(page.body)?.[1];
      const origin = new URL(s.url).origin;
      const js = await http("GET", origin + src);
      expect(js.status).toBe(200);
      expect(js.headers["content-type"]).toBe("text/javascript; charset=utf-8");
      expect(js.headers["cache-control"]).toBe("public, max-age=31536000, immutable");
      expect(js.body).toContain("data-live");
      const again = await http("GET", origin + src, {
        headers: { "if-none-match": String(js.headers.etag) },
      });
      expect(again.status).toBe(304);
      const style = await http("GET", origin + css);
      expect(style.headers["content-type"]).toBe("text/css; charset=utf-8");
      expect(style.body).toContain("prefers-color-scheme: dark");
    } finally {
      await s.close();
    }
  });
});

describe("actions and CSRF", () => {
  it("runs an action posted from its own page with the CSRF token, then redirects back with a notice", async () => {
    const s = await serve();
    try {
      const { cookie, token } = await session(`${s.url}jobs/${ids.scheduled}`);
      const origin = new URL(s.url).origin;
      const f = form({ _csrf: token, back: `/jobs/${ids.scheduled}` });
      const r = await http("POST", `${s.url}jobs/${ids.scheduled}/promote`, {
        body: f.body,
        headers: { ...f.headers, cookie, origin, "sec-fetch-site": "same-origin" },
      });
      expect(r.status).toBe(303);
      expect(r.headers.location).toBe(`/jobs/${ids.scheduled}?done=promote&target=${ids.scheduled}`);
      expect((await app.getJob(ids.scheduled))?.state).toBe("available");
      const after = await http("GET", origin + r.headers.location, { headers: { cookie } });
      expect(after.body).toContain(`Job #${ids.scheduled} is available now.`);
      // `back` must stay inside the dashboard: anything else goes to the overview.
      const evil = form({ _csrf: token, back: "//evil.example/x" });
      const r2 = await http("POST", `${s.url}jobs/${ids.scheduled}/cancel`, {
        body: evil.body,
        headers: { ...evil.headers, cookie },
      });
      expect(r2.status).toBe(303);
      expect(r2.headers.location).toBe(`/?done=cancel&target=${ids.scheduled}`);
      expect((await app.getJob(ids.scheduled))?.state).toBe("cancelled");
    } finally {
      await s.close();
    }
  });

  it("refuses actions without a token, with a wrong one, from another origin or site, and changes nothing", async () => {
    const s = await serve();
    try {
      const { cookie, token } = await session(s.url);
      const before = await app.getJob(ids.failed);
      const origin = new URL(s.url).origin;
      const attempts: Array<[string, Record<string, string>, Record<string, string>]> = [
        ["no token, no cookie", {}, {}],
        ["no token", { cookie }, {}],
        ["token without its cookie", {}, { _csrf: token }],
        ["wrong token", { cookie }, { _csrf: `${token.slice(0, -2)}xx` }],
        [
          "token of another browser",
          { cookie: "conveyor_csrf=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" },
          { _csrf: token },
        ],
        ["another origin", { cookie, origin: "http://evil.example" }, { _csrf: token }],
        ["an opaque origin", { cookie, origin: "null" }, { _csrf: token }],
        ["another site", { cookie, "sec-fetch-site": "cross-site" }, { _csrf: token }],
        [
          "a sibling port",
          { cookie, "sec-fetch-site": "same-site", origin: `${origin.replace(/:\d+$/, ":1")}` },
          { _csrf: token },
        ],
      ];
      for (const [what, headers, fields] of attempts) {
        const f = form(fields);
        for (const action of ["retry", "delete"]) {
          const r = await http("POST", `${s.url}jobs/${ids.failed}/${action}`, {
            body: f.body,
            headers: { ...f.headers, ...headers },
          });
          expect(r.status, what).toBe(403);
          expect(r.body, what).toContain("Refused");
        }
      }
      const api = await http("POST", `${s.url}api/jobs/${ids.failed}/retry`, { headers: { cookie } });
      expect(api.status).toBe(403);
      expect(JSON.parse(api.body).error.message).toMatch(/CSRF token is missing/);
      expect(await app.getJob(ids.failed)).toEqual(before);
    } finally {
      await s.close();
    }
  });

  it("takes the token in the X-CSRF-Token header for scripts (JSON API)", async () => {
    const s = await serve();
    try {
      const csrf = await http("GET", `${s.url}api/csrf`);
      const { token } = JSON.parse(csrf.body) as { token: string };
      const cookie = cookiesOf(csrf);
      const paused = await http("POST", `${s.url}api/queues/mail/pause`, {
        headers: { cookie, "x-csrf-token": token },
      });
      expect(paused.status).toBe(200);
      expect(JSON.parse(paused.body)).toEqual({ paused: true });
      expect((await app.admin.queues()).find((q) => q.name === "mail")?.paused).toBe(true);
      const resumed = await http("POST", `${s.url}api/queues/mail/resume`, {
        body: "{}",
        headers: { cookie, "x-csrf-token": token, "content-type": "application/json" },
      });
      expect(JSON.parse(resumed.body)).toEqual({ paused: false });
      const bad = await http("POST", `${s.url}api/jobs/${ids.ok}/promote`, {
        headers: { cookie, "x-csrf-token": token },
      });
      expect(bad.status).toBe(409);
      expect(JSON.parse(bad.body).error.code).toBe("ERR_INVALID_STATE_TRANSITION");
      const missing = await http("POST", `${s.url}api/jobs/999999/retry`, {
        headers: { cookie, "x-csrf-token": token },
      });
      expect(missing.status).toBe(404);
      const wrongState = await http("POST", `${s.url}api/queues/mail/retry-all`, {
        body: JSON.stringify({ state: "running" }),
        headers: { cookie, "x-csrf-token": token, "content-type": "application/json" },
      });
      expect(wrongState.status).toBe(400);
    } finally {
      await s.close();
    }
  });

  it("limits request bodies", async () => {
    const s = await serve();
    try {
      const { cookie, token } = await session(s.url);
      const big = `_csrf=${token}&pad=${"x".repeat(100_000)}`;
      const r = await http("POST", `${s.url}jobs/${ids.failed}/retry`, {
        body: big,
        headers: { cookie, "content-type": "application/x-www-form-urlencoded" },
      });
      expect(r.status).toBe(413);
      expect((await app.getJob(ids.failed))?.state).toBe("discarded");
      const xml = await http("POST", `${s.url}jobs/${ids.failed}/retry`, {
        body: "<x/>",
        headers: { cookie, "content-type": "application/xml", "x-csrf-token": token },
      });
      expect(xml.status).toBe(415);
    } finally {
      await s.close();
    }
  });

  it("read-only mode hides the actions and refuses them with 403", async () => {
    const s = await serve({ readOnly: true });
    try {
      const page = await http("GET", `${s.url}jobs/${ids.failed}`);
      expect(page.body).toContain("read-only");
      expect(page.body).not.toMatch(/<form method="post"/);
      const { cookie, token } = await session(`${s.url}queues/mail`);
      const f = form({ _csrf: token });
      const r = await http("POST", `${s.url}jobs/${ids.failed}/retry`, {
        body: f.body,
        headers: { ...f.headers, cookie },
      });
      expect(r.status).toBe(403);
      expect(r.body).toContain("read-only");
      const api = await http("POST", `${s.url}api/queues/mail/pause`, {
        headers: { cookie, "x-csrf-token": token },
      });
      expect(api.status).toBe(403);
      expect((await app.getJob(ids.failed))?.state).toBe("discarded");
      expect((await app.admin.queues()).find((q) => q.name === "mail")?.paused).toBe(false);
    } finally {
      await s.close();
    }
  });
});

describe("auth", () => {
  it("token: pages redirect to the sign-in form, the API asks for a bearer token, POSTs are refused", async () => {
    const s = await serve({ auth: { token: "s3cret-token-1" } });
    try {
      const page = await http("GET", `${s.url}queues/mail`);
      expect(page.status).toBe(303);
      expect(page.headers.location).toBe("/login?next=%2Fqueues%2Fmail");
      const api = await http("GET", `${s.url}api/overview`);
      expect(api.status).toBe(401);
      expect(api.headers["www-authenticate"]).toContain("Bearer");
      const metrics = await http("GET", `${s.url}metrics`);
      expect(metrics.status).toBe(401);
      const post = await http("POST", `${s.url}jobs/${ids.failed}/retry`);
      expect(post.status).toBe(403);
      expect(post.body).toContain("sign in first");
      expect((await app.getJob(ids.failed))?.state).toBe("discarded");
      // A wrong bearer token is no better; the right one opens everything.
      expect(
        (await http("GET", `${s.url}api/overview`, { headers: { authorization: "Bearer nope" } })).status,
      ).toBe(401);
      const ok = await http("GET", `${s.url}api/overview`, {
        headers: { authorization: "Bearer s3cret-token-1" },
      });
      expect(ok.status).toBe(200);
      expect(JSON.parse(ok.body).storeKind).toBe("sqlite");
      // A script with the bearer token needs no CSRF token (a browser never adds that header by itself).
      const pause = await http("POST", `${s.url}api/queues/mail/pause`, {
        headers: { authorization: "Bearer s3cret-token-1" },
      });
      expect(pause.status).toBe(200);
      await app.resumeQueue("mail");
    } finally {
      await s.close();
    }
  });

  it("token: the sign-in form sets an HttpOnly SameSite=Strict cookie; wrong tokens and forged cookies fail", async () => {
    const s = await serve({ auth: { token: "s3cret-token-2" } });
    try {
      const login = await http("GET", `${s.url}login?next=%2Fschedules`);
      expect(login.status).toBe(200);
      expect(login.body).toContain('name="token"');
      // Nothing about the store before sign-in: no navigation, store kind or version.
      expect(login.body).not.toContain("store: sqlite");
      expect(login.body).not.toContain('aria-label="Sections"');
      expect(login.body).not.toContain("<footer>");
      const token = /<meta name="csrf-token" content="([^"]+)">/.exec(login.body)![1]!;
      const cookie = cookiesOf(login);
      const wrong = form({ _csrf: token, back: "/schedules", token: "not-the-token" });
      const refused = await http("POST", `${s.url}login`, {
        body: wrong.body,
        headers: { ...wrong.headers, cookie },
      });
      expect(refused.status).toBe(303);
      expect(refused.headers.location).toBe("/login?next=%2Fschedules&failed=1");
      expect(refused.headers["set-cookie"]).toBeUndefined();
      const right = form({ _csrf: token, back: "/schedules", token: "s3cret-token-2" });
      const signedIn = await http("POST", `${s.url}login`, {
        body: right.body,
        headers: { ...right.headers, cookie },
      });
      expect(signedIn.status).toBe(303);
      expect(signedIn.headers.location).toBe("/schedules");
      const set = signedIn.headers["set-cookie"]?.find((c) => c.startsWith("conveyor_session="));
      expect(set).toMatch(/; Path=\/; HttpOnly; SameSite=Strict; Max-Age=43200$/);
      const withSession = cookiesOf(signedIn, cookie);
      const page = await http("GET", `${s.url}schedules`, { headers: { cookie: withSession } });
      expect(page.status).toBe(200);
      expect(page.body).toContain("Sign out");
      const forged = withSession.replace(/conveyor_session=(\d+)\.[^;]+/, "conveyor_session=$1.AAAA");
      expect((await http("GET", `${s.url}schedules`, { headers: { cookie: forged } })).status).toBe(303);
      // Sign-in itself is CSRF-checked.
      const noCsrf = form({ token: "s3cret-token-2" });
      expect(
        (await http("POST", `${s.url}login`, { body: noCsrf.body, headers: noCsrf.headers })).status,
      ).toBe(403);
      // Sign out clears the cookie.
      const out = form({ _csrf: token });
      const signedOut = await http("POST", `${s.url}logout`, {
        body: out.body,
        headers: { ...out.headers, cookie: withSession },
      });
      expect(signedOut.status).toBe(303);
      expect(signedOut.headers["set-cookie"]?.some((c) => c.startsWith("conveyor_session=;"))).toBe(true);
    } finally {
      await s.close();
    }
  });

  it("basic auth: challenges, refuses wrong credentials, accepts the right ones", async () => {
    const s = await serve({ auth: { username: "ops", password: "correct horse" } });
    try {
      const none = await http("GET", s.url);
      expect(none.status).toBe(401);
      expect(none.headers["www-authenticate"]).toBe('Basic realm="Conveyor dashboard", charset="UTF-8"');
      const basic = (u: string, p: string) => `Basic ${Buffer.from(`${u}:${p}`).toString("base64")}`;
      expect((await http("GET", s.url, { headers: { authorization: basic("ops", "wrong") } })).status).toBe(
        401,
      );
      expect(
        (await http("GET", s.url, { headers: { authorization: basic("root", "correct horse") } })).status,
      ).toBe(401);
      const ok = await http("GET", s.url, { headers: { authorization: basic("ops", "correct horse") } });
      expect(ok.status).toBe(200);
      // Basic credentials are sent by browsers on their own: actions still need the CSRF token.
      const { cookie } = await session(s.url, { authorization: basic("ops", "correct horse") });
      const r = await http("POST", `${s.url}jobs/${ids.failed}/retry`, {
        headers: { authorization: basic("ops", "correct horse"), cookie },
      });
      expect(r.status).toBe(403);
      expect((await app.getJob(ids.failed))?.state).toBe("discarded");
    } finally {
      await s.close();
    }
  });

  it("rejects weak or malformed auth options", () => {
    expect(() => createDashboard({ admin: app.admin, auth: { token: "short" } })).toThrow(
      /at least 8 characters/,
    );
    expect(() =>
      createDashboard({ admin: app.admin, auth: { username: "a:b", password: "long enough" } }),
    ).toThrow(/username/);
    expect(() => createDashboard({ admin: app.admin, basePath: "admin" })).toThrow(/basePath/);
    expect(() => createDashboard({ admin: app.admin, refreshMs: 10 })).toThrow(/refreshMs/);
    expect(() => createDashboard({} as DashboardOptions)).toThrow(/options.admin/);
  });
});

describe("binding", () => {
  it("refuses a non-loopback address without auth, naming the fix", async () => {
    for (const host of ["0.0.0.0", "::", "192.168.1.10"]) {
      const err = await serveDashboard({ admin: app.admin, host, port: 0 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(OptionsError);
      expect((err as Error).message).toContain("--token");
      expect((err as Error).message).toContain("--basic-auth");
    }
    const s = await serveDashboard({
      admin: app.admin,
      host: "0.0.0.0",
      port: 0,
      auth: { token: "s3cret-token-3" },
    });
    expect(s.url).toMatch(/^http:\/\/0\.0\.0\.0:\d+\/$/);
    await s.close();
    expect(isLoopback("127.0.0.1")).toBe(true);
    expect(isLoopback("127.8.9.1")).toBe(true);
    expect(isLoopback("localhost")).toBe(true);
    expect(isLoopback("[::1]")).toBe(true);
    expect(isLoopback("10.0.0.1")).toBe(false);
  });

  it("without auth on loopback, answers only to loopback host names (DNS rebinding)", async () => {
    const s = await serve();
    try {
      const port = new URL(s.url).port;
      const rebound = await http("GET", s.url, { headers: { host: `evil.example:${port}` } });
      expect(rebound.status).toBe(403);
      expect(rebound.body).toContain("does not answer to the host");
      expect((await http("GET", s.url, { headers: { host: `localhost:${port}` } })).status).toBe(200);
    } finally {
      await s.close();
    }
  });

  it("reports a port in use clearly", async () => {
    const s = await serve();
    try {
      const err = await serve({ port: s.port }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(OptionsError);
      expect((err as Error).message).toContain(`port ${s.port} on 127.0.0.1 is already in use`);
    } finally {
      await s.close();
    }
  });
});

describe("mounting", () => {
  async function listen(
    handler: (req: IncomingMessage, res: ServerResponse) => void,
  ): Promise<{ url: string; server: Server }> {
    const server = createServer(handler);
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const address = server.address();
    return { url: `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`, server };
  }

  it("under a path of a node:http server, passing other paths to next()", async () => {
    const dashboard = createDashboard({ admin: app.admin, basePath: "/admin/jobs" });
    const { url, server } = await listen((req, res) =>
      dashboard(req, res, () => {
        res.end("the app's own page");
      }),
    );
    try {
      expect((await http("GET", `${url}/`)).body).toBe("the app's own page");
      expect((await http("GET", `${url}/admin/jobsX`)).body).toBe("the app's own page");
      const page = await http("GET", `${url}/admin/jobs/`);
      expect(page.status).toBe(200);
      expect(page.body).toContain('href="/admin/jobs/queues/mail"');
      expect(page.body).toContain('src="/admin/jobs/assets/app.js?v=');
      expect((await http("GET", `${url}/admin/jobs`)).status).toBe(200);
      expect((await http("GET", `${url}/admin/jobs/jobs/${ids.ok}`)).status).toBe(200);
      const { cookie, token } = await session(`${url}/admin/jobs/`);
      expect(cookie).toMatch(/^conveyor_csrf=/);
      const f = form({ _csrf: token, back: "/admin/jobs/queues/mail" });
      const r = await http("POST", `${url}/admin/jobs/queues/mail/pause`, {
        body: f.body,
        headers: { ...f.headers, cookie },
      });
      expect(r.status).toBe(303);
      expect(r.headers.location).toBe("/admin/jobs/queues/mail?done=pause&target=mail");
      await app.resumeQueue("mail");
    } finally {
      server.close();
    }
  });

  it("the way Express mounts middleware (req.url stripped, originalUrl and baseUrl set, a parsed req.body)", async () => {
    // What `app.use("/ops", express.urlencoded(), dashboard)` hands the handler, done by hand: Express is not a
    // dependency of this repository.
    const dashboard = createDashboard({ admin: app.admin });
    const { url, server } = await listen((req, res) => {
      const original = req.url ?? "/";
      if (!original.startsWith("/ops")) {
        res.end("not mounted here");
        return;
      }
      Object.assign(req, { originalUrl: original, baseUrl: "/ops", url: original.slice(4) || "/" });
      const parse = req.headers["content-type"] === "application/x-www-form-urlencoded";
      const go = (body?: unknown) => {
        if (body !== undefined) Object.assign(req, { body });
        dashboard(req, res, () => res.end("next"));
      };
      if (!parse) return go();
      let text = "";
      req.on("data", (c: Buffer) => (text += c));
      req.on("end", () => go(Object.fromEntries(new URLSearchParams(text))));
    });
    try {
      const page = await http("GET", `${url}/ops/queues/mail`);
      expect(page.status).toBe(200);
      expect(page.body).toContain('href="/ops/jobs/');
      const { cookie, token } = await session(`${url}/ops/`);
      expect(cookie).toMatch(/^conveyor_csrf=/);
      const f = form({ _csrf: token, back: "/ops/queues/mail" });
      const r = await http("POST", `${url}/ops/queues/mail/pause`, {
        body: f.body,
        headers: { ...f.headers, cookie },
      });
      expect(r.status).toBe(303);
      expect(r.headers.location).toBe("/ops/queues/mail?done=pause&target=mail");
      expect((await app.admin.queues()).find((q) => q.name === "mail")?.paused).toBe(true);
      await app.resumeQueue("mail");
    } finally {
      server.close();
    }
  });

  it("mounts a metrics handler at <base>/metrics, behind the same auth", async () => {
    const dashboard = createDashboard({
      admin: app.admin,
      auth: { token: "s3cret-token-4" },
      metrics: (_req, res) => {
        res.setHeader("content-type", "text/plain; version=0.0.4");
        res.end("conveyor_jobs 3\n");
      },
    });
    const { url, server } = await listen((req, res) => dashboard(req, res));
    try {
      expect((await http("GET", `${url}/metrics`)).status).toBe(401);
      const ok = await http("GET", `${url}/metrics`, { headers: { authorization: "Bearer s3cret-token-4" } });
      expect(ok.status).toBe(200);
      expect(ok.body).toBe("conveyor_jobs 3\n");
      expect(ok.headers["content-security-policy"]).toBeUndefined();
    } finally {
      server.close();
    }
  });

  it("keeps back paths inside the dashboard", () => {
    const { safeBack } = _internals;
    expect(safeBack("", "/queues/mail?state=discarded&done=retry")).toBe("/queues/mail?state=discarded");
    expect(safeBack("", "//evil.example")).toBe("/");
    expect(safeBack("", "/\\evil.example")).toBe("/");
    expect(safeBack("", "https://evil.example/")).toBe("/");
    expect(safeBack("/admin", "/other")).toBe("/admin/");
    expect(safeBack("/admin", "/admin/jobs/1")).toBe("/admin/jobs/1");
    expect(safeBack("/admin", "/admin/../x")).toBe("/admin/");
  });
});

describe("conveyor dashboard (CLI)", () => {
  /** Runs the CLI in-process; `out` fills while it runs. */
  function cli(argv: string[], signal?: AbortSignal) {
    const out = { stdout: "", stderr: "" };
    const done = run(argv, {
      stdout: { write: (s: string) => (out.stdout += s) },
      stderr: { write: (s: string) => (out.stderr += s) },
      env: {},
      cwd: process.cwd(),
      ...(signal ? { signal } : {}),
    }).then((code) => ({ code, ...out }));
    return { out, done };
  }
  const store = () => `sqlite:${join(dir, "http.db")}`;

  it("refuses to listen beyond loopback without auth (exit 2) and checks its flags", async () => {
    const r = await cli(["dashboard", "--host", "0.0.0.0", "--store", store()]).done;
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("--token");
    expect(r.stderr).toContain("--basic-auth");
    expect((await cli(["dashboard", "--token", "short", "--store", store()]).done).code).toBe(2);
    expect((await cli(["dashboard", "--token", "long-enough", "--basic-auth", "a:bbbbbbbb"]).done).code).toBe(
      2,
    );
    expect((await cli(["dashboard", "--basic-auth", "nocolon", "--store", store()]).done).code).toBe(2);
    expect((await cli(["dashboard", "--store", `sqlite:${join(dir, "missing.db")}`]).done).code).toBe(2);
  });

  it("serves the store with the given auth until stopped, then exits 0", async () => {
    const stop = new AbortController();
    const { out, done } = cli(
      ["dashboard", "--port", "0", "--read-only", "--token", "cli-token-123", "--store", store()],
      stop.signal,
    );
    const url = await eventually(() => /dashboard: (http:\S+)/.exec(out.stdout)?.[1] ?? false);
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    expect(out.stdout).toContain("token auth, read-only");
    expect((await http("GET", `${url}api/queues`)).status).toBe(401);
    const queues = await http("GET", `${url}api/queues`, {
      headers: { authorization: "Bearer cli-token-123" },
    });
    expect(JSON.parse(queues.body).map((q: { name: string }) => q.name)).toContain("mail");
    const metrics = await http("GET", `${url}metrics`, {
      headers: { authorization: "Bearer cli-token-123" },
    });
    expect(metrics.status).toBe(200);
    expect(metrics.body).toContain("conveyor_");
    stop.abort();
    const r = await done;
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("dashboard stopped");
    await expect(http("GET", `${url}api/queues`)).rejects.toThrow();
  });
});
