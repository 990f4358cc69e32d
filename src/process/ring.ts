/**
 * A growable FIFO ring buffer: O(1) push and shift without the array re-indexing of `Array#shift`.
 * Capacity doubles when full (powers of two). Shifted slots are cleared so values can be collected.
 * @internal
 */
export class Ring<T> {
  #buf: (T | undefined)[];
  #head = 0;
  #mask: number;
  length = 0;

  constructor(initialCapacity = 16) {
    let cap = 16;
    while (cap < initialCapacity) cap *= 2;
    this.#buf = new Array<T | undefined>(cap);
    this.#mask = cap - 1;
  }

  /** Appends `value` at the tail. */
  push(value: T): void {
    if (this.length > this.#mask) this.#grow();
    this.#buf[(this.#head + this.length) & this.#mask] = value;
    this.length++;
  }

  /** Removes and returns the head. Call only when `length > 0`. */
  shift(): T {
    const i = this.#head;
    const value = this.#buf[i] as T;
    this.#buf[i] = undefined;
    this.#head = (i + 1) & this.#mask;
    this.length--;
    return value;
  }

  /** Drops every value. */
  clear(): void {
    this.#buf.fill(undefined);
    this.#head = 0;
    this.length = 0;
  }

  #grow(): void {
    const old = this.#buf;
    const cap = old.length * 2;
    const next = new Array<T | undefined>(cap);
    for (let i = 0; i < this.length; i++) next[i] = old[(this.#head + i) & this.#mask];
    this.#buf = next;
    this.#head = 0;
    this.#mask = cap - 1;
  }
}
