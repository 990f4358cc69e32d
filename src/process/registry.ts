/**
 * The name registry: maps names to PIDs so processes can be addressed by a stable name.
 */
import { OptionsError } from "../errors.js";
import { NameTakenError } from "./errors.js";
import type { Pid } from "./pid.js";

/**
 * A registry of process names. Contracts, which every implementation keeps:
 * - a name maps to at most one PID; `register` of a name held by another PID throws {@link NameTakenError},
 *   registering a name again for the same PID is a no-op;
 * - a PID may hold several names;
 * - `removeAll(pid)` is called by the node when the process exits, so names are freed on exit.
 */
export interface Registry {
  /** Binds `name` to `pid`. Throws {@link NameTakenError} if another PID holds it. */
  register(name: string, pid: Pid): void;
  /** The PID holding `name`, or undefined. */
  lookup(name: string): Pid | undefined;
  /** Frees `name`. Returns whether it was registered. */
  unregister(name: string): boolean;
  /** Frees every name of `pid`. Returns the names freed. */
  removeAll(pid: Pid): string[];
  /** The names `pid` holds (empty when none). */
  namesOf(pid: Pid): string[];
}

/** The in-memory {@link Registry} of one node. Not shared between nodes or threads. */
export class LocalRegistry implements Registry {
  readonly #byName = new Map<string, Pid>();
  readonly #byPid = new Map<Pid, Set<string>>();

  register(name: string, pid: Pid): void {
    if (typeof name !== "string" || name.length === 0) {
      throw new OptionsError("register: name must be a non-empty string");
    }
    const owner = this.#byName.get(name);
    if (owner === pid) return;
    if (owner !== undefined) throw new NameTakenError(name, owner);
    this.#byName.set(name, pid);
    let names = this.#byPid.get(pid);
    if (names === undefined) {
      names = new Set();
      this.#byPid.set(pid, names);
    }
    names.add(name);
  }

  lookup(name: string): Pid | undefined {
    return this.#byName.get(name);
  }

  unregister(name: string): boolean {
    const owner = this.#byName.get(name);
    if (owner === undefined) return false;
    this.#byName.delete(name);
    const names = this.#byPid.get(owner);
    names?.delete(name);
    if (names?.size === 0) this.#byPid.delete(owner);
    return true;
  }

  removeAll(pid: Pid): string[] {
    const names = this.#byPid.get(pid);
    if (names === undefined) return [];
    this.#byPid.delete(pid);
    for (const n of names) this.#byName.delete(n);
    return [...names];
  }

  namesOf(pid: Pid): string[] {
    const names = this.#byPid.get(pid);
    return names ? [...names] : [];
  }
}
