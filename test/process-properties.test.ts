import { describe, expect, it } from "vitest";
import { createNode, EXIT, type ProcessNode, type Self } from "../src/process/index.js";

/** A small seeded PRNG (mulberry32) so failures replay. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const flush = () => new Promise<void>((r) => setImmediate(r));

interface Actor {
  self: Self | undefined;
  pid: string;
}

/** A process that parks forever and exposes its `self` so the test can act through it. */
function spawnActor(node: ProcessNode, trap: boolean, actors: Map<string, Actor>): string {
  const actor: Actor = { self: undefined, pid: "" };
  actor.pid = node.spawn(
    async (self: Self) => {
      actor.self = self;
      await self.listen("never").receive();
    },
    [],
    { trapLinks: trap },
  );
  actors.set(actor.pid, actor);
  return actor.pid;
}

describe("process runtime properties (200 seeded random runs)", () => {
  it("links are symmetric, monitors one-way, names freed on exit", async () => {
    for (let seed = 1; seed <= 200; seed++) {
      const rand = rng(seed);
      const pick = <T>(xs: T[]): T => xs[Math.floor(rand() * xs.length)] as T;
      const node = createNode({ name: `s${seed}` });
      const actors = new Map<string, Actor>();
      for (let i = 0; i < 6; i++) spawnActor(node, rand() < 0.3, actors);
      await flush();
      // model: expected links (unordered pairs) and monitors (ordered pairs) among live actors
      const links = new Set<string>();
      const monitors = new Set<string>();
      const key = (a: string, b: string) => (a < b ? `${a}|${b}` : `${b}|${a}`);
      const names = new Map<string, string>();
      const selfOf = (pid: string): Self => {
        const s = actors.get(pid)?.self;
        if (s === undefined) throw new Error(`no self for ${pid}`);
        return s;
      };
      for (let step = 0; step < 25; step++) {
        const live = [...actors.keys()].filter((p) => node.alive(p));
        if (live.length < 2) {
          spawnActor(node, rand() < 0.3, actors);
          await flush();
          continue;
        }
        const a = pick(live);
        const b = pick(live.filter((p) => p !== a));
        const self = selfOf(a);
        const op = rand();
        if (op < 0.25) {
          expect(self.link(b)).toBe(true);
          links.add(key(a, b));
        } else if (op < 0.35) {
          self.unlink(b);
          links.delete(key(a, b));
        } else if (op < 0.55) {
          self.monitor(b);
          monitors.add(`${a}>${b}`);
        } else if (op < 0.6) {
          self.unmonitor(b);
          monitors.delete(`${a}>${b}`);
        } else if (op < 0.7) {
          const name = `n${Math.floor(rand() * 4)}`;
          if (!names.has(name)) {
            self.register(name);
            names.set(name, a);
          }
        } else {
          // exit b: normal-ish ("shutdown") or kill, and apply the model's propagation
          const before = new Set(live);
          const evBefore = new Map(live.map((p) => [p, actors.get(p)?.self?.events().size ?? 0]));
          node.exit(b, rand() < 0.5 ? "kill" : "shutdown");
          const after = new Set([...actors.keys()].filter((p) => node.alive(p)));
          // whoever died: every linked non-trapping neighbour of a dead process is dead too
          for (const dead of [...before].filter((p) => !after.has(p))) {
            for (const pair of links) {
              const [x, y] = pair.split("|") as [string, string];
              const other = x === dead ? y : y === dead ? x : undefined;
              if (other === undefined) continue;
              const trapping = actors.get(other)?.self?.getOptions().trapLinks ?? false;
              if (!trapping) expect(after.has(other)).toBe(false);
            }
            // every live watcher of a dead process got exactly one more EXIT from it
            for (const m of monitors) {
              const [w, t] = m.split(">") as [string, string];
              if (t !== dead || !after.has(w)) continue;
              const got = actors.get(w)?.self?.events() as { size: number };
              expect(got.size).toBeGreaterThan(evBefore.get(w) ?? 0);
            }
            for (const [n, owner] of names) if (owner === dead) names.delete(n);
          }
          for (const pair of [...links]) {
            const [x, y] = pair.split("|") as [string, string];
            if (!after.has(x) || !after.has(y)) links.delete(pair);
          }
          for (const m of [...monitors]) {
            const [w, t] = m.split(">") as [string, string];
            if (!after.has(w) || !after.has(t)) monitors.delete(m);
          }
        }
        // invariants on the runtime's own state
        for (const p of [...actors.keys()].filter((x) => node.alive(x))) {
          const s = selfOf(p);
          for (const l of s.links ?? []) {
            expect(node.alive(l)).toBe(true);
            expect(selfOf(l).links?.has(p)).toBe(true);
          }
          for (const t of s.watching ?? []) {
            expect(selfOf(t).watchers?.has(p)).toBe(true);
            // one-way: watching does not make the target watch back unless the model says so
            if (!monitors.has(`${t}>${p}`)) expect(selfOf(t).watching?.has(p) ?? false).toBe(false);
          }
        }
        for (const [n, owner] of names) expect(node.lookup(n)).toBe(owner);
        for (const n of ["n0", "n1", "n2", "n3"]) {
          const owner = node.lookup(n);
          if (owner !== undefined) expect(node.alive(owner)).toBe(true);
        }
      }
      await node.shutdown();
      expect(node.size).toBe(0);
      for (const n of ["n0", "n1", "n2", "n3"]) expect(node.lookup(n)).toBeUndefined();
    }
  });

  it("per sender-receiver order is kept under random interleavings", async () => {
    for (let seed = 1; seed <= 200; seed++) {
      const rand = rng(seed * 7919);
      const node = createNode();
      const received: Array<[string, number]> = [];
      const total = 60;
      const receiver = node.spawn(async (self: Self) => {
        const ch = self.listen<number>("n", { message: true });
        for (let i = 0; i < total; i++) {
          const m = await ch.receive();
          if (m) received.push([m.from as string, m.payload]);
        }
      });
      const senders = [0, 1, 2].map(() =>
        node.spawn(async (self: Self) => {
          for (let i = 0; i < total / 3; i++) {
            self.send(receiver, "n", i);
            if (rand() < 0.5) await Promise.resolve();
          }
        }),
      );
      const exit = await node.waitExit(receiver);
      expect(exit.kind).toBe(EXIT);
      for (const s of senders) {
        const seq = received.filter(([f]) => f === s).map(([, v]) => v);
        expect(seq).toEqual([...Array(total / 3).keys()]);
      }
    }
  });
});
