import { afterEach, describe, expect, it } from "vitest";
import {
  CallTimeoutError,
  createNode,
  EXIT,
  type ExitEvent,
  LINK_DOWN,
  PayloadCloneError,
  type ProcessEvent,
  ProcessExitError,
  type ProcessNode,
  type Self,
  supervisor,
  ThreadExitError,
  type ThreadModule,
} from "../src/process/index.js";
import { eventually } from "./helpers/eventually.js";

const fixtures = new URL("./fixtures/process/procs.mjs", import.meta.url);
const mod = (name: string): ThreadModule => ({ module: fixtures, export: name });

let nodes: ProcessNode[] = [];
function newNode(): ProcessNode {
  const node = createNode({ name: "t" });
  nodes.push(node);
  return node;
}
afterEach(async () => {
  for (const n of nodes) await n.shutdown();
  nodes = [];
});

describe("thread-hosted processes", () => {
  it("sends and receives both ways; listen in message mode sees the sender PID", async () => {
    const node = newNode();
    const echo = node.spawn(mod("echo"), [], { host: "thread" });
    const main = node.spawn(async (self: Self) => {
      const pongs = self.listen<{ n: number; from: string; me: string }>("pong");
      const got = [];
      for (let n = 0; n < 3; n++) {
        expect(self.send(echo, "ping", { n })).toBe(true);
        got.push(await pongs.receive());
      }
      self.send(echo, "stop");
      return got;
    });
    const exit = await node.waitExit(main);
    expect(exit.result).toEqual([0, 1, 2].map((n) => ({ n, from: main, me: echo })));
    expect((await node.waitExit(echo)).result).toBe(3);
  });

  it("puts unmatched messages in the inbox and returns a cloned result", async () => {
    const node = newNode();
    const pid = node.spawn(mod("firstInbox"));
    expect(node.send(pid, "hello", { x: [1, 2] })).toBe(true);
    expect(await node.waitExit(pid)).toEqual({
      kind: EXIT,
      from: pid,
      result: { topic: "hello", payload: { x: [1, 2] }, from: undefined },
    });
    const r = node.spawn(mod("returnArgs"), [1, new Map([["k", 2]])]);
    expect((await node.waitExit(r)).result).toEqual({ a: 1, b: new Map([["k", 2]]) });
  });

  it("delivers EXIT to monitors with the result or a serialised error, and monitors from a thread", async () => {
    const node = newNode();
    const events = node.spawn(async (self: Self) => {
      const ok = self.spawnMonitor(mod("returnArgs"), ["a", "b"]);
      const bad = self.spawnMonitor(mod("fail"), ["boom"]);
      const seen = new Map<string, ExitEvent>();
      while (seen.size < 2) {
        const ev = (await self.events().receive()) as ExitEvent;
        seen.set(ev.from === ok ? "ok" : ev.from === bad ? "bad" : "?", ev);
      }
      return seen;
    });
    const seen = (await node.waitExit(events)).result as Map<string, ExitEvent>;
    expect(seen.get("ok")?.result).toEqual({ a: "a", b: "b" });
    const err = seen.get("bad")?.error;
    expect(err?.name).toBe("TypeError");
    expect(err?.message).toBe("boom");
    expect(err?.stack).toContain("procs.mjs");

    const local = node.spawn(async (self: Self) => {
      await self.listen("watching").receive();
      return 42;
    });
    const w = node.spawn(mod("watcher"), [local]);
    expect((await node.waitExit(w)).result).toEqual({ kind: EXIT, from: local, result: 42 });
  });

  it("propagates an abnormal exit along links both ways, and gives LINK_DOWN to a trapping thread", async () => {
    const node = newNode();
    // local crashes -> linked thread dies
    const local = node.spawn(async (self: Self) => {
      await self.listen("linked").receive();
      throw new Error("local crash");
    });
    const t = node.spawn(mod("linker"), [local, false]);
    const tExit = await node.waitExit(t);
    expect(tExit.error).toBeInstanceOf(ProcessExitError);
    expect((tExit.error as ProcessExitError).reason).toBe("link");

    // thread crashes -> linked local dies
    const victim = node.spawn(async (self: Self) => {
      await self.listen("never").receive();
    });
    const crasher = node.spawn(async (self: Self) => {
      const c = self.spawnLink(mod("crashOnCommand"));
      self.link(victim);
      self.send(c, "crash");
      await self.listen("never").receive();
    });
    const vExit = await node.waitExit(victim);
    expect((vExit.error as ProcessExitError).reason).toBe("link");
    expect(node.alive(crasher)).toBe(false);

    // trapping thread gets LINK_DOWN
    const local2 = node.spawn(async (self: Self) => {
      const m = (await self.listen("linked").receive()) as { ok: boolean; trap: boolean };
      expect(m).toEqual({ ok: true, trap: true });
      throw new Error("local2 crash");
    });
    const trapper = node.spawn(mod("linker"), [local2, true]);
    expect((await node.waitExit(trapper)).result).toEqual({
      kind: LINK_DOWN,
      from: local2,
      code: undefined,
      reason: undefined,
    });
  });

  it("resolves registered names to a thread process and frees them on exit", async () => {
    const node = newNode();
    const adder = node.spawn(mod("adder"), [], { name: "adder", host: "thread" });
    expect(node.lookup("adder")).toBe(adder);
    expect(await node.call("adder", "add", { a: 1, b: 2 })).toBe(3);
    node.register(
      "main-test",
      node.spawn(async (self: Self) => self.listen("registered").receive()),
    );
    const reporter = node.lookup("main-test") as string;
    const r = node.spawn(mod("registrar"), ["inner", "adder"]);
    expect((await node.waitExit(reporter)).result).toEqual({ lookup: r, takenError: "ERR_NAME_TAKEN" });
    expect(node.lookup("inner")).toBe(r);
    node.send(r, "stop");
    expect((await node.waitExit(r)).result).toBe("stopped");
    expect(node.lookup("inner")).toBeUndefined();
    node.kill(adder);
    expect(node.lookup("adder")).toBeUndefined();
    expect(() => node.spawn(mod("adder"), [], { name: "main-x" })).not.toThrow();
  });

  it("answers calls, times them out, and calls from a thread", async () => {
    const node = newNode();
    const adder = node.spawn(mod("adder"));
    expect(await node.call(adder, "add", { a: 20, b: 22 })).toBe(42);
    await expect(node.call(adder, "slow", 1, { timeoutMs: 50 })).rejects.toBeInstanceOf(CallTimeoutError);
    const c = node.spawn(mod("caller"), [adder, 1_000]);
    expect((await node.waitExit(c)).result).toBe(5);
    const mute = node.spawn(async (self: Self) => self.listen("never").receive());
    const c2 = node.spawn(mod("caller"), [mute, 30]);
    expect((await node.waitExit(c2)).result).toBe("ERR_CALL_TIMEOUT");
  });

  it("rejects uncloneable payloads with PayloadCloneError both ways", async () => {
    const node = newNode();
    const adder = node.spawn(mod("adder"));
    expect(() => node.send(adder, "add", { f: () => 1 })).toThrow(PayloadCloneError);
    await expect(node.call(adder, "add", () => 1)).rejects.toBeInstanceOf(PayloadCloneError);
    expect(() => node.spawn(mod("returnArgs"), [() => 1])).toThrow(PayloadCloneError);
    const s = node.spawn(mod("sendsFunction"), [adder]);
    expect((await node.waitExit(s)).result).toBe("ERR_PAYLOAD_CLONE");
    expect(() => node.spawn(async () => 1, [], { host: "thread" })).toThrow(/module, export/);
  });

  it("restarts a crashing thread-hosted child under a supervisor", async () => {
    const node = newNode();
    const sup = node.spawn(
      supervisor({
        children: [{ id: "w", start: mod("crashOnCommand"), name: "tw", host: "thread" }],
        maxRestarts: 5,
      }),
    );
    const first = (await eventually(() => node.lookup("tw") ?? false)) as string;
    node.send("tw", "crash");
    const second = (await eventually(() => {
      const p = node.lookup("tw");
      return p !== undefined && p !== first ? p : false;
    })) as string;
    expect(node.alive(first)).toBe(false);
    expect(node.alive(second)).toBe(true);
    node.exit(sup, "shutdown");
    await node.waitExit(sup);
    expect(node.alive(second)).toBe(false);
  });

  it("kills a thread stuck in an infinite loop by terminating it", async () => {
    const node = newNode();
    const watcher = node.spawn(async (self: Self) => {
      const pid = self.spawnMonitor(mod("spin"));
      self.send(pid, "anything");
      await new Promise((r) => setTimeout(r, 50));
      self.node.kill(pid);
      return self.events().receive();
    });
    const ev = (await node.waitExit(watcher)).result as ProcessEvent;
    expect(ev.kind).toBe(EXIT);
    expect((ev.error as ProcessExitError).reason).toBe("kill");
  });

  it("ends with ThreadExitError when the thread calls process.exit, throws uncaught, or runs out of memory", async () => {
    const node = newNode();
    const exits = node.spawn(mod("exits"), [7]);
    const e1 = (await node.waitExit(exits)).error as ThreadExitError;
    expect(e1).toBeInstanceOf(ThreadExitError);
    expect(e1.exitCode).toBe(7);
    const un = node.spawn(mod("uncaught"));
    const e2 = (await node.waitExit(un)).error as ThreadExitError;
    expect(e2).toBeInstanceOf(ThreadExitError);
    expect((e2.cause as Error).message).toBe("uncaught in thread");
    const hog = node.spawn(mod("hog"), [], { resourceLimits: { maxOldGenerationSizeMb: 16 } });
    const e3 = (await node.waitExit(hog)).error as ThreadExitError;
    expect(e3).toBeInstanceOf(ThreadExitError);
    expect((e3.cause as { code?: string }).code).toBe("ERR_WORKER_OUT_OF_MEMORY");
  });

  it("dies with a linked local process when the thread dies", async () => {
    const node = newNode();
    const parent = node.spawn(async (self: Self) => {
      self.setOptions({ trapLinks: true });
      self.spawnLink(mod("exits"), [0]);
      return self.events().receive();
    });
    const ev = (await node.waitExit(parent)).result as ProcessEvent;
    expect(ev.kind).toBe(LINK_DOWN);
    expect(ev.error).toBeInstanceOf(ThreadExitError);
  });
});
