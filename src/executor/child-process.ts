/**
 * Entry of a process executor's child process (forked by process.ts with an IPC channel). An uncaught
 * exception is reported to the pool (`fatal`) and the process exits with code 1.
 * @internal
 */
import { type ChildTransport, reportFatal, serveChild } from "./child-runtime.js";
import type { ParentMessage } from "./protocol.js";

if (!process.send) throw new Error("child-process.js must be started by the process executor (with IPC)");
const send = process.send.bind(process);

const transport: ChildTransport = {
  send: (message) => {
    send(message);
  },
  onMessage: (listener) => process.on("message", (m) => listener(m as ParentMessage)),
  memoryMb: () => process.memoryUsage.rss() / 1_048_576,
  exit: (code) => process.exit(code),
};

process.on("uncaughtException", (err) => {
  reportFatal(transport, err);
  process.stderr.write(`conveyor process executor: uncaught exception: ${err.stack ?? String(err)}\n`);
  process.exit(1);
});
// The parent went away: nothing left to report to.
process.on("disconnect", () => process.exit(0));
serveChild(transport);
