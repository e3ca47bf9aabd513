import type { ChildProcess } from "node:child_process";
import { createSocket, type Socket as UdpSocket } from "node:dgram";
import { createServer, isIP, type Server as TcpServer, type Socket as TcpSocket } from "node:net";
import { DEFAULT_PORT, HEADER_SIZE } from "./constants.js";
import { familyOf, normalizeHost, type StunEndpoint } from "./endpoint.js";
import { abortError, StunError } from "./errors.js";
import { StunFramer } from "./framing.js";
import { type AnswerContext, answerRequest } from "./server-answer.js";
import { fastTail } from "./server-fast.js";
import { literalLookup, onDatagram, type UdpListener } from "./server-udp.js";
import { startWorkers, stopWorkers } from "./server-workers.js";

export interface StunServerOptions {
  /** One or two local IPs (same family). Two IPs plus `altPort` make a full RFC 5780 server. */
  ips: string[];
  /** Primary port (default 3478; 0 = pick a free one). */
  port?: number;
  /** Alternate port for CHANGE-REQUEST "change port" (omit for none; 0 = pick a free one). */
  altPort?: number;
  /** Protocols to serve (default both). */
  protocols?: ("udp" | "tcp")[];
  /** SOFTWARE attribute value, or false for none (default "p2pd-stun"). */
  software?: string | false;
  /** No answer is larger than this many times the request that caused it (default 5). */
  maxAmplification?: number;
  /** Largest request considered (default 2048 bytes; larger datagrams are dropped). */
  maxRequestSize?: number;
  /** Concurrent TCP connections (default 256) and their idle timeout in ms (default 10000). */
  maxTcpConnections?: number;
  tcpIdleMs?: number;
  /** Debug log sink; off by default. */
  debug?: (line: string) => void;
  /**
   * Processes that answer UDP in place of this one, all on the same sockets (default 0: this event
   * loop answers). One per core scales the server like a threaded one; TCP stays in this process.
   */
  workers?: number;
}

export interface StunServerEndpoint extends StunEndpoint {
  protocol: "udp" | "tcp";
  /** Which of the (up to) four RFC 5780 addresses this is: ip index 0|1, port index 0|1. */
  ipIndex: 0 | 1;
  portIndex: 0 | 1;
}

export interface StunServerStats {
  received: number;
  answered: number;
  dropped: number;
}

interface Listener extends UdpListener {
  tcp?: TcpServer;
  /** The UDP socket lives in the workers only (this process closed its copy). */
  udpInWorkers?: boolean;
}

/** An RFC 5389/5780 (and RFC 3489 compatible) Binding server on up to two IPs and two ports. */
export class StunServer {
  readonly stats: StunServerStats = { received: 0, answered: 0, dropped: 0 };
  private readonly opts: StunServerOptions;
  private readonly ips: string[];
  private readonly ports: number[] = [];
  private listeners: Listener[] = [];
  private readonly conns = new Set<TcpSocket>();
  private state: "new" | "listening" | "closed" = "new";
  private readonly ctx: AnswerContext;
  private workers: ChildProcess[] = [];

  constructor(opts: StunServerOptions) {
    const ips = (opts.ips ?? []).map(normalizeHost);
    if (ips.length < 1 || ips.length > 2 || ips.some((ip) => isIP(ip) === 0)) {
      throw new StunError("ERR_STUN_BAD_ARGUMENT", "StunServer needs one or two IP addresses");
    }
    if (ips.length === 2 && familyOf(ips[0] ?? "") !== familyOf(ips[1] ?? "")) {
      throw new StunError("ERR_STUN_BAD_ARGUMENT", "both server IPs must be of the same family");
    }
    const port = opts.port ?? DEFAULT_PORT;
    if (!Number.isInteger(port) || port < 0 || port > 65535)
      throw new StunError("ERR_STUN_BAD_ARGUMENT", `bad port ${port}`);
    if (
      opts.altPort !== undefined &&
      (!Number.isInteger(opts.altPort) ||
        opts.altPort < 0 ||
        opts.altPort > 65535 ||
        (opts.altPort === port && port !== 0))
    ) {
      throw new StunError("ERR_STUN_BAD_ARGUMENT", `bad alternate port ${opts.altPort}`);
    }
    const workers = opts.workers ?? 0;
    if (!Number.isInteger(workers) || workers < 0 || workers > 64)
      throw new StunError("ERR_STUN_BAD_ARGUMENT", `bad workers count ${workers} (0..64)`);
    this.ips = ips;
    this.opts = opts;
    const sw = opts.software === undefined ? "p2pd-stun" : opts.software;
    this.ctx = {
      ips,
      ports: this.ports,
      software: sw ? new TextEncoder().encode(sw) : undefined,
      maxAmplification: opts.maxAmplification ?? 5,
      maxRequestSize: opts.maxRequestSize ?? 2048,
      ownCache: new Map(),
      debug: opts.debug,
    };
  }

  /** Binds every socket. Ports given as 0 are chosen once and reused on both IPs. */
  async listen(opts: { signal?: AbortSignal } = {}): Promise<this> {
    if (this.state !== "new") throw new StunError("ERR_STUN_BAD_ARGUMENT", "listen() called twice");
    const ephemeral = (this.opts.port ?? DEFAULT_PORT) === 0 || this.opts.altPort === 0;
    for (let attempt = 0; ; attempt++) {
      if (opts.signal?.aborted) {
        await this.closeSockets();
        throw abortError(opts.signal);
      }
      try {
        await this.bindAll();
        break;
      } catch (e) {
        await this.closeSockets();
        if (this.closedMeanwhile()) throw closedWhileListening(e);
        const inUse = (e as { cause?: { code?: string } }).cause?.code === "EADDRINUSE";
        if (!ephemeral || !inUse || attempt >= 20) throw e;
      }
    }
    if (opts.signal?.aborted || this.closedMeanwhile()) {
      // close() ran while sockets were being bound: release the ones bound after it.
      await this.closeSockets();
      throw opts.signal?.aborted ? abortError(opts.signal) : closedWhileListening();
    }
    // Every port is known now: the fast path may answer (it includes OTHER-ADDRESS from the start).
    for (const l of this.listeners) l.tail = fastTail(this.ctx, l);
    await this.startWorkers(opts.signal);
    this.state = "listening";
    return this;
  }

  private async startWorkers(signal: AbortSignal | undefined): Promise<void> {
    const udp = this.listeners.flatMap((l) =>
      l.udp ? [{ ipIndex: l.ipIndex, portIndex: l.portIndex, udp: l.udp }] : [],
    );
    if (!this.opts.workers || udp.length === 0) return;
    const config = {
      ips: this.ips,
      ports: this.ports,
      software: this.opts.software === undefined ? "p2pd-stun" : this.opts.software,
      maxAmplification: this.ctx.maxAmplification,
      maxRequestSize: this.ctx.maxRequestSize,
      debug: this.opts.debug !== undefined,
    };
    try {
      this.workers = await startWorkers(
        this.opts.workers,
        config,
        udp,
        this.stats,
        this.opts.debug,
        signal,
      );
    } catch (e) {
      await this.closeSockets();
      if (this.closedMeanwhile()) throw closedWhileListening(e);
      throw signal?.aborted ? abortError(signal) : e;
    }
    if (signal?.aborted || this.closedMeanwhile()) {
      await this.closeSockets();
      throw signal?.aborted ? abortError(signal) : closedWhileListening();
    }
    // The workers answer alone: two processes reading one socket both wake for every datagram
    // (measured: 1.6x the CPU per request), so this process lets go of its copy.
    await Promise.all(
      this.listeners.map((l) => {
        const udp = l.udp;
        if (!udp) return undefined;
        l.udp = undefined;
        l.udpInWorkers = true;
        return new Promise<void>((resolve) => udp.close(() => resolve()));
      }),
    );
  }

  /** True once close() was called (a method, so the check survives the awaits in listen()). */
  private closedMeanwhile(): boolean {
    return this.state === "closed";
  }

  /** The primary address (first IP, primary port). */
  get primary(): StunEndpoint {
    const host = this.ips[0] ?? "";
    return { host, port: this.ports[0] ?? 0, family: familyOf(host) };
  }

  /** The alternate IP and port when the server has them (what OTHER-ADDRESS announces). */
  get other(): StunEndpoint | undefined {
    const host = this.ips[1];
    const port = this.ports[1];
    return host !== undefined && port !== undefined
      ? { host, port, family: familyOf(host) }
      : undefined;
  }

  endpoints(): StunServerEndpoint[] {
    const out: StunServerEndpoint[] = [];
    for (const l of this.listeners) {
      const host = this.ips[l.ipIndex] ?? "";
      const port = this.ports[l.portIndex] ?? 0;
      for (const protocol of ["udp", "tcp"] as const) {
        if (protocol === "udp" ? l.udp || l.udpInWorkers : l.tcp) {
          out.push({
            protocol,
            host,
            port,
            family: familyOf(host),
            ipIndex: l.ipIndex,
            portIndex: l.portIndex,
          });
        }
      }
    }
    return out;
  }

  /** Closes every socket and connection; resolves once the OS has released them. */
  async close(): Promise<void> {
    if (this.state === "closed") return;
    this.state = "closed";
    await this.closeSockets();
  }

  private async closeSockets(): Promise<void> {
    const done: Promise<void>[] = [];
    for (const c of this.conns) c.destroy();
    this.conns.clear();
    const listeners = this.listeners;
    this.listeners = [];
    // Workers first: once close() resolves, no process answers on these ports any more.
    const workers = this.workers;
    this.workers = [];
    await stopWorkers(workers);
    for (const l of listeners) {
      const { udp, tcp } = l;
      if (udp) {
        done.push(
          new Promise<void>((resolve) => {
            try {
              udp.close(() => resolve());
            } catch {
              resolve(); // never bound or already closed
            }
          }),
        );
      }
      if (tcp) done.push(new Promise<void>((resolve) => tcp.close(() => resolve())));
    }
    await Promise.all(done);
  }

  private async bindAll(): Promise<void> {
    const protocols = this.opts.protocols ?? ["udp", "tcp"];
    const wanted = [this.opts.port ?? DEFAULT_PORT];
    if (this.opts.altPort !== undefined) wanted.push(this.opts.altPort);
    this.ports.length = 0;
    for (let pi = 0; pi < wanted.length; pi++) {
      for (let ii = 0; ii < this.ips.length; ii++) {
        const ip = this.ips[ii] ?? "";
        const l: Listener = { ipIndex: ii as 0 | 1, portIndex: pi as 0 | 1 };
        this.listeners.push(l);
        let port = this.ports[pi] ?? wanted[pi] ?? 0;
        // After each await, close() may have run and dropped `l` with the listeners it closed: put it back
        // so that listen() closes what was bound meanwhile, and stop.
        const stopIfClosed = () => {
          if (!this.closedMeanwhile()) return;
          if (!this.listeners.includes(l)) this.listeners.push(l);
          throw closedWhileListening();
        };
        if (protocols.includes("udp")) {
          l.udp = await this.bindUdp(l, ip, port);
          stopIfClosed();
          port = l.udp.address().port;
          this.ports[pi] = port;
        }
        if (protocols.includes("tcp")) {
          l.tcp = await this.bindTcp(l, ip, port);
          stopIfClosed();
          const a = l.tcp.address();
          if (a && typeof a === "object") this.ports[pi] = a.port;
        }
      }
    }
  }

  private bindUdp(l: Listener, ip: string, port: number): Promise<UdpSocket> {
    return new Promise((resolve, reject) => {
      const sock = createSocket({
        type: familyOf(ip) === 6 ? "udp6" : "udp4",
        lookup: literalLookup,
      });
      sock.once("error", (err) => {
        try {
          sock.close();
        } catch {
          // never bound
        }
        reject(
          new StunError("ERR_STUN_BIND", `cannot bind UDP ${ip}:${port}: ${err.message}`, {
            cause: err,
          }),
        );
      });
      sock.bind({ address: ip, port, exclusive: true }, () => {
        sock.removeAllListeners("error");
        setUdpBuffers(sock);
        sock.on("error", (err) => this.opts.debug?.(`stun-server: udp error ${err.message}`));
        sock.on("message", (data, rinfo) =>
          onDatagram(this.ctx, this.listeners, l, data, rinfo, this.stats),
        );
        resolve(sock);
      });
    });
  }

  private bindTcp(l: Listener, ip: string, port: number): Promise<TcpServer> {
    return new Promise((resolve, reject) => {
      const srv = createServer((sock) => this.onTcp(l, sock));
      srv.maxConnections = this.opts.maxTcpConnections ?? 256;
      srv.once("error", (err) => {
        srv.close();
        reject(
          new StunError("ERR_STUN_BIND", `cannot listen on TCP ${ip}:${port}: ${err.message}`, {
            cause: err,
          }),
        );
      });
      srv.listen({ host: ip, port, exclusive: true }, () => {
        srv.removeAllListeners("error");
        srv.on("error", (err) => this.opts.debug?.(`stun-server: tcp error ${err.message}`));
        resolve(srv);
      });
    });
  }

  private onTcp(l: Listener, sock: TcpSocket): void {
    this.conns.add(sock);
    const framer = new StunFramer(
      undefined,
      Math.min(this.opts.maxRequestSize ?? 2048, 0xffff + HEADER_SIZE),
    );
    sock.setNoDelay(true);
    sock.setTimeout(this.opts.tcpIdleMs ?? 10_000, () => sock.destroy());
    sock.on("error", () => {});
    sock.on("close", () => this.conns.delete(sock));
    const host = normalizeHost(sock.remoteAddress ?? "0.0.0.0");
    const from: StunEndpoint = { host, port: sock.remotePort ?? 0, family: familyOf(host) };
    // Requests framed but not answered yet: at most one read chunk's worth, since reading pauses
    // while answers wait in the write buffer (a client that never reads cannot grow our memory).
    const queue: Uint8Array[] = [];
    const bound = Math.max(MAX_TCP_WRITE_BUFFER, sock.writableHighWaterMark);
    const pump = () => {
      while (queue.length > 0 && !sock.destroyed) {
        if (sock.writableLength >= bound) {
          // Over the high-water mark, so a write returned false and 'drain' will come.
          sock.pause();
          sock.once("drain", pump);
          return;
        }
        const m = queue.shift() as Uint8Array;
        this.stats.received++;
        const reply = answerRequest(this.ctx, m, from, l, "tcp");
        if (!reply) {
          this.stats.dropped++;
          continue;
        }
        this.stats.answered++;
        sock.write(StunFramer.frame(reply.bytes, framer.framing ?? "stun"));
      }
      if (!sock.destroyed) sock.resume();
    };
    sock.on("close", () => {
      queue.length = 0;
    });
    sock.on("data", (chunk: Buffer) => {
      let msgs: Uint8Array[];
      try {
        msgs = framer.push(chunk);
      } catch {
        // Garbage on a stream cannot be resynchronised: drop the connection, answer nothing.
        this.stats.dropped++;
        sock.destroy();
        return;
      }
      for (const m of msgs) queue.push(m);
      pump();
    });
  }
}

/** A TCP connection's answers wait in its write buffer up to this many bytes; then reading pauses. */
const MAX_TCP_WRITE_BUFFER = 64 * 1024;

function closedWhileListening(cause?: unknown): StunError {
  return new StunError("ERR_STUN_CLOSED", "server closed while listen() was binding", { cause });
}

/**
 * Receive (and send) buffer asked for on each UDP socket: 2 MiB, as coturn does (the kernel caps it
 * at net.core.rmem_max / wmem_max). Under a burst while the event loop is off the CPU, the default
 * (~208 KiB) overflowed and the requests were lost; coturn lost none in the same benchmark run.
 */
export const UDP_SOCKET_BUFFER = 2 * 1024 * 1024;

function setUdpBuffers(sock: UdpSocket): void {
  try {
    sock.setRecvBufferSize(UDP_SOCKET_BUFFER);
    sock.setSendBufferSize(UDP_SOCKET_BUFFER);
  } catch {
    // Not allowed here (a sandbox): the kernel's default buffers still work.
  }
}
