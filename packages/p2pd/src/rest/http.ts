import { RestError } from "./errors.js";

/** A parsed HTTP/1.1 request head. Header names are lower-case. */
export interface RequestHead {
  method: string;
  version: "HTTP/1.1" | "HTTP/1.0";
  /** Percent-decoded path, without the query string. */
  path: string;
  /** Raw path segments, each percent-decoded on its own (so an encoded "/" stays inside one). */
  segments: string[];
  query: URLSearchParams;
  headers: Map<string, string>;
  /** Bytes after the head (body start, or relay data for a tunnel). */
  rest: Buffer;
}

const CRLFCRLF = Buffer.from("\r\n\r\n");
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** A control character other than HTAB (the head is already split on CRLF). */
function hasCtl(line: string): boolean {
  for (let i = 0; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if ((c < 0x20 && c !== 0x09) || c === 0x7f) return true;
  }
  return false;
}
/** Headers whose duplicates are ambiguous: refused rather than guessed. */
const SINGLE = new Set([
  "host",
  "origin",
  "content-length",
  "authorization",
  "sec-fetch-site",
  "referer",
  "upgrade",
  "expect",
  "connection",
]);

function decode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw new RestError("ERR_BAD_ENCODING", 400, "malformed percent-encoding in the path");
  }
}

/**
 * Parses a request head from `buf`, or returns undefined while it is incomplete. Strict on
 * purpose: the API only ever needs simple requests, and anything odd is a 400, never a crash.
 */
export function parseHead(buf: Buffer, maxHead: number): RequestHead | undefined {
  const end = buf.indexOf(CRLFCRLF);
  if (end < 0) {
    if (buf.length > maxHead)
      throw new RestError("ERR_HEAD_TOO_LARGE", 431, "request head too large");
    return undefined;
  }
  if (end > maxHead) throw new RestError("ERR_HEAD_TOO_LARGE", 431, "request head too large");
  const lines = buf.subarray(0, end).toString("latin1").split("\r\n");
  // Bare CR/LF, NUL and other controls let two parsers disagree on where a header ends (smuggling).
  for (const line of lines) {
    if (hasCtl(line)) throw new RestError("ERR_BAD_REQUEST", 400, "control character in head");
  }
  const [method, target, version, extra] = (lines[0] ?? "").split(" ");
  if (!method || !target || !version || extra !== undefined || !TOKEN.test(method)) {
    throw new RestError("ERR_BAD_REQUEST", 400, "malformed request line");
  }
  if (version !== "HTTP/1.1" && version !== "HTTP/1.0") {
    throw new RestError("ERR_BAD_REQUEST", 400, "only HTTP/1.x is spoken here");
  }
  if (!target.startsWith("/"))
    throw new RestError("ERR_BAD_REQUEST", 400, "request target must be a path");
  const headers = new Map<string, string>();
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(":");
    // No trim of the name: "Content-Length : 5" and folded lines (" X: y") are smuggling tools.
    const name = line.slice(0, colon).toLowerCase();
    if (colon <= 0 || !TOKEN.test(name))
      throw new RestError("ERR_BAD_REQUEST", 400, "malformed header line");
    const value = line.slice(colon + 1).trim();
    if (headers.has(name) && SINGLE.has(name)) {
      throw new RestError("ERR_BAD_REQUEST", 400, `duplicate ${name} header`);
    }
    headers.set(name, value);
  }
  if (headers.has("transfer-encoding")) {
    throw new RestError(
      "ERR_BAD_REQUEST",
      400,
      "chunked bodies are not accepted; send Content-Length",
    );
  }
  const q = target.indexOf("?");
  const rawPath = q < 0 ? target : target.slice(0, q);
  const segments = rawPath.split("/").slice(1).map(decode);
  return {
    method: method.toUpperCase(),
    version,
    path: decode(rawPath),
    segments: segments.length === 1 && segments[0] === "" ? [] : segments,
    query: new URLSearchParams(q < 0 ? "" : target.slice(q + 1)),
    headers,
    rest: buf.subarray(end + 4),
  };
}

/** The declared body length: 0 when absent, a 400 when malformed, a 413 above `max`. */
export function contentLength(head: RequestHead, max: number): number {
  const v = head.headers.get("content-length");
  if (v === undefined) return 0;
  if (!/^\d{1,12}$/.test(v)) throw new RestError("ERR_BAD_LENGTH", 400, "malformed Content-Length");
  const n = Number(v);
  if (n > max) throw new RestError("ERR_BODY_TOO_LARGE", 413, `body larger than ${max} bytes`);
  return n;
}

const REASONS: Record<number, string> = {
  200: "OK",
  101: "Switching Protocols",
  204: "No Content",
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  408: "Request Timeout",
  409: "Conflict",
  410: "Gone",
  417: "Expectation Failed",
  413: "Payload Too Large",
  421: "Misdirected Request",
  431: "Request Header Fields Too Large",
  500: "Internal Server Error",
  502: "Bad Gateway",
  503: "Service Unavailable",
  504: "Gateway Timeout",
};

/** Serialises a complete response (the server closes the connection after each one). */
export function response(
  status: number,
  headers: Record<string, string>,
  body: Buffer = Buffer.alloc(0),
): Buffer {
  const lines = [`HTTP/1.1 ${status} ${REASONS[status] ?? "Status"}`];
  for (const [k, v] of Object.entries({
    ...headers,
    "Content-Length": String(body.length),
    Connection: "close",
  })) {
    lines.push(`${k}: ${v}`);
  }
  return Buffer.concat([Buffer.from(`${lines.join("\r\n")}\r\n\r\n`, "latin1"), body]);
}

/** HTTP/1.1 keeps the connection unless told to close; HTTP/1.0 only when asked to keep it. */
export function wantsKeepAlive(head: RequestHead): boolean {
  const c = head.headers.get("connection")?.toLowerCase() ?? "";
  return head.version === "HTTP/1.1" ? !c.includes("close") : c.includes("keep-alive");
}

const CLOSE = Buffer.from("\r\nConnection: close\r\n", "latin1");
const KEEP = Buffer.from("\r\nConnection: keep-alive\r\n", "latin1");

/** Rewrites a serialised response's `Connection: close` into `keep-alive`. */
export function keepAlive(res: Buffer): Buffer {
  const end = res.indexOf("\r\n\r\n");
  const at = res.indexOf(CLOSE);
  if (at < 0 || at > end) return res;
  return Buffer.concat([res.subarray(0, at), KEEP, res.subarray(at + CLOSE.length)]);
}
