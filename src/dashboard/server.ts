/**
 * `serveDashboard`: the dashboard on its own HTTP server. Bound to 127.0.0.1 unless told otherwise, and it
 * refuses any other address without auth.
 */
import { createServer, type Server } from "node:http";
import { isIP } from "node:net";
import { OptionsError } from "../errors.js";
import { createDashboard, type DashboardOptions, normaliseBasePath } from "./handler.js";

/** The default port of `conveyor dashboard` and `serveDashboard`. */
export const DEFAULT_DASHBOARD_PORT = 4300;

/** Options of {@link serveDashboard}: the handler's, plus where to listen. */
export interface ServeDashboardOptions extends DashboardOptions {
  /** Address to bind. Default "127.0.0.1". Any non-loopback address needs `auth`. */
  host?: string;
  /** Port; 0 picks a free one. Default 4300. */
  port?: number;
}

/** A running dashboard server. */
export interface DashboardServer {
  /** Where to open it, e.g. "http://127.0.0.1:4300/". */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly server: Server;
  /** Stops listening and closes open connections (live pages keep one open). Idempotent. */
  close(): Promise<void>;
}

/** Whether `host` is a loopback address or name (only this machine can connect). */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, "").toLowerCase();
  if (h === "localhost" || h === "::1" || h === "0:0:0:0:0:0:0:1") return true;
  if (isIP(h) === 4) return h.startsWith("127.");
  if (h.startsWith("::ffff:")) return h.slice(7).startsWith("127.");
  return false;
}

/**
 * Serves the dashboard. Resolves once it listens. Throws OptionsError when `host` is not a loopback address
 * and no `auth` is given, or when the port is taken.
 */
export async function serveDashboard(options: ServeDashboardOptions): Promise<DashboardServer> {
  const host = options.host ?? "127.0.0.1";
  const port = options.port ?? DEFAULT_DASHBOARD_PORT;
  if (typeof host !== "string" || host.length === 0) {
    throw new OptionsError('options.host must be an address or host name, e.g. "127.0.0.1"');
  }
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new OptionsError(`options.port must be an integer from 0 to 65535, got ${String(options.port)}`);
  }
  const loopback = isLoopback(host);
  if (!loopback && options.auth === undefined) {
    throw new OptionsError(
      `refusing to serve the dashboard on ${host} without auth: anyone who can reach it could retry, cancel and ` +
        "delete jobs. Give a token or a user and password (--token <t> or --basic-auth <user:pass> on the CLI; " +
        "options.auth in code), or bind to 127.0.0.1",
    );
  }
  const base = normaliseBasePath(options.basePath);
  const allowedHosts =
    options.allowedHosts ??
    // Without auth on loopback, only loopback names: a page elsewhere cannot rebind its name to 127.0.0.1.
    (loopback && options.auth === undefined
      ? ["127.0.0.1", "localhost", "[::1]", host.toLowerCase()]
      : undefined);
  const handler = createDashboard({ ...options, ...(allowedHosts ? { allowedHosts } : {}) });
  const server = createServer((req, res) => handler(req, res));
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      server.off("listening", onListening);
      if (err.code === "EADDRINUSE") {
        reject(
          new OptionsError(
            `port ${port} on ${host} is already in use; choose another (--port <n>, or 0 for any free port)`,
            { cause: err },
          ),
        );
      } else if (err.code === "EADDRNOTAVAIL" || err.code === "ENOTFOUND") {
        reject(new OptionsError(`cannot bind to ${host}: no such local address`, { cause: err }));
      } else if (err.code === "EACCES") {
        reject(
          new OptionsError(`not allowed to listen on port ${port}; use a port above 1023`, { cause: err }),
        );
      } else reject(err);
    };
    const onListening = (): void => {
      server.off("error", onError);
      resolve();
    };
    server.once("error", onError);
    server.once("listening", onListening);
    server.listen(port, host);
  });
  const address = server.address();
  const boundPort = typeof address === "object" && address !== null ? address.port : port;
  const urlHost = host.includes(":") && !host.startsWith("[") ? `[${host}]` : host;
  let closing: Promise<void> | null = null;
  return {
    url: `http://${urlHost}:${boundPort}${base}/`,
    host,
    port: boundPort,
    server,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
