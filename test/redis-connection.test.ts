import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { OptionsError, StoreAuthError, StoreUnavailableError, StoreVersionError } from "../src/errors.js";
import { Conveyor, defineJob } from "../src/index.js";
import {
  compareVersions,
  openRedisConnection,
  parseRedisUrl,
  type RedisConnection,
  type RedisStoreOptions,
  redactRedisUrl,
  validatePrefix,
} from "../src/redis/connection.js";
import { openRedisStore } from "../src/redis/index.js";
import { freePort, RedisServer } from "./helpers/redis-server.js";

/** Connections and servers a test opened, closed after it whatever happens. */
const opened: RedisConnection[] = [];
const servers: RedisServer[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((c) => c.close()));
  await Promise.all(servers.splice(0).map((s) => s.stop()));
});

async function open(options: RedisStoreOptions): Promise<RedisConnection> {
  const c = await openRedisConnection({ onWarning: () => {}, ...options });
  opened.push(c);
  return c;
}

async function server(options: Parameters<typeof RedisServer.start>[0] = {}): Promise<RedisServer> {
  const s = await RedisServer.start(options);
  servers.push(s);
  return s;
}

/** Runs `fn`, expecting it to reject; returns the error and how long it took. */
async function failure(fn: () => Promise<unknown>): Promise<{ err: Error; ms: number }> {
  const t0 = Date.now();
  try {
    await fn();
  } catch (err) {
    return { err: err as Error, ms: Date.now() - t0 };
  }
  throw new Error("expected a rejection");
}

describe("Redis URLs, prefixes and options", () => {
  it("parses host, port, credentials, db and TLS", () => {
    expect(parseRedisUrl("redis://localhost")).toEqual({ host: "localhost", port: 6379, db: 0, tls: false });
    expect(parseRedisUrl("rediss://app:p%40ss%3Aw%2Frd@cache.internal:6380/3")).toEqual({
      host: "cache.internal",
      port: 6380,
      username: "app",
      password: "p@ss:w/rd",
      db: 3,
      tls: true,
    });
    expect(parseRedisUrl("redis://:secret@[::1]:7000")).toEqual({
      host: "::1",
      port: 7000,
      password: "secret",
      db: 0,
      tls: false,
    });
  });

  it("rejects bad URLs with an OptionsError that names the url and never shows the password", () => {
    for (const [url, words] of [
      ["localhost:6379", "redis://"],
      ["http://localhost:6379", "redis://"],
      ["not a url", "not a valid URL"],
      ["redis://localhost/cache", "database number"],
      ["redis://app@localhost", "no password"],
      ["redis://localhost:6379?prefix=x", "prefix option"],
    ] as const) {
      const err = (() => {
        try {
          parseRedisUrl(url);
        } catch (e) {
          return e as Error;
        }
        throw new Error(`${url} was accepted`);
      })();
      expect(err).toBeInstanceOf(OptionsError);
      expect(err.message).toContain("url");
      expect(err.message).toContain(words);
    }
    expect(() => parseRedisUrl("redis://app:hunter2@localhost/x")).toThrow(/app:\*\*\*@localhost/);
    expect(() => parseRedisUrl("redis://app:hunter2@localhost/x")).not.toThrow(/hunter2/);
  });

  it("redacts passwords from URLs", () => {
    expect(redactRedisUrl("redis://:hunter2@h:1/0")).toBe("redis://:***@h:1/0");
    expect(redactRedisUrl("rediss://app:hunter2@h")).toBe("rediss://app:***@h");
    expect(redactRedisUrl("redis://h:1")).toBe("redis://h:1");
  });

  it("validates the prefix", async () => {
    expect(validatePrefix(undefined)).toBe("conveyor");
    expect(validatePrefix("billing-app:v2.1_x")).toBe("billing-app:v2.1_x");
    for (const bad of ["", "a b", "x".repeat(65), "{tag}", "é", 42]) {
      expect(() => validatePrefix(bad)).toThrow(OptionsError);
      expect(() => validatePrefix(bad)).toThrow(/prefix/);
    }
    // openRedisConnection checks it before connecting anywhere.
    const { err } = await failure(() => openRedisConnection({ url: "redis://127.0.0.1:1", prefix: "a b" }));
    expect(err).toBeInstanceOf(OptionsError);
    expect(err.message).toMatch(/prefix/);
  });

  it("rejects non-positive timeouts", async () => {
    const { err } = await failure(() =>
      openRedisConnection({ url: "redis://127.0.0.1:1", commandTimeoutMs: 0 }),
    );
    expect(err).toBeInstanceOf(OptionsError);
    expect(err.message).toMatch(/commandTimeoutMs/);
  });

  it("compares versions numerically", () => {
    expect(compareVersions("6.2.0", "6.2.0")).toBe(0);
    expect(compareVersions("6.10.0", "6.2.0")).toBeGreaterThan(0);
    expect(compareVersions("5.0.14", "6.2.0")).toBeLessThan(0);
    expect(compareVersions("7.0", "6.2.0")).toBeGreaterThan(0);
  });
});

describe("opening a Redis that cannot be used fails clearly within seconds", () => {
  it("an unreachable port: StoreUnavailableError after connectTimeoutMs, naming the URL", async () => {
    const port = await freePort();
    const { err, ms } = await failure(() =>
      open({ url: `redis://:hunter2@127.0.0.1:${port}`, connectTimeoutMs: 1_000 }),
    );
    expect(err).toBeInstanceOf(StoreUnavailableError);
    expect((err as StoreUnavailableError).code).toBe("ERR_STORE_UNAVAILABLE");
    expect(err.message).toContain(`127.0.0.1:${port}`);
    expect(err.message).toContain("ECONNREFUSED");
    expect(err.message).not.toContain("hunter2");
    expect(ms).toBeGreaterThanOrEqual(900);
    expect(ms).toBeLessThan(3_000);
  });

  it("a server that is too old: StoreVersionError", async () => {
    const fake = await fakeRedis("5.0.14");
    try {
      const { err, ms } = await failure(() =>
        open({ url: `redis://127.0.0.1:${fake.port}`, connectTimeoutMs: 2_000 }),
      );
      expect(err).toBeInstanceOf(StoreVersionError);
      expect((err as StoreVersionError).code).toBe("ERR_STORE_VERSION");
      expect(err.message).toContain("5.0.14");
      expect(err.message).toContain("6.2.0");
      expect(ms).toBeLessThan(2_000);
    } finally {
      await fake.close();
    }
  });

  it("a database number the server does not have: OptionsError", async () => {
    const s = await server();
    const { err } = await failure(() => open({ url: `${s.url}/99`, connectTimeoutMs: 2_000 }));
    expect(err).toBeInstanceOf(OptionsError);
    expect(err.message).toMatch(/database 99/);
  });
});

describe("AUTH and ACL users", () => {
  let s: RedisServer;
  beforeAll(async () => {
    s = await RedisServer.start({ args: ["--requirepass", "s3cret-pass"] });
    const admin = new Redis({ port: s.port, host: "127.0.0.1", password: "s3cret-pass" });
    await admin.call("ACL", "SETUSER", "app", "on", ">app:p@ss/w", "~*", "&*", "+@all");
    await admin.call("ACL", "SETUSER", "off-user", "off", ">pw", "~*", "+@all");
    await admin.quit();
  });
  afterAll(async () => {
    await s.stop();
  });
  const at = (userinfo: string) => `redis://${userinfo}127.0.0.1:${s.port}`;

  it("opens with the requirepass password", async () => {
    const c = await open({ url: at(":s3cret-pass@") });
    expect(await c.client.ping()).toBe("PONG");
  });

  it("a wrong password: StoreAuthError at once, without the password in the message", async () => {
    const { err, ms } = await failure(() => open({ url: at(":wrong-pass@"), connectTimeoutMs: 5_000 }));
    expect(err).toBeInstanceOf(StoreAuthError);
    expect((err as StoreAuthError).code).toBe("ERR_STORE_AUTH");
    expect(err.message).toContain(`redis://:***@127.0.0.1:${s.port}`);
    expect(err.message).toMatch(/WRONGPASS/);
    expect(err.message).toMatch(/redis:\/\/user:password@host/);
    expect(err.message).not.toContain("wrong-pass");
    expect(ms).toBeLessThan(2_000);
  });

  it("no password where one is required: StoreAuthError saying how to pass it", async () => {
    const { err, ms } = await failure(() => open({ url: at(""), connectTimeoutMs: 5_000 }));
    expect(err).toBeInstanceOf(StoreAuthError);
    expect(err.message).toMatch(/NOAUTH/);
    expect(err.message).toMatch(/requires a password/);
    expect(ms).toBeLessThan(2_000);
  });

  it("an ACL user with its password opens (URL-encoded special characters)", async () => {
    const c = await open({ url: at(`app:${encodeURIComponent("app:p@ss/w")}@`) });
    expect(await c.client.acl("WHOAMI")).toBe("app");
    expect(c.safeUrl).toBe(`redis://app:***@127.0.0.1:${s.port}`);
  });

  it("an ACL user with a wrong password, or a disabled user: StoreAuthError", async () => {
    for (const userinfo of ["app:nope@", "off-user:pw@"]) {
      const { err, ms } = await failure(() => open({ url: at(userinfo), connectTimeoutMs: 5_000 }));
      expect(err).toBeInstanceOf(StoreAuthError);
      expect(err.message).not.toContain(userinfo.split(":")[1]!.replace("@", ""));
      expect(ms).toBeLessThan(2_000);
    }
  });

  it("an ACL user limited to its prefix's keys and channels runs the store; another prefix is refused", async () => {
    const admin = new Redis({ port: s.port, host: "127.0.0.1", password: "s3cret-pass" });
    // The grant docs/guides/redis.md recommends, for prefix "billing".
    await admin.call(
      "ACL",
      "SETUSER",
      "billing",
      "on",
      ">pw",
      "~{billing}*",
      "&{billing}*",
      "+@all",
      "-@dangerous",
      "+info",
    );
    await admin.quit();
    const job = defineJob<{ n: number }>({ name: "acl-job", handler: () => null });
    const app = await Conveyor.open({
      store: await openRedisStore({ url: at("billing:pw@"), prefix: "billing", onWarning: () => {} }),
    });
    try {
      const stored = await app.enqueue(job, { n: 1 });
      expect((await app.getJob(stored.id))?.data).toEqual({ n: 1 });
    } finally {
      await app.close();
    }
    const { err } = await failure(async () => {
      const other = await openRedisStore({ url: at("billing:pw@"), prefix: "payroll", onWarning: () => {} });
      await other.close();
    });
    expect(err).toBeInstanceOf(StoreAuthError);
    expect(err.message).toMatch(/NOPERM/);
    expect(err.message).toContain('prefix "payroll"');
    expect(err.message).toContain("~{payroll}*");
  });

  it("an ACL user without INFO: opens, warns that settings cannot be checked", async () => {
    const admin = new Redis({ port: s.port, host: "127.0.0.1", password: "s3cret-pass" });
    await admin.call("ACL", "SETUSER", "narrow", "on", ">pw", "~*", "&*", "+@all", "-info", "-config");
    await admin.quit();
    const warnings: string[] = [];
    const c = await open({ url: at("narrow:pw@"), onWarning: (m) => warnings.push(m) });
    expect(c.info.maxmemoryPolicy).toBe("unknown");
    expect(c.info.version).toMatch(/^\d+\.\d+/); // from HELLO
    expect(warnings.join("\n")).toMatch(/may not run INFO/);
    expect(await c.client.ping()).toBe("PONG");
  });
});

describe("TLS (rediss://)", () => {
  let dir: string;
  let s: RedisServer;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "conveyor-tls-"));
    const f = (name: string) => join(dir, name);
    const ssl = (...args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: "pipe" });
    ssl(
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-keyout",
      "ca.key",
      "-out",
      "ca.crt",
      "-days",
      "1",
      "-subj",
      "/CN=Conveyor test CA",
    );
    writeFileSync(f("ext.cnf"), "subjectAltName=DNS:localhost,IP:127.0.0.1\n");
    ssl(
      "req",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-keyout",
      "server.key",
      "-out",
      "server.csr",
      "-subj",
      "/CN=localhost",
    );
    ssl(
      "x509",
      "-req",
      "-in",
      "server.csr",
      "-CA",
      "ca.crt",
      "-CAkey",
      "ca.key",
      "-CAcreateserial",
      "-out",
      "server.crt",
      "-days",
      "1",
      "-extfile",
      "ext.cnf",
    );
    s = await RedisServer.start({
      tls: { certFile: f("server.crt"), keyFile: f("server.key"), caFile: f("ca.crt") },
    });
  });
  afterAll(async () => {
    await s?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("opens with the CA that signed the server's certificate", async () => {
    const c = await open({ url: s.url, redis: { tls: { ca: readFileSync(join(dir, "ca.crt")) } } });
    expect(s.url.startsWith("rediss://")).toBe(true);
    expect(await c.client.ping()).toBe("PONG");
    expect(await c.subscriber().ping()).toBe("PONG");
  });

  it("an untrusted certificate fails at once with an error naming tls.ca", async () => {
    const { err, ms } = await failure(() => open({ url: s.url, connectTimeoutMs: 5_000 }));
    expect(err).toBeInstanceOf(StoreUnavailableError);
    expect((err as StoreUnavailableError).retryable).toBe(false);
    expect(err.message).toMatch(/tls: \{ ca \}/);
    expect(ms).toBeLessThan(2_000);
  });

  it("plain redis:// to a TLS-only port fails within connectTimeoutMs, suggesting rediss://", async () => {
    const { err, ms } = await failure(() =>
      open({ url: `redis://127.0.0.1:${s.port}`, connectTimeoutMs: 1_000 }),
    );
    expect(err).toBeInstanceOf(StoreUnavailableError);
    expect(err.message).toMatch(/rediss:\/\//);
    expect(ms).toBeLessThan(3_000);
  });
});

describe("server checks", () => {
  it("warns when maxmemory-policy is not noeviction, saying what can happen and how to fix it", async () => {
    const s = await server({ args: ["--maxmemory-policy", "allkeys-lru", "--maxmemory", "100mb"] });
    const warnings: string[] = [];
    const c = await open({ url: s.url, onWarning: (m) => warnings.push(m) });
    expect(c.info.maxmemoryPolicy).toBe("allkeys-lru");
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('maxmemory-policy "allkeys-lru"');
    expect(warnings[0]).toContain("evict");
    expect(warnings[0]).toContain("CONFIG SET maxmemory-policy noeviction");
  });

  it("does not warn with noeviction, and reports version and persistence", async () => {
    const s = await server({ appendonly: true });
    const warnings: string[] = [];
    const c = await open({ url: s.url, onWarning: (m) => warnings.push(m) });
    expect(warnings).toEqual([]);
    expect(c.info).toMatchObject({
      maxmemoryPolicy: "noeviction",
      aof: true,
      appendfsync: "always",
      rdb: false,
    });
    expect(compareVersions(c.info.version, "6.2.0")).toBeGreaterThanOrEqual(0);
  });

  it("emits a process warning by default", async () => {
    const s = await server({ args: ["--maxmemory-policy", "volatile-lru"] });
    const seen: string[] = [];
    const listener = (w: Error) => seen.push(w.message);
    process.on("warning", listener);
    try {
      const c = await openRedisConnection({ url: s.url });
      opened.push(c);
      await new Promise((r) => setImmediate(r));
      expect(seen.some((m) => m.includes("volatile-lru"))).toBe(true);
    } finally {
      process.off("warning", listener);
    }
  });
});

describe("commands during an outage", () => {
  it("wait up to commandTimeoutMs, then fail with StoreUnavailableError, and are never sent afterwards", async () => {
    const s = await server({ appendonly: true });
    const warnings: string[] = [];
    const c = await open({ url: s.url, commandTimeoutMs: 1_000, onWarning: (m) => warnings.push(m) });
    await s.kill();
    const { err, ms } = await failure(() => c.client.set("during-outage", "1"));
    expect(err).toBeInstanceOf(StoreUnavailableError);
    expect((err as StoreUnavailableError).retryable).toBe(true);
    expect(err.message).toMatch(/never sent/);
    expect(ms).toBeGreaterThanOrEqual(900);
    expect(ms).toBeLessThan(2_000);
    // A pipeline fails whole, too.
    const results = await c.client.pipeline().set("p1", "1").set("p2", "2").exec();
    expect(results?.map(([e]) => (e as StoreUnavailableError | null)?.code)).toEqual([
      "ERR_STORE_UNAVAILABLE",
      "ERR_STORE_UNAVAILABLE",
    ]);
    await s.restart();
    // Back on its own; what failed was not written late.
    await expectEventually(async () => (await c.client.ping()) === "PONG");
    expect(await c.client.exists("during-outage", "p1", "p2")).toBe(0);
    expect(warnings.some((w) => w.includes("lost the connection"))).toBe(true);
    expect(warnings.some((w) => w.includes("reconnected"))).toBe(true);
  });

  it("succeed when Redis is back within commandTimeoutMs", async () => {
    const s = await server({ appendonly: true });
    const c = await open({ url: s.url, commandTimeoutMs: 8_000 });
    await c.client.set("before", "1");
    await s.kill();
    const t0 = Date.now();
    const pending = c.client.set("during", "2");
    const piped = c.client.pipeline().incr("n").incr("n").exec();
    await new Promise((r) => setTimeout(r, 500));
    await s.restart();
    expect(await pending).toBe("OK");
    expect((await piped)?.map(([e, v]) => [e, v])).toEqual([
      [null, 1],
      [null, 2],
    ]);
    expect(Date.now() - t0).toBeLessThan(8_000);
    expect(await c.client.mget("before", "during")).toEqual(["1", "2"]);
  });

  it("the subscriber connection resubscribes after a restart", async () => {
    const s = await server();
    const c = await open({ url: s.url, commandTimeoutMs: 5_000 });
    const sub = c.subscriber();
    expect(c.subscriber()).toBe(sub);
    const got: string[] = [];
    sub.on("message", (_channel: string, message: string) => got.push(message));
    await sub.subscribe("wake");
    await s.restart();
    await expectEventually(async () => {
      await c.client.publish("wake", "after-restart");
      return got.includes("after-restart");
    });
  });

  it("close() ends both connections, also while Redis is down", async () => {
    const s = await server();
    const c = await openRedisConnection({ url: s.url, onWarning: () => {} });
    const sub = c.subscriber();
    await sub.ping();
    await s.kill();
    const queued = c.client.get("k");
    await new Promise((r) => setTimeout(r, 300)); // now between two reconnection attempts
    const t0 = Date.now();
    await c.close();
    await expect(queued).rejects.toThrow(/closed/);
    expect(Date.now() - t0).toBeLessThan(1_500);
    expect(c.client.status).toBe("end");
    expect(sub.status).toBe("end");
  });
});

async function expectEventually(check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await check()) return;
    } catch {
      // not yet
    }
    if (Date.now() > deadline) throw new Error("condition not reached in time");
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * A TCP server that speaks just enough RESP to look like an old Redis: no HELLO, INFO says `version`.
 */
async function fakeRedis(version: string): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const srv: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    let buffer = "";
    socket.on("data", (chunk) => {
      buffer += chunk.toString("latin1");
      for (;;) {
        const parsed = parseCommand(buffer);
        if (parsed === null) break;
        buffer = buffer.slice(parsed.length);
        const name = (parsed.args[0] ?? "").toUpperCase();
        if (name === "HELLO") socket.write("-ERR unknown command 'HELLO'\r\n");
        else if (name === "INFO") {
          const body = `# Server\r\nredis_version:${version}\r\n# Persistence\r\nloading:0\r\n`;
          socket.write(`$${Buffer.byteLength(body)}\r\n${body}\r\n`);
        } else if (name === "CONFIG") socket.write("*0\r\n");
        else socket.write("+OK\r\n");
      }
    });
  });
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  const address = srv.address();
  const port = typeof address === "object" && address !== null ? address.port : 0;
  return {
    port,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        srv.close(() => r());
      }),
  };
}

/** Parses one RESP array of bulk strings from the start of `text`, or null when it is not all there yet. */
function parseCommand(text: string): { args: string[]; length: number } | null {
  let at = 0;
  const line = () => {
    const end = text.indexOf("\r\n", at);
    if (end < 0) return null;
    const l = text.slice(at, end);
    at = end + 2;
    return l;
  };
  const head = line();
  if (head === null) return null;
  if (!head.startsWith("*")) return { args: head.trim().split(/\s+/), length: at }; // inline command
  const args: string[] = [];
  for (let i = 0; i < Number(head.slice(1)); i++) {
    const size = line();
    if (size === null) return null;
    const n = Number(size.slice(1));
    if (text.length < at + n + 2) return null;
    args.push(text.slice(at, at + n));
    at += n + 2;
  }
  return { args, length: at };
}

describe("enqueue while Redis is down (the store)", () => {
  const job = defineJob<{ n: number }>({ name: "outage-job", handler: () => null });
  const apps: Conveyor[] = [];
  afterEach(async () => {
    await Promise.all(apps.splice(0).map((a) => a.close()));
  });
  const openApp = async (url: string, commandTimeoutMs: number) => {
    const app = await Conveyor.open({
      store: await openRedisStore({ url, commandTimeoutMs, onWarning: () => {} }),
    });
    apps.push(app);
    return app;
  };

  it("fails with StoreUnavailableError after commandTimeoutMs and stores nothing, even once Redis is back", async () => {
    const s = await server({ appendonly: true });
    const app = await openApp(s.url, 1_000);
    await app.enqueue(job, { n: 0 });
    await s.kill();
    const single = await failure(() => app.enqueue(job, { n: 1 }));
    const bulk = await failure(() => app.enqueueMany(job, [{ data: { n: 2 } }, { data: { n: 3 } }]));
    for (const { err, ms } of [single, bulk]) {
      expect(err).toBeInstanceOf(StoreUnavailableError);
      expect((err as StoreUnavailableError).code).toBe("ERR_STORE_UNAVAILABLE");
      expect(ms).toBeGreaterThanOrEqual(900);
      expect(ms).toBeLessThan(3_000);
    }
    await s.restart();
    await expectEventually(async () => (await app.countJobs()).available === 1);
    await new Promise((r) => setTimeout(r, 500)); // nothing arrives late
    const { jobs } = await app.listJobs({ limit: 10 });
    expect(jobs.map((j) => (j.data as { n: number }).n)).toEqual([0]);
  });

  it("waits, and succeeds, when Redis is back within commandTimeoutMs", async () => {
    const s = await server({ appendonly: true });
    const app = await openApp(s.url, 8_000);
    await s.kill();
    const pending = app.enqueue(job, { n: 1 });
    const pendingBulk = app.enqueueMany(job, [{ data: { n: 2 } }, { data: { n: 3 } }]);
    await new Promise((r) => setTimeout(r, 700));
    await s.restart();
    const stored = await pending;
    expect((await pendingBulk).length).toBe(2);
    expect((await app.getJob(stored.id))?.data).toEqual({ n: 1 });
    expect((await app.countJobs()).available).toBe(3);
  });
});
