/**
 * The process runtime bench: local messages/s (send + receive), spawns/s and call round trips/s, for
 * Conveyor's `conveyor/process` (from dist/, so build first) or nact, in this process.
 *
 * usage: node bench/process-runtime.mjs --system conveyor-process|nact [--jobs N]
 * Prints one JSON line: { system, msgsPerSec, spawnsPerSec, callsPerSec, jobsPerSec (= msgsPerSec) }.
 *
 * - messages: one receiver; N messages sent from outside in bursts of 1,000, the receiver awaits each one.
 * - spawns: N processes spawned that return at once; timed until the last has ended.
 * - calls: one echo server; N sequential request/reply round trips from outside (Conveyor: `node.call`
 *   with the default 5 s timeout; nact: `query` with a 5 s timeout).
 */
import { report, run } from "./lib/output.mjs";

const argv = process.argv.slice(2);
const arg = (name, dflt) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : dflt;
};
const system = arg("system", "conveyor-process");
const jobs = Number(arg("jobs", "1000000"));
const BURST = 1_000;

const rate = (n, startNs) => Math.round(n / (Number(process.hrtime.bigint() - startNs) / 1e9));
const tick = () => new Promise((r) => setImmediate(r));

async function conveyor() {
  const { createNode } = await import("../dist/process/index.js");
  const node = createNode({ name: "bench", mailboxSize: Number.POSITIVE_INFINITY });
  /** @param {number} n */
  const messages = async (n) => {
    const rx = node.spawn(async (self) => {
      const ch = self.listen("m");
      for (let i = 0; i < n; i++) await ch.receive();
    });
    await tick();
    const done = node.waitExit(rx);
    const t0 = process.hrtime.bigint();
    for (let sent = 0; sent < n; ) {
      const end = Math.min(n, sent + BURST);
      for (; sent < end; sent++) node.send(rx, "m", sent);
      await Promise.resolve();
    }
    await done;
    return rate(n, t0);
  };
  /** @param {number} n */
  const spawns = async (n) => {
    const fn = async () => 1;
    const t0 = process.hrtime.bigint();
    let last = "";
    for (let i = 0; i < n; i++) last = node.spawn(fn);
    await node.waitExit(last);
    while (node.size > 0) await tick();
    return rate(n, t0);
  };
  /** @param {number} n */
  const calls = async (n) => {
    const server = node.spawn(async (self) => {
      const ch = self.listen("echo", { message: true });
      for (;;) {
        const m = await ch.receive();
        if (m === undefined) return;
        m.reply(m.payload);
      }
    });
    await tick();
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) await node.call(server, "echo", i);
    const r = rate(n, t0);
    node.kill(server);
    return r;
  };
  return { messages, spawns, calls };
}

async function nact() {
  const { start, spawnStateless, dispatch, query, stop } = await import("nact");
  const system = start();
  /** @param {number} n */
  const messages = async (n) => {
    let got = 0;
    /** @type {() => void} */
    let finish = () => {};
    const done = new Promise((r) => {
      finish = () => r(undefined);
    });
    const rx = spawnStateless(system, () => {
      if (++got === n) finish();
    });
    await tick();
    const t0 = process.hrtime.bigint();
    for (let sent = 0; sent < n; ) {
      const end = Math.min(n, sent + BURST);
      for (; sent < end; sent++) dispatch(rx, sent);
      await Promise.resolve();
    }
    await done;
    const r = rate(n, t0);
    stop(rx);
    return r;
  };
  /** @param {number} n */
  const spawns = async (n) => {
    // nact has no "process that ends by returning": spawn, then stop each (the nearest equivalent).
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) {
      const a = spawnStateless(system, () => {});
      stop(a);
    }
    await tick();
    return rate(n, t0);
  };
  /** @param {number} n */
  const calls = async (n) => {
    const server = spawnStateless(system, (msg) => dispatch(msg.sender, msg.value));
    await tick();
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) await query(server, (sender) => ({ sender, value: i }), 5_000);
    const r = rate(n, t0);
    stop(server);
    return r;
  };
  return { messages, spawns, calls, close: () => stop(system) };
}

run(async () => {
  const impl = system === "nact" ? await nact() : await conveyor();
  // a short warm-up so the JIT has seen every path
  await impl.messages(Math.min(jobs, 20_000));
  await impl.spawns(Math.min(jobs, 20_000));
  await impl.calls(Math.min(jobs, 5_000));
  const msgsPerSec = await impl.messages(jobs);
  const spawnsPerSec = await impl.spawns(Math.max(1, Math.floor(jobs / 4)));
  const callsPerSec = await impl.calls(Math.max(1, Math.floor(jobs / 4)));
  report({ system, jobs, msgsPerSec, spawnsPerSec, callsPerSec, jobsPerSec: msgsPerSec });
});
