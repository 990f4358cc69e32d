import { openSystem, SYSTEMS } from "../systems/index.mjs";
import { int, parseArgs, str } from "./args.mjs";

/**
 * The options every scenario script takes, and the system they name, opened.
 * `--system <name> --queue <name> --redis <url> --db <file> --jobs <n> --timeout-ms <n>`.
 */
export async function setup() {
  const args = parseArgs();
  const system = str(args, "system");
  const info = SYSTEMS[system];
  if (!info) throw new Error(`unknown system ${system}`);
  const redisUrl = typeof args.redis === "string" ? args.redis : null;
  const options = {
    queue: str(args, "queue", "bench"),
    redisUrl,
    dbPath: typeof args.db === "string" ? args.db : null,
  };
  const sys = await openSystem(system, options);
  return {
    args,
    system,
    info,
    sys,
    redisUrl: info.redis ? redisUrl : null,
    jobs: int(args, "jobs"),
    timeoutMs: int(args, "timeout-ms", 300_000),
  };
}

/**
 * A promise that settles when `count` reaches `target`, or rejects after `timeoutMs`.
 * @param {number} target
 * @param {number} timeoutMs
 */
export function counter(target, timeoutMs) {
  let count = 0;
  /** @type {() => void} */
  let resolve = () => {};
  /** @type {(err: Error) => void} */
  let reject = () => {};
  const done = new Promise((res, rej) => {
    resolve = res;
    reject = rej;
  });
  const timer = setTimeout(
    () => reject(new Error(`timed out after ${timeoutMs} ms with ${count} of ${target} jobs done`)),
    timeoutMs,
  );
  // Not unref'd on purpose: it keeps the process alive while it waits (Conveyor's own timers are unref'd).
  if (target <= 0) resolve();
  return {
    done,
    /** Counts one; settles `done` at the target. */
    inc() {
      if (++count === target) {
        clearTimeout(timer);
        resolve();
      }
    },
    get count() {
      return count;
    },
  };
}

/**
 * Sleeps `ms` milliseconds (timer resolution: ~1 ms).
 * @param {number} ms
 */
export function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
