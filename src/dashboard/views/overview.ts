/** The overview: totals by state, the last hour's throughput, and every queue with its counts. */
import type { Overview } from "../admin-port.js";
import { count } from "../format.js";
import { html, type SafeHtml } from "../html.js";
import { countLink, STATE_HELP, STATE_ORDER, throughputChart } from "./components.js";
import { href, type ViewContext } from "./context.js";
import { layout } from "./layout.js";

function tiles(ctx: ViewContext, o: Overview): SafeHtml {
  const states = STATE_ORDER.map(
    (s) =>
      html`<div class="tile s-${s}" title="${STATE_HELP[s]}"><span class="label">${s}</span><span class="value" data-total="${s}">${count(o.totals[s])}</span></div>`,
  );
  return html`<div class="tiles" id="tiles" data-live>${states}<a class="tile" href="${href(ctx, "/workers")}"><span class="label">workers</span><span class="value" data-total="workers">${count(o.workers)}</span></a><a class="tile" href="${href(ctx, "/schedules")}"><span class="label">schedules</span><span class="value" data-total="schedules">${count(o.schedules)}</span></a></div>`;
}

function chartCard(o: Overview): SafeHtml {
  const completed = o.throughput.reduce((s, p) => s + p.completed, 0);
  const failed = o.throughput.reduce((s, p) => s + p.failed, 0);
  const minutes = Math.max(o.throughput.length, 1);
  return html`<section class="card" id="throughput" data-live>
<div class="card-head"><h2>Throughput, last ${minutes} minutes</h2><div class="end"><span class="legend"><i class="ok"></i>completed <b data-sum="completed">${count(completed)}</b></span><span class="legend"><i class="fail"></i>failed attempts <b data-sum="failed">${count(failed)}</b></span><span>${(completed / minutes).toFixed(1)}/min</span></div></div>
<div class="card-body">${throughputChart(o.throughput, o.now)}</div>
</section>`;
}

function queueTable(ctx: ViewContext, o: Overview): SafeHtml {
  if (o.queues.length === 0) {
    return html`<section class="card" id="queues" data-live><div class="card-head"><h2>Queues</h2></div><div class="empty">No queues yet: enqueue a job, or start a worker, and its queue shows up here.</div></section>`;
  }
  const rows = o.queues.map(
    (q) => html`<tr data-queue="${q.name}">
<td class="nowrap"><a href="${href(ctx, `/queues/${encodeURIComponent(q.name)}`)}"><b>${q.name}</b></a>${q.paused ? html` <span class="badge paused">paused</span>` : null}</td>
${STATE_ORDER.map((s) => html`<td class="count num" data-count="${s}">${countLink(ctx, q.name, s, q.counts[s])}</td>`)}
<td>${q.rateLimit ? html`<span class="tag">${q.rateLimit.max} / ${q.rateLimit.windowMs} ms</span>` : html`<span class="faint">–</span>`}</td>
<td><div class="tags">${q.jobTypes.slice(0, 4).map((t) => html`<span class="tag">${t}</span>`)}${q.jobTypes.length > 4 ? html`<span class="faint">+${q.jobTypes.length - 4}</span>` : null}</div></td>
</tr>`,
  );
  return html`<section class="card" id="queues" data-live>
<div class="card-head"><h2>Queues</h2><div class="end">${count(o.queues.length)} queue${o.queues.length === 1 ? "" : "s"}</div></div>
<div class="table-wrap"><table>
<thead><tr><th>Queue</th>${STATE_ORDER.map((s) => html`<th class="num" title="${STATE_HELP[s]}">${s}</th>`)}<th>Rate limit</th><th>Job types</th></tr></thead>
<tbody>${rows}</tbody>
</table></div>
</section>`;
}

export function overviewPage(ctx: ViewContext, o: Overview): SafeHtml {
  const body = html`<div class="page-head"><div><h1>Overview</h1><div class="sub" id="overview-sub" data-live>${count(o.queues.length)} queue${o.queues.length === 1 ? "" : "s"} · ${count(o.workers)} worker${o.workers === 1 ? "" : "s"} online · ${count(o.schedules)} schedule${o.schedules === 1 ? "" : "s"}</div></div></div>
${tiles(ctx, o)}
${chartCard(o)}
${queueTable(ctx, o)}`;
  return layout(ctx, { title: "Overview", section: "overview", body });
}
