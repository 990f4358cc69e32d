import { existsSync } from "node:fs";
import { resolve } from "node:path";
import type { Command } from "commander";
import type { DoctorCheck, DoctorReport } from "../../admin/types.js";
import { Conveyor } from "../../conveyor.js";
import { ConveyorError } from "../../errors.js";
import { formatDuration, formatTable, writeJson } from "../format.js";
import type { CliIO } from "../io.js";
import { intParser, jsonOption, sqlitePathOf, storeOption, storeUrl } from "../options.js";
import { type CommandContext, EXIT } from "../run.js";
import { example } from "../store-command.js";

interface DoctorFlags {
  store?: string;
  json?: boolean;
  timeout?: number;
}

const DEFAULT_TIMEOUT_MS = 10_000;

/** `conveyor doctor`: the admin API's checks as a table (or JSON), a verdict, and an exit code. */
export function registerDoctor(program: Command, ctx: CommandContext): void {
  const { io } = ctx;
  const cmd = program
    .command("doctor")
    .description(
      "check the store: reachable, schema current, durability settings (SQLite journal and sync, Redis " +
        "eviction and persistence), free disk, clock skew; exit 1 when a check fails",
    )
    .option(
      "--timeout <ms>",
      `give up on a store that does not answer after this long (default ${DEFAULT_TIMEOUT_MS})`,
      intParser(100, 600_000),
    )
    .addHelpText(
      "after",
      [
        "",
        "Each check is ok, warn (works, but read the detail) or fail. Exit code 0 when none fails, 1 otherwise.",
        example(
          "conveyor doctor --store sqlite:./conveyor.db",
          "conveyor doctor --store redis://localhost:6379 --json",
        ),
      ].join("\n"),
    );
  storeOption(cmd);
  jsonOption(cmd);
  cmd.action(async (flags: DoctorFlags) => {
    const url = storeUrl(flags.store, io);
    const report = await diagnose(url, io, flags.timeout ?? DEFAULT_TIMEOUT_MS);
    if (flags.json) writeJson(io.stdout, report);
    else io.stdout.write(formatReport(report));
    ctx.exit(report.verdict === "fail" ? EXIT.failure : EXIT.ok);
  });
}

/**
 * Opens the store and runs `admin.doctor()` within `timeoutMs`. A store that cannot be opened (no such SQLite
 * file, a refused connection, a newer schema) or does not answer in time is a failed "reachable" check, not
 * an error: the doctor always gives a verdict.
 */
export async function diagnose(url: string, io: CliIO, timeoutMs: number): Promise<DoctorReport> {
  const kind = url.startsWith("memory") ? "memory" : /^rediss?:/.test(url) ? "redis" : "sqlite";
  const failed = (detail: string): DoctorReport => ({
    storeKind: kind,
    at: Date.now(),
    checks: [{ name: "reachable", status: "fail", detail }],
    verdict: "fail",
  });
  const path = sqlitePathOf(url);
  if (path !== null && !existsSync(resolve(io.cwd ?? process.cwd(), path))) {
    return failed(
      `no SQLite database at ${path}: check the path (doctor does not create one; "conveyor worker" does)`,
    );
  }
  let app: Conveyor | null = null;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), timeoutMs);
    timer.unref();
  });
  const opening = Conveyor.open({ store: url });
  try {
    const run = opening.then(async (opened) => {
      app = opened;
      return opened.admin.doctor();
    });
    const result = await Promise.race([run, timeout]);
    if (result === "timeout") {
      run.catch(() => {}); // settles after we stopped waiting
      return failed(`${kind} store did not answer within ${formatDuration(timeoutMs)}`);
    }
    return result;
  } catch (error) {
    const code = error instanceof ConveyorError ? ` [${error.code}]` : "";
    const message = (error instanceof Error ? error.message : String(error)).split("\n")[0];
    return failed(`${kind} store cannot be opened: ${message}${code}`);
  } finally {
    clearTimeout(timer);
    const opened = app as Conveyor | null;
    if (opened !== null) await opened.close();
    // An open that is still under way when we gave up is closed once it completes.
    else opening.then((late) => late.close()).catch(() => {});
  }
}

const STATUS_TEXT: Record<DoctorCheck["status"], string> = { ok: "ok", warn: "WARN", fail: "FAIL" };

/** The doctor's table and verdict line. */
export function formatReport(report: DoctorReport): string {
  const table = formatTable(
    [{ header: "CHECK" }, { header: "STATUS" }, { header: "DETAIL" }],
    report.checks.map((c) => [c.name, STATUS_TEXT[c.status], c.detail]),
  );
  const warns = report.checks.filter((c) => c.status === "warn").map((c) => c.name);
  const fails = report.checks.filter((c) => c.status === "fail").map((c) => c.name);
  const parts: string[] = [];
  if (fails.length > 0) parts.push(`${fails.length} failed: ${fails.join(", ")}`);
  if (warns.length > 0) parts.push(`${warns.length} to look at: ${warns.join(", ")}`);
  const verdict =
    report.verdict === "ok"
      ? `verdict: ok (${report.storeKind} store, ${report.checks.length} checks passed)`
      : `verdict: ${report.verdict} (${report.storeKind} store; ${parts.join("; ")})`;
  return `${table}\n${verdict}\n`;
}
