import { describe, expect, it } from "vitest";
import {
  type ChildInfo,
  type ChildSpec,
  createNode,
  type ProcessExitError,
  type ProcessNode,
  RestartIntensityError,
  type Self,
  supervisor,
  WHICH_CHILDREN,
} from "../src/process/index.js";
import { FakeClock } from "../src/testing/index.js";

const flush = () => new Promise<void>((r) => setImmediate(r));

/** A child that waits for "crash" (throws) or "stop" (returns normally). */
async function worker(self: Self): Promise<string> {
  const ch = self.listen<string>("cmd");
  const cmd = await ch.receive();
  if (cmd === "crash") throw new Error("crashed");
  return "stopped";
}

const specs = (restart?: ChildSpec["restart"]): ChildSpec[] =>
  ["a", "b", "c"].map((id) => ({ id, start: worker, restart }));

async function children(node: ProcessNode, sup: string): Promise<Record<string, string | undefined>> {
  await flush();
  const list = await node.call<ChildInfo[]>(sup, WHICH_CHILDREN);
  return Object.fromEntries(list.map((c) => [c.id, c.pid]));
}

describe("supervisors", () => {
  it("one_for_one restarts only the crashed child", async () => {
    const node = createNode();
    const sup = node.spawn(supervisor({ children: specs(), strategy: "one_for_one" }));
    const before = await children(node, sup);
    node.send(before.b as string, "cmd", "crash");
    const after = await children(node, sup);
    expect(after.a).toBe(before.a);
    expect(after.c).toBe(before.c);
    expect(after.b).not.toBe(before.b);
    expect(node.alive(after.b as string)).toBe(true);
    node.kill(sup);
    await flush();
    expect(node.size).toBe(0);
  });

  it("one_for_all restarts every child", async () => {
    const node = createNode();
    const sup = node.spawn(supervisor({ children: specs(), strategy: "one_for_all" }));
    const before = await children(node, sup);
    node.send(before.a as string, "cmd", "crash");
    const after = await children(node, sup);
    for (const id of ["a", "b", "c"]) {
      expect(after[id]).not.toBe(before[id]);
      expect(node.alive(before[id] as string)).toBe(false);
    }
    node.kill(sup);
  });

  it("rest_for_one restarts the crashed child and those started after it", async () => {
    const node = createNode();
    const sup = node.spawn(supervisor({ children: specs(), strategy: "rest_for_one" }));
    const before = await children(node, sup);
    node.send(before.b as string, "cmd", "crash");
    const after = await children(node, sup);
    expect(after.a).toBe(before.a);
    expect(after.b).not.toBe(before.b);
    expect(after.c).not.toBe(before.c);
    expect(node.alive(before.c as string)).toBe(false);
    node.kill(sup);
  });

  it("transient children restart only after an abnormal exit; temporary ones never", async () => {
    const node = createNode();
    const sup = node.spawn(
      supervisor({
        children: [
          { id: "t", start: worker, restart: "transient" },
          { id: "tmp", start: worker, restart: "temporary" },
        ],
      }),
    );
    const c0 = await children(node, sup);
    node.send(c0.t as string, "cmd", "stop");
    const c1 = await children(node, sup);
    expect(c1.t).toBeUndefined();
    node.send(c0.tmp as string, "cmd", "crash");
    const c2 = await children(node, sup);
    expect(Object.keys(c2)).toEqual(["t"]);
    node.kill(sup);
  });

  it("gives up after more than maxRestarts within the window and stops its children", async () => {
    const clock = new FakeClock();
    const node = createNode({ clock });
    const sup = node.spawn(supervisor({ children: specs(), maxRestarts: 2, withinMs: 1_000 }));
    const done = node.waitExit(sup);
    for (let i = 0; i < 2; i++) {
      const c = await children(node, sup);
      node.send(c.a as string, "cmd", "crash");
    }
    // restarts spread beyond the window do not count
    await children(node, sup);
    clock.advance(1_001);
    const c = await children(node, sup);
    node.send(c.a as string, "cmd", "crash");
    const c2 = await children(node, sup);
    expect(node.alive(sup)).toBe(true);
    node.send(c2.a as string, "cmd", "crash");
    const c3 = await children(node, sup);
    node.send(c3.a as string, "cmd", "crash");
    const exit = await done;
    expect(exit.error).toBeInstanceOf(RestartIntensityError);
    expect((exit.error as RestartIntensityError).code).toBe("ERR_RESTART_INTENSITY");
    await flush();
    expect(node.size).toBe(0);
  });

  it("shuts down in reverse order, waiting for trapping children up to shutdownMs", async () => {
    const clock = new FakeClock();
    const node = createNode({ clock });
    const order: string[] = [];
    const graceful =
      (id: string) =>
      async (self: Self): Promise<void> => {
        self.setOptions({ trapLinks: true });
        await self.events().receive();
        order.push(id);
      };
    const stubborn = async (self: Self): Promise<void> => {
      self.setOptions({ trapLinks: true });
      await self.listen("never").receive();
    };
    const sup = node.spawn(
      supervisor({
        children: [
          { id: "first", start: graceful("first") },
          { id: "second", start: graceful("second") },
          { id: "stubborn", start: stubborn, shutdownMs: 500 },
        ],
      }),
    );
    const done = node.waitExit(sup);
    const c = await children(node, sup);
    node.exit(sup, "shutdown");
    await flush();
    expect(node.alive(c.stubborn as string)).toBe(true);
    clock.advance(500);
    const exit = await done;
    expect(order).toEqual(["second", "first"]);
    expect((exit.error as ProcessExitError).reason).toBe("shutdown");
    expect(node.size).toBe(0);
  });
});
