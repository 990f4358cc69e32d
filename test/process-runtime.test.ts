import { describe, expect, it } from "vitest";
import {
  after,
  CallTimeoutError,
  Channel,
  createNode,
  EXIT,
  type ExitEvent,
  LINK_DOWN,
  type Message,
  NameTakenError,
  NoProcessError,
  type ProcessEvent,
  ProcessExitError,
  type Self,
  select,
  tick,
} from "../src/process/index.js";
import { FakeClock } from "../src/testing/index.js";

const flush = () => new Promise<void>((r) => setImmediate(r));

describe("process runtime", () => {
  describe("calls", () => {
    it("answers call with msg.reply and drops a late reply after the timeout", async () => {
      const clock = new FakeClock();
      const node = createNode({ clock });
      let late: Message | undefined;
      const server = node.spawn(async (self: Self) => {
        const ch = self.listen<number>("double", { message: true });
        for (;;) {
          const m = await ch.receive();
          if (m === undefined) return;
          if (m.payload < 0) late = m;
          else m.reply(m.payload * 2);
        }
      });
      await expect(node.call(server, "double", 21)).resolves.toBe(42);
      const p = node.call(server, "double", -1, { timeoutMs: 100 });
      await flush();
      clock.advance(100);
      await expect(p).rejects.toBeInstanceOf(CallTimeoutError);
      expect(late?.reply(1)).toBe(false);
      await expect(node.call("nobody", "x")).rejects.toBeInstanceOf(NoProcessError);
    });

    it("rejects a call when the callee dies before replying", async () => {
      const node = createNode();
      const pid = node.spawn(async (self: Self) => {
        await self.inbox().receive();
        throw new Error("boom");
      });
      await expect(node.call(pid, "anything", 1)).rejects.toBeInstanceOf(NoProcessError);
    });
  });

  describe("channels and select", () => {
    it("hands values to waiting receivers and buffers otherwise; close drains then ends", async () => {
      const ch = new Channel<number>({ capacity: 2 });
      const waiting = ch.receive();
      expect(ch.send(1)).toBe(true);
      await expect(waiting).resolves.toBe(1);
      expect(ch.send(2)).toBe(true);
      expect(ch.send(3)).toBe(true);
      expect(ch.send(4)).toBe(false);
      expect(ch.tryReceive()).toEqual({ ok: true, value: 2 });
      ch.close();
      expect(ch.send(5)).toBe(false);
      await expect(ch.receive()).resolves.toBe(3);
      await expect(ch.receive()).resolves.toBeUndefined();
      expect(ch.tryReceive()).toEqual({ ok: false, closed: true });
    });

    it("drop-oldest keeps the newest values", () => {
      const ch = new Channel<number>({ capacity: 2, overflow: "drop-oldest" });
      for (const v of [1, 2, 3]) expect(ch.send(v)).toBe(true);
      expect([ch.tryReceive(), ch.tryReceive()]).toEqual([
        { ok: true, value: 2 },
        { ok: true, value: 3 },
      ]);
    });

    it("select returns the case that fired, prefers ready cases in order, and times out with after()", async () => {
      const clock = new FakeClock();
      const a = new Channel<string>();
      const b = new Channel<number>();
      b.send(7);
      a.send("x");
      const first = await select([a, b]);
      expect(first).toMatchObject({ channel: a, index: 0, ok: true, value: "x" });
      const second = await select([a, b]);
      expect(second).toMatchObject({ channel: b, index: 1, value: 7 });
      const timeout = after(50, clock);
      const pending = select([a, b, timeout]);
      clock.advance(50);
      const third = await pending;
      expect(third.channel).toBe(timeout);
      a.send("later");
      expect(await a.receive()).toBe("later");
    });

    it("tick delivers repeatedly until stopped and never builds a backlog", async () => {
      const clock = new FakeClock(0);
      const t = tick(10, clock);
      clock.advance(35);
      expect(t.size).toBe(1);
      expect(await t.receive()).toBe(10);
      clock.advance(10);
      expect(await t.receive()).toBe(40);
      t.stop();
      clock.advance(100);
      expect(t.size).toBe(0);
      expect(clock.pending).toBe(0);
    });
  });

  describe("messages", () => {
    it("routes by topic, wildcards and inbox, with sender info in message mode", async () => {
      const node = createNode({ name: "n1" });
      const seen: unknown[] = [];
      const pid = node.spawn(async (self: Self) => {
        const plain = self.listen<string>("plain");
        const full = self.listen<string>("full", { message: true });
        const wild = self.listen<string>("metrics.*");
        self.send(self.pid, "ready", null);
        seen.push(await plain.receive());
        const m = await full.receive();
        seen.push([m?.from, m?.topic, m?.payload]);
        seen.push(await wild.receive());
        const other = await self.inbox().receive();
        seen.push([other?.topic, other?.payload]);
      });
      expect(pid).toBe("n1.1");
      await flush();
      expect(node.send(pid, "other", 4)).toBe(true);
      expect(node.send(pid, "metrics.cpu", 3)).toBe(true);
      expect(node.send(pid, "full", 2)).toBe(true);
      expect(node.send(pid, "plain", 1)).toBe(true);
      const exit = await node.waitExit(pid);
      expect(exit.error).toBeUndefined();
      expect(seen).toEqual([1, [undefined, "full", 2], 3, ["ready", null]]);
      expect(node.send(pid, "plain", 1)).toBe(false);
    });

    it("bounded mailbox: send returns false when the topic channel is full", async () => {
      const node = createNode({ mailboxSize: 3 });
      const pid = node.spawn(async (self: Self) => {
        await self.after(1_000_000).receive();
      });
      const results = [1, 2, 3, 4].map((i) => node.send(pid, "t", i));
      expect(results).toEqual([true, true, true, false]);
      node.kill(pid);
    });

    it("sends by registered name; names are freed on exit; a taken name fails with a clear error", async () => {
      const node = createNode();
      const pid = node.spawn(
        async (self: Self) => {
          expect(self.lookup("svc")).toBe(self.pid);
          expect(() => self.node.register("svc", "node.999")).toThrow(NoProcessError);
          return await self.listen("stop").receive();
        },
        [],
        { name: "svc" },
      );
      const other = node.spawn(async (self: Self) => self.listen("never").receive());
      expect(() => node.register("svc", other)).toThrow(NameTakenError);
      try {
        node.register("svc", other);
      } catch (e) {
        expect((e as NameTakenError).code).toBe("ERR_NAME_TAKEN");
      }
      expect(node.send("svc", "stop", "bye")).toBe(true);
      expect(await node.waitExit(pid)).toMatchObject({ kind: EXIT, result: "bye" });
      expect(node.lookup("svc")).toBeUndefined();
      expect(node.send("svc", "stop", 1)).toBe(false);
      node.register("svc", other);
      expect(node.unregister("svc")).toBe(true);
      expect(node.unregister("svc")).toBe(false);
      node.kill(other);
    });
  });

  describe("monitors and links", () => {
    it("spawnMonitor delivers EXIT with the result or the error; monitor of a dead pid gives noproc", async () => {
      const node = createNode();
      const events: ProcessEvent[] = [];
      const parent = node.spawn(async (self: Self) => {
        const ev = self.events();
        const ok = self.spawnMonitor(async () => 42);
        const bad = self.spawnMonitor(async () => {
          throw new Error("bad");
        });
        events.push((await ev.receive()) as ProcessEvent, (await ev.receive()) as ProcessEvent);
        self.monitor(ok);
        events.push((await ev.receive()) as ProcessEvent);
        return [ok, bad];
      });
      const exit = await node.waitExit(parent);
      const [ok, bad] = exit.result as string[];
      expect(events[0]).toEqual({ kind: EXIT, from: ok, result: 42 });
      expect(events[1]).toMatchObject({ kind: EXIT, from: bad, error: new Error("bad") });
      expect(events[2]).toMatchObject({ kind: EXIT, from: ok });
      expect(((events[2] as ExitEvent).error as ProcessExitError).reason).toBe("noproc");
    });

    it("an abnormal exit kills linked processes; a trapping one gets LINK_DOWN instead", async () => {
      const node = createNode();
      const got: ProcessEvent[] = [];
      const trapper = node.spawn(async (self: Self) => {
        self.setOptions({ trapLinks: true });
        expect(self.getOptions()).toEqual({ trapLinks: true });
        const ev = self.events();
        const victim = self.spawn(async (s: Self) => s.listen("never").receive());
        const crasher = self.spawnLink(async (s: Self) => {
          s.link(victim);
          await s.listen("go").receive();
          throw new Error("crash");
        });
        self.monitor(victim);
        await Promise.resolve();
        await Promise.resolve();
        self.send(crasher, "go", 1);
        got.push((await ev.receive()) as ProcessEvent, (await ev.receive()) as ProcessEvent);
        return { victim, crasher };
      });
      const exit = await node.waitExit(trapper);
      const { victim, crasher } = exit.result as { victim: string; crasher: string };
      const byKind = Object.fromEntries(got.map((e) => [e.kind, e]));
      expect(byKind[LINK_DOWN]).toMatchObject({ from: crasher, error: new Error("crash") });
      const victimExit = byKind[EXIT] as ExitEvent;
      expect(victimExit.from).toBe(victim);
      expect((victimExit.error as ProcessExitError).reason).toBe("link");
      expect((victimExit.error as ProcessExitError).from).toBe(crasher);
    });

    it("kill makes a process's pending receive reject so it unwinds; its signal aborts", async () => {
      const node = createNode();
      let caught: unknown;
      let aborted = false;
      const pid = node.spawn(async (self: Self) => {
        self.signal.addEventListener("abort", () => {
          aborted = true;
        });
        try {
          await self.listen("x").receive();
        } catch (e) {
          caught = e;
          expect(self.send(self.pid, "x", 1)).toBe(false);
        }
      });
      await flush();
      expect(node.kill(pid)).toBe(true);
      await flush();
      expect(caught).toBeInstanceOf(ProcessExitError);
      expect(aborted).toBe(true);
      expect(node.kill(pid)).toBe(false);
    });

    it("exit(pid, 'normal') is ignored by a non-trapping process; other reasons end it", async () => {
      const node = createNode();
      const pid = node.spawn(async (self: Self) => self.listen("x").receive());
      node.exit(pid, "normal");
      expect(node.alive(pid)).toBe(true);
      const done = node.waitExit(pid);
      node.exit(pid, "shutdown");
      const e = await done;
      expect((e.error as ProcessExitError).reason).toBe("shutdown");
    });
  });
});
