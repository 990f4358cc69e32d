import { type Command, InvalidArgumentError } from "commander";
import type { EnqueueByNameOptions } from "../../conveyor.js";
import type { DedupeOption } from "../../job/dedupe.js";
import { withApp } from "../app.js";
import { formatTime, writeJson } from "../format.js";
import { println } from "../io.js";
import { intParser, jsonOption, parseJson, parseName, storeOption, storeUrl } from "../options.js";
import { createProgress } from "../progress.js";
import type { CommandContext } from "../run.js";

interface EnqueueFlags {
  store?: string;
  json?: boolean;
  data: unknown;
  queue?: string;
  priority?: number;
  delay?: number;
  attempts?: number;
  count?: number;
  force?: boolean;
  key?: string;
  dedupe?: DedupeOption;
}

/** What `enqueue` prints per dedupe outcome. */
const OUTCOME_TEXT = {
  inserted: "enqueued",
  duplicate: "duplicate of",
  replaced: "replaced the data of",
  debounced: "debounced",
  throttled: "throttled: kept",
} as const;

/** Parses `--dedupe reject|replace|debounce:MS|throttle:MS`. */
export function parseDedupeFlag(value: string): DedupeOption {
  if (value === "reject" || value === "replace") return value;
  const m = /^(debounce|throttle):([1-9][0-9]{0,11})$/.exec(value);
  if (m) return { policy: m[1] as "debounce" | "throttle", windowMs: Number(m[2]) };
  throw new InvalidArgumentError(
    `expected reject, replace, debounce:<ms> or throttle:<ms> (e.g. debounce:5000), got "${value}"`,
  );
}

/** Jobs per `enqueueMany` call (one transaction each on SQLite) for `--count`. */
export const ENQUEUE_CHUNK = 1_000;

/** `conveyor enqueue <name> --data <json>`. */
export function registerEnqueue(program: Command, ctx: CommandContext): void {
  const { io } = ctx;
  const cmd = program
    .command("enqueue")
    .description("enqueue a job by its job type name (known once a worker has registered it)")
    .argument("<name>", "job type name, e.g. send-email", parseName)
    .option("--data <json>", "the job's data as JSON (default {})", parseJson)
    .option("--queue <queue>", "queue to use (default: the job type's queue)", parseName)
    .option(
      "--priority <n>",
      "lower runs first; negative jumps ahead (default 0)",
      intParser(-1_000_000, 1_000_000),
    )
    .option(
      "--delay <ms>",
      "run no sooner than this many milliseconds from now",
      intParser(0, 10 * 365 * 86_400_000),
    )
    .option(
      "--attempts <n>",
      "total attempts including the first (default: the job type's, else 3)",
      intParser(1, 1_000),
    )
    .option("--count <n>", "enqueue n copies in bulk, with a progress bar", intParser(1, 10_000_000))
    .option("--force", "enqueue even if no worker has registered this job name")
    .option(
      "--key <key>",
      "dedupe key: a job with this key may be returned or changed instead (see --dedupe)",
    )
    .option(
      "--dedupe <policy>",
      "with --key: reject (default), replace, debounce:<ms> or throttle:<ms>",
      parseDedupeFlag,
    )
    .addHelpText(
      "after",
      [
        "",
        "Example:",
        `  $ conveyor enqueue send-email --data '{"to":"ada@example.com"}' --priority -1`,
        `  $ conveyor enqueue resize-image --data '{"imageId":"i1","width":640}' --count 10000`,
        `  $ conveyor enqueue reindex --data '{"doc":"d7"}' --key reindex:d7 --dedupe debounce:5000`,
      ].join("\n"),
    );
  storeOption(cmd);
  jsonOption(cmd);
  cmd.action(async (name: string, flags: EnqueueFlags) => {
    const data = flags.data === undefined ? {} : flags.data;
    const options: EnqueueByNameOptions = {
      ...(flags.queue !== undefined ? { queue: flags.queue } : {}),
      ...(flags.priority !== undefined ? { priority: flags.priority } : {}),
      ...(flags.delay !== undefined ? { delayMs: flags.delay } : {}),
      ...(flags.attempts !== undefined ? { attempts: flags.attempts } : {}),
      ...(flags.force ? { force: true } : {}),
      ...(flags.key !== undefined ? { key: flags.key } : {}),
      ...(flags.dedupe !== undefined ? { dedupe: flags.dedupe } : {}),
    };
    await withApp(storeUrl(flags.store, io), io, async (app) => {
      if (flags.count === undefined) {
        const job = await app.enqueue(name, data, options);
        if (flags.json) {
          writeJson(io.stdout, job);
          return;
        }
        const when = job.state === "scheduled" ? ` until ${formatTime(job.runAt, Date.now())}` : "";
        println(
          io.stdout,
          `${OUTCOME_TEXT[job.outcome]} job ${job.id} (${job.name}) on queue ${job.queue}: ${job.state}${when}`,
        );
        return;
      }
      const total = flags.count;
      const progress = createProgress(io.stderr, io.env, { label: `enqueue ${name}`, total });
      let done = 0;
      let firstId: string | null = null;
      let lastId: string | null = null;
      let queue = "";
      const started = Date.now();
      try {
        while (done < total) {
          const n = Math.min(ENQUEUE_CHUNK, total - done);
          const items = Array.from({ length: n }, () => ({ data }));
          const records = await app.enqueueMany(name, items, options);
          firstId ??= records[0]?.id ?? null;
          lastId = records.at(-1)?.id ?? lastId;
          queue = records[0]?.queue ?? queue;
          done += records.length;
          progress.update(done);
        }
      } finally {
        progress.stop();
      }
      const ms = Date.now() - started;
      if (flags.json) writeJson(io.stdout, { name, queue, count: done, firstId, lastId, ms });
      else
        println(
          io.stdout,
          `enqueued ${done} jobs (${name}) on queue ${queue}: ids ${firstId} to ${lastId} in ${ms} ms`,
        );
    });
  });
}
