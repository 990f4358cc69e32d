/**
 * The Store conformance suite. Every store runs it through {@link describeStore}; any change to the
 * semantics in `src/store/store.ts` extends it. Each area lives in its own file and exports one function
 * taking the shared {@link ConformanceContext}.
 */
import { afterEach, describe } from "vitest";
import type { Store, StoreCapabilities } from "../../store/store.js";
import { claimTests } from "./claim.js";
import { bundleOf, type ConformanceContext } from "./context.js";
import { dedupeTests } from "./dedupe.js";
import { finishTests } from "./finish.js";
import { groupTests } from "./groups.js";
import { healthTests } from "./health.js";
import { insertTests } from "./insert.js";
import { jobTypeTests } from "./job-types.js";
import { leaseTests } from "./lease.js";
import { lifecycleTests } from "./lifecycle.js";
import { limitTests } from "./limits.js";
import { operatorTests } from "./operator.js";
import { queueTests } from "./queue.js";
import { readTests } from "./read.js";
import { rescueTests } from "./rescue.js";
import { scheduleTests } from "./schedule.js";
import { stageTests } from "./stage.js";
import { statsTests } from "./stats.js";
import { watchTests } from "./watch.js";
import { workerTests } from "./workers.js";

/** Options of {@link describeStore}. */
export interface DescribeStoreOptions {
  /** Shown in the describe block: "Store conformance: <name>". */
  name: string;
  /**
   * Opens a fresh, empty store; called once per test. The suite closes the store after the test, then calls
   * `cleanup` (remove temporary files, drop a key prefix...).
   */
  makeStore: () => Promise<{ store: Store; cleanup?: () => Promise<void>; connect?: () => Promise<Store> }>;
  /** Capabilities the store must declare; checked against `store.capabilities`. */
  capabilities?: Partial<StoreCapabilities>;
}

/**
 * Declares the Store conformance suite with vitest's `describe`/`it` (vitest must be installed: it is an
 * optional peer dependency). Call it at the top level of a test file:
 *
 * ```ts
 * describeStore({ name: "memory", makeStore: async () => ({ store: new MemoryStore() }) });
 * ```
 *
 * Tests drive time through the `now` parameters only (never sleeping), except `watch`, which waits for hints
 * with a short timeout.
 */
export function describeStore(options: DescribeStoreOptions): void {
  describe(`Store conformance: ${options.name}`, () => {
    const opened: Array<{ store: Store; cleanup?: () => Promise<void>; extra: Store[] }> = [];

    afterEach(async () => {
      const toClose = opened.splice(0);
      for (const { store, cleanup, extra } of toClose) {
        for (const other of extra) await other.close();
        await store.close();
        await cleanup?.();
      }
    });

    const ctx: ConformanceContext = {
      capabilities: options.capabilities ?? {},
      async setup() {
        const made = await options.makeStore();
        const entry: (typeof opened)[number] = { store: made.store, extra: [] };
        if (made.cleanup !== undefined) entry.cleanup = made.cleanup;
        opened.push(entry);
        const bundle = bundleOf(made.store);
        const connect = made.connect;
        if (connect !== undefined) {
          bundle.connect = async () => {
            const other = await connect();
            entry.extra.push(other);
            return other;
          };
        }
        return bundle;
      },
    };

    claimTests(ctx);
    dedupeTests(ctx);
    finishTests(ctx);
    groupTests(ctx);
    healthTests(ctx);
    insertTests(ctx);
    jobTypeTests(ctx);
    leaseTests(ctx);
    lifecycleTests(ctx);
    limitTests(ctx);
    operatorTests(ctx);
    queueTests(ctx);
    readTests(ctx);
    rescueTests(ctx);
    scheduleTests(ctx);
    stageTests(ctx);
    statsTests(ctx);
    watchTests(ctx);
    workerTests(ctx);
  });
}

export type { ConformanceContext, StoreBundle } from "./context.js";
