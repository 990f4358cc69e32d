import { InlineExecutor } from "../src/index.js";
import { describeExecutor } from "../src/testing/executor-conformance/index.js";

describeExecutor({
  name: "inline",
  create: () => new InlineExecutor(),
  fixtures: new URL("./fixtures/executor/", import.meta.url),
});
