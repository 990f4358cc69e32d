/**
 * The Redis store's Lua code, in the form the server runs best:
 * - "functions" (Redis 7+, the default there): `lua/lib.lua` and every `lua/<name>.lua` body become one Redis
 *   Functions library, `conveyor_<version>`, loaded once (FUNCTION LOAD) and called with FCALL
 *   `conveyor_<version>_<name>`. The library's helpers are created once, at load: a call costs a few
 *   microseconds of Redis time, not the ~25 µs an EVALSHA spends defining them again.
 * - "eval" (Redis 6.2): each body with the parts of lib.lua it uses (its `-- @uses` line) as one script,
 *   loaded with SCRIPT LOAD and called with EVALSHA.
 * Each call passes the keys the body's `-- @keys` line declares. A server that lost its functions or scripts
 * (a restart without persistence, FUNCTION FLUSH, SCRIPT FLUSH) answers "not found": the runner loads them
 * again and repeats the call once. Calls are idempotent where a re-send could matter (see insert.lua).
 *
 * The `.lua` files ship next to the compiled JavaScript (the build copies `src/redis/lua` to `dist/redis/lua`).
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import type { Redis } from "ioredis";
import { ConveyorError, StoreAuthError, StoreUnavailableError } from "../errors.js";
import { FIXED_KEYS, type RedisKeys } from "./keys.js";

/** Every script, by file name (without `.lua`). */
export const SCRIPT_NAMES = [
  "insert",
  "insert1",
  "claim",
  "finish",
  "rescue",
  "renew",
  "report",
  "stage",
  "next-run",
  "get",
  "list",
  "count",
  "retry",
  "cancel",
  "promote",
  "delete",
  "prune",
  "types-register",
  "queue-pause",
  "queue-rate",
  "queue-list",
  "schedule-upsert",
  "schedule-pause",
  "schedule-delete",
  "schedule-read",
  "schedule-fire",
  "workers",
  "stats",
] as const;

export type ScriptName = (typeof SCRIPT_NAMES)[number];

/** How the Lua code runs on the server: a Functions library (Redis 7+) or EVALSHA scripts (Redis 6.2). */
export type ScriptMode = "functions" | "eval";

interface Script {
  name: ScriptName;
  /** The EVALSHA form: lib sections + body. */
  source: string;
  sha: string;
  /** The name it is registered under in the Functions library. */
  functionName: string;
  /** The store-wide keys the script uses (its `-- @keys` line), passed after the tag. */
  keys: readonly string[];
}

interface Compiled {
  scripts: Map<ScriptName, Script>;
  /** The Functions library (`#!lua name=...` and every script registered). */
  library: string;
  libraryName: string;
}

/** Reads a file of the `lua` directory beside this module. */
function luaSource(file: string): string {
  return readFileSync(new URL(`./lua/${file}`, import.meta.url), "utf8");
}

/** The words of a script's `-- @<tag>` header line. */
function headerWords(name: string, body: string, tag: string): string[] {
  const line = new RegExp(`^-- @${tag}(.*)$`, "m").exec(body);
  if (line === null) throw new Error(`src/redis/lua/${name}.lua has no "-- @${tag}" line`);
  return line[1]!
    .trim()
    .split(/\s+/)
    .filter((k) => k !== "");
}

/** The names on a script's `-- @keys` header line (each one a store-wide key, see keys.ts). */
function declaredKeys(name: string, body: string): string[] {
  const keys = headerWords(name, body, "keys");
  for (const key of keys) {
    if (!(FIXED_KEYS as readonly string[]).includes(key)) {
      throw new Error(`src/redis/lua/${name}.lua declares an unknown key "${key}"`);
    }
  }
  return keys;
}

/**
 * lib.lua cut at its `-- @section <name>: <dependencies>` lines. The part before the first section goes into
 * every script; `assemble` adds the sections a script uses, with their dependencies, in file order.
 */
function librarySections(lib: string) {
  const parts = lib.split(/^(?=-- @section )/m);
  const core = parts.shift() ?? "";
  const sections = parts.map((text) => {
    const head = /^-- @section ([a-z]+)(?::(.*))?$/m.exec(text);
    if (head === null)
      throw new Error(`src/redis/lua/lib.lua: malformed section line in "${text.slice(0, 60)}"`);
    return {
      name: head[1]!,
      deps: (head[2] ?? "")
        .trim()
        .split(/\s+/)
        .filter((d) => d !== ""),
      text,
    };
  });
  const byName = new Map(sections.map((sec) => [sec.name, sec]));
  return {
    assemble(script: string, uses: readonly string[]): string {
      const wanted = new Set<string>();
      const visit = (name: string) => {
        const sec = byName.get(name);
        if (sec === undefined)
          throw new Error(`src/redis/lua/${script}.lua uses an unknown lib section "${name}"`);
        if (wanted.has(name)) return;
        wanted.add(name);
        for (const dep of sec.deps) visit(dep);
      };
      for (const name of uses) visit(name);
      return (
        core +
        sections
          .filter((sec) => wanted.has(sec.name))
          .map((sec) => sec.text)
          .join("")
      );
    },
  };
}

function luaList(names: readonly string[]): string {
  return `{ ${names.map((k) => `'${k}'`).join(", ")} }`;
}

let cache: Compiled | null = null;

/** Both forms of the Lua code; read from disk once per process. */
export function loadScripts(): Compiled {
  if (cache !== null) return cache;
  const libText = luaSource("lib.lua");
  const lib = librarySections(libText);
  const bodies = SCRIPT_NAMES.map((name) => {
    const body = luaSource(`${name}.lua`);
    return { name, body, keys: declaredKeys(name, body), uses: headerWords(name, body, "uses") };
  });
  // The library's version: the hash of everything it is made of, so two versions of Conveyor coexist.
  const hash = createHash("sha1").update(libText);
  for (const b of bodies) hash.update(`\n-- ${b.name}\n${b.body}`);
  const version = hash.digest("hex").slice(0, 12);
  const libraryName = `conveyor_${version}`;
  const registered: string[] = [];
  const scripts = new Map<ScriptName, Script>();
  for (const [i, b] of bodies.entries()) {
    const functionName = `${libraryName}_${b.name.replace(/-/g, "_")}`;
    const source =
      `local KEYNAMES = ${luaList(b.keys)}\n${lib.assemble(b.name, b.uses)}\n` +
      `begin(KEYS, ARGV, KEYNAMES)\n-- ${b.name}.lua\n${b.body}`;
    scripts.set(b.name, {
      name: b.name,
      source,
      sha: createHash("sha1").update(source).digest("hex"),
      functionName,
      keys: b.keys,
    });
    registered.push(
      `local KEYNAMES_${i} = ${luaList(b.keys)}\n` +
        `redis.register_function('${functionName}', function(KEYS, ARGV)\n` +
        `begin(KEYS, ARGV, KEYNAMES_${i})\n-- ${b.name}.lua\n${b.body}\nend)\n`,
    );
  }
  cache = {
    scripts,
    libraryName,
    library: `#!lua name=${libraryName}\n${libText}\n${registered.join("")}`,
  };
  return cache;
}

/** Runs the store's Lua code on one connection, for one key prefix. */
export class ScriptRunner {
  readonly mode: ScriptMode;
  readonly #client: Redis;
  readonly #compiled = loadScripts();
  /** Per script: the tag, then its declared keys. */
  readonly #keys = new Map<ScriptName, string[]>();

  constructor(client: Redis, keys: RedisKeys, mode: ScriptMode) {
    this.#client = client;
    this.mode = mode;
    for (const script of this.#compiled.scripts.values()) {
      this.#keys.set(script.name, [keys.tag, ...script.keys.map((k) => `${keys.tag}:${k}`)]);
    }
  }

  /** The Functions library's name (`conveyor_<version>`). */
  get libraryName(): string {
    return this.#compiled.libraryName;
  }

  /** Loads the library (FUNCTION LOAD) or every script (SCRIPT LOAD, one pipeline): one round trip. */
  async loadAll(): Promise<void> {
    if (this.mode === "functions") {
      try {
        await this.#client.call("FUNCTION", "LOAD", "REPLACE", this.#compiled.library);
      } catch (err) {
        throw mapRedisError(err, "FUNCTION LOAD");
      }
      return;
    }
    const pipeline = this.#client.pipeline();
    for (const script of this.#compiled.scripts.values()) pipeline.script("LOAD", script.source);
    const results = (await pipeline.exec()) ?? [];
    for (const [err] of results) if (err) throw mapRedisError(err, "SCRIPT LOAD");
  }

  /** Calls `name` with its declared keys (plus `extraKeys`) and `args`; loads and calls again once if missing. */
  async run(name: ScriptName, args: readonly string[], extraKeys: readonly string[] = []): Promise<unknown> {
    const script = this.#compiled.scripts.get(name)!;
    const declared = this.#keys.get(name)!;
    const keys = extraKeys.length === 0 ? declared : declared.concat(extraKeys);
    // One array (ioredis flattens it): spreading 100,000 arguments into a call would overflow the stack.
    const all = keys.concat(args);
    const call = () =>
      this.mode === "functions"
        ? this.#client.fcall(script.functionName, keys.length, all)
        : this.#client.evalsha(script.sha, keys.length, all);
    try {
      return await call();
    } catch (err) {
      if (!isMissing(err)) throw mapRedisError(err, name);
    }
    try {
      if (this.mode === "functions") await this.loadAll();
      else await this.#client.script("LOAD", script.source);
      return await call();
    } catch (err) {
      throw mapRedisError(err, name);
    }
  }
}

/** The server does not have the function or script (restarted without it, or flushed). */
function isMissing(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  return err.message.startsWith("NOSCRIPT") || /Function not found/i.test(err.message);
}

/** Whether the server takes Redis Functions (7.0+), from its version ("unknown" when INFO is refused). */
export function functionsSupported(version: string): boolean | null {
  if (version === "unknown") return null;
  const major = Number.parseInt(version, 10);
  return Number.isFinite(major) ? major >= 7 : null;
}

/** Turns a Redis reply error into a Conveyor error (connection errors already are). */
export function mapRedisError(err: unknown, what: string): Error {
  if (err instanceof ConveyorError) return err;
  const message = err instanceof Error ? err.message : String(err);
  if (message.startsWith("OOM")) {
    return new StoreUnavailableError(
      `Redis refused ${what}: it is out of memory (maxmemory reached), so nothing was written; free memory, ` +
        "raise maxmemory, or prune finished jobs (retention)",
      true,
      { cause: err },
    );
  }
  if (message.startsWith("NOPERM")) {
    return new StoreAuthError(
      `Redis refused ${what}: the ACL user may not run it (${message}); allow the user FCALL and FUNCTION ` +
        "(Redis 7) or EVALSHA and SCRIPT (6.2), PUBLISH, SUBSCRIBE, XADD, XREAD and the keys of the prefix " +
        "(see docs/guides/redis.md)",
      { cause: err },
    );
  }
  if (message.startsWith("READONLY") || message.startsWith("LOADING") || message.startsWith("BUSY")) {
    return new StoreUnavailableError(`Redis cannot run ${what} right now: ${message}`, true, { cause: err });
  }
  return new StoreUnavailableError(`Redis failed running ${what}: ${message}`, false, { cause: err });
}
