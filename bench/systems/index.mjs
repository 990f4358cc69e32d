/**
 * The systems the bench compares, and how to open each. Every adapter returns a
 * {@link import("./types.mjs").BenchSystem}.
 *
 * @typedef {object} SystemInfo
 * @property {boolean} redis Backed by the shared Redis server (flushed between runs; commands counted).
 * @property {boolean} crossProcess Producer and worker can run in different processes (memory cannot).
 * @property {boolean} enabled Part of the default run. Disabled systems run only when named in --only.
 * @property {boolean} [groups] Has per-group FIFO (`enqueueGrouped`): takes part in the `groups` scenario.
 * @property {boolean} [groupsOnly] Every job needs a group (a per-group queue): only the `groups` scenario.
 * @property {string} [note] Why a system is disabled.
 * @property {(options: import("./types.mjs").OpenOptions) => Promise<import("./types.mjs").BenchSystem>} open
 */

/** @type {Record<string, SystemInfo>} */
export const SYSTEMS = {
  "conveyor-sqlite": {
    redis: false,
    crossProcess: true,
    enabled: true,
    groups: true,
    open: async (o) => (await import("./conveyor.mjs")).open("sqlite", o),
  },
  "conveyor-memory": {
    redis: false,
    crossProcess: false,
    enabled: true,
    open: async (o) => (await import("./conveyor.mjs")).open("memory", o),
  },
  "conveyor-redis": {
    redis: true,
    crossProcess: true,
    enabled: true,
    groups: true,
    open: async (o) => (await import("./conveyor.mjs")).open("redis", o),
  },
  bullmq: {
    redis: true,
    crossProcess: true,
    enabled: true,
    open: async (o) => (await import("./bullmq.mjs")).open(o),
  },
  groupmq: {
    redis: true,
    crossProcess: true,
    enabled: true,
    groups: true,
    groupsOnly: true,
    open: async (o) => (await import("./groupmq.mjs")).open(o),
  },
  "bee-queue": {
    redis: true,
    crossProcess: true,
    enabled: true,
    open: async (o) => (await import("./bee-queue.mjs")).open(o),
  },
};

/**
 * Opens a system by name.
 * @param {string} name
 * @param {import("./types.mjs").OpenOptions} options
 */
export function openSystem(name, options) {
  const info = SYSTEMS[name];
  if (!info)
    throw new Error(`unknown system ${JSON.stringify(name)}; known: ${Object.keys(SYSTEMS).join(", ")}`);
  return info.open(options);
}
