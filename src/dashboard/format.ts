/** Text formatting for the dashboard's pages: relative times, counts, JSON shown as text. */
import { oneLineJson } from "../text.js";

/** "12 s ago", "in 3 min", "just now". */
export function relativeTime(at: number, now: number): string {
  const diff = at - now;
  const abs = Math.abs(diff);
  if (abs < 1_000) return "just now";
  const span = shortDuration(abs);
  return diff < 0 ? `${span} ago` : `in ${span}`;
}

/** A short duration, rounded down: "850 ms", "12 s", "3 min", "1 h 35 min", "14 h", "2 d 5 h", "40 d". */
export function shortDuration(ms: number): string {
  const abs = Math.abs(ms);
  if (abs < 1_000) return `${Math.round(abs)} ms`;
  if (abs < 60_000) return `${Math.floor(abs / 1_000)} s`;
  if (abs < 3_600_000) return `${Math.floor(abs / 60_000)} min`;
  if (abs < 86_400_000) {
    const h = Math.floor(abs / 3_600_000);
    const min = Math.floor((abs % 3_600_000) / 60_000);
    return h < 10 && min > 0 ? `${h} h ${min} min` : `${h} h`;
  }
  const d = Math.floor(abs / 86_400_000);
  const h = Math.floor((abs % 86_400_000) / 3_600_000);
  return d < 10 && h > 0 ? `${d} d ${h} h` : `${d} d`;
}

/** An interval in words: "every 5 min", "every 90 s", "every 1 h 30 min". */
export function everyText(ms: number): string {
  const parts: string[] = [];
  let rest = ms;
  const units: Array<[number, string]> = [
    [86_400_000, "d"],
    [3_600_000, "h"],
    [60_000, "min"],
    [1_000, "s"],
    [1, "ms"],
  ];
  for (const [size, unit] of units) {
    if (rest >= size) {
      parts.push(`${Math.floor(rest / size)} ${unit}`);
      rest %= size;
    }
  }
  return `every ${parts.join(" ") || "0 ms"}`;
}

const NUMBER = new Intl.NumberFormat("en-US");

/** 12,345 */
export function count(n: number): string {
  return NUMBER.format(n);
}

/** ISO 8601 in UTC, for `datetime` and `title` attributes. */
export function iso(at: number): string {
  return new Date(at).toISOString();
}

/** The most characters of JSON a page shows for one value before cutting it (the JSON API has it whole). */
export const MAX_JSON_CHARS = 64 * 1024;

/** A JSON value pretty-printed for a `<pre>`, cut at {@link MAX_JSON_CHARS}. */
export function prettyJson(value: unknown): { text: string; truncatedFrom: number | null } {
  let text: string;
  try {
    text = JSON.stringify(value, null, 2) ?? "null";
  } catch {
    text = String(value);
  }
  if (text.length <= MAX_JSON_CHARS) return { text, truncatedFrom: null };
  return { text: text.slice(0, MAX_JSON_CHARS), truncatedFrom: text.length };
}

/** A JSON value on one line, cut to `max` characters with an ellipsis. */
export function compactJson(value: unknown, max = 80): string {
  return oneLineJson(value, max, "null");
}

/** Cuts a one-line text to `max` characters. */
export function clip(text: string, max: number): string {
  const line = text.split("\n", 1)[0] ?? "";
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}
