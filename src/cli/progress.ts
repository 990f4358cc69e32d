import cliProgress from "cli-progress";
import type { CliStream } from "./io.js";

/** Live progress of a long command: bars on a terminal, a plain line now and then otherwise. */
export interface ProgressView {
  /** Whether bars are drawn (a TTY) rather than plain lines. */
  readonly interactive: boolean;
  /** Sets the main bar: `value` of `total`, with a short `detail` after it. */
  update(value: number, detail?: string): void;
  /** Shows or updates a secondary bar (0-100) under the main one. Drawn only on a terminal. */
  item(key: string, label: string, percent: number): void;
  /** Removes a secondary bar. */
  removeItem(key: string): void;
  /** Prints a line above the bars (or just a line in plain mode). */
  log(line: string): void;
  /** Stops drawing; in plain mode prints the final state once more. */
  stop(): void;
}

/** Options of {@link createProgress}. */
export interface ProgressOptions {
  label: string;
  total: number;
  /** Plain mode: at most one line per this many ms. Default 1,000. */
  intervalMs?: number;
  /** Force plain lines even on a terminal (CI=true does too). */
  plain?: boolean;
}

/** True when `stream` is a terminal and this is not a CI run: the case for bars and live redraws. */
export function isInteractive(stream: CliStream, env: Record<string, string | undefined>): boolean {
  return stream.isTTY === true && env.CI !== "true" && env.CI !== "1";
}

/**
 * A progress view on `stream`: a cli-progress multi-bar when `stream` is a TTY, periodic plain lines
 * (`label value/total detail`) otherwise, so logs of CI runs stay readable.
 */
export function createProgress(
  stream: CliStream,
  env: Record<string, string | undefined>,
  options: ProgressOptions,
): ProgressView {
  if (!options.plain && isInteractive(stream, env)) return new BarProgress(stream, options);
  return new PlainProgress(stream, options);
}

class BarProgress implements ProgressView {
  readonly interactive = true;
  readonly #multi: cliProgress.MultiBar;
  readonly #main: cliProgress.SingleBar;
  readonly #items = new Map<string, cliProgress.SingleBar>();
  readonly #labelWidth: number;

  constructor(stream: CliStream, options: ProgressOptions) {
    this.#labelWidth = Math.max(24, options.label.length);
    this.#multi = new cliProgress.MultiBar(
      {
        // Only a real TTY reaches this class, so the stream is a tty.WriteStream.
        stream: stream as unknown as NodeJS.WritableStream,
        format: "{label} {bar} {value}/{total} {detail}",
        barsize: 30,
        fps: 10,
        hideCursor: true,
        clearOnComplete: false,
        autopadding: true,
        forceRedraw: true,
      },
      cliProgress.Presets.shades_classic,
    );
    this.#main = this.#multi.create(options.total, 0, { label: this.#pad(options.label), detail: "" });
  }

  #pad(label: string): string {
    return label.length > this.#labelWidth
      ? `${label.slice(0, this.#labelWidth - 1)}…`
      : label.padEnd(this.#labelWidth);
  }

  update(value: number, detail = ""): void {
    this.#main.update(value, { detail });
  }

  item(key: string, label: string, percent: number): void {
    const p = Math.max(0, Math.min(100, Math.round(percent)));
    const bar = this.#items.get(key);
    if (bar) bar.update(p);
    else this.#items.set(key, this.#multi.create(100, p, { label: this.#pad(`  ${label}`), detail: "%" }));
  }

  removeItem(key: string): void {
    const bar = this.#items.get(key);
    if (!bar) return;
    this.#items.delete(key);
    this.#multi.remove(bar);
  }

  log(line: string): void {
    this.#multi.log(`${line}\n`);
  }

  stop(): void {
    for (const key of [...this.#items.keys()]) this.removeItem(key);
    this.#multi.stop();
  }
}

class PlainProgress implements ProgressView {
  readonly interactive = false;
  readonly #stream: CliStream;
  readonly #label: string;
  readonly #total: number;
  readonly #intervalMs: number;
  #last = 0;
  #value = 0;
  #detail = "";
  #printed = "";
  #stopped = false;

  constructor(stream: CliStream, options: ProgressOptions) {
    this.#stream = stream;
    this.#label = options.label;
    this.#total = options.total;
    this.#intervalMs = options.intervalMs ?? 1_000;
  }

  update(value: number, detail = ""): void {
    this.#value = value;
    this.#detail = detail;
    const now = Date.now();
    if (now - this.#last >= this.#intervalMs) {
      this.#last = now;
      this.#print();
    }
  }

  #print(): void {
    const line = `${this.#label} ${this.#value}/${this.#total}${this.#detail ? ` ${this.#detail}` : ""}`;
    if (line === this.#printed) return;
    this.#printed = line;
    this.#stream.write(`${line}\n`);
  }

  item(): void {}

  removeItem(): void {}

  log(line: string): void {
    this.#stream.write(`${line}\n`);
  }

  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#print();
  }
}
