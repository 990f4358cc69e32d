/** Opening a SQLite store: option checks, pragmas, migrations. */
import { mkdirSync } from "node:fs";
import { dirname, resolve } from "node:path";
import Database from "better-sqlite3";
import { OptionsError, StoreUnavailableError } from "../errors.js";
import { LATEST_VERSION, MIGRATIONS } from "./migrations.js";
import { mapError } from "./rows.js";
import { type SqliteDurability, SqliteStore, type SqliteStoreOptions } from "./sqlite-store.js";
export const DURABILITIES: readonly string[] = ["full", "normal"];
/** How long SQLite itself may sleep for a lock, blocking the thread, before the JavaScript retry takes over. */
export const IN_SQLITE_BUSY_MS = 2;

/**
 * Opens (creating if needed) a SQLite database as a {@link SqliteStore}: validates options (OptionsError
 * naming the field), creates missing parent directories, sets the pragmas (WAL, `synchronous` FULL or NORMAL
 * per `durability`, `busy_timeout`, `foreign_keys`), then applies pending migrations in one IMMEDIATE
 * transaction. Rejects with StoreUnavailableError (not retryable) when the file is not a database or was
 * migrated by a newer Conveyor than this one.
 */
export async function openSqliteStore(options: SqliteStoreOptions): Promise<SqliteStore> {
  if (typeof options !== "object" || options === null) {
    throw new OptionsError("openSqliteStore: options must be an object with a path");
  }
  const { path, durability = "full", busyTimeoutMs = 5000 } = options;
  if (typeof path !== "string" || path.trim() === "") {
    throw new OptionsError(
      `openSqliteStore: path must be a non-empty file path, got ${JSON.stringify(path)}`,
    );
  }
  if (path === ":memory:" || path.startsWith("file:")) {
    throw new OptionsError(
      `openSqliteStore: path must be a plain file path, got "${path}"; use the "memory" store for a store in memory`,
    );
  }
  if (!DURABILITIES.includes(durability)) {
    throw new OptionsError(
      `openSqliteStore: durability must be "full" or "normal", got ${JSON.stringify(durability)}`,
    );
  }
  if (typeof busyTimeoutMs !== "number" || !Number.isInteger(busyTimeoutMs) || busyTimeoutMs < 0) {
    throw new OptionsError(
      `openSqliteStore: busyTimeoutMs must be an integer >= 0, got ${JSON.stringify(busyTimeoutMs)}`,
    );
  }
  const file = resolve(path);
  let db: Database.Database | null = null;
  try {
    mkdirSync(dirname(file), { recursive: true });
    // Opening and migrating wait on SQLite's own busy handler; later writes wait at most ~2 ms inside SQLite
    // and retry from JavaScript (see SqliteStore #write).
    db = new Database(file, { timeout: busyTimeoutMs });
    db.pragma(`busy_timeout = ${busyTimeoutMs}`);
    const mode = db.pragma("journal_mode = WAL", { simple: true });
    if (String(mode).toLowerCase() !== "wal") {
      throw new StoreUnavailableError(
        `sqlite database ${file} could not switch to WAL mode (got ${mode})`,
        false,
      );
    }
    db.pragma(`synchronous = ${durability === "full" ? "FULL" : "NORMAL"}`);
    db.pragma("foreign_keys = ON");
    db.pragma("temp_store = MEMORY");
    db.pragma("cache_size = -65536");
    migrate(db, file);
    db.pragma(`busy_timeout = ${Math.min(busyTimeoutMs, IN_SQLITE_BUSY_MS)}`);
    return new SqliteStore(db, file, durability as SqliteDurability, busyTimeoutMs);
  } catch (error) {
    db?.close();
    throw mapError(error, file);
  }
}

/** Applies pending migrations in one IMMEDIATE transaction; refuses a database newer than this code. */
export function migrate(db: Database.Database, file: string): void {
  const apply = db.transaction(() => {
    db.exec(
      "CREATE TABLE IF NOT EXISTS conveyor_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, " +
        "applied_at INTEGER NOT NULL)",
    );
    const current = db
      .prepare("SELECT COALESCE(MAX(version), 0) FROM conveyor_migrations")
      .pluck()
      .get() as number;
    if (current > LATEST_VERSION) {
      throw new StoreUnavailableError(
        `sqlite database ${file} has schema version ${current}, newer than this version of Conveyor knows ` +
          `(${LATEST_VERSION}): upgrade Conveyor, or open a different file`,
        false,
      );
    }
    const record = db.prepare("INSERT INTO conveyor_migrations (version, name, applied_at) VALUES (?, ?, ?)");
    for (const migration of MIGRATIONS) {
      if (migration.version <= current) continue;
      db.exec(migration.sql);
      record.run(migration.version, migration.name, Date.now());
    }
  });
  apply.immediate();
}
