/**
 * `conveyor/redis`: the Redis store (ioredis). Open it with {@link openRedisStore}, or give
 * `Conveyor.open({ store: "redis://host:6379" })` a `redis://` or `rediss://` URL. See docs/guides/redis.md
 * for the key layout, the scripts, the connections it opens and what each guarantee rests on.
 */
import { OptionsError } from "../errors.js";
import { openRedisConnection, type RedisStoreOptions } from "./connection.js";
import { RedisKeys } from "./keys.js";
import { RedisStore, type RedisStoreTuning } from "./redis-store.js";
import { functionsSupported, type ScriptMode, ScriptRunner } from "./scripts.js";

export type { RedisServerInfo, RedisStoreOptions } from "./connection.js";
export type { RemoteEvent, RemoteEventListener } from "./event-feed.js";
export { RedisStore, type RedisStoreTuning } from "./redis-store.js";
export type { ScriptMode } from "./scripts.js";

/** Options of {@link openRedisStore}: the connection's, plus the store's tuning. */
export interface OpenRedisStoreOptions extends RedisStoreOptions, Partial<RedisStoreTuning> {
  /**
   * How the store's Lua code runs: "functions" (a Redis Functions library, Redis 7+) or "eval" (EVALSHA
   * scripts, Redis 6.2). Default: "functions" when the server is 7 or newer, else "eval".
   */
  scriptMode?: ScriptMode;
}

const DEFAULT_COMMAND_TIMEOUT_MS = 10_000;
const DEFAULT_EVENT_STREAM_MAX_LEN = 10_000;

function positiveInt(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1) {
    throw new OptionsError(`${name} must be a positive integer (got ${String(value)})`);
  }
  return value;
}

/**
 * Opens the Redis store: connects (see `RedisStoreOptions` for the bounded open and its errors), loads the
 * scripts in one round trip and checks the prefix's key layout. The store owns the connections; `close()`
 * ends them.
 */
export async function openRedisStore(options: OpenRedisStoreOptions): Promise<RedisStore> {
  const commandTimeoutMs = options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS;
  const tuning: RedisStoreTuning = {
    insertTokenTtlMs: positiveInt(
      "insertTokenTtlMs",
      options.insertTokenTtlMs,
      Math.max(
        60_000,
        Math.ceil(3 * (Number.isFinite(commandTimeoutMs) ? commandTimeoutMs : DEFAULT_COMMAND_TIMEOUT_MS)),
      ),
    ),
    eventStreamMaxLen: positiveInt(
      "eventStreamMaxLen",
      options.eventStreamMaxLen,
      DEFAULT_EVENT_STREAM_MAX_LEN,
    ),
  };
  const conn = await openRedisConnection(options);
  try {
    const keys = new RedisKeys(conn.prefix);
    const runner = await loadRunner(conn.client, keys, options.scriptMode, conn.info.version);
    const store = new RedisStore(conn, runner, tuning);
    await store.init();
    return store;
  } catch (err) {
    await conn.close();
    throw err;
  }
}

/** Loads the Lua code in the chosen mode; with the server's version unknown, tries functions first. */
async function loadRunner(
  client: ConstructorParameters<typeof ScriptRunner>[0],
  keys: RedisKeys,
  chosen: ScriptMode | undefined,
  version: string,
): Promise<ScriptRunner> {
  if (chosen !== undefined && chosen !== "functions" && chosen !== "eval") {
    throw new OptionsError(`scriptMode must be "functions" or "eval" (got ${JSON.stringify(chosen)})`);
  }
  const supported = functionsSupported(version);
  const mode: ScriptMode = chosen ?? (supported === false ? "eval" : "functions");
  const runner = new ScriptRunner(client, keys, mode);
  try {
    await runner.loadAll();
    return runner;
  } catch (err) {
    // A server whose version INFO would not tell, and that turns out not to know FUNCTION: use EVALSHA.
    if (
      chosen !== undefined ||
      supported !== null ||
      !/unknown command/i.test(String((err as Error).message))
    ) {
      throw err;
    }
    const fallback = new ScriptRunner(client, keys, "eval");
    await fallback.loadAll();
    return fallback;
  }
}
