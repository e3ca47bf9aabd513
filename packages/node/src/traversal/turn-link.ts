import dgram from "node:dgram";
import net from "node:net";
import { type HostPort, TraversalError, TurnError } from "./errors.js";
import { TurnStreamDecoder } from "./turn-framing.js";

export interface TurnLinkOptions {
  server: HostPort;
  transport: "udp" | "tcp";
  localAddress?: string;
  localPort?: number;
  /** TCP connect timeout. */
  connectTimeoutMs: number;
  /** One frame from the server: a STUN message or ChannelData. */
  onFrame(buf: Buffer): void;
  /** A datagram from anyone but the server (dropped). */
  onForeign(): void;
  /** The path to the server broke (socket error, TCP closed, a TCP stream that is not TURN). */
  onFail(err: Error): void;
}

/**
 * The client<->server path of a TURN client: a UDP socket that hears only the server, or a TCP
 * connection split into frames. The socket exists from construction, so close() releases it even
 * while open() is still binding or connecting.
 */
export class TurnLink {
  #udp: dgram.Socket | undefined;
  #tcp: net.Socket | undefined;
  readonly #o: TurnLinkOptions;
  /** Local socket address towards the server (set by open()). */
  local: HostPort = { host: "", port: 0 };

  constructor(o: TurnLinkOptions) {
    this.#o = o;
    const { server } = o;
    if (o.transport === "udp") {
      const s = dgram.createSocket(net.isIPv6(server.host) ? "udp6" : "udp4");
      this.#udp = s;
      s.on("message", (msg, rinfo) => {
        // Only the server may talk to us on this socket.
        if (rinfo.address !== server.host || rinfo.port !== server.port) o.onForeign();
        else o.onFrame(msg);
      });
      s.on("error", (err) => o.onFail(new TraversalError("ERR_TURN_CLOSED", err.message)));
    } else {
      const sock = net.connect({
        host: server.host,
        port: server.port,
        localAddress: o.localAddress,
        localPort: o.localPort,
      });
      this.#tcp = sock;
      sock.setNoDelay(true);
    }
  }

  /** Retransmissions are ours to do (UDP), not the transport's (TCP). */
  get datagrams(): boolean {
    return this.#udp !== undefined;
  }

  /** Binds (UDP) or connects (TCP). */
  async open(): Promise<void> {
    const o = this.#o;
    const s = this.#udp;
    if (s) {
      await new Promise<void>((resolve, reject) => {
        s.once("error", reject);
        s.bind({ address: o.localAddress, port: o.localPort ?? 0 }, () => {
          s.off("error", reject);
          resolve();
        });
      });
      const a = s.address();
      this.local = { host: a.address, port: a.port };
      return;
    }
    const sock = this.#tcp as net.Socket;
    const decoder = new TurnStreamDecoder();
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(
        () => reject(new TurnError("ERR_TURN_TIMEOUT", "TCP connect to TURN server timed out")),
        o.connectTimeoutMs,
      );
      sock.once("error", (e) => {
        clearTimeout(t);
        reject(new TurnError("ERR_TURN_ALLOCATE", `TCP connect failed: ${e.message}`));
      });
      sock.once("connect", () => {
        clearTimeout(t);
        resolve();
      });
    });
    sock.on("data", (chunk) => {
      let frames: ReturnType<TurnStreamDecoder["push"]>;
      try {
        frames = decoder.push(chunk);
      } catch (err) {
        o.onFail(err as Error);
        return;
      }
      for (const f of frames) o.onFrame(f.bytes);
    });
    sock.on("error", (e) => o.onFail(new TraversalError("ERR_TURN_CLOSED", e.message)));
    sock.on("close", () => o.onFail(new TraversalError("ERR_TURN_CLOSED", "server closed TCP")));
    this.local = { host: sock.localAddress ?? "", port: sock.localPort ?? 0 };
  }

  write(bytes: Uint8Array): void {
    const { server } = this.#o;
    if (this.#udp) this.#udp.send(bytes, server.port, server.host);
    else if (this.#tcp && !this.#tcp.destroyed) this.#tcp.write(bytes);
  }

  async close(): Promise<void> {
    if (this.#udp) {
      const u = this.#udp;
      this.#udp = undefined;
      await new Promise<void>((r) => {
        try {
          u.close(() => r());
        } catch {
          r();
        }
      });
    }
    if (this.#tcp) {
      this.#tcp.removeAllListeners("close");
      this.#tcp.destroy();
      this.#tcp = undefined;
    }
  }
}
