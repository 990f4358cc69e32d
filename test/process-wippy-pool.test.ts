import { describe, expect, it } from "vitest";
import { createNode, EXIT, type ProcessEvent, type Self, select } from "../src/process/index.js";

interface Task {
  taskId: number;
  value: number;
}

/** The worker of the Wippy monitored-pool example: a short pause, then value * 2 as its result. */
async function taskWorker(self: Self, task: Task): Promise<number> {
  await self.after(10).receive();
  return task.value * 2;
}

/** The parent: spawns five monitored workers and collects every EXIT, with an overall deadline. */
async function poolParent(self: Self): Promise<Map<number, number>> {
  const events = self.events();
  const workers = new Map<string, Task>();
  for (let i = 1; i <= 5; i++) {
    const task = { taskId: i, value: i * 10 };
    workers.set(self.spawnMonitor(taskWorker, [task]), task);
  }
  const results = new Map<number, number>();
  const deadline = self.after(10_000);
  while (results.size < workers.size) {
    const r = await select([events, deadline]);
    if (r.channel === deadline) throw new Error("timeout waiting for workers");
    const event = r.value as ProcessEvent;
    if (event.kind !== EXIT) continue;
    const task = workers.get(event.from);
    if (task === undefined) continue;
    if (event.error) throw event.error;
    results.set(task.taskId, event.result as number);
  }
  return results;
}

describe("Wippy example: a monitored worker pool", () => {
  it("five monitored workers each return a result and the parent collects every EXIT", async () => {
    const node = createNode({ name: "app" });
    const parent = node.spawn(poolParent);
    const exit = await node.waitExit(parent);
    expect(exit.error).toBeUndefined();
    expect([...(exit.result as Map<number, number>)].sort((a, b) => a[0] - b[0])).toEqual([
      [1, 20],
      [2, 40],
      [3, 60],
      [4, 80],
      [5, 100],
    ]);
    expect(node.size).toBe(0);
  });
});
