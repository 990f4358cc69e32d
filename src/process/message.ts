/**
 * The message object that `listen(topic, { message: true })` and `inbox()` deliver.
 */
import type { Pid } from "./pid.js";

/**
 * Answers a call. @internal
 */
export interface ReplyPort {
  reply(ref: number, value: unknown): boolean;
}

/**
 * A message: who sent it (`from`, undefined when sent from outside any process), its `topic` and `payload`.
 * When the sender used `call`, `reply(value)` answers it (once; later replies and replies after the
 * caller's timeout are dropped and return false). For a plain `send`, `isCall` is false and `reply` returns
 * false.
 */
export class Message<T = unknown> {
  readonly from: Pid | undefined;
  readonly payload: T;
  readonly topic: string;
  /** @internal */
  readonly ref: number;
  /** @internal */
  readonly port: ReplyPort | undefined;

  constructor(from: Pid | undefined, topic: string, payload: T, ref = 0, port?: ReplyPort) {
    this.from = from;
    this.topic = topic;
    this.payload = payload;
    this.ref = ref;
    this.port = port;
  }

  /** True when the sender is waiting for a `reply`. */
  get isCall(): boolean {
    return this.ref !== 0;
  }

  /** Answers a `call`. Returns whether a caller was still waiting for it. */
  reply(value: unknown): boolean {
    if (this.ref === 0 || this.port === undefined) return false;
    return this.port.reply(this.ref, value);
  }
}
