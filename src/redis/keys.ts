/**
 * Key names of the Redis store. Every key of a store starts with its hash tag `{<prefix>}`, so all of them
 * live in one Redis Cluster slot and every script may touch any of them (see docs/guides/redis.md, "Key
 * layout"). A script gets the tag as KEYS[1], then the store-wide keys it names on its `-- @keys` line (see
 * scripts.ts); keys per job, queue, group, dedupe key or schedule are derived inside the scripts from the tag.
 */

/** The store-wide keys (`{p}:<name>`), by name. */
export const FIXED_KEYS = [
  "id",
  "queues",
  "paused",
  "limits",
  "nrun",
  "running",
  "types",
  "rl",
  "rlf",
  "rle",
  "gseq",
  "events",
  "evon",
  "meta",
  "stats",
  "statm",
  "workers",
  "wexp",
  "schs",
  "schdue",
  "s:scheduled",
  "s:retryable",
  "s:cancelled",
  "s:discarded",
] as const;

/** The version of the key layout written by this code, kept in `{p}:meta` (field `layout`). */
export const LAYOUT_VERSION = 1;

/** The key names of one store (one prefix). */
export class RedisKeys {
  /** `{<prefix>}`: the hash tag every key starts with. */
  readonly tag: string;

  constructor(prefix: string) {
    this.tag = `{${prefix}}`;
  }

  /** A store-wide key by name. */
  key(name: (typeof FIXED_KEYS)[number]): string {
    return `${this.tag}:${name}`;
  }

  /** The pub/sub channel that wakes the workers of `queue`. */
  wakeChannel(queue: string): string {
    return `${this.tag}:wake:${queue}`;
  }

  /** The record of an insert call's token (idempotent inserts). */
  token(token: string): string {
    return `${this.tag}:tok:${token}`;
  }

  /** The pattern that matches every key of the store (SCAN MATCH), with glob characters escaped. */
  pattern(): string {
    return `${this.tag.replace(/[*?[\]\\]/g, "\\$&")}:*`;
  }
}
