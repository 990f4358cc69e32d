import { oneLineJson } from "../text.js";
import type { CliStream } from "./io.js";

/** Pretty JSON with a trailing newline, as `--json` prints it. */
export function formatJson(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

/** Writes `value` as JSON. */
export function writeJson(stream: CliStream, value: unknown): void {
  stream.write(formatJson(value));
}

/** Columns of a table: a header and how to align the cells. */
export interface Column {
  header: string;
  align?: "left" | "right";
}

/** A plain-text table: a header row, then one row per line, columns separated by two spaces. */
export function formatTable(columns: readonly Column[], rows: ReadonlyArray<ReadonlyArray<string>>): string {
  const widths = columns.map((c, i) => Math.max(c.header.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: ReadonlyArray<string>): string =>
    columns
      .map((c, i) => {
        const cell = cells[i] ?? "";
        const w = widths[i] ?? 0;
        return c.align === "right" ? cell.padStart(w) : cell.padEnd(w);
      })
      .join("  ")
      .trimEnd();
  return `${[line(columns.map((c) => c.header)), ...rows.map(line)].join("\n")}\n`;
}

/** A duration for people: "850ms", "2.4s", "3m 05s", "2h 10m", "3d 4h". */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return "-";
  const sign = ms < 0 ? "-" : "";
  const a = Math.abs(ms);
  if (a < 1_000) return `${sign}${Math.round(a)}ms`;
  if (a < 60_000) return `${sign}${(a / 1_000).toFixed(a < 10_000 ? 2 : 1)}s`;
  const s = Math.floor(a / 1_000);
  if (a < 3_600_000) return `${sign}${Math.floor(s / 60)}m ${String(s % 60).padStart(2, "0")}s`;
  if (a < 86_400_000)
    return `${sign}${Math.floor(s / 3_600)}h ${String(Math.floor(s / 60) % 60).padStart(2, "0")}m`;
  return `${sign}${Math.floor(s / 86_400)}d ${Math.floor(s / 3_600) % 24}h`;
}

/** A time relative to `now`: "5s ago", "in 2.00s", or "-" for null. */
export function formatRelative(at: number | null, now: number): string {
  if (at === null) return "-";
  const d = at - now;
  if (Math.abs(d) < 500) return "now";
  return d < 0 ? `${formatDuration(-d)} ago` : `in ${formatDuration(d)}`;
}

/** An absolute time (ISO 8601, UTC) with the relative one: "2026-01-02T03:04:05.000Z (5s ago)". */
export function formatTime(at: number | null, now: number): string {
  if (at === null) return "-";
  return `${new Date(at).toISOString()} (${formatRelative(at, now)})`;
}

/** A compact one-line rendering of a JSON value, cut to `max` characters. */
export function formatInline(value: unknown, max = 60): string {
  return oneLineJson(value, max, "undefined");
}

/** Indents every line of `text` by `n` spaces. */
export function indent(text: string, n: number): string {
  const pad = " ".repeat(n);
  return text
    .split("\n")
    .map((l) => (l.length > 0 ? pad + l : l))
    .join("\n");
}

/** Formats a rate like "1,234.5/s". */
export function formatRate(count: number, ms: number): string {
  if (ms <= 0) return "-";
  return `${(count / (ms / 1_000)).toLocaleString("en-US", { maximumFractionDigits: 1 })}/s`;
}
