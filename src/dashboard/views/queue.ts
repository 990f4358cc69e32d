/** A queue: its state tabs, a job table with "older" paging and search, pause/resume and retry-all. */
import type { JobState } from "../../job/states.js";
import type { JobRecord } from "../../store/store.js";
import type { JobPage, QueueSummary } from "../admin-port.js";
import { clip, compactJson, count } from "../format.js";
import { html, type SafeHtml } from "../html.js";
import { actionForm, jobActions, STATE_HELP, STATE_ORDER, stateBadge, timeAgo } from "./components.js";
import { href, type ViewContext } from "./context.js";
import { layout } from "./layout.js";

/** What the queue page shows. */
export interface QueueView {
  queue: QueueSummary;
  page: JobPage;
  state: JobState | undefined;
  search: string | undefined;
  cursor: string | undefined;
}

const MATCHED = { id: "job id", key: "dedupe key", group: "group" } as const;

function queuePath(name: string): string {
  return `/queues/${encodeURIComponent(name)}`;
}

function tabs(ctx: ViewContext, v: QueueView): SafeHtml {
  const all = STATE_ORDER.reduce((s, st) => s + v.queue.counts[st], 0);
  const tab = (state: JobState | undefined, label: string, n: number): SafeHtml =>
    html`<a${state ? html` class="s-${state}" title="${STATE_HELP[state]}"` : null} href="${href(ctx, queuePath(v.queue.name), { state, search: v.search })}"${v.state === state ? html` aria-current="page"` : null}>${label}<span class="n">${count(n)}</span></a>`;
  return html`<nav class="tabs" id="tabs" data-live aria-label="Job states">${tab(undefined, "All", all)}${STATE_ORDER.map((s) => tab(s, s, v.queue.counts[s]))}</nav>`;
}

function whenCell(j: JobRecord, now: number): SafeHtml {
  if (j.finishedAt !== null) return html`<span class="faint">finished</span> ${timeAgo(j.finishedAt, now)}`;
  if (j.state === "running") return html`<span class="faint">started</span> ${timeAgo(j.attemptedAt, now)}`;
  if (j.state === "scheduled" || j.state === "retryable")
    return html`<span class="faint">runs</span> ${timeAgo(j.runAt, now)}`;
  return html`<span class="faint">ready</span> ${timeAgo(j.runAt, now)}`;
}

function jobRow(ctx: ViewContext, j: JobRecord): SafeHtml {
  const last = j.errors.at(-1);
  const tags = [
    j.group !== null ? html`<span class="tag" title="group">${clip(j.group, 28)}</span>` : null,
    j.key !== null ? html`<span class="tag" title="dedupe key">key ${clip(j.key, 24)}</span>` : null,
    j.priority !== 0
      ? html`<span class="tag" title="priority (lower runs first)">p${j.priority}</span>`
      : null,
  ];
  return html`<tr data-job="${j.id}">
<td class="mono"><a href="${href(ctx, `/jobs/${j.id}`)}">#${j.id}</a></td>
<td><a href="${href(ctx, `/jobs/${j.id}`)}">${j.name}</a><span class="faint mono preview" title="data">${compactJson(j.data, 120)}</span></td>
<td>${stateBadge(j.state)}${j.cancelRequested && j.state === "running" ? html` <span class="badge plain s-cancelled">cancelling</span>` : null}</td>
<td class="num">${j.attempt}/${j.maxAttempts}</td>
<td class="nowrap">${whenCell(j, ctx.now)}</td>
<td><div class="tags">${tags}</div></td>
<td class="err"${last ? html` title="${clip(last.message, 300)}"` : null}>${last ? `${last.name}: ${clip(last.message, 120)}` : null}</td>
<td class="actions">${jobActions(ctx, j, "small")}</td>
</tr>`;
}

function jobTable(ctx: ViewContext, v: QueueView): SafeHtml {
  const { jobs, nextCursor } = v.page;
  const what = v.state ? `${v.state} jobs` : "jobs";
  const body =
    jobs.length === 0
      ? html`<div class="empty">${v.search ? html`No ${what} match <b>${v.search}</b>.` : v.cursor ? "No older jobs." : `No ${what} in this queue.`}</div>`
      : html`<div class="table-wrap"><table>
<thead><tr><th>ID</th><th>Job</th><th>State</th><th class="num">Attempt</th><th>When</th><th>Group · key</th><th>Last error</th><th></th></tr></thead>
<tbody>${jobs.map((j) => jobRow(ctx, j))}</tbody></table></div>`;
  const pager = html`<div class="pager"><span>${v.cursor ? html`<a href="${href(ctx, queuePath(v.queue.name), { state: v.state, search: v.search })}">← Newest</a>` : `Newest first`}</span><span>${count(jobs.length)} shown${v.search && v.page.matchedBy ? ` · matched by ${MATCHED[v.page.matchedBy]}` : ""}</span><span>${nextCursor ? html`<a rel="next" href="${href(ctx, queuePath(v.queue.name), { state: v.state, search: v.search, cursor: nextCursor })}">Older →</a>` : html`<span class="faint">No older jobs</span>`}</span></div>`;
  // Only the first page follows the queue live: an older page stays still while someone reads it.
  return html`<div id="jobs"${v.cursor ? null : html` data-live`}>${body}${pager}</div>`;
}

export function queuePage(ctx: ViewContext, v: QueueView): SafeHtml {
  const q = v.queue;
  const path = queuePath(q.name);
  const discarded = q.counts.discarded;
  const actions = html`<div class="actions" id="queue-actions" data-live>${
    q.paused
      ? actionForm(ctx, `${path}/resume`, "Resume", {
          className: "primary",
          title: "Workers claim from it again",
        })
      : actionForm(ctx, `${path}/pause`, "Pause", {
          title: "Workers stop claiming from it; running jobs finish",
        })
  }${
    discarded > 0
      ? actionForm(ctx, `${path}/retry-all`, `Retry all discarded (${count(discarded)})`, {
          className: "danger",
          confirm: `Run all ${count(discarded)} discarded jobs of ${q.name} again?`,
          fields: { state: "discarded" },
        })
      : null
  }</div>`;
  const parts: SafeHtml[] = [];
  if (q.paused) parts.push(html`<span class="badge paused">paused</span>`);
  if (q.jobTypes.length > 0) {
    parts.push(
      html`job types ${q.jobTypes.map((t, i) => html`${i > 0 ? ", " : ""}<span class="mono">${t}</span>`)}`,
    );
  }
  if (q.rateLimit) parts.push(html`rate limit ${q.rateLimit.max} per ${q.rateLimit.windowMs} ms`);
  const sub = parts.map((p, i) => html`${i > 0 ? " · " : ""}${p}`);
  const search = html`<div class="toolbar"><form method="get" action="${href(ctx, path)}" role="search">${v.state ? html`<input type="hidden" name="state" value="${v.state}">` : null}<input type="search" name="search" value="${v.search ?? ""}" placeholder="Job id, dedupe key or group" aria-label="Search jobs by id, dedupe key or group"><button type="submit">Search</button>${v.search ? html`<a class="btn" href="${href(ctx, path, { state: v.state })}">Clear</a>` : null}</form></div>`;
  const body = html`<div class="crumbs"><a href="${href(ctx, "/")}">Overview</a> / queue</div>
<div class="page-head"><div><h1>${q.name}</h1><div class="sub" id="queue-sub" data-live>${sub}</div></div>${actions}</div>
<section class="card">${tabs(ctx, v)}${search}${jobTable(ctx, v)}</section>`;
  return layout(ctx, { title: `Queue ${q.name}`, section: "overview", body });
}
