import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const run = promisify(execFile);
const root = join(import.meta.dirname, "..");

describe("examples", () => {
  it("quick-start runs both jobs to completion and exits on its own", async () => {
    const { stdout } = await run(process.execPath, ["--import", "tsx", "examples/quick-start.ts"], {
      cwd: root,
      timeout: 30_000,
    });
    expect(stdout).toMatch(/^completed 1 \{"ok":true,"fileId":"f1"\}$/m);
    expect(stdout).toMatch(/^completed 2 \{"ok":true,"fileId":"f2"\}$/m);
  });
});
