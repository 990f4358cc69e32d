import { type ChildProcess, fork } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach } from "vitest";

/**
 * Worker child processes for fault tests: `start(fixture, args)` forks a TypeScript fixture (through tsx) and
 * resolves once it sends its first IPC message ("ready"); after each test every child still alive is
 * SIGKILLed and the temporary directory removed.
 */
export function useWorkerProcesses(prefix: string) {
  const children: ChildProcess[] = [];
  let dir = "";
  afterEach(() => {
    for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = "";
  });
  return {
    /** A fresh temporary directory for this test (removed after it). */
    tempDir(): string {
      dir = mkdtempSync(join(tmpdir(), prefix));
      return dir;
    },
    start(fixture: string, args: string[]): Promise<ChildProcess> {
      const child = fork(fixture, args, {
        execArgv: ["--import", "tsx"],
        stdio: ["ignore", "inherit", "inherit", "ipc"],
      });
      children.push(child);
      return new Promise((resolve, reject) => {
        child.once("message", () => resolve(child));
        child.once("exit", (code) => reject(new Error(`worker ${args.join(" ")} exited early with ${code}`)));
      });
    },
  };
}
