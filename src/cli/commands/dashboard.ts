import type { Command } from "commander";
import { Conveyor } from "../../conveyor.js";
import type { DashboardAuth } from "../../dashboard/security.js";
import { DEFAULT_DASHBOARD_PORT, isLoopback, serveDashboard } from "../../dashboard/server.js";
import { createMetrics } from "../../observability/metrics.js";
import { type CliIO, println, UsageError, waitForStop } from "../io.js";
import { assertStoreExists, intParser, storeOption, storeUrl } from "../options.js";
import type { CommandContext } from "../run.js";

interface DashboardFlags {
  store?: string;
  host: string;
  port: number;
  token?: string;
  basicAuth?: string;
  readOnly?: boolean;
  basePath?: string;
}

/** The auth the flags (or CONVEYOR_DASHBOARD_TOKEN) ask for; usage errors for bad combinations. */
export function dashboardAuth(flags: DashboardFlags, io: CliIO): DashboardAuth | undefined {
  const token = flags.token ?? (io.env.CONVEYOR_DASHBOARD_TOKEN || undefined);
  if (token !== undefined && flags.basicAuth !== undefined) {
    throw new UsageError("give --token or --basic-auth, not both");
  }
  if (token !== undefined) {
    if (token.length < 8)
      throw new UsageError("--token: use at least 8 characters (e.g. `openssl rand -hex 16`)");
    return { token };
  }
  if (flags.basicAuth !== undefined) {
    const colon = flags.basicAuth.indexOf(":");
    const username = colon > 0 ? flags.basicAuth.slice(0, colon) : "";
    const password = colon > 0 ? flags.basicAuth.slice(colon + 1) : "";
    if (username === "" || password.length < 8) {
      throw new UsageError(
        "--basic-auth: expected <user>:<password> with a password of at least 8 characters",
      );
    }
    return { username, password };
  }
  return undefined;
}

/** `conveyor dashboard`. */
export function registerDashboard(program: Command, ctx: CommandContext): void {
  const { io } = ctx;
  const cmd = program
    .command("dashboard")
    .description("serve the web dashboard: queues, jobs, failures and retries, schedules, workers")
    .option(
      "--host <address>",
      "address to listen on; anything but loopback needs --token or --basic-auth",
      "127.0.0.1",
    )
    .option(
      "--port <n>",
      `port to listen on, 0 for any free one (default ${DEFAULT_DASHBOARD_PORT})`,
      intParser(0, 65_535),
      DEFAULT_DASHBOARD_PORT,
    )
    .option(
      "--token <token>",
      "require this bearer token (sign-in form or Authorization header); default $CONVEYOR_DASHBOARD_TOKEN",
    )
    .option("--basic-auth <user:pass>", "require HTTP basic auth with this user and password")
    .option("--read-only", "show everything, change nothing (no retry, cancel, delete, pause)")
    .option("--base-path <path>", 'serve under this path, e.g. "/conveyor" behind a reverse proxy')
    .addHelpText(
      "after",
      [
        "",
        "It also serves Prometheus metrics at <base>/metrics, behind the same auth. Ctrl-C or SIGTERM stops it.",
        "",
        "Example:",
        "  $ conveyor dashboard --store sqlite:./conveyor.db",
        "  $ CONVEYOR_DASHBOARD_TOKEN=$(openssl rand -hex 16) conveyor dashboard --host 0.0.0.0 --read-only",
      ].join("\n"),
    );
  storeOption(cmd);
  cmd.action(async (flags: DashboardFlags) => {
    const auth = dashboardAuth(flags, io);
    if (!isLoopback(flags.host) && auth === undefined) {
      throw new UsageError(
        `--host ${flags.host} is reachable from other machines: give --token <t> or --basic-auth <user:pass> ` +
          "(or $CONVEYOR_DASHBOARD_TOKEN), or keep the default 127.0.0.1",
      );
    }
    const url = storeUrl(flags.store, io);
    assertStoreExists(url, io);
    const app = await Conveyor.open({ store: url });
    const metrics = createMetrics(app);
    try {
      const server = await serveDashboard({
        admin: app.admin,
        host: flags.host,
        port: flags.port,
        ...(auth ? { auth } : {}),
        ...(flags.readOnly ? { readOnly: true } : {}),
        ...(flags.basePath !== undefined ? { basePath: flags.basePath } : {}),
        metrics: metrics.handler,
      });
      const notes = [
        auth === undefined ? "no auth (this machine only)" : "token" in auth ? "token auth" : "basic auth",
        flags.readOnly ? "read-only" : null,
      ].filter(Boolean);
      println(io.stdout, `dashboard: ${server.url} (store ${url}; ${notes.join(", ")})`);
      println(io.stdout, io.signal ? "serving until stopped" : "Ctrl-C or SIGTERM stops it");
      await waitForStop(io);
      println(io.stdout, "dashboard stopped");
      await server.close();
    } finally {
      metrics.close();
      await app.close();
    }
  });
}
