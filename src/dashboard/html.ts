/**
 * The dashboard's only way to build HTML: the `html` tagged template escapes every interpolated value unless it
 * is already {@link SafeHtml} (the result of another `html` template, or an explicit {@link unsafeRaw} of a
 * constant). Job data, errors, stacks, logs, queue names and ids are therefore text wherever they are shown.
 */

const ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
  "`": "&#96;",
};

/** Escapes text for an HTML text node or a quoted attribute value. */
export function escapeHtml(value: string): string {
  return value.replace(/[&<>"'`]/g, (c) => ESCAPES[c] ?? c);
}

/** A fragment of markup that is already safe to insert as-is. Build it with {@link html}. */
export class SafeHtml {
  readonly #value: string;
  /** @internal Use {@link html} or {@link unsafeRaw}. */
  constructor(value: string) {
    this.#value = value;
  }
  toString(): string {
    return this.#value;
  }
}

/** Anything `html` accepts: text (escaped), numbers, safe fragments, lists of them; null, undefined and false render nothing. */
export type HtmlValue = SafeHtml | string | number | boolean | null | undefined | readonly HtmlValue[];

function render(value: HtmlValue): string {
  if (value === null || value === undefined || value === false) return "";
  if (value instanceof SafeHtml) return value.toString();
  if (Array.isArray(value)) return value.map(render).join("");
  return escapeHtml(String(value));
}

/** Builds markup from a template: every `${value}` is escaped unless it is a {@link SafeHtml}. */
export function html(strings: TemplateStringsArray, ...values: readonly HtmlValue[]): SafeHtml {
  let out = strings[0] ?? "";
  for (let i = 0; i < values.length; i++) out += render(values[i] as HtmlValue) + (strings[i + 1] ?? "");
  return new SafeHtml(out);
}

/**
 * Marks a string as markup without escaping it. Only for constants written in this package (never for
 * anything that comes from a request, a job or the store).
 */
export function unsafeRaw(markup: string): SafeHtml {
  return new SafeHtml(markup);
}

/** The final markup of a fragment or a value, escaped as `html` would. */
export function toHtmlString(value: HtmlValue): string {
  return render(value);
}
