/** The schedules, workers and processes pages, and the login form. */
import type { ScheduleRecord } from "../../store/store.js";
import type { ProcessSummary, WorkerRecord } from "../admin-port.js";
import { clip, compactJson, count, everyText, shortDuration } from "../format.js";
import { html, type SafeHtml } from "../html.js";
import { actionForm, formFields, timeAgo } from "./components.js";
import { href, type ViewContext } from "./context.js";
import { layout } from "./layout.js";

function specText(s: ScheduleRecord): SafeHtml {
  if (s.spec.kind === "cron") {
    return html`<code>${s.spec.cron}</code>${s.spec.tz !== "UTC" ? html` <span class="faint">${s.spec.tz}</span>` : html` <span class="faint">UTC</span>`}`;
  }
  return html`${everyText(s.spec.everyMs)}`;
}

function catchUpText(s: ScheduleRecord): string {
  return s.catchUp.policy === "all" ? `all (up to ${s.catchUp.max})` : s.catchUp.policy;
}

export function schedulesPage(ctx: ViewContext, schedules: readonly ScheduleRecord[]): SafeHtml {
  const paused = schedules.filter((s) => s.paused).length;
  const table =
    schedules.length === 0
      ? html`<div class="empty">No schedules. <code>app.schedule("nightly", { cron: "0 3 * * *" }, job, data)</code> adds one.</div>`
      : html`<div class="table-wrap"><table>
<thead><tr><th>Schedule</th><th>Job</th><th>When</th><th>Catch-up</th><th>Next run</th><th>Last tick</th><th>Status</th><th></th></tr></thead>
<tbody>${schedules.map(
          (s) => html`<tr data-schedule="${s.id}">
<td><b class="mono">${s.id}</b></td>
<td><a href="${href(ctx, `/queues/${encodeURIComponent(s.queue)}`)}">${s.queue}</a> · <span class="mono">${s.jobName}</span><span class="faint mono preview" title="data of every tick job">${compactJson(s.data, 120)}</span></td>
<td>${specText(s)}</td>
<td>${catchUpText(s)}</td>
<td class="nowrap">${s.paused ? html`<span class="faint">paused</span>` : timeAgo(s.nextRunAt, ctx.now)}</td>
<td class="nowrap">${timeAgo(s.lastTickAt, ctx.now)}</td>
<td>${s.paused ? html`<span class="badge paused">paused</span>` : html`<span class="badge s-completed">active</span>`}</td>
<td class="actions">${
            s.paused
              ? actionForm(ctx, `/schedules/${encodeURIComponent(s.id)}/resume`, "Resume", {
                  className: "small",
                })
              : actionForm(ctx, `/schedules/${encodeURIComponent(s.id)}/pause`, "Pause", {
                  className: "small",
                })
          }</td>
</tr>`,
        )}</tbody></table></div>`;
  const body = html`<div class="page-head"><div><h1>Schedules</h1><div class="sub">${count(schedules.length)} schedule${schedules.length === 1 ? "" : "s"}${paused > 0 ? ` · ${paused} paused` : ""} · each tick enqueues one job, however many schedulers run</div></div></div>
<section class="card" id="schedules" data-live>${table}</section>`;
  return layout(ctx, { title: "Schedules", section: "schedules", body });
}

/** A worker whose last beat is older than this is shown as late. */
const LATE_BEAT_MS = 30_000;

export function workersPage(ctx: ViewContext, workers: readonly WorkerRecord[]): SafeHtml {
  const slots = workers.reduce((s, w) => s + w.concurrency, 0);
  const running = workers.reduce((s, w) => s + w.running.length, 0);
  const table =
    workers.length === 0
      ? html`<div class="empty">No worker is running on this store. <code>conveyor worker --jobs ./dist/jobs.js</code> starts one.</div>`
      : html`<div class="table-wrap"><table>
<thead><tr><th>Worker</th><th>Host</th><th class="num">PID</th><th>Queues</th><th>Executor</th><th class="num">Running</th><th>Started</th><th>Last beat</th></tr></thead>
<tbody>${workers.map((w) => {
          const age = ctx.now - w.lastBeatAt;
          const shown = w.running.slice(0, 6);
          return html`<tr data-worker="${w.id}">
<td class="mono">${clip(w.id, 40)}<span class="faint preview" title="${w.names.join(", ")}">${w.names.length} job type${w.names.length === 1 ? "" : "s"}${w.names.length > 0 ? `: ${w.names.join(", ")}` : ""}</span></td>
<td>${w.hostname}</td>
<td class="num mono">${w.pid}</td>
<td><div class="tags">${w.queues.map((q) => html`<a class="tag" href="${href(ctx, `/queues/${encodeURIComponent(q)}`)}">${q}</a>`)}</div></td>
<td>${w.executor}</td>
<td class="num"><b>${w.running.length}</b> / ${w.concurrency}${shown.length > 0 ? html`<div class="tags">${shown.map((id) => html`<a class="tag" href="${href(ctx, `/jobs/${encodeURIComponent(id)}`)}">#${id}</a>`)}${w.running.length > shown.length ? html`<span class="faint">+${w.running.length - shown.length}</span>` : null}</div>` : null}</td>
<td class="nowrap">${timeAgo(w.startedAt, ctx.now)}</td>
<td class="nowrap">${age > LATE_BEAT_MS ? html`<span class="badge s-retryable" title="no heartbeat for ${shortDuration(age)}">late</span> ` : null}${timeAgo(w.lastBeatAt, ctx.now)}</td>
</tr>`;
        })}</tbody></table></div>`;
  const body = html`<div class="page-head"><div><h1>Workers</h1><div class="sub" id="workers-sub" data-live>${count(workers.length)} worker${workers.length === 1 ? "" : "s"} online · ${count(running)} of ${count(slots)} slots busy</div></div></div>
<section class="card" id="workers" data-live>${table}</section>`;
  return layout(ctx, { title: "Workers", section: "workers", body });
}

export function processesPage(ctx: ViewContext, processes: readonly ProcessSummary[]): SafeHtml {
  const named = processes.filter((p) => p.names.length > 0).length;
  const table =
    processes.length === 0
      ? html`<div class="empty">No live processes in this node's runtime.</div>`
      : html`<div class="table-wrap"><table>
<thead><tr><th>PID</th><th>Registered names</th></tr></thead>
<tbody>${processes.map(
          (p) =>
            html`<tr data-pid="${p.pid}"><td class="mono">${p.pid}</td><td>${p.names.length > 0 ? html`<div class="tags">${p.names.map((n) => html`<span class="tag">${n}</span>`)}</div>` : html`<span class="faint">–</span>`}</td></tr>`,
        )}</tbody></table></div>`;
  const body = html`<div class="page-head"><div><h1>Processes</h1><div class="sub" id="processes-sub" data-live>${count(processes.length)} live process${processes.length === 1 ? "" : "es"} in this node · ${count(named)} with a registered name</div></div></div>
<section class="card" id="processes" data-live>${table}</section>`;
  return layout(ctx, { title: "Processes", section: "processes", body });
}

export function loginPage(ctx: ViewContext, options: { next: string; failed: boolean }): SafeHtml {
  const body = html`<div class="login card"><div class="card-body stack">
<h1>Sign in</h1>
<p class="muted">This dashboard asks for its access token (given to <code>conveyor dashboard --token</code> or to <code>createDashboard({ auth: { token } })</code>).</p>
${options.failed ? html`<div class="notice error" role="alert">That token is not right.</div>` : null}
<form method="post" action="${href(ctx, "/login")}">${formFields(ctx, options.next)}<label for="token">Access token</label><input type="password" id="token" name="token" autocomplete="current-password" required autofocus><button type="submit" class="primary">Sign in</button></form>
</div></div>`;
  return layout(ctx, { title: "Sign in", section: "none", body });
}

/** A short description of the running time of an action over many jobs, e.g. for notices. */
export function plural(n: number, word: string): string {
  return `${count(n)} ${word}${n === 1 ? "" : "s"}`;
}
