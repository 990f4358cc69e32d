import type { Command } from "commander";
import { JobNotFoundError } from "../../errors.js";
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
import { println } from "../io.js";
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
  limit?: number;
  cursor?: string;
}

/** `conveyor jobs ls|show|retry|promote|cancel|delete`. */
export function registerJobs(program: Command, ctx: CommandContext): void {
  const { io } = ctx;
  const jobs = program
    .command("jobs")
    .description("list, inspect, retry, promote, cancel and delete jobs")
    .addHelpText("after", example("conveyor jobs ls --state retryable", "conveyor jobs show 42"));

  const ls = jobs
    .command("ls")
    .description("list jobs, newest first, with filters and pages")
    .addOption(stateOption())
    .option("--queue <queue>", "only jobs in this queue", parseName)
    .option("--name <name>", "only jobs of this job type", parseName)
    .option("--limit <n>", "jobs per page, 1 to 1000 (default 50)", intParser(1, 1_000))
    .option("--cursor <cursor>", "start after this cursor (printed at the end of the previous page)", parseId)
    .addHelpText(
      "after",
      example("conveyor jobs ls --state discarded --limit 20", "conveyor jobs ls --json"),
    );
  storeOption(ls);
  jsonOption(ls);
  ls.action(async (flags: LsFlags) => {
    const url = storeUrl(flags.store, io);
    await withApp(
      url,
      io,
      async (app) => {
        const page = await app.listJobs({
          limit: flags.limit ?? 50,
          ...(flags.state ? { state: flags.state } : {}),
          ...(flags.queue ? { queue: flags.queue } : {}),
          ...(flags.name ? { name: flags.name } : {}),
          ...(flags.cursor ? { cursor: flags.cursor } : {}),
        });
        if (flags.json) {
          writeJson(io.stdout, page);
          return;
        }
        if (page.jobs.length === 0) {
          println(io.stdout, flags.cursor ? "no more jobs" : "no jobs match");
          return;
        }
        io.stdout.write(jobTable(page.jobs, Date.now()));
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
    description: "show one job: data, state, attempts with their errors and stacks, logs, progress, result",
    examples: ["conveyor jobs show 42", "conveyor jobs show 42 --json"],
    async run(app, id, { json }) {
      const job = await app.getJob(id);
      if (!job) throw new JobNotFoundError(id);
      if (json) writeJson(io.stdout, job);
      else io.stdout.write(jobDetail(job, Date.now()));
    },
  });

  byId({
    name: "retry",
    description: "run a scheduled, retryable or finished job again now",
    examples: ["conveyor jobs retry 42"],
    async run(app, id, { json }) {
      const job = await app.retryJob(id);
      if (json) writeJson(io.stdout, job);
      else
        println(
          io.stdout,
          `job ${job.id} (${job.name}) is ${job.state}: attempt ${job.attempt + 1} of ${job.maxAttempts} is next`,
        );
    },
  });

  byId({
    name: "promote",
    description: "run a scheduled (delayed) or retryable job now instead of at its run time",
    examples: ["conveyor jobs promote 42"],
    async run(app, id, { json }) {
      const before = await app.getJob(id);
      const job = await app.promoteJob(id);
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
      const before = await app.getJob(id);
      const job = await app.cancelJob(id);
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
    examples: ["conveyor jobs delete 42"],
    json: false,
    async run(app, id) {
      if (!(await app.deleteJob(id))) throw new JobNotFoundError(id);
      println(io.stdout, `job ${id} deleted`);
    },
  });
}

const LS_COLUMNS: Column[] = [
  { header: "ID", align: "right" },
  { header: "STATE" },
  { header: "NAME" },
  { header: "QUEUE" },
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
