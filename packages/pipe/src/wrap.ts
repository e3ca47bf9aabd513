import type * as dgram from "node:dgram";
import * as net from "node:net";
import type { Endpoint, RouteLike } from "@p2pd/netifaces";
import { type DestLike, ipFamily, resolveDest } from "./address.js";
import { PipeError } from "./errors.js";
import { type PipeOptions, resolveOptions } from "./options.js";
import { TcpPipe } from "./tcp.js";
import { UdpPipe } from "./udp.js";

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
