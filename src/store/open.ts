import { OptionsError, UnknownStoreError } from "../errors.js";
import { MemoryStore } from "./memory/memory-store.js";
import type { Store } from "./store.js";

/** Options for stores opened from a URL. */
export interface OpenStoreOptions {
  /** SQLite: "full" (default, fsync at every commit) or "normal" (faster; may lose the last commits on power loss). */
  durability?: "full" | "normal";
  /**
   * Redis: the key prefix (default "conveyor"; see docs/guides/redis.md). A `?prefix=` in the URL gives it
   * too; this option wins over it.
   */
  prefix?: string;
}

/**
 * Opens a store from a URL: "memory", "sqlite:<path>" / "sqlite://<path>" / "<path>.db", or
 * "redis://[user:password@]host[:port][/db][?prefix=name]" / "rediss://..." (TLS).
 * Heavy drivers are imported only when their scheme is used.
 */
export async function openStore(url: string, options: OpenStoreOptions = {}): Promise<Store> {
  if (url === "memory" || url === "memory:") return new MemoryStore();
  const sqlitePath = sqlitePathOf(url);
  if (sqlitePath !== null) {
    const { openSqliteStore } = await import("../sqlite/index.js");
    return openSqliteStore({ path: sqlitePath, durability: options.durability ?? "full" });
  }
  if (url.startsWith("redis://") || url.startsWith("rediss://")) {
    const { openRedisStore } = await import("../redis/index.js");
    const { url: plain, prefix } = redisPrefixOf(url);
    const chosen = options.prefix ?? prefix;
    return openRedisStore({ url: plain, ...(chosen !== undefined ? { prefix: chosen } : {}) });
  }
  throw new UnknownStoreError(url);
}

/** Splits a `?prefix=` query parameter off a Redis URL (the only parameter it takes). */
function redisPrefixOf(url: string): { url: string; prefix?: string } {
  const q = url.indexOf("?");
  if (q < 0) return { url };
  const params = new URLSearchParams(url.slice(q + 1));
  for (const name of params.keys()) {
    if (name !== "prefix") {
      throw new OptionsError(
        `store url: unknown parameter "${name}"; a Redis URL takes only ?prefix=<name> (the key prefix)`,
      );
    }
  }
  const prefix = params.get("prefix");
  return prefix === null ? { url: url.slice(0, q) } : { url: url.slice(0, q), prefix };
}

function sqlitePathOf(url: string): string | null {
  if (url.startsWith("sqlite://")) return url.slice("sqlite://".length);
  if (url.startsWith("sqlite:")) return url.slice("sqlite:".length);
  if (/\.(db|sqlite|sqlite3)$/.test(url) && !url.includes("://")) return url;
  return null;
}
