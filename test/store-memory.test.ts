import { MemoryStore } from "../src/store/memory/memory-store.js";
import { describeStore } from "../src/testing/index.js";

describeStore({
  name: "memory",
  makeStore: async () => ({ store: new MemoryStore() }),
  capabilities: { durable: false, crossProcessWatch: false },
});
