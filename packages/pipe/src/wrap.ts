import type * as dgram from "node:dgram";
import * as net from "node:net";
import type { Duplex } from "node:stream";
import type { Endpoint, RouteLike } from "@p2pd/netifaces";
import { type DestLike, fromNode, ipFamily, resolveDest } from "./address.js";
import { PipeError } from "./errors.js";
import { MessagePipe, type MessageTransport } from "./message.js";
import { type PipeOptions, resolveOptions } from "./options.js";
import type { Proto } from "./pipe.js";
import { StreamPipe } from "./stream.js";
import { TcpPipe } from "./tcp.js";
import { UdpPipe } from "./udp.js";

export interface WrapOptions extends PipeOptions {
  /** What the pipe reports as `proto` (default "tcp" for streams, "udp" for message transports). */
  proto?: Proto;
  /** Overrides for pipe.local / pipe.remote when the stream is not a socket. */
  local?: Endpoint;
  remote?: Endpoint;
  /** Reported as `pipe.route`. */
  route?: RouteLike;
}

/** Where a pipe with no socket address says it is (unspecified host, port 0). */
const NOWHERE: Endpoint = Object.freeze({ host: "0.0.0.0", port: 0, family: 4 });

function checkProto(p: unknown, d: Proto): Proto {
  if (p === undefined) return d;
  if (p !== "tcp" && p !== "udp")
    throw new PipeError("ERR_BAD_ARGUMENT", 'proto must be "tcp" or "udp"');
  return p;
}

/** An Endpoint from `{ host, port, family?, scopeId? }` (ERR_BAD_ARGUMENT when malformed). */
function endpoint(v: unknown, name: string): Endpoint | undefined {
  if (v === undefined) return undefined;
  const e = v as Partial<Endpoint> | null;
  if (
    typeof e !== "object" ||
    e === null ||
    typeof e.host !== "string" ||
    typeof e.port !== "number" ||
    !Number.isInteger(e.port) ||
    e.port < 0 ||
    e.port > 65535
  ) {
    throw new PipeError("ERR_BAD_ARGUMENT", `${name} must be { host: string, port: 0..65535 }`);
  }
  if (e.family === 4 || e.family === 6) {
    return e.scopeId === undefined
      ? { host: e.host, port: e.port, family: e.family }
      : { host: e.host, port: e.port, family: e.family, scopeId: e.scopeId };
  }
  return fromNode(e.host, e.port);
}

function isDuplex(s: unknown): s is Duplex {
  const d = s as Partial<Duplex> | null;
  return (
    typeof d === "object" &&
    d !== null &&
    typeof d.on === "function" &&
    typeof d.write === "function" &&
    typeof d.end === "function" &&
    typeof d.pause === "function" &&
    typeof d.resume === "function" &&
    typeof d.destroy === "function" &&
    typeof d.cork === "function"
  );
}

/**
 * Any connected byte Duplex (socket, TLS socket, in-memory pair, punched socket) as a framed
 * message pipe (kind "stream"): `opts.framing` (default u32-length) and `opts.maxMessageBytes`
 * as on TcpPipe. The pipe owns the stream: close() ends and destroys it. Throws ERR_BAD_ARGUMENT for
 * something that is not an open Duplex (or a socket not yet connected).
 */
export function wrapStream(stream: Duplex, opts: WrapOptions = {}): StreamPipe {
  if (!isDuplex(stream))
    throw new PipeError("ERR_BAD_ARGUMENT", "wrapStream needs a Duplex stream");
  if (stream.destroyed || stream.readableEnded || stream.writableEnded) {
    throw new PipeError("ERR_BAD_ARGUMENT", "wrapStream needs an open stream");
  }
  if (stream.readableObjectMode || stream.writableObjectMode) {
    throw new PipeError(
      "ERR_BAD_ARGUMENT",
      "wrapStream needs a byte stream, not an object-mode one",
    );
  }
  const sock = stream instanceof net.Socket ? stream : undefined;
  if (sock && (sock.pending || sock.connecting)) {
    throw new PipeError("ERR_BAD_ARGUMENT", "wrapStream needs a connected socket");
  }
  if (typeof opts !== "object" || opts === null) {
    throw new PipeError("ERR_BAD_ARGUMENT", "options must be an object");
  }
  const cfg = resolveOptions(opts);
  const proto = checkProto(opts.proto, "tcp");
  const local =
    endpoint(opts.local, "local") ??
    (sock?.localAddress ? fromNode(sock.localAddress, sock.localPort ?? 0) : NOWHERE);
  const remote =
    endpoint(opts.remote, "remote") ??
    (sock?.remoteAddress ? fromNode(sock.remoteAddress, sock.remotePort ?? 0) : NOWHERE);
  // Messages go out as they are sent, as on TcpPipe.
  sock?.setNoDelay(cfg.noDelay);
  return new StreamPipe(
    stream,
    { kind: "stream", proto, local, remote, label: sock ? "tcp" : "stream" },
    cfg,
    opts.route,
  );
}

/**
 * A MessageTransport as a pipe (kind "message"): one transport message is one pipe message, no
 * re-framing, no copy. Messages over `opts.maxMessageBytes` are refused (send) or close the pipe
 * (receive) with ERR_MSG_TOO_LARGE. Throws ERR_BAD_ARGUMENT for a malformed transport.
 */
export function wrapMessages(t: MessageTransport, opts: WrapOptions = {}): MessagePipe {
  const m = t as Partial<MessageTransport> | null;
  if (
    typeof m !== "object" ||
    m === null ||
    typeof m.send !== "function" ||
    typeof m.onMessage !== "function" ||
    typeof m.onEnd !== "function" ||
    typeof m.close !== "function"
  ) {
    throw new PipeError(
      "ERR_BAD_ARGUMENT",
      "wrapMessages needs a transport with send, onMessage, onEnd and close",
    );
  }
  if (typeof opts !== "object" || opts === null) {
    throw new PipeError("ERR_BAD_ARGUMENT", "options must be an object");
  }
  const cfg = resolveOptions(opts);
  const proto = checkProto(opts.proto, "udp");
  const remote = endpoint(opts.remote, "remote") ?? endpoint(m.remote, "transport.remote");
  if (!remote) throw new PipeError("ERR_BAD_ARGUMENT", "the transport has no remote address");
  const local = endpoint(opts.local, "local") ?? endpoint(m.local, "transport.local") ?? NOWHERE;
  return new MessagePipe(t, proto, local, remote, cfg, opts.route);
}

/**
 * Wraps an existing socket in a pipe (P2PD's `sock=` argument): a connected `net.Socket` (e.g. from
 * TCP hole punching) becomes a TcpPipe, a bound `dgram.Socket` a UdpPipe (optionally with a default
 * destination). The pipe owns the socket from then on: close() closes it.
 */
export function wrapSocket(socket: net.Socket, opts?: PipeOptions & { route?: RouteLike }): TcpPipe;
export function wrapSocket(
  socket: dgram.Socket,
  opts?: PipeOptions & { route?: RouteLike; dest?: Endpoint },
): UdpPipe;
export function wrapSocket(
  socket: net.Socket | dgram.Socket,
  opts: PipeOptions & { route?: RouteLike; dest?: Endpoint } = {},
): TcpPipe | UdpPipe {
  const cfg = resolveOptions(opts);
  if (socket instanceof net.Socket) {
    if (socket.destroyed || socket.pending || !socket.remoteAddress) {
      throw new PipeError("ERR_BAD_ARGUMENT", "wrapSocket needs a connected TCP socket");
    }
    return new TcpPipe(socket, "tcp-client", cfg, opts.route);
  }
  let family: 4 | 6;
  try {
    family = socket.address().family === "IPv6" ? 6 : 4;
  } catch (e) {
    throw new PipeError("ERR_BAD_ARGUMENT", "wrapSocket needs a bound UDP socket", { cause: e });
  }
  const dest = opts.dest;
  if (dest && (dest.family !== family || ipFamily(dest.host) !== family)) {
    throw new PipeError("ERR_FAMILY", `dest ${dest.host} does not fit an IPv${family} socket`);
  }
  return new UdpPipe(socket, family, dest, cfg, opts.route);
}

/** Resolves a destination first (host names allowed), then wraps like wrapSocket. */
export async function wrapUdpSocket(
  socket: dgram.Socket,
  dest: DestLike | string,
  opts: PipeOptions & { route?: RouteLike } = {},
): Promise<UdpPipe> {
  const family = socket.address().family === "IPv6" ? 6 : 4;
  const ep = await resolveDest(dest, {
    family,
    signal: opts.signal,
    dnsTimeoutMs: opts.dnsTimeoutMs,
  });
  return wrapSocket(socket, { ...opts, dest: ep });
}
