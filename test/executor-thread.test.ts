import { ThreadExecutor } from "../src/index.js";
import { describeExecutor } from "../src/testing/executor-conformance/index.js";

describeExecutor({
  name: "thread",
  create: (options) => new ThreadExecutor(options),
  fixtures: new URL("./fixtures/executor/", import.meta.url),
});
