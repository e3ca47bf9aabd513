import { timingSafeEqual } from "node:crypto";
import { isIPv4 } from "node:net";
import { RestError } from "./errors.js";
import type { RequestHead } from "./http.js";

const LOOPBACK_HOST = /^(127(?:\.\d{1,3}){3}|localhost|\[::1\])(?::\d{1,5})?$/i;

/** A literal loopback address (or "localhost") to listen on; never a name DNS could move. */
export function isLoopbackListen(host: string): boolean {
  return host === "localhost" || host === "::1" || (isIPv4(host) && host.startsWith("127."));
}

/** `null` (file:, sandboxed, curl-like tools) or a loopback page: the origins P2PD allowed. */
export function originAllowed(origin: string | undefined): boolean {
  return origin === undefined || origin === "null" || isLoopbackOrigin(origin);
}

function loopbackUrl(url: string): boolean {
  try {
    const u = new URL(url);
    return (u.protocol === "http:" || u.protocol === "https:") && LOOPBACK_HOST.test(u.host);
  } catch {
    return false;
  }
}

/** An Origin a browser sends for a loopback page (any port): the dashboard, local tools. */
export function isLoopbackOrigin(origin: string): boolean {
  const m = /^https?:\/\/([^/]+)$/i.exec(origin);
  return m !== null && LOOPBACK_HOST.test(m[1] as string);
}

export interface SecurityOptions {
  /** Optional bearer token: when set, every request but the dashboard page needs it. */
  token?: string;
}

/**
 * Decides whether a request may be served. Rules (why each exists):
 * - Host must be a loopback name: defeats DNS rebinding (evil.example resolving to 127.0.0.1).
 * - Origin, when present, must be `null` or a loopback origin (P2PD's rule, plus localhost/ports).
 * - State-changing routes are refused when the browser says the request is cross-site
 *   (`Sec-Fetch-Site`), even without an Origin header: an `<img src>` or a sandboxed iframe on a
 *   hostile page must not make the node open connections or send data. Non-browser clients
 *   (curl, scripts) send none of these headers and are unaffected.
 * - With a token, `Authorization: Bearer <token>` (or `?token=` for the dashboard) is required.
 */
export function checkRequest(head: RequestHead, mutating: boolean, opts: SecurityOptions): void {
  const host = head.headers.get("host");
  if (host !== undefined && !LOOPBACK_HOST.test(host)) {
    throw new RestError(
      "ERR_NOT_LOOPBACK",
      421,
      "Host must be a loopback address (DNS rebinding protection)",
    );
  }
  const origin = head.headers.get("origin");
  if (!originAllowed(origin)) {
    throw new RestError("ERR_BAD_ORIGIN", 403, "requests from other origins are refused");
  }
  const site = head.headers.get("sec-fetch-site");
  // An opaque origin from another site (a sandboxed iframe, a data: page) must not even read:
  // /addr and /ifs would tell any web page the machine's addresses.
  if (origin === "null" && site !== undefined && site !== "same-origin" && site !== "none") {
    throw new RestError(
      "ERR_CROSS_SITE",
      403,
      "requests from opaque cross-site origins are refused",
    );
  }
  // Browsers without Fetch Metadata (old Safari, Firefox) still send a Referer unless told not to.
  const referer = head.headers.get("referer");
  if (mutating && referer !== undefined && !loopbackUrl(referer)) {
    throw new RestError(
      "ERR_CROSS_SITE",
      403,
      "state-changing requests from other sites are refused",
    );
  }
  if (mutating && site !== undefined && site !== "same-origin" && site !== "none") {
    throw new RestError(
      "ERR_CROSS_SITE",
      403,
      "state-changing requests from other sites are refused",
    );
  }
  if (mutating && origin === "null" && site === undefined && head.headers.has("referer")) {
    throw new RestError(
      "ERR_CROSS_SITE",
      403,
      "state-changing requests from opaque origins are refused",
    );
  }
  if (opts.token !== undefined && head.path !== "/") {
    const auth = head.headers.get("authorization") ?? "";
    const given = /^bearer /i.test(auth) ? auth.slice(7) : (head.query.get("token") ?? "");
    const a = Buffer.from(given);
    const b = Buffer.from(opts.token);
    if (a.length !== b.length || !timingSafeEqual(a, b)) {
      throw new RestError("ERR_UNAUTHORIZED", 401, "missing or wrong bearer token");
    }
  }
}

/** CORS headers for an allowed origin (never `*`). */
export function corsHeaders(head: RequestHead): Record<string, string> {
  const origin = head.headers.get("origin");
  // Never echo an origin that was refused: its page must not even read the error.
  if (origin === undefined || !originAllowed(origin)) return {};
  return { "Access-Control-Allow-Origin": origin, Vary: "Origin" };
}
