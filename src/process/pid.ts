/**
 * Process identifiers. A PID is a string `<node>.<n>`: the name of the node that spawned the process and a
 * counter unique within that node (never reused while the node lives). PIDs are plain strings so they survive
 * JSON and `postMessage`, and can be used as Map keys.
 */

/** A process identifier: `<node-name>.<n>`, e.g. `"main.42"`. */
export type Pid = string;

/** Builds the PID of the `n`-th process of `node`. */
export function formatPid(node: string, n: number): Pid {
  return `${node}.${n}`;
}

/** The node name of a PID (everything before the last dot), or undefined when it is not a PID. */
export function pidNode(pid: string): string | undefined {
  const dot = pid.lastIndexOf(".");
  if (dot <= 0) return undefined;
  return /^[0-9]+$/.test(pid.slice(dot + 1)) ? pid.slice(0, dot) : undefined;
}
