import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openSqliteStore } from "../src/sqlite/index.js";
import { describeStore } from "../src/testing/index.js";

describeStore({
  name: "sqlite",
  makeStore: async () => {
    const dir = mkdtempSync(join(tmpdir(), "conveyor-sqlite-"));
    const path = join(dir, "jobs.db");
    const store = await openSqliteStore({ path });
    return {
      store,
      cleanup: async () => rmSync(dir, { recursive: true, force: true }),
      connect: () => openSqliteStore({ path }),
    };
  },
  capabilities: { durable: true, crossProcessWatch: true },
});
