import { type Command, InvalidArgumentError } from "commander";
import { ConveyorError } from "../../errors.js";
import { CATCH_UP_MAX } from "../../scheduler/catch-up.js";
import type { ScheduleOptions } from "../../scheduler/options.js";
import { assertTimeZone, describeSpec, parseScheduleSpec } from "../../scheduler/schedule-spec.js";
import type { CatchUpPolicy, ScheduleRecord } from "../../store/store.js";
import { withApp } from "../app.js";
import { type Column, formatRelative, formatTable, writeJson } from "../format.js";
import { println, UsageError } from "../io.js";
import { intParser, jsonOption, parseJson, parseName, storeOption, storeUrl } from "../options.js";
import type { CommandContext } from "../run.js";
import { example, storeCommand, writeList } from "../store-command.js";

interface StoreFlags {
  store?: string;
  json?: boolean;
}

interface AddFlags extends StoreFlags {
  job: string;
  cron?: string;
  tz?: string;
  every?: number;
  data?: unknown;
  catchUp?: CatchUpPolicy;
  queue?: string;
  priority?: number;
  attempts?: number;
  force?: boolean;
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** commander parser for `--every`: milliseconds, or a number with a unit (500ms, 30s, 5m, 2h, 1d). */
export function parseEvery(value: string): number {
  const m = /^(\d+)(ms|s|m|h|d)?$/.exec(value.trim());
  const n = m === null ? Number.NaN : Number(m[1]) * (UNIT_MS[m[2] ?? "ms"] ?? Number.NaN);
  if (!Number.isSafeInteger(n) || n < 1) {
    throw new InvalidArgumentError(
      "Give a positive number of milliseconds, or with a unit: 500ms, 30s, 5m, 2h, 1d.",
    );
  }
  return n;
}

/** commander parser for `--catch-up`: skip, last or all:N. */
export function parseCatchUpFlag(value: string): CatchUpPolicy {
  if (value === "skip" || value === "last") return { policy: value };
  const m = /^all:(\d+)$/.exec(value);
  const max = m === null ? Number.NaN : Number(m[1]);
  if (Number.isSafeInteger(max) && max >= 1 && max <= CATCH_UP_MAX) return { policy: "all", max };
  throw new InvalidArgumentError(
    `Use skip, last or all:N (N from 1 to ${CATCH_UP_MAX}), e.g. --catch-up all:10.`,
  );
}

/** commander parser for `--tz`. */
function parseTz(value: string): string {
  try {
    assertTimeZone(value, "--tz");
  } catch {
    throw new InvalidArgumentError(
      'Use an IANA time zone name such as "UTC", "Europe/Paris" or "Asia/Seoul".',
    );
  }
  return value;
}

function describeCatchUp(c: CatchUpPolicy): string {
  return c.policy === "all" ? `all:${c.max}` : c.policy;
}

/** `conveyor schedules ls|add|rm|pause|resume`. */
export function registerSchedules(program: Command, ctx: CommandContext): void {
  const { io } = ctx;
  const schedules = program
    .command("schedules")
    .description("list, add, remove, pause and resume cron and interval schedules")
    .addHelpText(
      "after",
      example(
        "conveyor schedules ls",
        `conveyor schedules add nightly --job analyse-file --cron "0 3 * * *" --tz Asia/Seoul --data '{"fileId":"all"}'`,
      ),
    );

  storeCommand(schedules, ctx, {
    name: "ls",
    description: "list schedules: spec, next run, last tick, paused or not",
    examples: ["conveyor schedules ls --json"],
    json: true,
    async run(app, _arg, { json }) {
      const now = Date.now();
      const when = (t: number | null) =>
        t === null ? "-" : `${new Date(t).toISOString()} (${formatRelative(t, now)})`;
      writeList(io, await app.admin.schedules(), {
        json,
        empty: 'no schedules yet: add one with "conveyor schedules add" or app.schedule()',
        table: (list) =>
          formatTable(
            ["ID", "JOB", "QUEUE", "SPEC", "CATCH-UP", "PAUSED", "NEXT RUN", "LAST TICK"].map(
              (header): Column => ({ header }),
            ),
            list.map((s) => [
              s.id,
              s.jobName,
              s.queue,
              describeSpec(s.spec),
              describeCatchUp(s.catchUp),
              s.paused ? "yes" : "no",
              s.paused ? "(paused)" : when(s.nextRunAt),
              when(s.lastTickAt),
            ]),
          ),
      });
    },
  });

  const add = schedules
    .command("add")
    .description(
      "create or replace a schedule that enqueues one job per tick (a scheduler must run: see worker --scheduler)",
    )
    .argument("<id>", "the schedule's stable name, e.g. nightly-report", parseName)
    .requiredOption("--job <name>", "job type each tick enqueues", parseName)
    .option("--cron <expr>", 'cron expression: 5 fields, or 6 with leading seconds, e.g. "0 3 * * *"')
    .option("--tz <zone>", "IANA time zone of --cron (default UTC)", parseTz)
    .option("--every <interval>", "fixed interval: milliseconds, or 30s, 5m, 2h, 1d", parseEvery)
    .option("--data <json>", "the jobs' data as JSON (default {})", parseJson)
    .option("--catch-up <policy>", "after downtime: skip, last (default) or all:N", parseCatchUpFlag)
    .option("--queue <queue>", "queue to use (default: the job type's queue)", parseName)
    .option(
      "--priority <n>",
      "lower runs first (default: the job type's, else 0)",
      intParser(-1_000_000, 1_000_000),
    )
    .option("--attempts <n>", "total attempts per job (default: the job type's, else 3)", intParser(1, 1_000))
    .option("--force", "add it even if no worker has registered this job name")
    .addHelpText(
      "after",
      example(
        `conveyor schedules add nightly --job analyse-file --cron "0 3 * * *" --tz Asia/Seoul`,
        `conveyor schedules add heartbeat --job ping --every 30s --catch-up skip`,
        `conveyor schedules add sweep --job sweep --cron "*/10 * * * * *" --data '{"all":true}'`,
      ),
    );
  storeOption(add);
  jsonOption(add);
  add.action(async (id: string, flags: AddFlags) => {
    if ((flags.cron === undefined) === (flags.every === undefined)) {
      throw new UsageError("give exactly one of --cron <expr> and --every <interval>");
    }
    if (flags.tz !== undefined && flags.cron === undefined)
      throw new UsageError("--tz applies to --cron only");
    let spec: { cron: string; tz?: string } | { everyMs: number };
    if (flags.cron !== undefined)
      spec = { cron: flags.cron, ...(flags.tz !== undefined ? { tz: flags.tz } : {}) };
    else spec = { everyMs: flags.every! };
    try {
      parseScheduleSpec(spec, "spec");
    } catch (error) {
      // A bad expression is a bad flag: exit 2, nothing touched.
      if (!(error instanceof ConveyorError)) throw error;
      const flag = error.message.replace(/^spec\.cron/, "--cron").replace(/^spec\.everyMs/, "--every");
      throw new UsageError(flag.replace(/^spec\.tz/, "--tz"));
    }
    const options: ScheduleOptions = {
      ...(flags.queue !== undefined ? { queue: flags.queue } : {}),
      ...(flags.priority !== undefined ? { priority: flags.priority } : {}),
      ...(flags.attempts !== undefined ? { attempts: flags.attempts } : {}),
      ...(flags.catchUp !== undefined ? { catchUp: flags.catchUp } : {}),
      ...(flags.force ? { force: true } : {}),
    };
    await withApp(storeUrl(flags.store, io), io, async (app) => {
      const existed = (await app.admin.schedule(id)) !== null;
      const schedule = await app.schedule(id, spec, flags.job, flags.data ?? {}, options);
      if (flags.json) {
        writeJson(io.stdout, schedule);
        return;
      }
      println(io.stdout, `${existed ? "replaced" : "added"} ${summary(schedule)}`);
      println(
        io.stdout,
        'jobs are enqueued only while a scheduler runs: "conveyor worker --jobs <module> --scheduler"',
      );
    });
  });

  const ID = { name: "id", description: "schedule id", parse: parseName };
  storeCommand(schedules, ctx, {
    name: "rm",
    description: "delete a schedule (the jobs it already enqueued stay)",
    examples: ["conveyor schedules rm nightly"],
    argument: ID,
    async run(app, id) {
      if (!(await app.unschedule(id))) {
        println(io.stderr, `error: no schedule "${id}"; see "conveyor schedules ls"`);
        ctx.exit(1);
        return;
      }
      println(io.stdout, `schedule ${id} deleted`);
    },
  });

  storeCommand(schedules, ctx, {
    name: "pause",
    description: "stop a schedule from enqueuing until it is resumed",
    examples: ["conveyor schedules pause nightly"],
    argument: ID,
    async run(app, id) {
      await app.admin.pauseSchedule(id);
      println(
        io.stdout,
        `schedule ${id} paused: nothing is enqueued until "conveyor schedules resume ${id}"`,
      );
    },
  });

  storeCommand(schedules, ctx, {
    name: "resume",
    description: "resume a paused schedule from its next tick (ticks missed while paused are not caught up)",
    examples: ["conveyor schedules resume nightly"],
    argument: ID,
    async run(app, id) {
      const s = await app.admin.resumeSchedule(id);
      const next = s.nextRunAt === null ? "none" : new Date(s.nextRunAt).toISOString();
      println(io.stdout, `schedule ${id} resumed; next run ${next}`);
    },
  });
}

function summary(s: ScheduleRecord): string {
  const next = s.nextRunAt === null ? "none" : new Date(s.nextRunAt).toISOString();
  return `schedule ${s.id}: ${s.jobName} on queue ${s.queue}, ${describeSpec(s.spec)}, catch-up ${describeCatchUp(s.catchUp)}, next run ${next}`;
}
