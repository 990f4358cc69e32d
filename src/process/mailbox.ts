/**
 * A process's mailbox: routes each incoming message to the listener of its topic, or to the inbox.
 * @internal
 */
import { OptionsError } from "../errors.js";
import { Channel, type OverflowPolicy } from "./channel.js";
import { Message, type ReplyPort } from "./message.js";
import type { Pid } from "./pid.js";

/** Mailbox limits, per process. */
export interface MailboxOptions {
  /**
   * Undelivered messages each topic channel (and the inbox) may hold (default 100,000). A full channel
   * applies `overflow`.
   */
  mailboxSize?: number;
  /** `"reject"` (default: `send` returns false, the message is dropped) or `"drop-oldest"`. */
  overflow?: OverflowPolicy;
}

/** The default per-channel mailbox bound. */
export const DEFAULT_MAILBOX_SIZE = 100_000;

interface Listener {
  channel: Channel<unknown>;
  message: boolean;
  prefix: string | undefined;
}

/**
 * Routing, in order: an exact-topic listener; else the first wildcard listener (`"prefix.*"` style: a
 * topic ending in `*` matches every topic that starts with the part before it) in the order they were
 * created; else the inbox. A message that no listener matched when it arrived stays in the inbox
 * until it is read: creating a listener for its topic moves the matching buffered messages (in order) from the
 * inbox to the new listener, so a message sent before the receiver started listening is not stranded.
 */
export class Mailbox {
  readonly #capacity: number;
  readonly #overflow: OverflowPolicy;
  #exact: Map<string, Listener> | undefined;
  #wildcards: Listener[] | undefined;
  #inbox: Channel<unknown> | undefined;
  #failed: Error | undefined;
  #ended = false;

  constructor(options: MailboxOptions) {
    this.#capacity = options.mailboxSize ?? DEFAULT_MAILBOX_SIZE;
    this.#overflow = options.overflow ?? "reject";
  }

  /** Delivers a message. Returns whether a channel took it. */
  deliver(from: Pid | undefined, topic: string, payload: unknown, ref: number, port?: ReplyPort): boolean {
    const l = this.#exact?.get(topic) ?? this.#matchWildcard(topic);
    if (l !== undefined) {
      return l.channel.send(l.message ? new Message(from, topic, payload, ref, port) : payload);
    }
    return this.inbox().send(new Message(from, topic, payload, ref, port));
  }

  /** The listener channel for `topic`; the same channel when called again with the same mode. */
  listen(topic: string, message: boolean): Channel<unknown> {
    if (topic.length === 0) throw new OptionsError("listen: topic must be a non-empty string");
    const wildcard = topic.endsWith("*");
    const existing = wildcard
      ? this.#wildcards?.find((w) => w.prefix === topic.slice(0, -1))
      : this.#exact?.get(topic);
    if (existing !== undefined) {
      if (existing.message !== message) {
        throw new OptionsError(
          `listen: topic "${topic}" is already listened to with message: ${existing.message}`,
        );
      }
      return existing.channel;
    }
    const channel = this.#newChannel();
    const l: Listener = { channel, message, prefix: wildcard ? topic.slice(0, -1) : undefined };
    if (wildcard) {
      this.#wildcards ??= [];
      this.#wildcards.push(l);
      channel.onClose = () => {
        const i = this.#wildcards?.indexOf(l) ?? -1;
        if (i >= 0) this.#wildcards?.splice(i, 1);
      };
    } else {
      this.#exact ??= new Map();
      this.#exact.set(topic, l);
      channel.onClose = () => {
        if (this.#exact?.get(topic) === l) this.#exact.delete(topic);
      };
    }
    const inbox = this.#inbox;
    if (inbox !== undefined && inbox.size > 0) {
      const prefix = l.prefix;
      const moved = inbox.extract((m) =>
        prefix === undefined ? (m as Message).topic === topic : (m as Message).topic.startsWith(prefix),
      );
      for (const m of moved) channel.send(message ? m : (m as Message).payload);
    }
    return channel;
  }

  /** The inbox channel: every message that no listener matched, as {@link Message} objects. */
  inbox(): Channel<unknown> {
    this.#inbox ??= this.#newChannel();
    return this.#inbox;
  }

  /** Closes every channel normally (the process ended). */
  close(): void {
    this.#ended = true;
    for (const c of this.#channels()) c.close();
  }

  /** Fails every channel with `error` (the process was killed), so pending receives reject. */
  fail(error: Error): void {
    this.#failed = error;
    for (const c of this.#channels()) c.fail(error);
  }

  #channels(): Channel<unknown>[] {
    if (this.#exact === undefined && this.#wildcards === undefined && this.#inbox === undefined) return [];
    const out: Channel<unknown>[] = [];
    if (this.#exact) for (const l of this.#exact.values()) out.push(l.channel);
    if (this.#wildcards) for (const l of this.#wildcards) out.push(l.channel);
    if (this.#inbox) out.push(this.#inbox);
    return out;
  }

  #newChannel(): Channel<unknown> {
    const ch = new Channel<unknown>({ capacity: this.#capacity, overflow: this.#overflow });
    if (this.#failed) ch.fail(this.#failed);
    else if (this.#ended) ch.close();
    return ch;
  }

  #matchWildcard(topic: string): Listener | undefined {
    const ws = this.#wildcards;
    if (ws === undefined) return undefined;
    for (const w of ws) if (topic.startsWith(w.prefix as string)) return w;
    return undefined;
  }
}
