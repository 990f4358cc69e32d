/**
 * `createDashboard`: the dashboard as one node:http request handler, mountable in an app's own server under a
 * path (node:http, Express, Fastify through middie, Hono through its node adapter; see
 * docs/guides/dashboard.md). Server-rendered pages over the admin API, a JSON API under `<base>/api/`, and
 * actions as POST only, behind auth, CSRF checks and an optional read-only mode.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import {
  ConveyorError,
  InvalidStateTransitionError,
  JobNotFoundError,
  OptionsError,
  ScheduleNotFoundError,
  StoreUnavailableError,
  ValidationError,
} from "../errors.js";
import { isJobState } from "../job/states.js";
import { packageVersion } from "../version.js";
import type { DashboardAdmin, JobQuery, RetryAllState } from "./admin-port.js";
import { ASSETS } from "./assets/index.js";
import type { SafeHtml } from "./html.js";
import { BodyError, readFields, redirect, sendAsset, sendHtml, sendJson } from "./http.js";
import {
  type AuthResult,
  CSRF_FIELD,
  checkAuth,
  type DashboardAuth,
  Security,
  setSecurityHeaders,
} from "./security.js";
import { href, type Notice, type ViewContext } from "./views/context.js";
import { jobPage } from "./views/job.js";
import { messagePage } from "./views/layout.js";
import { loginPage, plural, processesPage, schedulesPage, workersPage } from "./views/lists.js";
import { overviewPage } from "./views/overview.js";
import { queuePage } from "./views/queue.js";

/** A node:http style handler for `/metrics` (e.g. the Prometheus handler of `conveyor`'s observability). */
export type MetricsHandler = (req: IncomingMessage, res: ServerResponse) => unknown;

/** Options of {@link createDashboard}. */
export interface DashboardOptions {
  /** The admin API to show and act through: `app.admin`, or `new Admin({ store, processes })`. */
  admin: DashboardAdmin;
  /**
   * The public path the dashboard is mounted under, e.g. "/admin/jobs" (links and cookies use it). Default
   * "/"; under Express, `req.baseUrl` is used when this is not given.
   */
  basePath?: string;
  /**
   * Sign-in: a bearer token (also accepted through a login form that sets an HttpOnly cookie) or HTTP basic
   * auth. Without it anyone who reaches the handler may look and act: mount it behind your own auth, or use
   * `serveDashboard`, which binds to 127.0.0.1.
   */
  auth?: DashboardAuth;
  /** Show everything, change nothing: action buttons are hidden and action requests get 403. Default false. */
  readOnly?: boolean;
  /** Served at `<base>/metrics` (behind the same auth). */
  metrics?: MetricsHandler;
  /**
   * Host names (without port) the dashboard answers to; other `Host` headers get 403 (a guard against DNS
   * rebinding). Default: any. `serveDashboard` on a loopback address without auth allows only loopback names.
   */
  allowedHosts?: readonly string[];
  /** How often open pages refresh their live parts, ms (500 to 60,000). Default 2,000. */
  refreshMs?: number;
  /** Called with unexpected errors (answered with 500). Default: `console.error`. */
  onError?: (error: unknown) => void;
}

/** The request handler: `(req, res, next?)`. Paths outside the base path go to `next` (or get 404). */
export type DashboardHandler = (
  req: IncomingMessage,
  res: ServerResponse,
  next?: (err?: unknown) => void,
) => void;

const JOB_ID_RE = /^[1-9][0-9]{0,18}$/;
const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/;
const RETRY_ALL_STATES: readonly RetryAllState[] = ["discarded", "cancelled", "retryable", "completed"];
const JOB_ACTIONS = ["retry", "cancel", "delete", "promote"] as const;
const QUEUE_ACTIONS = ["pause", "resume", "retry-all"] as const;
const SCHEDULE_ACTIONS = ["pause", "resume"] as const;
const QUEUE_PAGE_SIZE = 50;

/** "/", "", "/admin/" → "" or "/admin". Throws OptionsError for anything that is not a plain path. */
export function normaliseBasePath(path: string | undefined): string {
  if (path === undefined || path === "" || path === "/") return "";
  if (
    typeof path !== "string" ||
    !path.startsWith("/") ||
    !/^[A-Za-z0-9/_.~-]+$/.test(path) ||
    path.includes("//")
  ) {
    throw new OptionsError(
      `options.basePath must be a path such as "/admin/jobs" (letters, digits, "/", "_", ".", "~", "-"), got ${JSON.stringify(path)}`,
    );
  }
  return path.replace(/\/+$/, "");
}

/** One request being answered. */
interface Request {
  req: IncomingMessage;
  res: ServerResponse;
  method: string;
  head: boolean;
  /** Path below the base, starting with "/" (decoded per segment by the routes). */
  path: string;
  /** Path and query below the base, as requested. */
  rel: string;
  query: URLSearchParams;
  base: string;
  auth: AuthResult;
  api: boolean;
}

class HttpError extends Error {
  readonly status: number;
  readonly headers: Record<string, string>;
  constructor(status: number, message: string, headers: Record<string, string> = {}) {
    super(message);
    this.status = status;
    this.headers = headers;
  }
}

function decodeSegment(s: string): string | null {
  try {
    return decodeURIComponent(s);
  } catch {
    return null;
  }
}

function statusOf(err: unknown): number {
  if (err instanceof HttpError || err instanceof BodyError) return err.status;
  if (err instanceof JobNotFoundError || err instanceof ScheduleNotFoundError) return 404;
  if (err instanceof InvalidStateTransitionError) return 409;
  if (err instanceof OptionsError || err instanceof ValidationError) return 400;
  if (err instanceof StoreUnavailableError) return 503;
  return 500;
}

const TITLES: Record<number, string> = {
  400: "Bad request",
  401: "Sign in required",
  403: "Forbidden",
  404: "Not found",
  405: "Method not allowed",
  409: "Not possible in this state",
  413: "Request too large",
  415: "Unsupported content type",
  500: "Something went wrong",
  503: "Store unavailable",
};

/**
 * Creates the dashboard's request handler. Use it as a node:http listener, or mount it:
 * `expressApp.use("/admin/jobs", createDashboard({ admin: app.admin, auth: { token } }))`.
 */
export function createDashboard(options: DashboardOptions): DashboardHandler {
  if (typeof options !== "object" || options === null || typeof options.admin?.overview !== "function") {
    throw new OptionsError("createDashboard(options): options.admin must be an Admin (e.g. app.admin)");
  }
  const admin = options.admin;
  const configuredBase = options.basePath === undefined ? undefined : normaliseBasePath(options.basePath);
  const auth = checkAuth(options.auth);
  const readOnly = options.readOnly === true;
  const refreshMs = options.refreshMs ?? 2_000;
  if (!Number.isInteger(refreshMs) || refreshMs < 500 || refreshMs > 60_000) {
    throw new OptionsError(
      `options.refreshMs must be an integer from 500 to 60000, got ${String(options.refreshMs)}`,
    );
  }
  if (options.metrics !== undefined && typeof options.metrics !== "function") {
    throw new OptionsError("options.metrics must be a (req, res) handler, e.g. the Prometheus handler");
  }
  const metrics = options.metrics;
  const onError = options.onError ?? ((err: unknown) => console.error("conveyor dashboard:", err));
  const version = packageVersion() ?? "0.0.0";
  // One Security per cookie path (the base path is fixed, or taken per request from Express's req.baseUrl).
  const securities = new Map<string, Security>();
  const securityFor = (base: string): Security => {
    let s = securities.get(base);
    if (s === undefined) {
      s = new Security({ auth, allowedHosts: options.allowedHosts, cookiePath: base === "" ? "/" : base });
      securities.set(base, s);
    }
    return s;
  };

  /** The part of the URL below the base, or null when the request is not for the dashboard. */
  const locate = (req: IncomingMessage): { base: string; rel: string } | null => {
    const url = req.url ?? "/";
    const x = req as IncomingMessage & { originalUrl?: string; baseUrl?: string };
    const mounted = typeof x.originalUrl === "string" && x.originalUrl !== url;
    const base = configuredBase ?? (typeof x.baseUrl === "string" ? normaliseBasePath(x.baseUrl) : "");
    if (mounted) return { base, rel: url.startsWith("/") ? url : `/${url}` };
    if (base === "") return { base, rel: url };
    if (url === base || url.startsWith(`${base}/`) || url.startsWith(`${base}?`)) {
      const rel = url.slice(base.length);
      return { base, rel: rel === "" || rel.startsWith("?") ? `/${rel}` : rel };
    }
    return null;
  };

  const context = (r: Request, notice: Notice | null = null): ViewContext => {
    const security = securityFor(r.base);
    return {
      base: r.base,
      csrf: security.csrfToken(r.req, r.res),
      readOnly,
      now: admin.clock.now(),
      storeKind: admin.storeKind,
      hasProcesses: admin.processes() !== null,
      signedIn: r.auth.ok,
      signOut: r.auth.via === "cookie",
      refreshMs,
      self: r.base + r.rel,
      hasMetrics: metrics !== undefined,
      version,
      notice,
    };
  };

  const noticeFrom = (q: URLSearchParams): Notice | null => {
    const done = q.get("done");
    const failed = q.get("failed");
    const target = q.get("target") ?? "";
    if (!NAME_RE.test(target)) return null;
    const n = Number(q.get("n") ?? "0");
    const texts: Record<string, string> = {
      retry: `Job #${target} will run again.`,
      promote: `Job #${target} is available now.`,
      cancel: `Job #${target} cancelled.`,
      "cancel-requested": `Asked the worker to abort job #${target}; it finishes as cancelled.`,
      delete: `Job #${target} deleted.`,
      pause: `Queue ${target} paused: workers stop claiming from it; running jobs finish.`,
      resume: `Queue ${target} resumed.`,
      "retry-all": `${plural(Number.isSafeInteger(n) ? n : 0, "job")} of ${target} will run again.`,
      "schedule-pause": `Schedule ${target} paused.`,
      "schedule-resume": `Schedule ${target} resumed.`,
    };
    if (done !== null && texts[done] !== undefined) return { kind: "ok", text: texts[done] };
    if (failed === "delete") return { kind: "error", text: `Job #${target} was already gone.` };
    return null;
  };

  const page = (r: Request, status: number, body: SafeHtml): void => sendHtml(r.res, status, body, r.head);

  const fail = (r: Request, err: unknown): void => {
    const status = statusOf(err);
    if (status >= 500 && !(err instanceof StoreUnavailableError)) onError(err);
    if (r.res.headersSent) {
      r.res.destroy();
      return;
    }
    if (err instanceof HttpError) for (const [k, v] of Object.entries(err.headers)) r.res.setHeader(k, v);
    const message =
      status === 500
        ? "The dashboard could not answer this request; the error was logged by the server."
        : err instanceof Error
          ? err.message
          : String(err);
    const code = err instanceof ConveyorError ? err.code : undefined;
    if (r.api || (r.method === "POST" && !wantsHtml(r.req))) {
      sendJson(r.res, status, { error: { status, message, ...(code ? { code } : {}) } }, r.head);
      return;
    }
    const title = TITLES[status] ?? "Error";
    const back = r.method === "POST" ? (r.query.get("back") ?? undefined) : undefined;
    page(r, status, messagePage(context(r), title, capitalise(message), back ? { back } : {}));
  };

  const handle = async (
    req: IncomingMessage,
    res: ServerResponse,
    next?: (err?: unknown) => void,
  ): Promise<void> => {
    const where = locate(req);
    if (where === null) {
      if (next) next();
      else {
        res.statusCode = 404;
        res.setHeader("content-type", "text/plain; charset=utf-8");
        res.end("Not found\n");
      }
      return;
    }
    setSecurityHeaders(res);
    const { base, rel } = where;
    const qIndex = rel.indexOf("?");
    const path = qIndex >= 0 ? rel.slice(0, qIndex) : rel;
    const query = new URLSearchParams(qIndex >= 0 ? rel.slice(qIndex + 1) : "");
    const method = (req.method ?? "GET").toUpperCase();
    const security = securityFor(base);
    const r: Request = {
      req,
      res,
      method: method === "HEAD" ? "GET" : method,
      head: method === "HEAD",
      path: path.replace(/\/{2,}/g, "/"),
      rel,
      query,
      base,
      auth: { ok: false, via: "none" },
      api: path.startsWith("/api/") || path === "/api",
    };
    try {
      const host = security.hostAllowed(req);
      if (!host.ok) {
        throw new HttpError(
          403,
          `this dashboard does not answer to the host "${host.host}"; open it by its address (e.g. http://127.0.0.1), or add the name to allowedHosts`,
        );
      }
      // Assets are public (the login page needs them) and hold nothing secret.
      if (r.path.startsWith("/assets/")) return serveAsset(r);
      if (r.path === "/login" && security.usesLoginForm) return await login(r, security);
      r.auth = security.authenticate(req);
      if (!r.auth.ok) return refuseUnauthenticated(r, security);
      if (r.method === "POST") return await act(r, security);
      if (r.method !== "GET") {
        throw new HttpError(405, `${method} is not allowed here; pages are GET, actions are POST`, {
          allow: "GET, HEAD, POST",
        });
      }
      if (r.api) return await apiGet(r, security);
      return await pageGet(r);
    } catch (err) {
      fail(r, err);
    }
  };

  const serveAsset = (r: Request): void => {
    const name = r.path.slice("/assets/".length);
    const asset = ASSETS.get(name);
    if (asset === undefined || r.method !== "GET") throw new HttpError(404, `no asset ${name}`);
    r.res.setHeader(
      "cache-control",
      r.query.get("v") === asset.hash ? "public, max-age=31536000, immutable" : "no-cache",
    );
    r.res.setHeader("etag", `"${asset.hash}"`);
    if (r.req.headers["if-none-match"] === `"${asset.hash}"`) {
      r.res.statusCode = 304;
      r.res.end();
      return;
    }
    sendAsset(r.res, asset.type, asset.body, r.head);
  };

  const login = async (r: Request, security: Security): Promise<void> => {
    const nextPath = safeBack(r.base, r.method === "POST" ? undefined : (r.query.get("next") ?? undefined));
    if (r.method === "GET") {
      page(r, 200, loginPage(context(r), { next: nextPath, failed: r.query.get("failed") === "1" }));
      return;
    }
    if (r.method !== "POST")
      throw new HttpError(405, "the login form is GET, sign-in is POST", { allow: "GET, POST" });
    const fields = await readFields(r.req);
    const refused = security.checkCsrf(r.req, fields.get(CSRF_FIELD), "none");
    if (refused !== null) throw new HttpError(403, `Refused: ${refused}.`);
    const back = safeBack(r.base, fields.get("back"));
    if (!security.checkLoginToken(fields.get("token") ?? "")) {
      redirect(r.res, href({ base: r.base }, "/login", { next: back, failed: "1" }));
      return;
    }
    security.setSessionCookie(r.req, r.res);
    redirect(r.res, back);
  };

  const refuseUnauthenticated = (r: Request, security: Security): void => {
    const basic = security.auth !== undefined && !("token" in security.auth);
    const challenge = basic
      ? 'Basic realm="Conveyor dashboard", charset="UTF-8"'
      : 'Bearer realm="Conveyor dashboard"';
    if (r.method === "POST") {
      throw new HttpError(403, "Refused: sign in first; actions need the dashboard's credentials.");
    }
    if (r.api || r.path === "/metrics") {
      throw new HttpError(401, "sign in: send Authorization: Bearer <token> (or basic auth)", {
        "www-authenticate": challenge,
      });
    }
    if (basic) {
      throw new HttpError(401, "This dashboard needs a user name and password.", {
        "www-authenticate": challenge,
      });
    }
    redirect(r.res, href({ base: r.base }, "/login", { next: r.base + r.rel }));
  };

  const pageGet = async (r: Request): Promise<void> => {
    const parts = r.path.split("/").slice(1);
    const [first, second, third] = parts;
    if (r.path === "/" || r.path === "") {
      const overview = await admin.overview();
      page(r, 200, overviewPage(context(r, noticeFrom(r.query)), overview));
      return;
    }
    if (first === "queues" && second !== undefined && third === undefined) {
      const name = decodeSegment(second);
      if (name === null || !NAME_RE.test(name))
        throw new HttpError(404, `there is no queue named "${name ?? second}"`);
      const stateParam = r.query.get("state") ?? undefined;
      const state = stateParam !== undefined && isJobState(stateParam) ? stateParam : undefined;
      if (stateParam !== undefined && stateParam !== "" && state === undefined) {
        throw new HttpError(400, `state must be one of the job states, got "${stateParam}"`);
      }
      const search = r.query.get("search")?.trim() || undefined;
      const cursorParam = r.query.get("cursor") || undefined;
      const cursor = cursorParam !== undefined && JOB_ID_RE.test(cursorParam) ? cursorParam : undefined;
      const jobQuery: JobQuery = { queue: name, limit: QUEUE_PAGE_SIZE };
      if (state) jobQuery.state = state;
      if (search) jobQuery.search = search.slice(0, 255);
      if (cursor) jobQuery.cursor = cursor;
      const [queues, jobs] = await Promise.all([admin.queues(), admin.jobs(jobQuery)]);
      const queue = queues.find((q) => q.name === name);
      if (queue === undefined) throw new HttpError(404, `there is no queue named "${name}"`);
      page(r, 200, queuePage(context(r, noticeFrom(r.query)), { queue, page: jobs, state, search, cursor }));
      return;
    }
    if (first === "jobs" && second !== undefined && third === undefined) {
      const id = decodeSegment(second) ?? "";
      const job = JOB_ID_RE.test(id) ? await admin.job(id) : null;
      if (job === null)
        throw new HttpError(404, `there is no job #${id}; it may have been deleted or pruned`);
      page(r, 200, jobPage(context(r, noticeFrom(r.query)), job));
      return;
    }
    if (r.path === "/schedules") {
      page(r, 200, schedulesPage(context(r, noticeFrom(r.query)), await admin.schedules()));
      return;
    }
    if (r.path === "/workers") {
      page(r, 200, workersPage(context(r), await admin.workers()));
      return;
    }
    if (r.path === "/processes") {
      const list = admin.processes();
      if (list === null) throw new HttpError(404, "this dashboard has no process runtime to show");
      page(r, 200, processesPage(context(r), list));
      return;
    }
    if (r.path === "/metrics" && metrics !== undefined) {
      // The metrics handler writes its own response (text/plain for Prometheus).
      r.res.removeHeader("content-security-policy");
      await metrics(r.req, r.res);
      return;
    }
    if (isActionPath(parts)) {
      throw new HttpError(
        405,
        "actions are POST only: use the buttons on the pages (or POST with a CSRF token)",
        {
          allow: "POST",
        },
      );
    }
    throw new HttpError(404, `there is no page at ${r.base}${r.path}`);
  };

  const apiGet = async (r: Request, security: Security): Promise<void> => {
    const parts = r.path.split("/").slice(2);
    const [first, second, third] = parts;
    const json = (value: unknown): void => sendJson(r.res, 200, value, r.head);
    if (first === "overview" && second === undefined) return json(await admin.overview());
    if (first === "queues" && second === undefined) return json(await admin.queues());
    if (first === "schedules" && second === undefined) return json(await admin.schedules());
    if (first === "workers" && second === undefined) return json(await admin.workers());
    if (first === "csrf" && second === undefined)
      return json({ token: security.csrfToken(r.req, r.res), field: CSRF_FIELD });
    if (first === "processes" && second === undefined) {
      const list = admin.processes();
      if (list === null) throw new HttpError(404, "this dashboard has no process runtime");
      return json(list);
    }
    if (first === "throughput" && second === undefined) {
      const params: { minutes?: number; queue?: string } = {};
      const minutes = r.query.get("minutes");
      if (minutes !== null) params.minutes = intParam("minutes", minutes);
      const queue = r.query.get("queue");
      if (queue) params.queue = queue;
      return json(await admin.throughput(params));
    }
    if (first === "jobs" && second === undefined) {
      const q: JobQuery = {};
      for (const field of ["queue", "name", "key", "group", "search", "cursor"] as const) {
        const value = r.query.get(field);
        if (value !== null && value !== "") q[field] = value;
      }
      const state = r.query.get("state");
      if (state !== null && state !== "") {
        if (!isJobState(state))
          throw new HttpError(400, `state must be one of the job states, got "${state}"`);
        q.state = state;
      }
      const limit = r.query.get("limit");
      if (limit !== null) q.limit = intParam("limit", limit);
      return json(await admin.jobs(q));
    }
    if (first === "jobs" && second !== undefined && third === undefined) {
      const id = decodeSegment(second) ?? "";
      const job = JOB_ID_RE.test(id) ? await admin.job(id) : null;
      if (job === null) throw new JobNotFoundError(id);
      return json(job);
    }
    if (isActionPath(parts)) {
      throw new HttpError(405, "actions are POST only", { allow: "POST" });
    }
    throw new HttpError(404, `no API endpoint at ${r.base}${r.path}`);
  };

  const act = async (r: Request, security: Security): Promise<void> => {
    if (r.path === "/logout") {
      const fields = await readFields(r.req);
      const refused = security.checkCsrf(r.req, fields.get(CSRF_FIELD), r.auth.via);
      if (refused !== null) throw new HttpError(403, `Refused: ${refused}.`);
      security.clearSessionCookie(r.req, r.res);
      redirect(r.res, href({ base: r.base }, "/login"));
      return;
    }
    const parts = r.path.split("/").slice(r.api ? 2 : 1);
    if (!isActionPath(parts)) {
      throw new HttpError(
        r.api || parts[0] === "jobs" || parts[0] === "queues" || parts[0] === "schedules" ? 404 : 405,
        `there is no action at ${r.base}${r.path}`,
      );
    }
    if (readOnly) throw new HttpError(403, "Refused: this dashboard is read-only.");
    const fields = await readFields(r.req);
    const refused = security.checkCsrf(r.req, fields.get(CSRF_FIELD), r.auth.via);
    if (refused !== null) throw new HttpError(403, `Refused: ${refused}.`);
    if (!r.api) r.query.set("back", safeBack(r.base, fields.get("back")));
    const [kind, rawTarget, action] = parts as [string, string, string];
    const target = decodeSegment(rawTarget) ?? "";
    const done = (
      result: unknown,
      notice: { done: string; target: string; n?: number },
      then?: string,
    ): void => {
      if (r.api) {
        sendJson(r.res, 200, result);
        return;
      }
      const back = new URL(then ?? r.query.get("back") ?? `${r.base}/`, "http://dashboard.invalid");
      back.searchParams.set("done", notice.done);
      back.searchParams.set("target", notice.target);
      if (notice.n !== undefined) back.searchParams.set("n", String(notice.n));
      redirect(r.res, back.pathname + back.search);
    };
    if (kind === "jobs") {
      if (!JOB_ID_RE.test(target)) throw new JobNotFoundError(target);
      switch (action) {
        case "retry":
          return done({ job: await admin.retryJob(target) }, { done: "retry", target });
        case "promote":
          return done({ job: await admin.promoteJob(target) }, { done: "promote", target });
        case "cancel": {
          const job = await admin.cancelJob(target);
          return done({ job }, { done: job.state === "running" ? "cancel-requested" : "cancel", target });
        }
        case "delete": {
          const before = r.api ? null : await admin.job(target);
          const deleted = await admin.deleteJob(target);
          if (!deleted) throw new JobNotFoundError(target);
          const then =
            fields.get("after") === "queue" && before !== null
              ? href({ base: r.base }, `/queues/${encodeURIComponent(before.queue)}`)
              : undefined;
          return done({ deleted: true }, { done: "delete", target }, then);
        }
      }
    }
    if (kind === "queues") {
      if (!NAME_RE.test(target)) throw new HttpError(404, `there is no queue named "${target}"`);
      switch (action) {
        case "pause":
          await admin.pauseQueue(target);
          return done({ paused: true }, { done: "pause", target });
        case "resume":
          await admin.resumeQueue(target);
          return done({ paused: false }, { done: "resume", target });
        case "retry-all": {
          const state = (fields.get("state") ?? "discarded") as RetryAllState;
          if (!RETRY_ALL_STATES.includes(state)) {
            throw new HttpError(400, `state must be one of ${RETRY_ALL_STATES.join(", ")}, got "${state}"`);
          }
          const result = await admin.retryAll({ queue: target, state });
          return done(result, { done: "retry-all", target, n: result.retried });
        }
      }
    }
    if (kind === "schedules") {
      if (!NAME_RE.test(target)) throw new ScheduleNotFoundError(target);
      switch (action) {
        case "pause":
          return done({ schedule: await admin.pauseSchedule(target) }, { done: "schedule-pause", target });
        case "resume":
          return done({ schedule: await admin.resumeSchedule(target) }, { done: "schedule-resume", target });
      }
    }
    throw new HttpError(404, `there is no action at ${r.base}${r.path}`);
  };

  return (req, res, next) => {
    handle(req, res, next).catch((err: unknown) => {
      // Only reached if answering the error failed too.
      onError(err);
      if (!res.headersSent) {
        res.statusCode = 500;
        res.end();
      } else res.destroy();
    });
  };
}

function isActionPath(parts: readonly string[]): boolean {
  if (parts.length !== 3) return false;
  const [kind, target, action] = parts as [string, string, string];
  if (target === "") return false;
  if (kind === "jobs") return (JOB_ACTIONS as readonly string[]).includes(action);
  if (kind === "queues") return (QUEUE_ACTIONS as readonly string[]).includes(action);
  if (kind === "schedules") return (SCHEDULE_ACTIONS as readonly string[]).includes(action);
  return false;
}

function intParam(name: string, value: string): number {
  if (!/^\d{1,6}$/.test(value))
    throw new HttpError(400, `${name} must be a positive integer, got "${value}"`);
  return Number(value);
}

/** A path inside the dashboard to go back to after an action: anything else becomes the overview. */
function safeBack(base: string, back: string | undefined): string {
  const home = `${base}/`;
  if (
    back === undefined ||
    back === "" ||
    /[\\\r\n\t]/.test(back) ||
    !back.startsWith("/") ||
    back.startsWith("//")
  ) {
    return home;
  }
  let url: URL;
  try {
    url = new URL(back, "http://dashboard.invalid");
  } catch {
    return home;
  }
  if (url.origin !== "http://dashboard.invalid") return home;
  if (url.pathname !== home && url.pathname !== base && !url.pathname.startsWith(home)) return home;
  for (const k of ["done", "failed", "target", "n"]) url.searchParams.delete(k);
  return url.pathname + url.search;
}

function wantsHtml(req: IncomingMessage): boolean {
  const accept = req.headers.accept ?? "";
  const type = req.headers["content-type"] ?? "";
  return accept.includes("text/html") || type.startsWith("application/x-www-form-urlencoded");
}

function capitalise(s: string): string {
  return s.length > 0 ? s[0]!.toUpperCase() + s.slice(1) : s;
}

/** @internal Exposed for tests. */
export const _internals = { safeBack, isActionPath };
