/**
 * `conveyor/sqlite`: the embedded, durable SQLite store (better-sqlite3, WAL mode). Open it with
 * {@link openSqliteStore}; see {@link SqliteDurability} for what each durability mode can lose.
 */
export type { Migration, MigrationStatus } from "./migrations.js";
export { LATEST_VERSION, MIGRATIONS } from "./migrations.js";
export { openSqliteStore } from "./open.js";
export {
  type SqliteDurability,
  SqliteStore,
  type SqliteStoreOptions,
} from "./sqlite-store.js";
