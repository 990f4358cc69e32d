import { describe, expect, it } from "vitest";
import { Conveyor, defineJob } from "../src/index.js";
import { FakeClock } from "../src/testing/index.js";

describe("FakeClock", () => {
  it("fires timers in time order as it advances, and not before", () => {
    const clock = new FakeClock(1_000);
    const fired: string[] = [];
    clock.setTimeout(() => fired.push("b@300"), 300);
    const cancel = clock.setTimeout(() => fired.push("never"), 200);
    clock.setTimeout(() => fired.push("a@100"), 100);
    cancel();
    clock.advance(99);
    expect(fired).toEqual([]);
    clock.advance(1);
    expect(fired).toEqual(["a@100"]);
    expect(clock.now()).toBe(1_100);
    clock.advance(1_000);
    expect(fired).toEqual(["a@100", "b@300"]);
    expect(clock.pending).toBe(0);
  });

  it("drives delays and backoff of a real app without sleeping", async () => {
    const clock = new FakeClock();
    const app = await Conveyor.open({ store: "memory", clock });
    const job = defineJob({ name: "later", handler: () => "ran" });
    const rec = await app.enqueue(job, {}, { delayMs: 3_600_000 });
    expect(rec.state).toBe("scheduled");
    expect(rec.runAt).toBe(clock.now() + 3_600_000);
    await app.store.jobStage({ now: clock.now() });
    expect((await app.getJob(rec.id))?.state).toBe("scheduled");
    clock.advance(3_600_000);
    await app.store.jobStage({ now: clock.now() });
    expect((await app.getJob(rec.id))?.state).toBe("available");
    await app.close();
  });
});
