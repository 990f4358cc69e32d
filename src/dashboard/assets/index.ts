/**
 * The dashboard's bundled assets, served from `<base>/assets/<name>?v=<hash>`: nothing is fetched from any
 * other origin. The hash in the URL changes with the content, so the files can be cached for good.
 */
import { createHash } from "node:crypto";
import { APP_JS } from "./app.js.js";
import { STYLE_CSS } from "./style.css.js";

/** The logo: a belt with three parcels. Also the favicon. */
export const LOGO_SVG =
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32" aria-hidden="true">' +
  '<rect x="1" y="1" width="30" height="30" rx="8" fill="#3451d1"/>' +
  '<rect x="6" y="10" width="6" height="7" rx="1.5" fill="#fff"/>' +
  '<rect x="13.5" y="8" width="6" height="9" rx="1.5" fill="#fff" opacity=".8"/>' +
  '<rect x="21" y="11" width="5" height="6" rx="1.5" fill="#fff" opacity=".6"/>' +
  '<rect x="5" y="20" width="22" height="3" rx="1.5" fill="#fff"/>' +
  '<circle cx="9" cy="25.5" r="1.3" fill="#fff"/><circle cx="16" cy="25.5" r="1.3" fill="#fff"/>' +
  '<circle cx="23" cy="25.5" r="1.3" fill="#fff"/></svg>';

/** One served file. */
export interface Asset {
  type: string;
  body: string;
  /** First 12 hex digits of its SHA-256, put in its URL. */
  hash: string;
}

function asset(type: string, body: string): Asset {
  return { type, body, hash: createHash("sha256").update(body).digest("hex").slice(0, 12) };
}

/** The assets by file name. */
export const ASSETS: ReadonlyMap<string, Asset> = new Map([
  ["app.js", asset("text/javascript; charset=utf-8", APP_JS)],
  ["style.css", asset("text/css; charset=utf-8", STYLE_CSS)],
  ["favicon.svg", asset("image/svg+xml", LOGO_SVG)],
]);
