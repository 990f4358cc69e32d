/**
 * The entry of a process thread: imports the process module, runs its function with a {@link ThreadSelf},
 * and reports the outcome to the node.
 * @internal
 */
import { parentPort, workerData } from "node:worker_threads";
import { OptionsError } from "../errors.js";
import { PayloadCloneError } from "./errors.js";
import {
  type FromThread,
  isCloneError,
  THREAD_PROTOCOL_VERSION,
  type ThreadStart,
  type ToThread,
  toWire,
} from "./thread-protocol.js";
import { type ThreadProcessFn, ThreadSelf } from "./thread-self.js";

const port = parentPort;
if (port === null) throw new Error("conveyor/process thread entry must run in a worker thread");
const start = workerData as ThreadStart;
const self = new ThreadSelf(port, start.pid, start.flag, start.trapLinks, start.mailbox);
port.on("message", (m: ToThread) => self.dispatch(m));

function done(m: FromThread): void {
  self.end();
  try {
    port?.postMessage(m);
  } catch (e) {
    const error = isCloneError(e) ? new PayloadCloneError("the process result", e) : e;
    port?.postMessage({ t: "done", ok: false, error: toWire(error) } satisfies FromThread);
  }
}

async function main(): Promise<void> {
  if (start.version !== THREAD_PROTOCOL_VERSION) {
    throw new OptionsError(`process thread protocol ${start.version} is not ${THREAD_PROTOCOL_VERSION}`);
  }
  let mod: Record<string, unknown>;
  try {
    mod = (await import(start.module)) as Record<string, unknown>;
  } catch (e) {
    throw new OptionsError(`cannot load process module ${start.module}: ${(e as Error).message}`, {
      cause: e,
    });
  }
  const fn = mod[start.export];
  if (typeof fn !== "function") {
    throw new OptionsError(`process module ${start.module} has no function export "${start.export}"`);
  }
  const result: unknown = await (fn as ThreadProcessFn)(self, ...start.args);
  done({ t: "done", ok: true, result });
}

main().catch((e: unknown) => done({ t: "done", ok: false, error: toWire(e) }));
