import { OptionsError } from "../errors.js";

/**
 * Serialises a value for a JSON column: `null` (SQL NULL) for `null` and `undefined`, else JSON text.
 * Throws OptionsError naming `what` (e.g. `data of job "send-email"`) when the value cannot be stored as
 * JSON (BigInt, a cycle, a function or symbol), so nothing partial is ever written.
 */
export function toJsonColumn(value: unknown, what: string): string | null {
  if (value === undefined || value === null) return null;
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (cause) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    throw new OptionsError(`${what} cannot be stored as JSON: ${reason}`, { cause });
  }
  if (text === undefined) {
    throw new OptionsError(`${what} cannot be stored as JSON: a ${typeof value} is not JSON`);
  }
  return text;
}

/** Like {@link toJsonColumn} for columns that are never NULL: `meta` (an object) and error entries. */
export function toJsonText(value: unknown, what: string, empty: string): string {
  return toJsonColumn(value, what) ?? empty;
}

/** Parses a nullable JSON column. */
export function fromJsonColumn(text: string | null): unknown {
  return text === null ? null : JSON.parse(text);
}
