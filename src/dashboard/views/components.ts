/** Pieces shared by the pages: state badges, times, action forms, count cells, the throughput chart. */
import type { JobState } from "../../job/states.js";
import type { JobRecord } from "../../store/store.js";
import type { MinutePoint } from "../admin-port.js";
import { count, iso, prettyJson, relativeTime } from "../format.js";
import { html, type SafeHtml } from "../html.js";
import { CSRF_FIELD } from "../security.js";
import { href, type ViewContext } from "./context.js";

/** The states in the order the pages show them: waiting, working, then final. */
export const STATE_ORDER: readonly JobState[] = [
  "available",
  "scheduled",
  "running",
  "retryable",
  "completed",
  "discarded",
  "cancelled",
];

/** What each state means, for tooltips. */
export const STATE_HELP: Record<JobState, string> = {
  available: "ready to run",
  scheduled: "waiting for its run time",
  running: "leased by a worker",
  retryable: "failed; will run again",
  completed: "finished successfully",
  discarded: "failed for good (the dead-letter set)",
  cancelled: "cancelled",
};

export function stateBadge(state: JobState): SafeHtml {
  return html`<span class="badge s-${state}" title="${STATE_HELP[state]}">${state}</span>`;
}

/** A `<time>` showing "3 min ago", with the exact time as its datetime (localised by the script). */
export function timeAgo(at: number | null, now: number): SafeHtml {
  if (at === null) return html`<span class="faint">–</span>`;
  return html`<time datetime="${iso(at)}" title="${iso(at)}">${relativeTime(at, now)}</time>`;
}

/** The hidden fields every form carries. */
export function formFields(ctx: ViewContext, back?: string): SafeHtml {
  return html`<input type="hidden" name="${CSRF_FIELD}" value="${ctx.csrf}"><input type="hidden" name="back" value="${back ?? ctx.self}">`;
}

/** Options of {@link actionForm}. */
export interface ActionFormOptions {
  /** Button classes: "danger", "primary", "small". */
  className?: string;
  /** Ask before posting (with the script). */
  confirm?: string;
  /** Extra hidden fields. */
  fields?: Record<string, string>;
  title?: string;
}

/** A one-button POST form (an action). Nothing in read-only mode. */
export function actionForm(
  ctx: ViewContext,
  path: string,
  label: string,
  options: ActionFormOptions = {},
): SafeHtml | null {
  if (ctx.readOnly) return null;
  const extra = Object.entries(options.fields ?? {}).map(
    ([k, v]) => html`<input type="hidden" name="${k}" value="${v}">`,
  );
  return html`<form method="post" action="${href(ctx, path)}"${options.confirm ? html` data-confirm="${options.confirm}"` : null}>${formFields(ctx)}${extra}<button type="submit" class="${options.className ?? ""}"${options.title ? html` title="${options.title}"` : null}>${label}</button></form>`;
}

/** The actions a job's state allows, as one-button forms. */
export function jobActions(ctx: ViewContext, job: JobRecord, size: "small" | "" = ""): SafeHtml[] {
  const base = `/jobs/${job.id}`;
  const cls = (extra = ""): string => [size, extra].filter(Boolean).join(" ");
  const out: Array<SafeHtml | null> = [];
  switch (job.state) {
    case "completed":
    case "cancelled":
    case "discarded":
      out.push(
        actionForm(ctx, `${base}/retry`, "Retry", {
          className: cls(size ? "" : "primary"),
          title: "Run it again now",
        }),
      );
      break;
    case "retryable":
      out.push(
        actionForm(ctx, `${base}/retry`, "Retry now", {
          className: cls(size ? "" : "primary"),
          title: "Run it now instead of at its retry time",
        }),
      );
      break;
    case "scheduled":
      out.push(
        actionForm(ctx, `${base}/promote`, "Run now", {
          className: cls(size ? "" : "primary"),
          title: "Make it available now instead of at its run time",
        }),
      );
      break;
    default:
      break;
  }
  if (job.state === "running" && !job.cancelRequested) {
    out.push(
      actionForm(ctx, `${base}/cancel`, "Cancel", {
        className: cls("danger"),
        confirm: `Ask the worker to abort job #${job.id}?`,
        title: "Abort its signal; the worker finishes it as cancelled",
      }),
    );
  } else if (job.state === "scheduled" || job.state === "available" || job.state === "retryable") {
    out.push(
      actionForm(ctx, `${base}/cancel`, "Cancel", {
        className: cls("danger"),
        confirm: `Cancel job #${job.id}?`,
      }),
    );
  }
  if (job.state !== "running") {
    out.push(
      actionForm(ctx, `${base}/delete`, "Delete", {
        className: cls("danger"),
        confirm: `Delete job #${job.id} for good?`,
        fields: { after: "queue" },
      }),
    );
  }
  return out.filter((x): x is SafeHtml => x !== null);
}

/** A count that links to the queue page filtered by state; zero is faint. */
export function countLink(ctx: ViewContext, queue: string, state: JobState, n: number): SafeHtml {
  if (n === 0) return html`<span class="zero">0</span>`;
  const hot = state === "discarded" || state === "retryable" || state === "running";
  return html`<a class="s-${state}${hot ? " hot" : ""}" href="${href(ctx, `/queues/${encodeURIComponent(queue)}`, { state })}" title="${count(n)} ${state} in ${queue}">${count(n)}</a>`;
}

/** JSON shown as text in a `<pre>`, cut when huge. */
export function jsonBlock(value: unknown, id?: string): SafeHtml {
  const { text, truncatedFrom } = prettyJson(value);
  return html`<pre${id ? html` id="${id}"` : null}>${text}</pre>${
    truncatedFrom !== null
      ? html`<p class="truncated">Cut at ${count(text.length)} of ${count(truncatedFrom)} characters; <code>GET api/jobs/&lt;id&gt;</code> returns it whole.</p>`
      : null
  }`;
}

/** The smallest of 1, 2, 5 × 10^k that is at least `n` (and at least 4). */
export function niceCeil(n: number): number {
  if (n <= 4) return 4;
  const p = 10 ** Math.floor(Math.log10(n));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= n) return m * p;
  return 10 * p;
}

/**
 * The throughput chart: one stacked bar per minute (completed below, failed attempts above), oldest left.
 * Inline SVG with a `<title>` per minute (the tooltip); no script needed.
 */
export function throughputChart(points: readonly MinutePoint[], now: number): SafeHtml {
  // About the width it is drawn at on a laptop screen, so its text stays near 11 px.
  const W = 1220;
  const H = 200;
  const left = 40;
  const right = 6;
  const top = 10;
  const bottom = 22;
  const plotW = W - left - right;
  const plotH = H - top - bottom;
  const n = Math.max(points.length, 1);
  const slot = plotW / n;
  const barW = Math.max(2, Math.min(16, slot * 0.7));
  const max = niceCeil(Math.max(0, ...points.map((p) => p.completed + p.failed)));
  const y = (v: number): number => top + plotH - (v / max) * plotH;
  const fmt = (v: number): string => (Number.isInteger(v) ? count(v) : v.toFixed(1));
  const grid = [0, max / 2, max].map(
    (v) =>
      html`<line class="grid" x1="${left}" x2="${W - right}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}"/><text class="axis" x="${left - 6}" y="${(y(v) + 3.5).toFixed(1)}" text-anchor="end">${fmt(v)}</text>`,
  );
  const bars = points.map((p, i) => {
    const x = left + i * slot + (slot - barW) / 2;
    const okH = (p.completed / max) * plotH;
    const failH = (p.failed / max) * plotH;
    const ago = relativeTime(p.minute, now);
    const label = `${ago === "just now" ? "this minute" : `${ago}`}: ${count(p.completed)} completed, ${count(p.failed)} failed attempts (${count(p.retried)} retried, ${count(p.discarded)} discarded)${p.cancelled > 0 ? `, ${count(p.cancelled)} cancelled` : ""}${p.rescued > 0 ? `, ${count(p.rescued)} rescued` : ""}`;
    return html`<g class="bar"><title>${label}</title><rect class="slot" x="${(left + i * slot).toFixed(1)}" y="${top}" width="${slot.toFixed(1)}" height="${plotH}"/>${
      okH > 0
        ? html`<rect class="ok" x="${x.toFixed(1)}" y="${(top + plotH - okH).toFixed(1)}" width="${barW.toFixed(1)}" height="${okH.toFixed(1)}" rx="1.5"/>`
        : null
    }${
      failH > 0
        ? html`<rect class="fail" x="${x.toFixed(1)}" y="${(top + plotH - okH - failH).toFixed(1)}" width="${barW.toFixed(1)}" height="${failH.toFixed(1)}" rx="1.5"/>`
        : null
    }</g>`;
  });
  const xLabel = (i: number, text: string, anchor: string): SafeHtml =>
    html`<text class="axis" x="${(left + i * slot + slot / 2).toFixed(1)}" y="${H - 6}" text-anchor="${anchor}">${text}</text>`;
  const total = points.reduce((s, p) => s + p.completed, 0);
  const failed = points.reduce((s, p) => s + p.failed, 0);
  return html`<svg class="chart" viewBox="0 0 ${W} ${H}" role="img" aria-label="Jobs per minute over the last ${n} minutes: ${count(total)} completed, ${count(failed)} failed attempts">${grid}${bars}${
    points.length > 1
      ? [
          xLabel(0, `${points.length} min ago`, "start"),
          xLabel(
            Math.floor(points.length / 2),
            `${points.length - Math.floor(points.length / 2)} min ago`,
            "middle",
          ),
          xLabel(points.length - 1, "now", "end"),
        ]
      : null
  }</svg>`;
}
