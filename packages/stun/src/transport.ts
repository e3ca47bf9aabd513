import type { Socket as UdpSocket } from "node:dgram";
import type { Socket as TcpSocket } from "node:net";
import { familyOf, normalizeHost, type StunEndpoint } from "./endpoint.js";
import { StunError } from "./errors.js";
import { StunFramer, type StunFraming } from "./framing.js";

export type MessageListener = (data: Uint8Array, from: StunEndpoint) => void;
export type CloseListener = (err?: Error) => void;

/**
 * What STUN needs from a socket: send bytes to an address and hear bytes back. The built-in adapters
 * wrap node:dgram and node:net sockets; @p2pd/pipe pipes (or anything else) can implement it directly.
 */
export interface StunTransport {
  readonly protocol: "udp" | "tcp";
  /** Sends one STUN message. Stream transports frame it themselves and ignore `to`. */
  send(data: Uint8Array, to: StunEndpoint): void;
  /** Delivers every received message (stream transports deliver whole framed messages). */
  subscribe(onMessage: MessageListener, onClose?: CloseListener): () => void;
  /** The local address, when bound. */
  local(): StunEndpoint | undefined;
  /** Releases the adapter; closes the socket only if the adapter owns it. */
  close(): void;
}

function toEndpoint(address: string, port: number): StunEndpoint {
  const host = normalizeHost(address);
  return { host, port, family: familyOf(host) };
}

export interface UdpTransportOptions {
  /** Close the socket on close() (default false: the caller owns it). */
  owned?: boolean;
}

/** Wraps a bound node:dgram socket. Other 'message' listeners on the socket keep working. */
export function createUdpTransport(
  socket: UdpSocket,
  opts: UdpTransportOptions = {},
): StunTransport {
  const cleanups = new Set<() => void>();
  let closed = false;
  return {
    protocol: "udp",
    send(data, to) {
      if (closed) throw new StunError("ERR_STUN_CLOSED", "transport is closed");
      socket.send(data, to.port, to.host, () => {
        // Send errors (e.g. EHOSTUNREACH) surface as a timeout of the transaction; nothing to do here.
      });
    },
    subscribe(onMessage, onClose) {
      const onMsg = (msg: Buffer, rinfo: { address: string; port: number }) =>
        onMessage(
          new Uint8Array(msg.buffer, msg.byteOffset, msg.length),
          toEndpoint(rinfo.address, rinfo.port),
        );
      const onEnd = () => onClose?.();
      socket.on("message", onMsg);
      socket.on("close", onEnd);
      const off = () => {
        socket.off("message", onMsg);
        socket.off("close", onEnd);
        cleanups.delete(off);
      };
      cleanups.add(off);
      return off;
    },
    local() {
      try {
        const a = socket.address();
        return toEndpoint(a.address, a.port);
      } catch {
        return undefined;
      }
    },
    close() {
      if (closed) return;
      closed = true;
      for (const off of [...cleanups]) off();
      if (opts.owned) {
        try {
          socket.close();
        } catch {
          // already closed
        }
      }
    },
  };
}

export interface TcpTransportOptions {
  /** "stun" (default; self-delimited, what coturn speaks) or "rfc4571" (16-bit length prefix). */
  framing?: StunFraming;
  /** Destroy the socket on close() (default false). */
  owned?: boolean;
}

/** Wraps a connected node:net socket; received bytes are split into whole STUN messages. */
export function createTcpTransport(
  socket: TcpSocket,
  opts: TcpTransportOptions = {},
): StunTransport {
  const framing = opts.framing ?? "stun";
  const framer = new StunFramer(framing);
  const listeners = new Set<{ message: MessageListener; close?: CloseListener }>();
  let closed = false;
  const remote = (): StunEndpoint =>
    toEndpoint(socket.remoteAddress ?? "0.0.0.0", socket.remotePort ?? 0);
  const onData = (chunk: Buffer) => {
    let msgs: Uint8Array[];
    try {
      msgs = framer.push(chunk);
    } catch (e) {
      // Not STUN framing: the stream is unusable for us; report and stop listening.
      for (const l of [...listeners]) l.close?.(e as Error);
      detach();
      return;
    }
    const from = remote();
    for (const m of msgs) for (const l of [...listeners]) l.message(m, from);
  };
  const onEnd = (err?: Error) => {
    for (const l of [...listeners]) l.close?.(err instanceof Error ? err : undefined);
  };
  const onError = (err: Error) => onEnd(err);
  const onClose = () => onEnd();
  socket.on("data", onData);
  socket.on("error", onError);
  socket.on("close", onClose);
  function detach() {
    socket.off("data", onData);
    socket.off("error", onError);
    socket.off("close", onClose);
  }
  return {
    protocol: "tcp",
    send(data) {
      if (closed || socket.destroyed)
        throw new StunError("ERR_STUN_CLOSED", "connection is closed");
      socket.write(StunFramer.frame(data, framing));
    },
    subscribe(message, close) {
      const l = close ? { message, close } : { message };
      listeners.add(l);
      return () => listeners.delete(l);
    },
    local() {
      return socket.localAddress
        ? toEndpoint(socket.localAddress, socket.localPort ?? 0)
        : undefined;
    },
    close() {
      if (closed) return;
      closed = true;
      detach();
      listeners.clear();
      if (opts.owned) socket.destroy();
    },
  };
}
