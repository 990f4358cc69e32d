import { ProcessExecutor } from "../src/index.js";
import { describeExecutor } from "../src/testing/executor-conformance/index.js";

describeExecutor({
  name: "process",
  create: (options) => new ProcessExecutor(options),
  fixtures: new URL("./fixtures/executor/", import.meta.url),
});
