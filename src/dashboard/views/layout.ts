/** The page frame: head (assets, CSRF meta), top bar with navigation, notice, footer. */
import { ASSETS, LOGO_SVG } from "../assets/index.js";
import { html, type SafeHtml, unsafeRaw } from "../html.js";
import { formFields } from "./components.js";
import { href, type ViewContext } from "./context.js";

/** Which top-level page is current (highlighted in the navigation). */
export type Section = "overview" | "schedules" | "workers" | "processes" | "none";

function assetUrl(ctx: ViewContext, name: string): string {
  return href(ctx, `/assets/${name}`, { v: ASSETS.get(name)?.hash });
}

/** A full page. */
export function layout(
  ctx: ViewContext,
  page: { title: string; section: Section; body: SafeHtml },
): SafeHtml {
  const nav = (section: Section, path: string, label: string): SafeHtml =>
    html`<a href="${href(ctx, path)}"${page.section === section ? html` aria-current="page"` : null}>${label}</a>`;
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="same-origin">
<meta name="csrf-token" content="${ctx.csrf}">
<meta name="conveyor-refresh" content="${ctx.refreshMs}">
<title>${page.title} · Conveyor</title>
<link rel="icon" type="image/svg+xml" href="${assetUrl(ctx, "favicon.svg")}">
<link rel="stylesheet" href="${assetUrl(ctx, "style.css")}">
<script src="${assetUrl(ctx, "app.js")}"></script>
</head>
<body>
<header class="topbar">
<a class="brand" href="${href(ctx, "/")}">${unsafeRaw(LOGO_SVG)}<span>Conveyor</span></a>
${ctx.signedIn ? html`<nav class="nav" aria-label="Sections">${nav("overview", "/", "Overview")}${nav("schedules", "/schedules", "Schedules")}${nav("workers", "/workers", "Workers")}${ctx.hasProcesses ? nav("processes", "/processes", "Processes") : null}</nav>` : null}
<div class="topbar-end">
${ctx.signedIn && ctx.readOnly ? html`<span class="pill warn" title="Actions are disabled">read-only</span>` : null}
${ctx.signedIn ? html`<span class="pill" title="Where the jobs live">store: ${ctx.storeKind}</span>` : null}
<button type="button" class="ghost" data-live-toggle hidden title="Pause or resume live updates"><span class="live-dot"></span><span data-live-status>Live</span></button>
<button type="button" class="ghost" data-theme-toggle title="Theme: auto (follows the system), dark, light">◐ <span data-theme-label>Auto</span></button>
${ctx.signOut ? html`<form method="post" action="${href(ctx, "/logout")}">${formFields(ctx, href(ctx, "/"))}<button type="submit" class="ghost">Sign out</button></form>` : null}
</div>
</header>
<main>
${ctx.notice ? html`<div class="notice${ctx.notice.kind === "error" ? " error" : ""}" role="status">${ctx.notice.text}</div>` : null}
${page.body}
</main>
${ctx.signedIn ? html`<footer>Conveyor ${ctx.version} · ${ctx.storeKind} store${ctx.hasMetrics ? html` · <a href="${href(ctx, "/metrics")}">metrics</a>` : null} · <a href="${href(ctx, "/api/overview")}">JSON API</a></footer>` : null}
</body>
</html>
`;
}

/** A page with just a message: errors, refusals, "not found". */
export function messagePage(
  ctx: ViewContext,
  title: string,
  message: string | SafeHtml,
  options: { back?: string } = {},
): SafeHtml {
  return layout(ctx, {
    title,
    section: "none",
    body: html`<div class="card"><div class="card-body stack"><h1>${title}</h1><p>${message}</p><p><a href="${options.back ?? href(ctx, "/")}">${options.back ? "Back" : "Back to the overview"}</a></p></div></div>`,
  });
}
