/**
 * `conveyor/testing`: helpers for testing code that uses Conveyor, and the Store conformance suite.
 * An explicit export list: add new public helpers here by name.
 */

export {
  FIXTURE_NOW,
  insertJobFixture,
  type JobFixtureOptions,
  jobInsertParams,
} from "./conformance/fixtures.js";
export { type DescribeStoreOptions, describeStore } from "./conformance/index.js";
export { FakeClock } from "./fake-clock.js";
