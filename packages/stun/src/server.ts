import { createSocket, type Socket as UdpSocket } from "node:dgram";
import { createServer, isIP, type Server as TcpServer, type Socket as TcpSocket } from "node:net";
import { decodeMessage, encodeMessage } from "./codec.js";
import { ATTR, DEFAULT_PORT, HEADER_SIZE, KNOWN_REQUIRED_ATTRS, METHOD } from "./constants.js";
import { familyOf, normalizeHost, type StunEndpoint } from "./endpoint.js";
import { abortError, StunError } from "./errors.js";
import { StunFramer } from "./framing.js";
import { encodeAddress, type StunAttribute, StunMessage } from "./message.js";

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

interface Listener {
  ipIndex: 0 | 1;
  portIndex: 0 | 1;
  udp?: UdpSocket;
  tcp?: TcpServer;
}

interface Reply {
  bytes: Uint8Array;
  via: { ipIndex: 0 | 1; portIndex: 0 | 1 };
  to: StunEndpoint;
}

/** An RFC 5389/5780 (and RFC 3489 compatible) Binding server on up to two IPs and two ports. */
export class StunServer {
  readonly stats: StunServerStats = { received: 0, answered: 0, dropped: 0 };
  private readonly opts: StunServerOptions;
  private readonly ips: string[];
  private ports: number[] = [];
  private listeners: Listener[] = [];
  private readonly conns = new Set<TcpSocket>();
  private state: "new" | "listening" | "closed" = "new";
  private readonly ownCache = new Map<string, Uint8Array>();
  private readonly software: Uint8Array | undefined;

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
    this.ips = ips;
    this.opts = opts;
    const sw = opts.software === undefined ? "p2pd-stun" : opts.software;
    this.software = sw ? new TextEncoder().encode(sw) : undefined;
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
    this.state = "listening";
    return this;
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
        if (protocol === "udp" ? l.udp : l.tcp) {
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

  private closeSockets(): Promise<void> {
    const done: Promise<void>[] = [];
    for (const c of this.conns) c.destroy();
    this.conns.clear();
    for (const l of this.listeners) {
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
    this.listeners = [];
    return Promise.all(done).then(() => undefined);
  }

  private async bindAll(): Promise<void> {
    const protocols = this.opts.protocols ?? ["udp", "tcp"];
    const wanted = [this.opts.port ?? DEFAULT_PORT];
    if (this.opts.altPort !== undefined) wanted.push(this.opts.altPort);
    this.ports = [];
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
      const sock = createSocket({ type: familyOf(ip) === 6 ? "udp6" : "udp4" });
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
        sock.on("error", (err) => this.opts.debug?.(`stun-server: udp error ${err.message}`));
        sock.on("message", (data, rinfo) => this.onUdp(l, data, rinfo));
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

  private onUdp(l: Listener, data: Buffer, rinfo: { address: string; port: number }): void {
    this.stats.received++;
    const host = normalizeHost(rinfo.address);
    const reply = this.answer(
      new Uint8Array(data.buffer, data.byteOffset, data.length),
      { host, port: rinfo.port, family: familyOf(host) },
      l,
      "udp",
    );
    if (!reply) {
      this.stats.dropped++;
      return;
    }
    const out = this.listeners.find(
      (x) => x.ipIndex === reply.via.ipIndex && x.portIndex === reply.via.portIndex,
    )?.udp;
    if (!out) {
      this.stats.dropped++;
      return;
    }
    this.stats.answered++;
    try {
      out.send(reply.bytes, reply.to.port, reply.to.host, () => {});
    } catch (e) {
      // A synchronous send failure (bad port, socket closing) only loses this answer.
      this.opts.debug?.(`stun-server: send failed: ${(e as Error).message}`);
    }
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
        const reply = this.answer(m, from, l, "tcp");
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

  /** Decides the answer to one request, or undefined for silence. Never throws. */
  private answer(
    data: Uint8Array,
    from: StunEndpoint,
    l: Listener,
    protocol: "udp" | "tcp",
  ): Reply | undefined {
    try {
      return this.decide(data, from, l, protocol);
    } catch (e) {
      // Defensive: a bug here must cost one answer, never the process.
      this.opts.debug?.(`stun-server: internal error: ${(e as Error).message}`);
      return undefined;
    }
  }

  private decide(
    data: Uint8Array,
    from: StunEndpoint,
    l: Listener,
    protocol: "udp" | "tcp",
  ): Reply | undefined {
    if (data.length < HEADER_SIZE || data.length > (this.opts.maxRequestSize ?? 2048))
      return undefined;
    let req: StunMessage;
    let change: { changeIp: boolean; changePort: boolean } | undefined;
    let responsePort: number | undefined;
    try {
      req = decodeMessage(data, { legacy: true });
      change = req.getChangeRequest();
      responsePort = req.getResponsePort();
      // Port 0 cannot be sent to: a request asking for it is malformed, not a reason to crash.
      if (responsePort === 0) return undefined;
    } catch (e) {
      this.opts.debug?.(
        `stun-server: dropped malformed message from ${from.host}:${from.port}: ${(e as Error).message}`,
      );
      return undefined;
    }
    if (req.cls !== "request" || req.method !== METHOD.BINDING) return undefined;
    const budget = Math.floor((this.opts.maxAmplification ?? 5) * data.length);
    const wantsFingerprint = req.has(ATTR.FINGERPRINT);
    const here = { ipIndex: l.ipIndex, portIndex: l.portIndex };
    const error = (code: number, reason: string, unknown?: number[]): Reply | undefined => {
      const m = new StunMessage({
        method: METHOD.BINDING,
        cls: "error",
        transactionId: req.transactionId,
      });
      m.addErrorCode(code, reason);
      if (unknown) {
        // Fit the list into the budget: a long list of unknowns must not become an amplifier.
        const base = HEADER_SIZE + 4 + pad4(4 + reason.length) + 4 + (wantsFingerprint ? 8 : 0);
        m.addUnknownAttributes(unknown.slice(0, Math.max(0, Math.floor((budget - base) / 4) * 2)));
      }
      const bytes = encodeMessage(m, { fingerprint: wantsFingerprint });
      return bytes.length <= budget ? { bytes, via: here, to: from } : undefined;
    };
    const unknown: number[] = [];
    for (const a of req.attributes) {
      const t = a.type;
      if (t < 0x8000 && !KNOWN_REQUIRED_ATTRS.has(t) && !unknown.includes(t)) unknown.push(t);
    }
    if (unknown.length > 0) return error(420, "Unknown Attribute", unknown);
    const wantsChange = !!change && (change.changeIp || change.changePort);
    if (wantsChange && protocol === "tcp") return error(400, "CHANGE-REQUEST needs UDP");
    if (responsePort !== undefined && req.has(ATTR.PADDING))
      return error(400, "PADDING with RESPONSE-PORT");
    const via = {
      ipIndex: (change?.changeIp ? 1 - l.ipIndex : l.ipIndex) as 0 | 1,
      portIndex: (change?.changePort ? 1 - l.portIndex : l.portIndex) as 0 | 1,
    };
    if (this.ips[via.ipIndex] === undefined || this.ports[via.portIndex] === undefined) {
      return error(420, "Cannot change address", [ATTR.CHANGE_REQUEST]);
    }
    const to =
      protocol === "udp" && responsePort !== undefined ? { ...from, port: responsePort } : from;
    const tid = req.transactionId;
    const attrs: StunAttribute[] = [];
    let size = HEADER_SIZE + (wantsFingerprint ? 8 : 0);
    const push = (type: number, value: Uint8Array, required = false): void => {
      const n = 4 + pad4(value.length);
      if (!required && size + n > budget) return;
      attrs.push({ type, value });
      size += n;
    };
    const addr = (type: number, ep: { host: string; port: number }) => encodeAddress(type, ep, tid);
    // Plain (non-XOR) addresses of our own sockets never change: encode them once.
    const own = (type: number, ep: { host: string; port: number }) => {
      const k = `${type}/${ep.host}/${ep.port}`;
      let v = this.ownCache.get(k);
      if (!v) {
        v = encodeAddress(type, ep, tid);
        this.ownCache.set(k, v);
      }
      return v;
    };
    const originHost = this.ips[via.ipIndex] ?? "";
    const concrete = (h: string) => h !== "0.0.0.0" && h !== "::";
    const origin = { host: originHost, port: this.ports[via.portIndex] ?? 0 };
    const otherIp = this.ips[1 - l.ipIndex];
    const otherPort = this.ports[1 - l.portIndex];
    const other =
      otherIp !== undefined && otherPort !== undefined
        ? { host: otherIp, port: otherPort }
        : undefined;
    if (req.legacy) {
      push(ATTR.MAPPED_ADDRESS, addr(ATTR.MAPPED_ADDRESS, from), true);
      if (concrete(originHost)) push(ATTR.SOURCE_ADDRESS, own(ATTR.SOURCE_ADDRESS, origin));
      if (other) push(ATTR.CHANGED_ADDRESS, own(ATTR.CHANGED_ADDRESS, other));
    } else {
      push(ATTR.XOR_MAPPED_ADDRESS, addr(ATTR.XOR_MAPPED_ADDRESS, from), true);
      if (concrete(originHost)) push(ATTR.RESPONSE_ORIGIN, own(ATTR.RESPONSE_ORIGIN, origin));
      if (other) push(ATTR.OTHER_ADDRESS, own(ATTR.OTHER_ADDRESS, other));
      push(ATTR.MAPPED_ADDRESS, addr(ATTR.MAPPED_ADDRESS, from));
    }
    const padding = req.get(ATTR.PADDING);
    if (padding) push(ATTR.PADDING, new Uint8Array(padding.length));
    if (this.software) push(ATTR.SOFTWARE, this.software);
    if (size > budget) return undefined; // even the bare answer would amplify too much
    const m = new StunMessage({
      method: METHOD.BINDING,
      cls: "success",
      transactionId: tid,
      attributes: attrs,
    });
    return { bytes: encodeMessage(m, { fingerprint: wantsFingerprint && !req.legacy }), via, to };
  }
}

/** A TCP connection's answers wait in its write buffer up to this many bytes; then reading pauses. */
const MAX_TCP_WRITE_BUFFER = 64 * 1024;

function closedWhileListening(cause?: unknown): StunError {
  return new StunError("ERR_STUN_CLOSED", "server closed while listen() was binding", { cause });
}

function pad4(n: number): number {
  return (n + 3) & ~3;
}
