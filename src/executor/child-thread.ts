/**
 * Entry of a thread executor's worker thread (loaded by thread.ts). Uncaught exceptions end the thread; the
 * pool sees them as the Worker's `error` event and reports a crash.
 * @internal
 */
import { getHeapStatistics } from "node:v8";
import { parentPort } from "node:worker_threads";
import { serveChild } from "./child-runtime.js";
import type { ParentMessage } from "./protocol.js";

const port = parentPort;
if (!port) throw new Error("child-thread.js must run in a worker thread");

serveChild({
  send: (message) => port.postMessage(message),
  onMessage: (listener) => port.on("message", (m: ParentMessage) => listener(m)),
  memoryMb: () => getHeapStatistics().used_heap_size / 1_048_576,
  exit: (code) => process.exit(code),
});
