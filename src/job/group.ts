/** Enqueue-time groups: the `group` option parsed into the store's {@link GroupSpec}. */
import { OptionsError } from "../errors.js";
import type { GroupSpec } from "../store/store.js";
import { type GroupPolicy, validateGroupPolicy } from "./define.js";

/** Longest group key accepted, in characters. */
export const MAX_GROUP_KEY_LENGTH = 255;

// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this rejects
const CONTROL_RE = /[\u0000-\u001f\u007f]/;

/**
 * The enqueue option `group`: a key (`"player:42"`), or a key with a policy that overrides the job type's
 * `group` for this job (`{ key: "player:42", concurrency: 2 }`).
 */
export type GroupOption = string | ({ key: string } & GroupPolicy);

/**
 * Validates the enqueue option `group` (`prefix` names where it came from, e.g. "enqueue options."); returns
 * the store's spec with the job type's policy (`typePolicy`) filled in, or null without a group. Throws
 * OptionsError.
 */
export function parseGroup(
  value: unknown,
  typePolicy: GroupPolicy | undefined,
  prefix: string,
): GroupSpec | null {
  if (value === undefined || value === null) return null;
  const field = `${prefix}group`;
  const own = typeof value === "object" ? (value as { key?: unknown } & GroupPolicy) : undefined;
  const key = own === undefined ? value : own.key;
  if (
    typeof key !== "string" ||
    key.length === 0 ||
    key.length > MAX_GROUP_KEY_LENGTH ||
    CONTROL_RE.test(key)
  ) {
    throw new OptionsError(
      `${own === undefined ? field : `${field}.key`} must be a string of 1-${MAX_GROUP_KEY_LENGTH} characters ` +
        `without control characters, got ${JSON.stringify(key)?.slice(0, 80) ?? String(key)}`,
    );
  }
  if (own !== undefined)
    validateGroupPolicy({ concurrency: own.concurrency, onFailure: own.onFailure }, field);
  return {
    key,
    concurrency: own?.concurrency ?? typePolicy?.concurrency ?? 1,
    onFailure: own?.onFailure ?? typePolicy?.onFailure ?? "hold",
  };
}
