/** What every page of one response needs to know: where the dashboard lives, who is looking, and when. */

/** A short message after an action (shown once; the script removes it from the URL). */
export interface Notice {
  kind: "ok" | "error";
  text: string;
}

/** The render context of one request. */
export interface ViewContext {
  /** The dashboard's base path without a trailing slash ("" at the root, "/admin/jobs" when mounted there). */
  base: string;
  /** This browser's CSRF token (every form carries it). */
  csrf: string;
  /** Actions are refused and their buttons hidden. */
  readOnly: boolean;
  /** When the page is rendered (the admin API's clock when it has one). */
  now: number;
  /** "memory", "sqlite", "redis". */
  storeKind: string;
  /** Whether the processes page exists (the admin API has a process runtime). */
  hasProcesses: boolean;
  /**
   * Whether the viewer is signed in (always, without auth). Pages for others (sign-in, refusals) show no
   * navigation, store kind or version.
   */
  signedIn: boolean;
  /** Show "Sign out" (signed in through the login form). */
  signOut: boolean;
  /** Live refresh interval of the page's script, ms. */
  refreshMs: number;
  /** The path and query of this page, for the `back` field of its forms. */
  self: string;
  /** Whether `/metrics` is served. */
  hasMetrics: boolean;
  version: string;
  notice: Notice | null;
}

/** A link inside the dashboard: `path` starts with "/". */
export function href(
  ctx: Pick<ViewContext, "base">,
  path: string,
  query?: Record<string, string | undefined>,
): string {
  let out = ctx.base + path;
  if (query) {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== "") q.set(k, v);
    const s = q.toString();
    if (s) out += `?${s}`;
  }
  return out;
}
