import { type Command, InvalidArgumentError, Option } from "commander";
import type { Admin } from "../../admin/admin.js";
import { ADMIN_PAGE_DEFAULT, ADMIN_PAGE_MAX } from "../../admin/admin.js";
import type { JobQuery, RetryAllState } from "../../admin/types.js";
import { JobNotFoundError } from "../../errors.js";
import { MAX_KEY_LENGTH } from "../../job/dedupe.js";
import { MAX_GROUP_KEY_LENGTH } from "../../job/group.js";
import type { JobState } from "../../job/states.js";
import type { JobRecord } from "../../store/store.js";
import { withApp } from "../app.js";
import {
  type Column,
  formatDuration,
  formatInline,
  formatJson,
  formatRelative,
  formatTable,
  formatTime,
  indent,
  writeJson,
} from "../format.js";
import { type CliIO, println, UsageError } from "../io.js";
import {
  checkId,
  intParser,
  jsonOption,
  parseId,
  parseName,
  stateOption,
  storeOption,
  storeUrl,
} from "../options.js";
import { createProgress, isInteractive, type ProgressView } from "../progress.js";
import type { CommandContext } from "../run.js";
import { example, type StoreCommandSpec, storeCommand } from "../store-command.js";

interface StoreFlags {
  store?: string;
  json?: boolean;
}

interface LsFlags extends StoreFlags {
  state?: JobState;
  queue?: string;
  name?: string;
  key?: string;
  group?: string;
  search?: string;
  limit?: number;
  cursor?: string;
}

interface RetryFlags extends StoreFlags {
  all?: boolean;
  queue?: string;
  state?: RetryAllState;
}

const RETRY_ALL_STATES: RetryAllState[] = ["discarded", "cancelled", "retryable", "completed"];

/** commander parser for `--key`, `--group` and `--search`: a non-empty string of at most `max` characters. */
function textParser(max: number, what: string): (value: string) => string {
  return (value: string) => {
    if (value.length === 0 || value.length > max) {
      throw new InvalidArgumentError(`Give a ${what} of 1 to ${max} characters.`);
    }
    return value;
  };
}

/** `conveyor jobs ls|show|retry|promote|cancel|delete`, all through the admin API. */
export function registerJobs(program: Command, ctx: CommandContext): void {
  const { io } = ctx;
  const jobs = program
    .command("jobs")
    .description("list, inspect, retry, promote, cancel and delete jobs")
    .addHelpText(
      "after",
      example(
        "conveyor jobs ls --state retryable",
        "conveyor jobs show 42",
        "conveyor jobs retry --all --queue emails --state discarded",
      ),
    );

  const ls = jobs
    .command("ls")
    .description("list jobs, newest first, with filters and pages")
    .addOption(stateOption())
    .option("--queue <queue>", "only jobs in this queue", parseName)
    .option("--name <name>", "only jobs of this job type", parseName)
    .option("--key <key>", "only jobs with this dedupe key (exact)", textParser(MAX_KEY_LENGTH, "dedupe key"))
    .option(
      "--group <group>",
      "only jobs of this group (exact; within --queue when given)",
      textParser(MAX_GROUP_KEY_LENGTH, "group key"),
    )
    .option(
      "--search <text>",
      "a job id, else a dedupe key, else a group key (the first that matches)",
      textParser(Math.max(MAX_KEY_LENGTH, MAX_GROUP_KEY_LENGTH), "job id, key or group"),
    )
    .option(
      "--limit <n>",
      `jobs per page, 1 to ${ADMIN_PAGE_MAX} (default ${ADMIN_PAGE_DEFAULT})`,
      intParser(1, ADMIN_PAGE_MAX),
    )
    .option("--cursor <cursor>", "start after this cursor (printed at the end of the previous page)", parseId)
    .addHelpText(
      "after",
      example(
        "conveyor jobs ls --state discarded --limit 20",
        "conveyor jobs ls --search order-1234",
        "conveyor jobs ls --group player:42 --queue game --json",
      ),
    );
  storeOption(ls);
  jsonOption(ls);
  ls.action(async (flags: LsFlags) => {
    const url = storeUrl(flags.store, io);
    await withApp(
      url,
      io,
      async (app) => {
        const query: JobQuery = { limit: flags.limit ?? ADMIN_PAGE_DEFAULT };
        if (flags.state) query.state = flags.state;
        if (flags.queue) query.queue = flags.queue;
        if (flags.name) query.name = flags.name;
        if (flags.key) query.key = flags.key;
        if (flags.group) query.group = flags.group;
        if (flags.search) query.search = flags.search;
        if (flags.cursor) query.cursor = flags.cursor;
        const page = await app.admin.jobs(query);
        if (flags.json) {
          writeJson(io.stdout, page);
          return;
        }
        if (page.jobs.length === 0) {
          println(io.stdout, flags.cursor ? "no more jobs" : "no jobs match");
          return;
        }
        io.stdout.write(jobTable(page.jobs, Date.now()));
        if (page.matchedBy) println(io.stdout, `(--search matched the ${MATCHED[page.matchedBy]})`);
        if (page.nextCursor !== null)
          println(io.stdout, `more: add --cursor ${page.nextCursor} for the next page`);
      },
      { mustExist: true },
    );
  });

  const ID = { name: "id", description: "job id", check: checkId };
  const byId = (spec: Omit<StoreCommandSpec, "argument">) =>
    storeCommand(jobs, ctx, { json: true, ...spec, argument: ID });

  byId({
    name: "show",
    description:
      "show one job: data, options, state, result, progress, logs, every attempt's error and stack",
    examples: ["conveyor jobs show 42", "conveyor jobs show 42 --json"],
    async run(app, id, { json }) {
      const job = await app.admin.job(id);
      if (!job) throw new JobNotFoundError(id);
      if (json) writeJson(io.stdout, job);
      else io.stdout.write(jobDetail(job, Date.now()));
    },
  });

  const retry = jobs
    .command("retry")
    .description(
      "run a scheduled, retryable or finished job again now; with --all, every job of a state (and queue)",
    )
    .argument("[id]", "job id (or --all)")
    .option("--all", "retry every job in --state (default discarded), in --queue or in every queue")
    .option("--queue <queue>", "with --all: only this queue", parseName)
    .addOption(
      new Option("--state <state>", "with --all: the state to retry (default discarded)").choices(
        RETRY_ALL_STATES,
      ),
    )
    .addHelpText(
      "after",
      example(
        "conveyor jobs retry 42",
        "conveyor jobs retry --all --queue emails --state discarded",
        "conveyor jobs retry --all --state cancelled --json",
      ),
    );
  storeOption(retry);
  jsonOption(retry);
  retry.action(async (id: string | undefined, flags: RetryFlags) => {
    if (flags.all === true) {
      if (id !== undefined) throw new UsageError(`give a job id or --all, not both (got ${id} and --all)`);
    } else {
      if (flags.queue !== undefined || flags.state !== undefined) {
        throw new UsageError("--queue and --state go with --all (to retry one job, give only its id)");
      }
      if (id === undefined) throw new UsageError("give the id of the job to retry, or --all with --state");
      checkId(id);
    }
    await withApp(
      storeUrl(flags.store, io),
      io,
      async (app) => {
        if (flags.all !== true) {
          const job = await app.admin.retryJob(id!);
          if (flags.json) writeJson(io.stdout, job);
          else
            println(
              io.stdout,
              `job ${job.id} (${job.name}) is ${job.state}: attempt ${job.attempt + 1} of ${job.maxAttempts} is next`,
            );
          return;
        }
        await retryAll(app.admin, io, {
          state: flags.state ?? "discarded",
          json: flags.json === true,
          ...(flags.queue !== undefined ? { queue: flags.queue } : {}),
        });
      },
      { mustExist: true },
    );
  });

  byId({
    name: "promote",
    description: "run a scheduled (delayed) or retryable job now instead of at its run time",
    examples: ["conveyor jobs promote 42"],
    async run(app, id, { json }) {
      const before = await app.admin.job(id);
      const job = await app.admin.promoteJob(id);
      if (json) writeJson(io.stdout, job);
      else if (before?.state === "available")
        println(io.stdout, `job ${job.id} (${job.name}) is already available; nothing to promote`);
      else
        println(
          io.stdout,
          `job ${job.id} (${job.name}) is available now (was ${before?.state ?? "waiting"})`,
        );
    },
  });

  byId({
    name: "cancel",
    description: "cancel a waiting job, or ask the worker running it to abort it",
    examples: ["conveyor jobs cancel 42"],
    async run(app, id, { json }) {
      const before = await app.admin.job(id);
      const job = await app.admin.cancelJob(id);
      if (json) writeJson(io.stdout, job);
      else if (before && before.state === job.state && before.state !== "running") {
        println(io.stdout, `job ${job.id} (${job.name}) is already ${job.state}; nothing to cancel`);
      } else if (job.state === "running") {
        println(
          io.stdout,
          `job ${job.id} (${job.name}) is running: cancel requested; its worker will abort it`,
        );
      } else if (job.state === "cancelled") println(io.stdout, `job ${job.id} (${job.name}) is cancelled`);
      else println(io.stdout, `job ${job.id} (${job.name}) is already ${job.state}; nothing to cancel`);
    },
  });

  byId({
    name: "delete",
    description: "delete a job that is not running",
    examples: ["conveyor jobs delete 42", "conveyor jobs delete 42 --json"],
    async run(app, id, { json }) {
      if (!(await app.admin.deleteJob(id))) throw new JobNotFoundError(id);
      if (json) writeJson(io.stdout, { id, deleted: true });
      else println(io.stdout, `job ${id} deleted`);
    },
  });
}

const MATCHED = { id: "job id", key: "dedupe key", group: "group key" } as const;

/**
 * `jobs retry --all`: retries page by page through the admin API, with a progress bar on a terminal (stderr)
 * and a one-line summary (or JSON) on stdout.
 */
async function retryAll(
  admin: Admin,
  io: CliIO,
  options: { state: RetryAllState; queue?: string; json: boolean },
): Promise<void> {
  const where = options.queue === undefined ? "in every queue" : `in queue ${options.queue}`;
  let bar: ProgressView | null = null;
  const started = Date.now();
  const result = await admin.retryAll({
    state: options.state,
    ...(options.queue !== undefined ? { queue: options.queue } : {}),
    onProgress: isInteractive(io.stderr, io.env)
      ? (done, total) => {
          bar ??= createProgress(io.stderr, io.env, { label: `retry ${options.state}`, total });
          bar.update(done, total === done ? "" : `of ${total}`);
        }
      : undefined,
  });
  (bar as ProgressView | null)?.stop();
  if (options.json) {
    writeJson(io.stdout, {
      state: options.state,
      queue: options.queue ?? null,
      ...result,
      ms: Date.now() - started,
    });
    return;
  }
  const total = result.retried + result.skipped;
  if (total === 0) {
    println(io.stdout, `no ${options.state} jobs ${where}: nothing to retry`);
    return;
  }
  const skipped = result.skipped > 0 ? `; ${result.skipped} skipped (they changed state meanwhile)` : "";
  println(
    io.stdout,
    `retried ${result.retried} ${options.state} job${result.retried === 1 ? "" : "s"} ${where} in ` +
      `${formatDuration(Date.now() - started)}${skipped}`,
  );
}

const LS_COLUMNS: Column[] = [
  { header: "ID", align: "right" },
  { header: "STATE" },
  { header: "NAME" },
  { header: "QUEUE" },
  { header: "KEY" },
  { header: "GROUP" },
  { header: "TRIES", align: "right" },
  { header: "PRI", align: "right" },
  { header: "CREATED" },
  { header: "NOTE" },
];

/** The `jobs ls` table. */
export function jobTable(jobs: readonly JobRecord[], now: number): string {
  return formatTable(
    LS_COLUMNS,
    jobs.map((j) => [
      j.id,
      j.state,
      j.name,
      j.queue,
      j.key === null ? "-" : oneLine(j.key, 24),
      j.group === null ? "-" : oneLine(j.group, 24),
      `${j.attempt}/${j.maxAttempts}`,
      String(j.priority),
      formatRelative(j.createdAt, now),
      noteOf(j, now),
    ]),
  );
}

function noteOf(j: JobRecord, now: number): string {
  const lastError = j.errors.at(-1);
  const err = lastError ? `${lastError.kind}: ${oneLine(lastError.message, 50)}` : "";
  switch (j.state) {
    case "scheduled":
      return `runs ${formatRelative(j.runAt, now)}`;
    case "retryable":
      return `retry ${formatRelative(j.runAt, now)}; ${err}`;
    case "running": {
      const p =
        typeof j.progress === "number"
          ? `progress ${j.progress}%`
          : j.progress !== null
            ? formatInline(j.progress, 30)
            : "";
      return [p, j.cancelRequested ? "cancel requested" : ""].filter(Boolean).join("; ");
    }
    case "discarded":
    case "cancelled":
      return err;
    case "completed":
      return j.attemptedAt !== null && j.finishedAt !== null
        ? `took ${formatDuration(j.finishedAt - j.attemptedAt)}${j.errors.length > 0 ? ` after ${j.errors.length} failed` : ""}`
        : "";
    default:
      return "";
  }
}

function oneLine(text: string, max: number): string {
  const t = text.replace(/\s+/g, " ").trim();
  return t.length > max ? `${t.slice(0, max - 1)}…` : t;
}

/** The `jobs show` text: every field, then data, result, errors with stacks and logs. */
export function jobDetail(j: JobRecord, now: number): string {
  const rows: Array<[string, string]> = [
    ["queue", j.queue],
    ["key", j.key ?? "-"],
    ["group", j.group ?? "-"],
    ["state", j.state + (j.cancelRequested ? " (cancel requested)" : "")],
    ["priority", `${j.priority}${j.lifo ? " (lifo)" : ""}`],
    ["attempts", `${j.attempt} of ${j.maxAttempts}`],
    ["stalls", `${j.stalls} of ${j.maxStalls}`],
    ["timeout", j.timeoutMs === null ? "none" : formatDuration(j.timeoutMs)],
    ["created", formatTime(j.createdAt, now)],
    ["run at", formatTime(j.runAt, now)],
    ["attempted", formatTime(j.attemptedAt, now)],
    ["finished", formatTime(j.finishedAt, now)],
  ];
  if (j.leaseOwner !== null) {
    rows.push(["lease", `${j.leaseOwner}, expires ${formatRelative(j.leaseExpiresAt, now)}`]);
  }
  rows.push(["progress", j.progress === null ? "-" : formatInline(j.progress, 200)]);
  const width = Math.max(...rows.map(([k]) => k.length));
  const out: string[] = [`job ${j.id}  ${j.name}  (${j.state})`];
  for (const [k, v] of rows) out.push(`  ${k.padEnd(width)}  ${v}`);
  out.push("  data:", indent(formatJson(j.data).trimEnd(), 4));
  if (j.result !== null) out.push("  result:", indent(formatJson(j.result).trimEnd(), 4));
  if (Object.keys(j.meta).length > 0) out.push("  meta:", indent(formatJson(j.meta).trimEnd(), 4));
  out.push(`  errors (${j.errors.length}):`);
  if (j.errors.length === 0) out.push("    none");
  for (const e of j.errors) {
    out.push(`    attempt ${e.attempt}  ${e.kind}  ${formatTime(e.at, now)}`);
    out.push(`      ${e.name}: ${e.message}`);
    if (e.stack) {
      const frames = e.stack.split("\n").filter((l) => /^\s+at /.test(l));
      for (const f of frames) out.push(`        ${f.trim()}`);
    }
  }
  out.push(`  logs (${j.logs.length}):`);
  if (j.logs.length === 0) out.push("    none");
  for (const l of j.logs) {
    out.push(`    ${new Date(l.at).toISOString()}  ${l.level.padEnd(5)}  #${l.attempt}  ${l.message}`);
  }
  return `${out.join("\n")}\n`;
}
