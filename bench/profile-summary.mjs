/**
 * Summarises a V8 .cpuprofile (from `node --cpu-prof`): the top functions by self time, and by total
 * (inclusive) time, with their file and line, so hot spots can be named without a GUI.
 *
 *   node --cpu-prof --cpu-prof-dir=/tmp/prof bench/process.mjs --system conveyor-sqlite --db /tmp/x.db ...
 *   node bench/profile-summary.mjs /tmp/prof/<file>.cpuprofile [--top 25] [--filter dist/]
 */
import { readFileSync } from "node:fs";
import { int, parseArgs, str } from "./lib/args.mjs";

const file = process.argv[2];
if (!file || file.startsWith("--")) {
  console.error("usage: node bench/profile-summary.mjs <file.cpuprofile> [--top N] [--filter substring]");
  process.exit(2);
}
const args = parseArgs(process.argv.slice(3));
const top = int(args, "top", 25);
const filter = str(args, "filter", "");

/**
 * @typedef {{ id: number, callFrame: { functionName: string, url: string, lineNumber: number },
 *   children?: number[], hitCount?: number }} ProfileNode
 */
/** @type {{ nodes: ProfileNode[], startTime: number, endTime: number, samples: number[], timeDeltas: number[] }} */
const profile = JSON.parse(readFileSync(file, "utf8"));

// Time per node from the sample deltas (more exact than hitCount * interval).
/** @type {Map<number, number>} */
const selfUs = new Map();
for (let i = 0; i < profile.samples.length; i++) {
  const id = profile.samples[i];
  selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i + 1] ?? 0));
}
/** @type {Map<number, ProfileNode>} */
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
/** @type {Map<number, number>} */
const parent = new Map();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

/** @param {ProfileNode} n */
const keyOf = (n) => {
  const f = n.callFrame;
  const where = f.url
    ? `${f.url.replace(/^file:\/\/.*?\/(dist|bench|node_modules)\//, "$1/")}:${f.lineNumber + 1}`
    : "";
  return `${f.functionName || "(anonymous)"} ${where}`.trim();
};

/** @type {Map<string, number>} */
const self = new Map();
/** @type {Map<string, number>} */
const total = new Map();
let all = 0;
for (const [id, us] of selfUs) {
  all += us;
  const node = /** @type {ProfileNode} */ (byId.get(id));
  const k = keyOf(node);
  self.set(k, (self.get(k) ?? 0) + us);
  // Inclusive: add to every distinct function on the stack once.
  const seen = new Set();
  for (let cur = /** @type {number | undefined} */ (id); cur !== undefined; cur = parent.get(cur)) {
    const ck = keyOf(/** @type {ProfileNode} */ (byId.get(cur)));
    if (seen.has(ck)) continue;
    seen.add(ck);
    total.set(ck, (total.get(ck) ?? 0) + us);
  }
}

/** @param {string} title @param {Map<string, number>} map */
function print(title, map) {
  console.log(`\n${title} (of ${(all / 1000).toFixed(0)} ms sampled)`);
  const rows = [...map]
    .filter(([k]) => !filter || k.includes(filter))
    .sort((a, b) => b[1] - a[1])
    .slice(0, top);
  for (const [k, us] of rows)
    console.log(
      `${(us / 1000).toFixed(1).padStart(9)} ms ${((us / all) * 100).toFixed(1).padStart(5)}%  ${k}`,
    );
}
print("Self time", self);
print("Total time", total);
