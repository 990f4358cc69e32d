import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";

/** Options of {@link RedisServer.start}. */
export interface RedisServerOptions {
  /** Turn on the append-only file (`appendfsync always`), so a restart keeps every acknowledged write. */
  appendonly?: boolean;
  /** Extra `redis-server` arguments, e.g. `["--requirepass", "secret"]`. */
  args?: string[];
  /** Serve TLS only (`--port 0 --tls-port <port>`, clients need no certificate); `url` is then `rediss://`. */
  tls?: { certFile: string; keyFile: string; caFile: string };
}

/**
 * A throwaway `redis-server` on a free port in a temp dir, for tests. `stop()` ends it and removes the dir;
 * `kill()` and `restart()` (same port, same dir, so an AOF is replayed) serve fault tests.
 */
export class RedisServer {
  private child: ChildProcess | null = null;
  private constructor(
    readonly port: number,
    readonly dir: string,
    private readonly options: RedisServerOptions,
  ) {}

  get url(): string {
    return `${this.options.tls ? "rediss" : "redis"}://127.0.0.1:${this.port}`;
  }

  static async start(options: RedisServerOptions = {}): Promise<RedisServer> {
    const server = new RedisServer(await freePort(), mkdtempSync(join(tmpdir(), "conveyor-redis-")), options);
    await server.launch();
    return server;
  }

  private async launch(): Promise<void> {
    const tls = this.options.tls;
    const listen = tls
      ? ["--port", "0", "--tls-port", String(this.port), "--tls-cert-file", tls.certFile]
      : ["--port", String(this.port)];
    const args = [
      ...listen,
      ...(tls
        ? ["--tls-key-file", tls.keyFile, "--tls-ca-cert-file", tls.caFile, "--tls-auth-clients", "no"]
        : []),
      "--bind",
      "127.0.0.1",
      "--dir",
      this.dir,
      "--save",
      "",
      "--appendonly",
      this.options.appendonly === true ? "yes" : "no",
      "--appendfsync",
      "always",
      ...(this.options.args ?? []),
    ];
    const child = spawn("redis-server", args, { stdio: ["ignore", "pipe", "pipe"] });
    this.child = child;
    let output = "";
    child.stdout?.on("data", (c: Buffer) => {
      output += c.toString();
    });
    child.stderr?.on("data", (c: Buffer) => {
      output += c.toString();
    });
    const deadline = Date.now() + 10_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`redis-server exited with ${child.exitCode}: ${output}`);
      if (await this.answers()) return;
      if (Date.now() > deadline) throw new Error(`redis-server did not answer on ${this.port}: ${output}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  private async answers(): Promise<boolean> {
    const password = passwordOf(this.options.args ?? []);
    const probe = new Redis({
      port: this.port,
      host: "127.0.0.1",
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
      ...(password !== undefined ? { password } : {}),
      ...(this.options.tls ? { tls: { ca: readFileSync(this.options.tls.caFile) } } : {}),
    });
    probe.on("error", () => {});
    try {
      await probe.connect();
      await probe.ping();
      return true;
    } catch {
      return false;
    } finally {
      probe.disconnect();
    }
  }

  /** The server's process id (null while it is not running), e.g. to SIGSTOP it. */
  get pid(): number | null {
    return this.child?.pid ?? null;
  }

  /** SIGKILLs the server (nothing is flushed beyond what the AOF already holds). */
  async kill(): Promise<void> {
    const child = this.child;
    this.child = null;
    if (child === null || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once("exit", r));
    child.kill("SIGKILL");
    await exited;
  }

  /** Starts the server again on the same port and dir (after {@link kill}). */
  async restart(): Promise<void> {
    await this.kill();
    await this.launch();
  }

  /** Stops the server and removes its dir. */
  async stop(): Promise<void> {
    await this.kill();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function passwordOf(args: string[]): string | undefined {
  const i = args.indexOf("--requirepass");
  return i >= 0 ? args[i + 1] : undefined;
}

/** A port that was free a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const address = srv.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * The Redis a test file uses: `REDIS_URL` when set, else a fresh server of its own. Call `url()` inside tests
 * (after `beforeAll`). `prefix()` gives each store a key prefix of its own, so tests never see each other's keys
 * even on a shared server.
 */
export function useRedis(options: RedisServerOptions = {}) {
  let server: RedisServer | null = null;
  let url = process.env.REDIS_URL ?? "";
  return {
    async start(): Promise<void> {
      if (url !== "") return;
      server = await RedisServer.start(options);
      url = server.url;
    },
    async stop(): Promise<void> {
      await server?.stop();
      server = null;
    },
    url(): string {
      if (url === "") throw new Error("useRedis: call start() in beforeAll first");
      return url;
    },
    /** The server this file started (null under REDIS_URL; fault tests that kill Redis use RedisServer.start). */
    server(): RedisServer | null {
      return server;
    },
    prefix(): string {
      return `t${randomBytes(6).toString("hex")}`;
    },
  };
}
