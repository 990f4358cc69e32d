/**
 * Opening and keeping the Redis connections of the Redis store: URL parsing (AUTH, ACL users, TLS, db),
 * a bounded open (unreachable, refused credentials, too old a server: a clear error within
 * `connectTimeoutMs`), a check of the server (version, eviction policy, persistence), reconnection forever
 * after open, and a deadline on every command so an outage never turns into a silent hang.
 *
 * The deadline is ours, not ioredis' `commandTimeout`: a command that ran out of time while it waited in the
 * offline queue is never sent afterwards (ioredis would send it on reconnect although its caller was told it
 * failed), so "failed while Redis was down" means "not stored". A command that had been written before the
 * connection dropped is re-sent once the connection is back (the store makes its writes idempotent); if its
 * deadline passes first, the error says that its outcome is unknown.
 */
import { Command, Redis, type RedisOptions } from "ioredis";
import {
  ClosedError,
  ConveyorError,
  OptionsError,
  StoreAuthError,
  StoreUnavailableError,
  StoreVersionError,
} from "../errors.js";

/** Options of {@link openRedisConnection} (and of the Redis store). */
export interface RedisStoreOptions {
  /** `redis://[user:password@]host[:port][/db]`, or `rediss://` for TLS. */
  url: string;
  /** Key namespace, so several apps share one Redis: 1-64 characters of `[A-Za-z0-9_.:-]`. Default "conveyor". */
  prefix?: string;
  /** Opening fails after this long when Redis is unreachable (ms). Default 5000. */
  connectTimeoutMs?: number;
  /**
   * How long a command may wait, e.g. while Redis is down or restarting, before it fails with
   * `StoreUnavailableError` (ms). Default 10000.
   */
  commandTimeoutMs?: number;
  /** Extra ioredis options (e.g. `tls: { ca }`). The URL's host, port, credentials and db take precedence. */
  redis?: RedisOptions;
  /** Receives operational warnings (eviction policy, lost connection). Default `process.emitWarning`. */
  onWarning?: (message: string) => void;
}

/** What the server told us when the connection opened. */
export interface RedisServerInfo {
  /** `redis_version` from INFO ("unknown" when the user may not run INFO or HELLO). */
  version: string;
  /** `maxmemory_policy` ("unknown" when INFO is not permitted). */
  maxmemoryPolicy: string;
  /** `maxmemory` in bytes (0: no limit). */
  maxmemory: number;
  /** The append-only file is on. */
  aof: boolean;
  /** `appendfsync` ("always", "everysec", "no"), or null when CONFIG is not permitted. */
  appendfsync: string | null;
  /**
   * RDB snapshots are configured (`CONFIG GET save` is not empty); when CONFIG is not permitted, whether the
   * server has taken a snapshot since it started.
   */
  rdb: boolean;
}

/** The open connections of one Redis store. */
export interface RedisConnection {
  /** The command connection, ready. Every non-blocking command is bounded by `commandTimeoutMs`. */
  readonly client: Redis;
  readonly info: RedisServerInfo;
  /** The validated key prefix. */
  readonly prefix: string;
  /** The URL without its password, for messages. */
  readonly safeUrl: string;
  /** One extra connection for SUBSCRIBE and blocking reads: created on first call, then shared. */
  subscriber(): Redis;
  /** Closes both connections (commands already sent get their replies first). */
  close(): Promise<void>;
}

/** The oldest Redis the store's scripts run on (ioredis 6 itself needs 6.2). */
export const MIN_REDIS_VERSION = "6.2.0";
const DEFAULT_PREFIX = "conveyor";
const DEFAULT_CONNECT_TIMEOUT_MS = 5_000;
const DEFAULT_COMMAND_TIMEOUT_MS = 10_000;
/**
 * Reconnect delays grow 50, 100, 200 ... ms up to this cap (and to a quarter of `commandTimeoutMs`, so a
 * call made as Redis comes back does not time out waiting for the next attempt), plus jitter, for as long as
 * it takes.
 */
const RECONNECT_CAP_MS = 1_000;
const PREFIX_PATTERN = /^[A-Za-z0-9_.:-]{1,64}$/;

/** The connection fields a URL gives. */
export interface ParsedRedisUrl {
  host: string;
  port: number;
  username?: string;
  password?: string;
  db: number;
  tls: boolean;
}

/** Parses `redis://` / `rediss://` URLs. Throws OptionsError naming `url` on anything else. */
export function parseRedisUrl(url: string): ParsedRedisUrl {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new OptionsError(
      `store url "${redactRedisUrl(url)}" is not a valid URL; write redis://[user:password@]host[:port][/db] or rediss://... for TLS`,
    );
  }
  if (parsed.protocol !== "redis:" && parsed.protocol !== "rediss:") {
    throw new OptionsError(
      `store url "${redactRedisUrl(url)}" must start with redis:// or rediss:// (TLS), not ${parsed.protocol}//`,
    );
  }
  if (parsed.search !== "" || parsed.hash !== "") {
    throw new OptionsError(
      `store url "${redactRedisUrl(url)}": openRedisStore reads no query parameters; pass the key prefix as ` +
        "the prefix option (Conveyor.open and the CLI also accept redis://host?prefix=name)",
    );
  }
  const host = parsed.hostname.replace(/^\[(.*)\]$/, "$1");
  if (host === "") throw new OptionsError(`store url "${redactRedisUrl(url)}" has no host`);
  const port = parsed.port === "" ? 6379 : Number(parsed.port);
  const path = parsed.pathname.replace(/^\//, "");
  if (path !== "" && !/^\d{1,5}$/.test(path)) {
    throw new OptionsError(
      `store url "${redactRedisUrl(url)}": the path must be a database number such as /0, not "/${path}"`,
    );
  }
  const username = parsed.username === "" ? undefined : decodeURIComponent(parsed.username);
  const password = parsed.password === "" ? undefined : decodeURIComponent(parsed.password);
  if (username !== undefined && password === undefined) {
    throw new OptionsError(
      `store url "${redactRedisUrl(url)}" has a user name but no password; ` +
        "write redis://user:password@host for an ACL user, or redis://:password@host for requirepass",
    );
  }
  return {
    host,
    port,
    ...(username !== undefined ? { username } : {}),
    ...(password !== undefined ? { password } : {}),
    db: path === "" ? 0 : Number(path),
    tls: parsed.protocol === "rediss:",
  };
}

/** The URL with its password replaced by `***` (never log a password). */
export function redactRedisUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)([^@/?#]*)@/i, (_all, scheme: string, userinfo: string) => {
    const colon = userinfo.indexOf(":");
    return colon < 0 ? `${scheme}***@` : `${scheme}${userinfo.slice(0, colon)}:***@`;
  });
}

/** Checks `prefix` (see {@link RedisStoreOptions.prefix}) and returns it. */
export function validatePrefix(prefix: unknown): string {
  if (prefix === undefined) return DEFAULT_PREFIX;
  if (typeof prefix !== "string" || !PREFIX_PATTERN.test(prefix)) {
    throw new OptionsError(
      `prefix must be 1-64 characters of letters, digits, "_", ".", ":" or "-" (got ${JSON.stringify(prefix)}); ` +
        'it namespaces every key, e.g. prefix: "billing"',
    );
  }
  return prefix;
}

function positiveMs(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) {
    throw new OptionsError(`${name} must be a positive number of milliseconds (got ${String(value)})`);
  }
  return value;
}

/**
 * Opens the command connection, checks the server and returns it. Rejects with `StoreUnavailableError`
 * (unreachable within `connectTimeoutMs`, or TLS refused), `StoreAuthError` (credentials refused),
 * `StoreVersionError` (older than {@link MIN_REDIS_VERSION}) or `OptionsError` (bad URL, prefix, db).
 */
export async function openRedisConnection(options: RedisStoreOptions): Promise<RedisConnection> {
  if (typeof options !== "object" || options === null || typeof options.url !== "string") {
    throw new OptionsError('store url must be a string such as "redis://localhost:6379"');
  }
  const target = parseRedisUrl(options.url);
  const prefix = validatePrefix(options.prefix);
  const connectTimeoutMs = positiveMs(
    "connectTimeoutMs",
    options.connectTimeoutMs,
    DEFAULT_CONNECT_TIMEOUT_MS,
  );
  const commandTimeoutMs = positiveMs(
    "commandTimeoutMs",
    options.commandTimeoutMs,
    DEFAULT_COMMAND_TIMEOUT_MS,
  );
  const warn = options.onWarning ?? defaultWarning;
  const safeUrl = redactRedisUrl(options.url);
  const extra = options.redis ?? {};
  const tls =
    target.tls || extra.tls !== undefined
      ? { ...(isIp(target.host) ? {} : { servername: target.host }), ...(extra.tls ?? {}) }
      : undefined;
  const base: RedisOptions = {
    connectionName: `conveyor:${prefix}`,
    keepAlive: 10_000,
    retryStrategy: reconnectDelay(Math.max(100, Math.min(RECONNECT_CAP_MS, commandTimeoutMs / 4))),
    reconnectOnError: (err) => (/^READONLY/.test(err.message) ? 2 : false),
    ...extra,
    host: target.host,
    port: target.port,
    db: target.db,
    ...(target.username !== undefined ? { username: target.username } : {}),
    ...(target.password !== undefined ? { password: target.password } : {}),
    ...(tls !== undefined ? { tls } : {}),
    connectTimeout: connectTimeoutMs,
    lazyConnect: true,
    enableOfflineQueue: true,
    enableReadyCheck: true,
    maxRetriesPerRequest: null,
    autoResendUnfulfilledCommands: true,
    commandTimeout: undefined,
    blockingTimeout: commandTimeoutMs,
  };
  const client = new Redis(base);
  client.on("error", () => {
    // Reported through connectWithin while opening and through Health afterwards; never unhandled.
  });
  const health = new Health(safeUrl, warn);
  bound(client, commandTimeoutMs, health);
  try {
    await connectWithin(client, connectTimeoutMs, safeUrl, target);
    const info = await readServerInfo(client, safeUrl, warn);
    checkVersion(info.version, safeUrl);
    await checkKeyAccess(client, prefix, safeUrl);
    if (info.maxmemoryPolicy !== "noeviction" && info.maxmemoryPolicy !== "unknown") {
      warn(evictionWarning(safeUrl, info));
    }
    health.watch(client);
    return new Connection(client, info, prefix, safeUrl, base, commandTimeoutMs, health);
  } catch (err) {
    client.disconnect();
    throw err;
  }
}

function defaultWarning(message: string): void {
  process.emitWarning(message, { type: "ConveyorWarning" });
}

function reconnectDelay(capMs: number): (times: number) => number {
  return (times) => Math.min(50 * 2 ** Math.min(times - 1, 10), capMs) + Math.floor(Math.random() * 50);
}

function isIp(host: string): boolean {
  return /^[\d.]+$/.test(host) || host.includes(":");
}

class Connection implements RedisConnection {
  private sub: Redis | null = null;
  private closed = false;
  constructor(
    readonly client: Redis,
    readonly info: RedisServerInfo,
    readonly prefix: string,
    readonly safeUrl: string,
    private readonly base: RedisOptions,
    private readonly commandTimeoutMs: number,
    private readonly health: Health,
  ) {}

  subscriber(): Redis {
    if (this.closed) throw new ClosedError("the Redis connection");
    if (this.sub === null) {
      const sub = new Redis({
        ...this.base,
        connectionName: `${this.base.connectionName ?? "conveyor"}:sub`,
      });
      sub.on("error", () => {
        // Reported through Health.
      });
      bound(sub, this.commandTimeoutMs, this.health);
      this.health.watch(sub);
      sub.connect().catch(() => {
        // Reconnection is automatic; commands wait (bounded) until it is back.
      });
      this.sub = sub;
    }
    return this.sub;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([quit(this.client), this.sub === null ? undefined : quit(this.sub)]);
  }
}

/** QUIT (pending replies arrive first), but never wait longer than a second: then just drop the socket. */
async function quit(client: Redis): Promise<void> {
  if (client.status === "end") return;
  if (client.status !== "ready") {
    client.disconnect();
    if (client.status === "reconnecting") {
      // Between two attempts ioredis has no socket to close, so disconnect() alone leaves the client
      // "reconnecting" and its queued commands pending: end it the way its own close handler would.
      const internals = client as unknown as {
        flushQueue?(err: Error): void;
        setStatus?(status: string): void;
      };
      internals.flushQueue?.(new ClosedError("the Redis connection"));
      internals.setStatus?.("end");
    }
    return;
  }
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    client.quit().catch(() => undefined),
    new Promise((r) => {
      timer = setTimeout(r, 1_000);
    }),
  ]);
  clearTimeout(timer);
  client.disconnect();
}

// ---------------------------------------------------------------------------------------------------------
// Opening

function connectWithin(client: Redis, ms: number, safeUrl: string, target: ParsedRedisUrl): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let lastError: Error | null = null;
    const finish = (err: Error | null) => {
      clearTimeout(timer);
      client.off("ready", onReady);
      client.off("error", onError);
      if (err === null) resolve();
      else reject(err);
    };
    const onReady = () => finish(null);
    const onError = (err: Error) => {
      lastError = err;
      const fatal = classifyOpenError(err, safeUrl, target);
      if (fatal !== null) finish(fatal);
    };
    const timer = setTimeout(() => {
      const cause = lastError === null ? "" : ` (last error: ${lastError.message})`;
      finish(
        new StoreUnavailableError(
          `could not reach Redis at ${safeUrl} within ${ms} ms${cause}; check the host and port, that ` +
            `redis-server is running and reachable${target.tls ? "" : ", and use rediss:// if it only accepts TLS"}` +
            ", or raise connectTimeoutMs",
          true,
          { cause: lastError ?? undefined },
        ),
      );
    }, ms);
    client.on("ready", onReady);
    client.on("error", onError);
    client.connect().catch(() => {
      // Failures arrive as "error" events and the retry strategy tries again until the deadline.
    });
  });
}

const TLS_CODES = new Set([
  "SELF_SIGNED_CERT_IN_CHAIN",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "UNABLE_TO_GET_ISSUER_CERT",
  "CERT_HAS_EXPIRED",
  "CERT_NOT_YET_VALID",
  "ERR_TLS_CERT_ALTNAME_INVALID",
  "CERT_SIGNATURE_FAILURE",
]);

/** Errors during open that retrying cannot fix: fail at once instead of at the deadline. */
function classifyOpenError(err: Error, safeUrl: string, target: ParsedRedisUrl): Error | null {
  const message = err.message ?? "";
  if (/^(WRONGPASS|NOAUTH)/.test(message) || /invalid (username-)?password/i.test(message)) {
    const how =
      target.password === undefined
        ? "the server requires a password: put it in the URL as redis://:password@host (requirepass) or " +
          "redis://user:password@host (ACL user); URL-encode special characters"
        : "check the user name and password in the URL (redis://user:password@host for an ACL user, " +
          "redis://:password@host for requirepass; URL-encode special characters) and that the ACL user is on";
    return new StoreAuthError(`Redis at ${safeUrl} refused the credentials (${firstLine(message)}); ${how}`, {
      cause: err,
    });
  }
  if (/^NOPERM/.test(message)) {
    return new StoreAuthError(
      `Redis at ${safeUrl}: the ACL user may not run a command Conveyor needs (${firstLine(message)}); ` +
        "grant it the commands and keys of the store, e.g. ACL SETUSER <user> +@all -@dangerous +info ~<prefix>* &<prefix>*",
      { cause: err },
    );
  }
  if (/DB index is out of range/i.test(message)) {
    return new OptionsError(
      `store url "${safeUrl}": database ${target.db} does not exist on this server (${firstLine(message)}); ` +
        "use a database number below its `databases` setting",
    );
  }
  const code = (err as NodeJS.ErrnoException).code;
  if (code !== undefined && TLS_CODES.has(code)) {
    return new StoreUnavailableError(
      `TLS connection to ${safeUrl} refused: ${message} (${code}); pass the CA that signed the server's ` +
        "certificate as redis: { tls: { ca } }",
      false,
      { cause: err },
    );
  }
  return null;
}

function firstLine(text: string): string {
  return text.split("\n", 1)[0] ?? text;
}

async function readServerInfo(
  client: Redis,
  safeUrl: string,
  warn: (message: string) => void,
): Promise<RedisServerInfo> {
  let fields: Map<string, string>;
  try {
    fields = parseInfo(await client.info());
  } catch (err) {
    if (!/^NOPERM/.test((err as Error).message)) throw wrapOpen(err, safeUrl);
    warn(
      `conveyor: the Redis user of ${safeUrl} may not run INFO, so the server version, eviction policy and ` +
        "persistence cannot be checked; grant +info to let Conveyor warn about settings that lose jobs",
    );
    fields = new Map();
    try {
      const hello = (await client.call("HELLO")) as unknown;
      const version = helloVersion(hello);
      if (version !== null) fields.set("redis_version", version);
    } catch {
      // Not permitted either: the version stays unknown.
    }
  }
  const config = async (name: string): Promise<string | null> => {
    try {
      const reply = (await client.call("CONFIG", "GET", name)) as unknown;
      if (Array.isArray(reply) && reply.length >= 2) return String(reply[1]);
      if (reply !== null && typeof reply === "object" && name in reply) {
        return String((reply as Record<string, unknown>)[name]);
      }
      return null;
    } catch {
      return null; // ACL users often may not run CONFIG; INFO is what we rely on.
    }
  };
  const save = await config("save");
  const appendfsync = await config("appendfsync");
  return {
    version: fields.get("redis_version") ?? "unknown",
    maxmemoryPolicy: fields.get("maxmemory_policy") ?? "unknown",
    maxmemory: Number(fields.get("maxmemory") ?? 0),
    aof: fields.get("aof_enabled") === "1",
    appendfsync,
    rdb: save !== null ? save.trim() !== "" : Number(fields.get("rdb_saves") ?? 0) > 0,
  };
}

function wrapOpen(err: unknown, safeUrl: string): Error {
  if (err instanceof ConveyorError) return err;
  return new StoreUnavailableError(
    `Redis at ${safeUrl} failed while opening: ${(err as Error)?.message ?? String(err)}`,
    true,
    { cause: err },
  );
}

function helloVersion(reply: unknown): string | null {
  if (Array.isArray(reply)) {
    const i = reply.indexOf("version");
    return i >= 0 && i + 1 < reply.length ? String(reply[i + 1]) : null;
  }
  if (reply !== null && typeof reply === "object" && "version" in reply) {
    return String((reply as { version: unknown }).version);
  }
  return null;
}

/** `INFO` text to a map of its `key:value` lines. */
export function parseInfo(text: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    if (line === "" || line.startsWith("#")) continue;
    const colon = line.indexOf(":");
    if (colon > 0) fields.set(line.slice(0, colon), line.slice(colon + 1).trim());
  }
  return fields;
}

/** Compares dotted versions: negative when a < b. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split(".").map((n) => Number.parseInt(n, 10) || 0);
  const pb = b.split(".").map((n) => Number.parseInt(n, 10) || 0);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

function checkVersion(version: string, safeUrl: string): void {
  if (version === "unknown") return;
  if (compareVersions(version, MIN_REDIS_VERSION) < 0) {
    throw new StoreVersionError(
      `Redis at ${safeUrl} is version ${version}; Conveyor's Redis store needs ${MIN_REDIS_VERSION} or newer ` +
        "(its scripts use commands added in 6.2); upgrade Redis (or use a compatible server such as Valkey)",
      version,
      MIN_REDIS_VERSION,
    );
  }
}

/**
 * An ACL user limited to other keys would fail on the first script call with a bare NOPERM; say at open which
 * grant it needs. Every key of the store starts with the hash tag `{<prefix>}` (see keys.ts), and every script
 * is passed the tag itself as its first key.
 */
async function checkKeyAccess(client: Redis, prefix: string, safeUrl: string): Promise<void> {
  try {
    await client.exists(`{${prefix}}`);
  } catch (err) {
    const message = (err as Error).message ?? "";
    if (!/^NOPERM/.test(message)) throw wrapOpen(err, safeUrl);
    throw new StoreAuthError(
      `Redis at ${safeUrl}: the ACL user may not use the keys of prefix "${prefix}" (${firstLine(message)}); ` +
        `grant them with ACL SETUSER <user> ~{${prefix}}* &{${prefix}}* (keys and channels), or use the prefix ` +
        "the user was given",
      { cause: err },
    );
  }
}

function evictionWarning(safeUrl: string, info: RedisServerInfo): string {
  const limit =
    info.maxmemory > 0 ? `maxmemory is ${info.maxmemory} bytes` : "maxmemory is 0 (no limit) for now";
  const loss = info.maxmemoryPolicy.startsWith("volatile-")
    ? "Redis may evict the keys that have a TTL, among them the tokens that keep a re-sent enqueue from " +
      "being stored twice"
    : "Redis may evict any key, and jobs, leases and schedules then vanish without an error";
  return (
    `conveyor: Redis at ${safeUrl} has maxmemory-policy "${info.maxmemoryPolicy}" (${limit}): when memory ` +
    `runs out, ${loss}. Set maxmemory-policy to noeviction (CONFIG SET maxmemory-policy noeviction, and in ` +
    "redis.conf), or give Conveyor a Redis of its own; with noeviction a full Redis refuses writes and " +
    "enqueue fails with an error instead."
  );
}

// ---------------------------------------------------------------------------------------------------------
// After open: outage warnings and the per-command deadline

/** Warns once per outage (the first connection lost), and once when every lost connection is back. */
class Health {
  lastError: Error | null = null;
  private readonly down = new Set<Redis>();
  constructor(
    private readonly safeUrl: string,
    private readonly warn: (message: string) => void,
  ) {}

  watch(client: Redis): void {
    client.on("error", (err: Error) => {
      this.lastError = err;
      if (this.down.has(client)) return;
      this.down.add(client);
      if (this.down.size > 1) return;
      this.warn(
        `conveyor: lost the connection to Redis at ${this.safeUrl} (${firstLine(err.message)}); reconnecting, ` +
          "commands wait up to commandTimeoutMs",
      );
    });
    client.on("ready", () => {
      if (!this.down.delete(client) || this.down.size > 0) return;
      this.warn(`conveyor: reconnected to Redis at ${this.safeUrl}`);
    });
    client.on("end", () => {
      this.down.delete(client);
    });
  }

  describe(client: Redis): string {
    const status = client.status;
    const last = this.lastError === null ? "" : `, last error: ${firstLine(this.lastError.message)}`;
    return status === "ready" ? "connected, no reply" : `connection ${status}${last}`;
  }
}

/** The ioredis internals we touch: documented fields of Command, and the offline queue's length. */
interface CommandInternals {
  name: string;
  isSettled?: boolean;
  reject(err: Error): void;
  promise: Promise<unknown>;
  [TRACKED]?: Tracked;
}
interface Tracked {
  deadline: number;
  written: boolean;
  stream: unknown;
  command: CommandInternals;
}
interface ClientInternals {
  offlineQueue?: { length: number };
  sendCommand(command: CommandInternals, stream?: unknown, node?: unknown): unknown;
}
const TRACKED = Symbol("conveyor.deadline");

/**
 * Puts a deadline on every non-blocking command of `client` (blocking ones are bounded by ioredis'
 * `blockingTimeout`), and keeps commands whose caller already got an error from being sent later.
 * One sweep timer per client, not one timer per command: commands finish in order on a connection, so a
 * FIFO of pending commands is checked from its head.
 */
function bound(client: Redis, timeoutMs: number, health: Health): void {
  const internals = client as unknown as ClientInternals;
  const original = internals.sendCommand;
  // A duplicate (e.g. a connection of its own for XREAD BLOCK) gets the same deadline and warnings.
  const duplicate = client.duplicate.bind(client);
  client.duplicate = (override?: Partial<RedisOptions>) => {
    const copy = duplicate(override);
    copy.on("error", () => {
      // Reported through Health.
    });
    bound(copy, timeoutMs, health);
    health.watch(copy);
    return copy;
  };
  const pending: Tracked[] = [];
  let head = 0;
  let timer: NodeJS.Timeout | null = null;
  const every = Math.max(10, Math.min(250, Math.floor(timeoutMs / 10)));

  const sweep = () => {
    const now = Date.now();
    let expiredStream: unknown = null;
    let notSent: StoreUnavailableError | null = null;
    let sent: StoreUnavailableError | null = null;
    while (head < pending.length) {
      const entry = pending[head]!;
      if (entry.command.isSettled === true) {
        head++;
        continue;
      }
      // The members of a pipeline sit side by side and expire together: ioredis writes a pipeline only when
      // all its commands are sent, so half of one may never be dropped.
      const expired = entry.deadline <= now || (entry.stream !== undefined && entry.stream === expiredStream);
      if (!expired) break;
      head++;
      if (entry.stream !== undefined) expiredStream = entry.stream;
      const state = health.describe(client);
      if (entry.written) {
        sent ??= new StoreUnavailableError(
          `Redis did not answer within ${timeoutMs} ms (${state}); the command had been sent, so its ` +
            "outcome is unknown",
          true,
          { cause: health.lastError ?? undefined },
        );
        entry.command.reject(sent);
      } else {
        notSent ??= new StoreUnavailableError(
          `Redis was unreachable for ${timeoutMs} ms (${state}); the command was never sent, so nothing ` +
            "was written; raise commandTimeoutMs to wait longer during outages",
          true,
          { cause: health.lastError ?? undefined },
        );
        entry.command.reject(notSent);
      }
    }
    if (head > 1024 && head * 2 > pending.length) {
      pending.splice(0, head);
      head = 0;
    }
    if (head >= pending.length) {
      pending.length = 0;
      head = 0;
      if (timer !== null) {
        clearInterval(timer);
        timer = null;
      }
    }
  };

  internals.sendCommand = function (this: ClientInternals, command, stream, node) {
    // Sent again on reconnect (offline queue, or unanswered when the connection dropped) after its caller
    // was already told it failed: never send it.
    if (command.isSettled === true) return command.promise;
    let entry = command[TRACKED];
    if (entry === undefined && !Command.checkFlag("BLOCKING_COMMANDS", command.name)) {
      entry = { deadline: Date.now() + timeoutMs, written: false, stream, command };
      command[TRACKED] = entry;
      pending.push(entry);
      if (timer === null) {
        timer = setInterval(sweep, every);
        timer.unref();
      }
    }
    const queue = this.offlineQueue;
    const before = queue?.length ?? 0;
    const result = original.call(this, command, stream, node);
    if (entry !== undefined && (this.offlineQueue?.length ?? 0) <= before) entry.written = true;
    return result;
  };
}
