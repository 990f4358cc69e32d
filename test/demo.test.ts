/**
 * `conveyor demo` serves the dashboard: it prints its URL, keeps serving (with the worker and its schedule) on
 * a terminal until Ctrl-C, and exits 0 after its summary when its output is not a terminal. In-process runs
 * with captured streams, and the built CLI in a real pseudo-terminal (util-linux `script`) stopped by Ctrl-C.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { Overview } from "../src/admin/types.js";
import type { CliIO } from "../src/cli/io.js";
import { DEMO_SCHEDULE, runDemo } from "../src/demo/demo.js";
import type { ScheduleRecord } from "../src/store/store.js";
import { eventually } from "./helpers/eventually.js";

const root = resolve(import.meta.dirname, "..");
const dir = mkdtempSync(join(tmpdir(), "conveyor-demo-test-"));
let n = 0;
const freshStore = () => `sqlite:${join(dir, `demo${++n}.db`)}`;

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Captured streams, as a terminal (`tty`) or pipes; `out.stdout` fills while the demo runs. */
function streams(tty: boolean, signal?: AbortSignal) {
  const out = { stdout: "", stderr: "" };
  const stream = (key: "stdout" | "stderr") => ({
    write: (s: string) => {
      out[key] += s;
      return true;
    },
    isTTY: tty,
    columns: 120,
    rows: 40,
    on: () => {},
    removeListener: () => {},
  });
  const io: CliIO = {
    stdout: stream("stdout"),
    stderr: stream("stderr"),
    env: {},
    ...(signal ? { signal } : {}),
  };
  return { io, out };
}

async function getJson<T>(url: string): Promise<T> {
  const r = await fetch(url);
  expect(r.status).toBe(200);
  return (await r.json()) as T;
}

function dashboardUrl(text: string): string | false {
  return /^dashboard: (http:\/\/127\.0\.0\.1:\d+\/)/m.exec(text)?.[1] ?? false;
}

describe("demo with the dashboard", () => {
  it("not on a terminal: serves the dashboard while it runs, then closes it and returns 0 after the summary", async () => {
    const { io, out } = streams(false);
    const running = runDemo({ store: freshStore(), jobs: 25, dashboard: { port: 0 } }, io);
    const url = String(await eventually(() => dashboardUrl(out.stdout)));
    const during = await getJson<Overview>(`${url}api/overview`);
    const code = await running;
    expect(out.stderr).toBe("");
    expect(code).toBe(0);
    expect(during.storeKind).toBe("sqlite");
    expect(out.stdout).toContain("all 25 jobs reached a final state");
    expect(out.stdout).toContain("dashboard closed");
    await expect(fetch(url)).rejects.toThrow();
  });

  it("on a terminal: keeps the worker, its schedule and the dashboard running after the summary until stopped", async () => {
    const stop = new AbortController();
    const { io, out } = streams(true, stop.signal);
    const store = freshStore();
    const running = runDemo({ store, jobs: 25, dashboard: { port: 0 } }, io);
    await eventually(() => out.stdout.includes("Ctrl-C exits."), { timeoutMs: 30_000 });
    const url = dashboardUrl(out.stdout);
    expect(url).not.toBe(false);
    const overview = await getJson<Overview>(`${url}api/overview`);
    expect(overview.totals.completed).toBeGreaterThanOrEqual(24);
    expect(overview.totals.discarded).toBe(1);
    expect(overview.workers).toBe(1);
    expect(overview.throughput.reduce((s, p) => s + p.completed, 0)).toBeGreaterThanOrEqual(24);
    const schedules = await getJson<ScheduleRecord[]>(`${url}api/schedules`);
    expect(schedules.map((s) => [s.id, s.paused])).toEqual([[DEMO_SCHEDULE.id, false]]);
    const page = await fetch(`${url}queues/crm?state=discarded`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain("CRM rejected account");
    stop.abort();
    expect(await running).toBe(0);
    expect(out.stdout).toContain("stopping...");
    await expect(fetch(String(url))).rejects.toThrow();
  });

  it("falls back to a free port when 4300 is taken", async () => {
    // Hold 4300 (if something else already holds it, the demo must fall back all the same).
    const holder: Server = createServer((_req, res) => res.end("someone else"));
    await new Promise<void>((r) => {
      holder.once("error", () => r());
      holder.listen(4300, "127.0.0.1", r);
    });
    try {
      const { io, out } = streams(false);
      expect(await runDemo({ store: freshStore(), jobs: 5 }, io)).toBe(0);
      const url = dashboardUrl(out.stdout);
      expect(url).not.toBe(false);
      expect(new URL(String(url)).port).not.toBe("4300");
    } finally {
      holder.close();
    }
  });

  it("the built CLI in a real terminal: prints the URL, serves it, and exits 0 on Ctrl-C", async () => {
    const main = join(root, "dist/cli/main.js");
    expect(existsSync(main), "run `npm run build` first (npm test does)").toBe(true);
    const store = freshStore();
    // `script` runs `$SHELL -c cmd`; without SHELL that is dash, which stays as the parent, gets the same
    // SIGINT from the terminal and dies with 130. `exec` makes the CLI the terminal's only process, as in a
    // user's shell.
    const cmd = `exec ${process.execPath} ${main} demo --jobs 20 --store ${store}`;
    const child = spawn("script", ["-qefc", cmd, "/dev/null"], {
      cwd: root,
      env: { ...process.env, CI: "", TERM: "xterm" },
      stdio: ["pipe", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (c: Buffer) => (output += c.toString()));
    child.stderr.on("data", (c: Buffer) => (output += c.toString()));
    const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
    try {
      await eventually(() => output.includes("Ctrl-C exits."), { timeoutMs: 40_000 });
      const url = /dashboard: (http:\/\/127\.0\.0\.1:\d+\/)/.exec(output)?.[1];
      expect(url).toBeDefined();
      const page = await fetch(String(url));
      expect(page.status).toBe(200);
      expect(await page.text()).toContain("Overview");
      child.stdin.write("\x03"); // Ctrl-C, through the terminal's line discipline: SIGINT
      expect(await exited).toBe(0);
      expect(output).toContain("stopping...");
      await expect(fetch(String(url))).rejects.toThrow();
    } finally {
      if (child.exitCode === null) child.kill("SIGKILL");
    }
  });
});
