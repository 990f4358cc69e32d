/**
 * The demo's job types: defined with `defineJob` and zod schemas, as an app would. They sleep instead of
 * working, report progress and logs, and two of them fail on purpose to show retries and the discarded set.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { z } from "zod";
import { defineJob } from "../job/define.js";

/** Queue of each demo job type (so `conveyor queues ls` has something to show). */
export const DEMO_QUEUES = ["images", "emails", "files", "crm"] as const;

/** Fast, with progress in four steps. */
export const resizeImage = defineJob({
  name: "resize-image",
  queue: "images",
  schema: z.object({ imageId: z.string().min(1), width: z.number().int().positive().max(10_000) }),
  async handler(data, ctx) {
    for (let step = 1; step <= 4; step++) {
      await sleep(5 + Math.random() * 15, undefined, { signal: ctx.signal });
      ctx.progress(step * 25);
    }
    return { imageId: data.imageId, width: data.width, bytes: Math.round((data.width * data.width) / 8) };
  },
});

/** Fast. */
export const sendEmail = defineJob({
  name: "send-email",
  queue: "emails",
  schema: z.object({ to: z.email(), subject: z.string().max(200) }),
  async handler(data, ctx) {
    await sleep(2 + Math.random() * 8, undefined, { signal: ctx.signal });
    return { messageId: `msg-${ctx.id}`, to: data.to };
  },
});

/** Slower (a few hundred ms), with progress in ten steps and log lines. */
export const analyseFile = defineJob({
  name: "analyse-file",
  queue: "files",
  timeoutMs: 30_000,
  schema: z.object({ fileId: z.string().min(1), sizeKb: z.number().int().positive() }),
  async handler(data, ctx) {
    ctx.log(`analysing ${data.fileId} (${data.sizeKb} KB)`);
    const stepMs = Math.min(80, 20 + data.sizeKb / 50);
    for (let step = 1; step <= 10; step++) {
      await sleep(stepMs, undefined, { signal: ctx.signal });
      ctx.progress(step * 10);
      if (step === 5) ctx.log("halfway: tokenised, counting words");
    }
    const words = data.sizeKb * 170;
    ctx.log(`done: ${words} words`);
    return { fileId: data.fileId, words, lines: Math.round(words / 12) };
  },
});

/** Fails its first `failTimes` attempts (a dropped connection), then succeeds: a fixed 200 ms backoff. */
export const flakyUpload = defineJob({
  name: "flaky-upload",
  queue: "files",
  retry: { attempts: 4, backoff: { type: "fixed", delayMs: 200, jitter: 0 } },
  schema: z.object({ fileId: z.string().min(1), failTimes: z.number().int().min(0).max(3) }),
  async handler(data, ctx) {
    await sleep(10, undefined, { signal: ctx.signal });
    if (ctx.attempt <= data.failTimes) {
      throw new Error(
        `upload of ${data.fileId} interrupted: connection reset by peer (attempt ${ctx.attempt})`,
      );
    }
    return { url: `https://files.example.com/${data.fileId}`, attempts: ctx.attempt };
  },
});

/** Always fails: discarded after 2 attempts, 200 ms apart. */
export const syncCrm = defineJob({
  name: "sync-crm",
  queue: "crm",
  retry: { attempts: 2, backoff: { type: "fixed", delayMs: 200, jitter: 0 } },
  schema: z.object({ accountId: z.string().min(1) }),
  async handler(data, ctx) {
    await sleep(5, undefined, { signal: ctx.signal });
    throw new Error(`CRM rejected account ${data.accountId}: 422 unknown account`);
  },
});

/** Every demo job type, for a worker (and for `conveyor worker --jobs dist/demo/jobs.js`). */
export default [resizeImage, sendEmail, analyseFile, flakyUpload, syncCrm];
