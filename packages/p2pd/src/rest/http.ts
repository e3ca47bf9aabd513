import { type IncomingMessage, STATUS_CODES } from "node:http";
import type { Socket } from "node:net";
import { RestError } from "./errors.js";

/** What the API reads from a request head (node:http parsed and framed it). Names lower-case. */
export interface RequestHead {
  method: string;
  version: "HTTP/1.1" | "HTTP/1.0";
  /** Percent-decoded path, without the query string. */
  path: string;
  /** Raw path segments, each percent-decoded on its own (so an encoded "/" stays inside one). */
  segments: string[];
  query: URLSearchParams;
  headers: Map<string, string>;
}

/** An answer before it is written: to a `ServerResponse`, or raw to a socket node:http let go. */
export interface Reply {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

/**
 * Headers whose duplicates are ambiguous: refused rather than guessed (node:http would keep the
 * first of some and join others). Content-Length duplicates are already refused by the parser.
 */
const SINGLE = new Set([
  "host",
  "origin",
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
 * The API's head from what node:http parsed (`method`, `HTTP/x.y`, target, raw header pairs).
 * node:http's strict parser already refused bad framing, control characters, folded lines and a
 * space before a colon; these are the rules it does not have.
 */
export function toHead(
  method: string,
  version: string,
  target: string,
  rawHeaders: readonly string[],
): RequestHead {
  if (version !== "HTTP/1.1" && version !== "HTTP/1.0") {
    throw new RestError("ERR_BAD_REQUEST", 400, "only HTTP/1.x is spoken here");
  }
  if (!target.startsWith("/"))
    throw new RestError("ERR_BAD_REQUEST", 400, "request target must be a path");
  const headers = new Map<string, string>();
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = (rawHeaders[i] as string).toLowerCase();
    if (headers.has(name) && SINGLE.has(name)) {
      throw new RestError("ERR_BAD_REQUEST", 400, `duplicate ${name} header`);
    }
    headers.set(name, rawHeaders[i + 1] as string);
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
  };
}

export function readHead(req: IncomingMessage): RequestHead {
  return toHead(req.method ?? "", `HTTP/${req.httpVersion}`, req.url ?? "", req.rawHeaders);
}

/** The declared body length: 0 when absent, a 413 above `max` (node:http checked its syntax). */
export function contentLength(head: RequestHead, max: number): number {
  const n = Number(head.headers.get("content-length") ?? 0);
  if (n > max) throw new RestError("ERR_BODY_TOO_LARGE", 413, `body larger than ${max} bytes`);
  return n;
}

/** Serialises a reply for a socket node:http no longer answers on; the socket closes after it. */
export function rawReply(r: Reply): Buffer {
  const lines = [`HTTP/1.1 ${r.status} ${STATUS_CODES[r.status] ?? "Status"}`];
  for (const [k, v] of Object.entries({
    ...r.headers,
    "Content-Length": String(r.body.length),
    Connection: "close",
  })) {
    lines.push(`${k}: ${v}`);
  }
  return Buffer.concat([Buffer.from(`${lines.join("\r\n")}\r\n\r\n`, "latin1"), r.body]);
}

const CRLF2 = Buffer.from("\r\n\r\n");

/**
 * Hands node:http's parser a socket's bytes cut after every blank line, so that a request head
 * is always the end of what the parser saw: when that request turns the socket into a relay
 * (`/tunnel` without `Connection: upgrade`, as P2PD's `/p2p/pipe`), `sink()` returns where the
 * rest goes, and the parser never reads relay bytes as HTTP. A cut inside a body is harmless.
 * Must run right after node:http's own `connection` listener (whose `data` listener it takes).
 */
export function feedByHead(socket: Socket, sink: () => ((b: Buffer) => void) | undefined): void {
  const parse = socket.listeners("data").at(-1) as ((b: Buffer) => void) | undefined;
  if (!parse) return;
  socket.removeListener("data", parse);
  let tail: Buffer = Buffer.alloc(0);
  const held: Buffer[] = [];
  const drain = () => {
    while (held.length) {
      const to = sink();
      // node:http paused the socket (answers backing up): its parser must wait for the resume.
      if (!to && socket.isPaused()) return;
      const piece = held.shift() as Buffer;
      if (to) to(piece);
      else parse(piece);
    }
  };
  const feed = (piece: Buffer) => {
    held.push(piece);
    drain();
  };
  socket.on("resume", drain);
  socket.on("data", (chunk: Buffer) => {
    let from = 0;
    // A blank line split across two reads.
    const last = tail[tail.length - 1];
    const edge =
      last === 0x0d || last === 0x0a
        ? Buffer.concat([tail, chunk.subarray(0, 3)]).indexOf(CRLF2)
        : -1;
    if (edge >= 0) {
      from = edge + 4 - tail.length;
      feed(chunk.subarray(0, from));
    }
    for (let at = chunk.indexOf(CRLF2, from); at >= 0; at = chunk.indexOf(CRLF2, from)) {
      feed(chunk.subarray(from, at + 4));
      from = at + 4;
    }
    if (from < chunk.length) feed(chunk.subarray(from));
    tail = chunk.length >= 3 ? chunk.subarray(-3) : Buffer.concat([tail, chunk]).subarray(-3);
  });
}
