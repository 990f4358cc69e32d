/** Small node:http helpers of the dashboard: bounded body reading and typed responses. */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { SafeHtml } from "./html.js";

/** Largest request body the dashboard reads (forms and JSON actions are a few hundred bytes). */
export const MAX_BODY_BYTES = 16 * 1024;

/** A request body that was too large or malformed. */
export class BodyError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

/** A parsed form or JSON body: string fields only (the dashboard's actions take nothing else). */
export type Fields = Map<string, string>;

function fieldsOf(value: unknown): Fields {
  const out: Fields = new Map();
  if (value !== null && typeof value === "object" && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      if (typeof v === "string") out.set(k, v);
      else if (typeof v === "number" || typeof v === "boolean") out.set(k, String(v));
    }
  }
  return out;
}

/**
 * Reads a urlencoded or JSON body, at most {@link MAX_BODY_BYTES}. A body a framework already parsed
 * (Express's `req.body`) is used as is.
 */
export async function readFields(req: IncomingMessage): Promise<Fields> {
  const pre = (req as IncomingMessage & { body?: unknown }).body;
  if (pre !== undefined && pre !== null && !(typeof pre === "string" || Buffer.isBuffer(pre))) {
    return fieldsOf(pre);
  }
  const declared = Number(req.headers["content-length"] ?? "0");
  if (Number.isFinite(declared) && declared > MAX_BODY_BYTES) {
    throw new BodyError(413, `request body too large (at most ${MAX_BODY_BYTES} bytes)`);
  }
  let text: string;
  if (typeof pre === "string" || Buffer.isBuffer(pre)) {
    text = pre.toString();
    if (text.length > MAX_BODY_BYTES) throw new BodyError(413, "request body too large");
  } else {
    text = await readText(req);
  }
  const type = (req.headers["content-type"] ?? "").split(";", 1)[0]?.trim().toLowerCase() ?? "";
  if (text.length === 0) return new Map();
  if (type === "application/json") {
    try {
      return fieldsOf(JSON.parse(text));
    } catch {
      throw new BodyError(400, "the JSON body is not valid JSON");
    }
  }
  if (type === "application/x-www-form-urlencoded" || type === "") {
    return new Map(new URLSearchParams(text));
  }
  throw new BodyError(415, `unsupported content type ${type}: send a form or JSON`);
}

function readText(req: IncomingMessage): Promise<string> {
  if (req.readableEnded) return Promise.resolve("");
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    req.on("data", (chunk: Buffer) => {
      if (failed) return;
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        failed = true;
        // Stop reading; the response says why and closes the connection.
        req.pause();
        reject(new BodyError(413, `request body too large (at most ${MAX_BODY_BYTES} bytes)`));
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => {
      if (!failed) resolve(Buffer.concat(chunks).toString("utf8"));
    });
    req.on("error", (err) => {
      if (!failed) reject(err);
    });
  });
}

function finish(
  res: ServerResponse,
  status: number,
  type: string,
  body: string | Buffer,
  head: boolean,
): void {
  res.statusCode = status;
  res.setHeader("content-type", type);
  res.setHeader("content-length", Buffer.byteLength(body));
  if (!res.hasHeader("cache-control")) res.setHeader("cache-control", "no-store");
  res.end(head ? undefined : body);
}

/** Sends a page. */
export function sendHtml(res: ServerResponse, status: number, page: SafeHtml, head = false): void {
  finish(res, status, "text/html; charset=utf-8", page.toString(), head);
}

/** Sends JSON (never cached). */
export function sendJson(res: ServerResponse, status: number, value: unknown, head = false): void {
  finish(res, status, "application/json; charset=utf-8", JSON.stringify(value), head);
}

/** Sends a static asset body with the given type. */
export function sendAsset(res: ServerResponse, type: string, body: string, head: boolean): void {
  finish(res, 200, type, body, head);
}

/** 303 See Other to `location` (after a form POST, so a reload does not post again). */
export function redirect(res: ServerResponse, location: string, status = 303): void {
  res.statusCode = status;
  res.setHeader("location", location);
  res.setHeader("cache-control", "no-store");
  res.setHeader("content-length", 0);
  res.end();
}
