/**
 * Tiny argv parser for the bench scripts: `--key value`, `--key=value` and bare `--flag` (true).
 * Repeated keys keep the last value.
 * @param {string[]} argv
 * @returns {Record<string, string | true>}
 */
export function parseArgs(argv = process.argv.slice(2)) {
  /** @type {Record<string, string | true>} */
  const out = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith("--")) throw new Error(`unexpected argument ${JSON.stringify(arg)}`);
    const eq = arg.indexOf("=");
    if (eq > 0) {
      out[arg.slice(2, eq)] = arg.slice(eq + 1);
    } else if (i + 1 < argv.length && !argv[i + 1].startsWith("--")) {
      out[arg.slice(2)] = argv[++i];
    } else {
      out[arg.slice(2)] = true;
    }
  }
  return out;
}

/**
 * A required string option.
 * @param {Record<string, string | true>} args
 * @param {string} name
 * @param {string} [fallback]
 * @returns {string}
 */
export function str(args, name, fallback) {
  const v = args[name];
  if (typeof v === "string") return v;
  if (fallback !== undefined) return fallback;
  throw new Error(`missing --${name}`);
}

/**
 * A required integer option.
 * @param {Record<string, string | true>} args
 * @param {string} name
 * @param {number} [fallback]
 * @returns {number}
 */
export function int(args, name, fallback) {
  const v = args[name];
  if (typeof v === "string") {
    const n = Number(v);
    if (!Number.isInteger(n)) throw new Error(`--${name} must be an integer, got ${v}`);
    return n;
  }
  if (fallback !== undefined) return fallback;
  throw new Error(`missing --${name}`);
}
