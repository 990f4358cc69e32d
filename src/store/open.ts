import { UnknownStoreError } from "../errors.js";
import { MemoryStore } from "./memory/memory-store.js";
import type { Store } from "./store.js";

/** Options for stores opened from a URL. */
export interface OpenStoreOptions {
  /** SQLite: "full" (default, fsync at every commit) or "normal" (faster; may lose the last commits on power loss). */
  durability?: "full" | "normal";
}

/**
 * Opens a store from a URL: "memory", "sqlite:<path>" / "sqlite://<path>" / "<path>.db".
 * Heavy drivers are imported only when their scheme is used.
 */
export async function openStore(url: string, options: OpenStoreOptions = {}): Promise<Store> {
  if (url === "memory" || url === "memory:") return new MemoryStore();
  const sqlitePath = sqlitePathOf(url);
  if (sqlitePath !== null) {
    const { openSqliteStore } = await import("../sqlite/index.js");
    return openSqliteStore({ path: sqlitePath, durability: options.durability ?? "full" });
  }
  throw new UnknownStoreError(url);
}

function sqlitePathOf(url: string): string | null {
  if (url.startsWith("sqlite://")) return url.slice("sqlite://".length);
  if (url.startsWith("sqlite:")) return url.slice("sqlite:".length);
  if (/\.(db|sqlite|sqlite3)$/.test(url) && !url.includes("://")) return url;
  return null;
}
