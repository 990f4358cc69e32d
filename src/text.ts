/** Text helpers shared by the CLI and the dashboard. */

/**
 * A JSON value on one line, cut to `max` characters with an ellipsis. A value JSON cannot hold shows as
 * `String(value)`, and `undefined` as `absent`.
 */
export function oneLineJson(value: unknown, max: number, absent: string): string {
  let text: string;
  try {
    text = JSON.stringify(value) ?? absent;
  } catch {
    text = String(value);
  }
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
