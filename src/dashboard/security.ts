/**
 * The dashboard's safety: who may look (a bearer token, a login cookie or HTTP basic auth), who may act (CSRF
 * tokens bound to a cookie, checked with Origin and Sec-Fetch-Site), which Host names are served (DNS
 * rebinding), and the headers every response carries. All secrets are compared in constant time.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { OptionsError } from "../errors.js";

/** How people sign in: a bearer token (also accepted through a login form), or HTTP basic auth. */
export type DashboardAuth = { token: string } | { username: string; password: string };

/** Name of the cookie that binds CSRF tokens to one browser. */
export const CSRF_COOKIE = "conveyor_csrf";
/** Name of the login cookie (token auth through the login form). */
export const SESSION_COOKIE = "conveyor_session";
/** Form field and header that carry the CSRF token. */
export const CSRF_FIELD = "_csrf";
export const CSRF_HEADER = "x-csrf-token";
/** A login cookie is good for this long (it is also dropped when the process restarts: a new secret). */
export const SESSION_MAX_AGE_MS = 12 * 60 * 60 * 1000;

/** The Content-Security-Policy of every response: nothing inline, nothing from elsewhere. */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "object-src 'none'",
].join("; ");

/** Compares two secrets in constant time (of their SHA-256 digests, so lengths do not leak either). */
export function safeEqual(a: string, b: string): boolean {
  const da = createHash("sha256").update(a, "utf8").digest();
  const db = createHash("sha256").update(b, "utf8").digest();
  return timingSafeEqual(da, db);
}

/** Checks an `auth` option and returns it; throws OptionsError naming the field. */
export function checkAuth(auth: unknown): DashboardAuth | undefined {
  if (auth === undefined || auth === null) return undefined;
  if (typeof auth !== "object") {
    throw new OptionsError(
      'options.auth must be { token } or { username, password }, e.g. { token: "s3cret" }',
    );
  }
  const a = auth as Record<string, unknown>;
  if ("token" in a) {
    if (typeof a.token !== "string" || a.token.length < 8) {
      throw new OptionsError("options.auth.token must be a string of at least 8 characters");
    }
    return { token: a.token };
  }
  if (typeof a.username !== "string" || a.username.length === 0 || a.username.includes(":")) {
    throw new OptionsError('options.auth.username must be a non-empty string without ":"');
  }
  if (typeof a.password !== "string" || a.password.length < 8) {
    throw new OptionsError("options.auth.password must be a string of at least 8 characters");
  }
  return { username: a.username, password: a.password };
}

/** Parses the Cookie header into a map (the first value of each name wins). */
export function parseCookies(header: string | undefined): Map<string, string> {
  const out = new Map<string, string>();
  if (!header) return out;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq <= 0) continue;
    const name = part.slice(0, eq).trim();
    if (out.has(name)) continue;
    let value = part.slice(eq + 1).trim();
    if (value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
    try {
      out.set(name, decodeURIComponent(value));
    } catch {
      out.set(name, value);
    }
  }
  return out;
}

/** How a request was authenticated. */
export type AuthVia = "none" | "bearer" | "basic" | "cookie";

/** What {@link Security.authenticate} found. */
export interface AuthResult {
  ok: boolean;
  via: AuthVia;
}

function isSecure(req: IncomingMessage): boolean {
  const socket = req.socket as { encrypted?: boolean } | undefined;
  return socket?.encrypted === true || req.headers["x-forwarded-proto"] === "https";
}

function b64url(buf: Buffer): string {
  return buf.toString("base64url");
}

/** Options of {@link Security}. */
export interface SecurityOptions {
  auth: DashboardAuth | undefined;
  /** Host names (without port) served; others get 403. Undefined: any. */
  allowedHosts: readonly string[] | undefined;
  /** Path the cookies are scoped to (the dashboard's base path). */
  cookiePath: string;
}

/** One dashboard's secrets and checks. The HMAC secret is made per process: restarts sign everyone out. */
export class Security {
  readonly auth: DashboardAuth | undefined;
  readonly #secret = randomBytes(32);
  readonly #allowedHosts: ReadonlySet<string> | undefined;
  readonly #cookiePath: string;

  constructor(options: SecurityOptions) {
    this.auth = options.auth;
    this.#allowedHosts = options.allowedHosts
      ? new Set(options.allowedHosts.map((h) => h.toLowerCase()))
      : undefined;
    this.#cookiePath = options.cookiePath;
  }

  /** Whether sign-in goes through the login form (token auth) rather than the browser's prompt (basic). */
  get usesLoginForm(): boolean {
    return this.auth !== undefined && "token" in this.auth;
  }

  #hmac(...parts: string[]): string {
    const h = createHmac("sha256", this.#secret);
    for (const p of parts) h.update(p).update("\0");
    return b64url(h.digest());
  }

  /** Whether the request's Host is one this dashboard answers to (DNS rebinding protection). */
  hostAllowed(req: IncomingMessage): { ok: boolean; host: string } {
    const raw = req.headers.host ?? "";
    if (this.#allowedHosts === undefined) return { ok: true, host: raw };
    const host = raw.startsWith("[") ? raw.slice(0, raw.indexOf("]") + 1) : (raw.split(":")[0] ?? "");
    return { ok: this.#allowedHosts.has(host.toLowerCase()), host: raw };
  }

  /** Checks the request's credentials against `auth` (always ok without auth). */
  authenticate(req: IncomingMessage): AuthResult {
    const auth = this.auth;
    if (auth === undefined) return { ok: true, via: "none" };
    const header = req.headers.authorization ?? "";
    const space = header.indexOf(" ");
    const scheme = space > 0 ? header.slice(0, space).toLowerCase() : "";
    const value = space > 0 ? header.slice(space + 1).trim() : "";
    if ("token" in auth) {
      if (scheme === "bearer") return { ok: safeEqual(value, auth.token), via: "bearer" };
      const cookie = parseCookies(req.headers.cookie).get(SESSION_COOKIE);
      if (cookie !== undefined) return { ok: this.#sessionValid(cookie), via: "cookie" };
      return { ok: false, via: "none" };
    }
    if (scheme === "basic") {
      let decoded = "";
      try {
        decoded = Buffer.from(value, "base64").toString("utf8");
      } catch {
        return { ok: false, via: "basic" };
      }
      const colon = decoded.indexOf(":");
      const user = colon >= 0 ? decoded.slice(0, colon) : decoded;
      const pass = colon >= 0 ? decoded.slice(colon + 1) : "";
      // Both compared, always, so a wrong user name takes as long as a wrong password.
      const okUser = safeEqual(user, auth.username);
      const okPass = safeEqual(pass, auth.password);
      return { ok: okUser && okPass, via: "basic" };
    }
    return { ok: false, via: "none" };
  }

  /** Checks a token typed into the login form. */
  checkLoginToken(token: string): boolean {
    return this.auth !== undefined && "token" in this.auth && safeEqual(token, this.auth.token);
  }

  #sessionValid(cookie: string): boolean {
    if (this.auth === undefined || !("token" in this.auth)) return false;
    const dot = cookie.indexOf(".");
    if (dot <= 0) return false;
    const issued = cookie.slice(0, dot);
    if (!/^\d{1,15}$/.test(issued)) return false;
    const age = Date.now() - Number(issued);
    if (age < -60_000 || age > SESSION_MAX_AGE_MS) return false;
    return safeEqual(cookie.slice(dot + 1), this.#hmac("session", issued, this.auth.token));
  }

  /** Sets the login cookie after a good token (HttpOnly, SameSite=Strict, scoped to the base path). */
  setSessionCookie(req: IncomingMessage, res: ServerResponse): void {
    if (this.auth === undefined || !("token" in this.auth)) return;
    const issued = String(Date.now());
    const value = `${issued}.${this.#hmac("session", issued, this.auth.token)}`;
    this.#appendCookie(res, this.#cookie(req, SESSION_COOKIE, value, Math.floor(SESSION_MAX_AGE_MS / 1000)));
  }

  /** Clears the login cookie. */
  clearSessionCookie(req: IncomingMessage, res: ServerResponse): void {
    this.#appendCookie(res, this.#cookie(req, SESSION_COOKIE, "", 0));
  }

  /**
   * The CSRF token for this browser: an HMAC of its CSRF cookie, which is set here when missing. Returns the
   * token to put in forms and in the page's meta tag (for fetch).
   */
  csrfToken(req: IncomingMessage, res: ServerResponse): string {
    let id = parseCookies(req.headers.cookie).get(CSRF_COOKIE);
    if (id === undefined || !/^[A-Za-z0-9_-]{32,64}$/.test(id)) {
      id = b64url(randomBytes(24));
      this.#appendCookie(res, this.#cookie(req, CSRF_COOKIE, id, undefined));
      // The same request may render a form: it uses the new id.
      req.headers.cookie = `${CSRF_COOKIE}=${id}${req.headers.cookie ? `; ${req.headers.cookie}` : ""}`;
    }
    return this.#hmac("csrf", id);
  }

  /**
   * Checks that a state-changing request comes from this dashboard's own pages: not from another site
   * (Origin, Sec-Fetch-Site), and with the CSRF token of this browser. Returns null when it does, else why
   * not (for the 403 page). Requests authenticated by a bearer header skip the token (a browser never
   * attaches that header on its own), but not the origin checks.
   */
  checkCsrf(req: IncomingMessage, formToken: string | undefined, via: AuthVia): string | null {
    const site = req.headers["sec-fetch-site"];
    if (site !== undefined && site !== "same-origin") {
      return `the request came from another site (Sec-Fetch-Site: ${site})`;
    }
    const origin = req.headers.origin;
    if (origin !== undefined && origin !== "null") {
      let originHost = "";
      try {
        originHost = new URL(origin).host;
      } catch {
        return "the request's Origin header is not a URL";
      }
      if (originHost.toLowerCase() !== (req.headers.host ?? "").toLowerCase()) {
        return `the request came from another origin (${origin})`;
      }
    } else if (origin === "null") {
      return "the request came from an opaque origin";
    }
    if (via === "bearer") return null;
    const header = req.headers[CSRF_HEADER];
    const token = typeof header === "string" && header.length > 0 ? header : formToken;
    if (token === undefined || token.length === 0) {
      return "the CSRF token is missing (reload the page and try again)";
    }
    const id = parseCookies(req.headers.cookie).get(CSRF_COOKIE);
    if (id === undefined) return "the CSRF cookie is missing (reload the page and try again)";
    if (!safeEqual(token, this.#hmac("csrf", id))) {
      return "the CSRF token does not match (the page may be stale: reload it and try again)";
    }
    return null;
  }

  #cookie(req: IncomingMessage, name: string, value: string, maxAgeS: number | undefined): string {
    const parts = [`${name}=${value}`, `Path=${this.#cookiePath}`, "HttpOnly", "SameSite=Strict"];
    if (maxAgeS !== undefined) parts.push(`Max-Age=${maxAgeS}`);
    if (isSecure(req)) parts.push("Secure");
    return parts.join("; ");
  }

  #appendCookie(res: ServerResponse, cookie: string): void {
    const prev = res.getHeader("set-cookie");
    const list = prev === undefined ? [] : Array.isArray(prev) ? prev.map(String) : [String(prev)];
    res.setHeader("set-cookie", [...list, cookie]);
  }
}

/** Headers every dashboard response carries. */
export function setSecurityHeaders(res: ServerResponse): void {
  res.setHeader("content-security-policy", CONTENT_SECURITY_POLICY);
  res.setHeader("x-content-type-options", "nosniff");
  res.setHeader("x-frame-options", "DENY");
  // Not "no-referrer": with it, browsers send `Origin: null` on form posts, and the CSRF check needs the origin.
  res.setHeader("referrer-policy", "same-origin");
  res.setHeader("cross-origin-opener-policy", "same-origin");
  res.setHeader("cross-origin-resource-policy", "same-origin");
}
