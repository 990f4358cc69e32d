/** One job: facts, data, result, progress, every attempt's error with its stack, logs, and its actions. */
import { FINAL_STATES } from "../../job/states.js";
import type { JobRecord } from "../../store/store.js";
import { count, iso, shortDuration } from "../format.js";
import { html, type SafeHtml } from "../html.js";
import { jobActions, jsonBlock, stateBadge, timeAgo } from "./components.js";
import { href, type ViewContext } from "./context.js";
import { layout } from "./layout.js";

function fact(label: string, value: SafeHtml | string | number | null): SafeHtml {
  return html`<div><dt>${label}</dt><dd>${value === null ? html`<span class="faint">–</span>` : value}</dd></div>`;
}

function progressView(progress: unknown): SafeHtml {
  if (progress === null || progress === undefined) return html`<span class="faint">none reported</span>`;
  if (typeof progress === "number" && Number.isFinite(progress)) {
    const pct = Math.max(0, Math.min(100, progress));
    return html`<div class="progress-row"><progress max="100" value="${pct}">${pct}%</progress><b>${Number.isInteger(pct) ? pct : pct.toFixed(1)}%</b></div>`;
  }
  return jsonBlock(progress);
}

function attempts(ctx: ViewContext, j: JobRecord): SafeHtml {
  if (j.errors.length === 0) {
    return html`<div class="empty">${j.attempt === 0 ? "Not run yet." : "No failed attempts."}</div>`;
  }
  const latest = j.errors.length - 1;
  const items = [...j.errors].reverse().map((e, k) => {
    const i = latest - k;
    return html`<li data-attempt="${e.attempt}">
<div class="attempt-head"><b>Attempt ${e.attempt}</b><span class="tag">${e.kind}</span>${timeAgo(e.at, ctx.now)}</div>
<div class="attempt-msg">${e.name}: ${e.message}</div>
${e.stack ? html`<details${i === latest ? html` open` : null}><summary>Stack trace</summary><pre class="stack">${e.stack}</pre></details>` : null}
</li>`;
  });
  return html`<ul class="attempts">${items}</ul>`;
}

function logs(j: JobRecord): SafeHtml {
  if (j.logs.length === 0) return html`<div class="empty">No log lines.</div>`;
  return html`<div class="table-wrap"><table class="logs"><thead><tr><th>Time</th><th>Attempt</th><th>Level</th><th>Message</th></tr></thead><tbody>${j.logs.map(
    (l) =>
      html`<tr><td class="nowrap"><time datetime="${iso(l.at)}">${iso(l.at).slice(11, 23)}</time></td><td class="num">${l.attempt}</td><td class="lvl-${l.level}">${l.level}</td><td class="msg">${l.message}</td></tr>`,
  )}</tbody></table></div>`;
}

export function jobPage(ctx: ViewContext, j: JobRecord): SafeHtml {
  const final = FINAL_STATES.includes(j.state);
  const ran = j.finishedAt !== null && j.attemptedAt !== null ? j.finishedAt - j.attemptedAt : null;
  const facts = html`<dl class="facts-grid">
${fact("State", html`${stateBadge(j.state)}${j.cancelRequested && !final ? html` <span class="badge plain s-cancelled">cancel requested</span>` : null}`)}
${fact("Queue", html`<a href="${href(ctx, `/queues/${encodeURIComponent(j.queue)}`)}">${j.queue}</a>`)}
${fact("Attempt", `${j.attempt} of ${j.maxAttempts}`)}
${fact("Priority", html`${j.priority}${j.lifo ? " · LIFO" : ""}`)}
${fact("Created", timeAgo(j.createdAt, ctx.now))}
${fact(j.state === "scheduled" || j.state === "retryable" ? "Runs" : "Run at", timeAgo(j.runAt, ctx.now))}
${fact("Last attempt", j.attemptedAt === null ? null : timeAgo(j.attemptedAt, ctx.now))}
${fact("Finished", j.finishedAt === null ? null : html`${timeAgo(j.finishedAt, ctx.now)}${ran !== null && ran >= 0 ? html` <span class="faint">after ${shortDuration(ran)}</span>` : null}`)}
${j.state === "running" ? fact("Worker", j.leaseOwner === null ? null : html`<span class="mono">${j.leaseOwner}</span>`) : null}
${j.state === "running" ? fact("Lease expires", j.leaseExpiresAt === null ? null : timeAgo(j.leaseExpiresAt, ctx.now)) : null}
${fact("Timeout", j.timeoutMs === null ? null : shortDuration(j.timeoutMs))}
${fact("Stalls", `${j.stalls} of ${j.maxStalls} allowed`)}
${fact("Group", j.group === null ? null : html`<span class="mono">${j.group}</span>`)}
${fact("Dedupe key", j.key === null ? null : html`<span class="mono">${j.key}</span>`)}
</dl>`;
  const actions = jobActions(ctx, j);
  const metaEntries = Object.keys(j.meta).length;
  // A job that failed shows why first; others show their progress and result first.
  const failing = j.errors.length > 0 && (j.state === "discarded" || j.state === "retryable");
  const attemptsCard = html`<section class="card" id="attempts"><div class="card-head"><h2>Attempts</h2><div class="end">${count(j.errors.length)} error${j.errors.length === 1 ? "" : "s"}</div></div>${attempts(ctx, j)}</section>`;
  const result =
    j.state === "completed"
      ? jsonBlock(j.result, "job-result")
      : html`<span class="faint">${j.state === "discarded" ? "none: it failed for good" : j.state === "cancelled" ? "none: it was cancelled" : "none yet"}</span>`;
  const body = html`<div class="crumbs"><a href="${href(ctx, "/")}">Overview</a> / <a href="${href(ctx, `/queues/${encodeURIComponent(j.queue)}`)}">${j.queue}</a> / job</div>
<div id="job"${final ? null : html` data-live`}>
<div class="page-head"><div><h1>${j.name} <span class="faint mono-id">#${j.id}</span></h1><div class="sub">${stateBadge(j.state)} · queue ${j.queue} · attempt ${j.attempt} of ${j.maxAttempts} · ${j.errors.length} failed attempt${j.errors.length === 1 ? "" : "s"}</div></div>${actions.length > 0 ? html`<div class="actions">${actions}</div>` : null}</div>
<section class="card"><div class="card-body">${facts}</div></section>
${failing ? attemptsCard : null}
<div class="grid-2">
<section class="card"><div class="card-head"><h2>Data</h2></div><div class="card-body">${jsonBlock(j.data, "job-data")}</div></section>
<div class="stack">
<section class="card"><div class="card-head"><h2>Progress</h2></div><div class="card-body">${progressView(j.progress)}</div></section>
<section class="card"><div class="card-head"><h2>Result</h2></div><div class="card-body">${result}</div></section>
</div>
</div>
${failing ? null : attemptsCard}
<section class="card"><div class="card-head"><h2>Logs</h2><div class="end">${count(j.logs.length)} line${j.logs.length === 1 ? "" : "s"}</div></div>${logs(j)}</section>
${metaEntries > 0 ? html`<section class="card"><div class="card-head"><h2>Meta</h2></div><div class="card-body">${jsonBlock(j.meta)}</div></section>` : null}
</div>
`;
  return layout(ctx, { title: `Job #${j.id} ${j.name}`, section: "none", body });
}
