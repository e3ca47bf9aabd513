import * as dgram from "node:dgram";
import { lookup as dnsLookup } from "node:dns";
import { isIP } from "node:net";
import type { Endpoint, RouteLike } from "@p2pd/netifaces";
import { type DestLike, fromNode, nodeHost, resolveDest } from "./address.js";
import { armDeadline } from "./deadline.js";
import { BoundedSet } from "./dedupe.js";
import { abortError, PipeError } from "./errors.js";
import type { ResolvedOptions } from "./options.js";
import { Pipe, type SendOptions } from "./pipe.js";
import { decodeRudp, encodeRudp, RUDP_ACK, RUDP_DATA, RUDP_HEADER, randomSeq } from "./reliable.js";
import type { Message } from "./subscription.js";

/** Largest UDP payload: 65535 - 8 (UDP) - 20 (IPv4) / 65535 - 8 (IPv6 payload length excludes its header). */
export const MAX_UDP_PAYLOAD = { 4: 65507, 6: 65527 } as const;

/**
 * A UDP pipe. It stays unconnected: `send()` defaults to the destination given at open, and
 * datagrams from anyone are accepted (filter them with subscriptions), as in P2PD.
 */
export class UdpPipe extends Pipe {
  readonly proto = "udp" as const;
  readonly kind = "udp" as const;
  readonly local: Endpoint;
  readonly remote: Endpoint | undefined;
  readonly socket: dgram.Socket;
  private readonly family: 4 | 6;
  private socketClosed = false;
  /** ACK-UDP datagrams dropped because they were not valid packets. */
  rudpDropped = 0;
  private readonly pendingAcks = new Map<
    string,
    { timer: NodeJS.Timeout | undefined; resolve: () => void; reject: (e: Error) => void }
  >();
  private readonly seenSeqs = new BoundedSet(1000);

  constructor(
    socket: dgram.Socket,
    family: 4 | 6,
    remote: Endpoint | undefined,
    cfg: ResolvedOptions,
    route: RouteLike | undefined,
  ) {
    super(cfg, route);
    this.socket = socket;
    this.family = family;
    const a = socket.address();
    this.local = Object.freeze(fromNode(a.address, a.port));
    this.remote = remote ? Object.freeze({ ...remote }) : undefined;
    if (cfg.autoSubscribe ?? remote !== undefined) this.subscribe();
    if (cfg.reliable) {
      socket.on("message", (data, rinfo) =>
        this.onReliable(data, fromNode(rinfo.address, rinfo.port)),
      );
    } else {
      socket.on("message", (data, rinfo) =>
        this.dispatch(data, fromNode(rinfo.address, rinfo.port)),
      );
    }
    socket.on("error", (e) =>
      this.reportError(new PipeError("ERR_SOCKET", e.message, { cause: e })),
    );
    socket.on("close", () => {
      this.socketClosed = true;
      this.markEnded();
    });
  }

  /** `for await (const msg of pipe)`: the catch-all subscription's messages until the pipe closes. */
  [Symbol.asyncIterator](): AsyncGenerator<Message> {
    return this.messages();
  }

  /** Sends one datagram to `dest` (default: the pipe's destination). */
  send(data: Uint8Array | string, dest?: DestLike, opts?: SendOptions): Promise<number> {
    const signal = opts?.signal;
    const max = MAX_UDP_PAYLOAD[this.family] - (this.cfg.reliable ? RUDP_HEADER : 0);
    let buf: Buffer;
    try {
      buf = this.sendable(data, signal, max, `IPv${this.family} datagram`);
    } catch (e) {
      return Promise.reject(e);
    }
    const to = dest ?? this.remote;
    if (!to) {
      return Promise.reject(
        new PipeError("ERR_NO_DEST", "no destination: pass one to send() or open with dest"),
      );
    }
    // Hot path: an IP literal goes straight out (node:net's isIP, no bigint per datagram).
    if (typeof to.host === "string" && typeof to.port === "number" && isIP(to.host) !== 0) {
      return this.cfg.reliable ? this.sendReliable(buf, to, signal) : this.sendTo(buf, to);
    }
    return resolveDest(to, {
      family: this.family,
      signal,
      dnsTimeoutMs: this.cfg.dnsTimeoutMs,
    }).then((ep) =>
      this.cfg.reliable ? this.sendReliable(buf, ep, signal) : this.sendTo(buf, ep),
    );
  }

  /** ACK-UDP receive: ACKs settle sends; data is ACKed, de-duplicated, stripped and dispatched. */
  private onReliable(data: Buffer, from: Endpoint): void {
    const p = decodeRudp(data);
    if (!p) {
      this.rudpDropped++;
      return;
    }
    if (p.flag === RUDP_ACK) {
      this.settleAck(p.seq);
      return;
    }
    // ACK every copy: our previous ACK may be the datagram that got lost.
    this.sendTo(encodeRudp(p.seq, RUDP_ACK), from).catch(this.onAckError);
    // A peer echoing our own packet back (an echo server) acknowledges it too.
    this.settleAck(p.seq);
    const key = `${from.host}%${from.scopeId ?? ""}|${from.port}|${p.seq}`;
    if (this.seenSeqs.has(key)) return;
    this.seenSeqs.add(key);
    this.dispatch(p.payload, from);
  }

  private readonly onAckError = (e: unknown) => this.reportError(e);

  private settleAck(seq: string): void {
    const w = this.pendingAcks.get(seq);
    if (!w) return;
    this.pendingAcks.delete(seq);
    clearTimeout(w.timer);
    w.resolve();
  }

  /** Sends with a fresh sequence; retries until ACKed or `ackTries` run out (ERR_ACK_TIMEOUT). */
  private sendReliable(buf: Buffer, to: DestLike, signal?: AbortSignal): Promise<number> {
    const seq = randomSeq();
    const pkt = encodeRudp(seq, RUDP_DATA, buf);
    const { ackTries, ackTimeoutMs } = this.cfg;
    return new Promise<number>((resolve, reject) => {
      let tries = 0;
      const w = {
        timer: undefined as NodeJS.Timeout | undefined,
        resolve: () => {
          disarm();
          resolve(buf.length);
        },
        reject: (e: Error) => {
          disarm();
          clearTimeout(w.timer);
          this.pendingAcks.delete(seq);
          reject(e);
        },
      };
      const disarm = armDeadline((e) => w.reject(e), signal, "send");
      const attempt = () => {
        if (tries++ >= ackTries) {
          w.reject(
            new PipeError(
              "ERR_ACK_TIMEOUT",
              `no ACK from ${to.host}:${to.port} after ${ackTries} tries`,
            ),
          );
          return;
        }
        this.sendTo(pkt, to).catch(w.reject);
        w.timer = setTimeout(attempt, ackTimeoutMs);
      };
      this.pendingAcks.set(seq, w);
      attempt();
    });
  }

  private sendTo(buf: Buffer, to: DestLike): Promise<number> {
    const fam = to.host.includes(":") ? 6 : 4;
    if (fam !== this.family) {
      return Promise.reject(
        new PipeError(
          "ERR_FAMILY",
          `an IPv${this.family} pipe cannot send to IPv${fam} ${to.host}`,
        ),
      );
    }
    // One promise, one callback: the completion callback is what reports a failed sendto (ERR_SEND).
    return new Promise<number>((resolve, reject) => {
      try {
        this.socket.send(buf, to.port, nodeHost(to), (err) => {
          if (err)
            reject(
              new PipeError("ERR_SEND", `sendto ${to.host}:${to.port} failed: ${err.message}`, {
                cause: err,
              }),
            );
          else resolve(buf.length);
        });
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        reject(
          code === "ERR_SOCKET_BAD_PORT"
            ? new PipeError("ERR_BAD_PORT", `bad port ${to.port}`, { cause: e })
            : new PipeError("ERR_SEND", (e as Error).message, { cause: e }),
        );
      }
    });
  }

  protected closeTransport(): Promise<void> {
    const err = this.closedError();
    for (const w of [...this.pendingAcks.values()]) w.reject(err);
    if (this.socketClosed) return Promise.resolve();
    return new Promise<void>((resolve) => {
      try {
        this.socket.close(() => resolve());
      } catch {
        resolve();
      }
    });
  }
}

/**
 * The socket's resolver. send() hands it only IP literals (names are resolved before), and Node's
 * default (dns.lookup) defers even a literal to the next tick: answer literals at once, so the
 * datagram leaves in the same tick as send().
 */
export function literalLookup(
  host: string,
  family: unknown,
  cb: (err: Error | null, address: string, family: number) => void,
): void {
  const kind = isIP(host);
  if (kind !== 0) cb(null, host, kind);
  else dnsLookup(host, family as number, cb as never);
}

/** Binds a UDP socket (ERR_BIND, ERR_ABORTED). */
export function bindUdp(
  bind: Endpoint,
  remote: Endpoint | undefined,
  cfg: ResolvedOptions,
  route: RouteLike | undefined,
  signal: AbortSignal | undefined,
): Promise<UdpPipe> {
  if (signal?.aborted) return Promise.reject(abortError(signal, "bind"));
  return new Promise<UdpPipe>((resolve, reject) => {
    const sock = dgram.createSocket({
      type: bind.family === 6 ? "udp6" : "udp4",
      reuseAddr: cfg.reuseAddr,
      ipv6Only: bind.family === 6 && cfg.ipv6Only,
      lookup: literalLookup,
      ...(cfg.recvBufferSize ? { recvBufferSize: cfg.recvBufferSize } : {}),
      ...(cfg.sendBufferSize ? { sendBufferSize: cfg.sendBufferSize } : {}),
    });
    const onAbort = () => {
      sock.off("error", onError);
      sock.close();
      reject(abortError(signal as AbortSignal, "bind"));
    };
    const onError = (e: Error) => {
      signal?.removeEventListener("abort", onAbort);
      try {
        sock.close();
      } catch {
        // never bound: nothing to close
      }
      const code = (e as NodeJS.ErrnoException).code ?? e.message;
      reject(
        new PipeError("ERR_BIND", `cannot bind udp ${nodeHost(bind)}:${bind.port} (${code})`, {
          cause: e,
        }),
      );
    };
    sock.once("error", onError);
    signal?.addEventListener("abort", onAbort, { once: true });
    sock.bind({ address: nodeHost(bind), port: bind.port }, () => {
      sock.off("error", onError);
      signal?.removeEventListener("abort", onAbort);
      try {
        if (cfg.broadcast) sock.setBroadcast(true);
      } catch (e) {
        sock.close();
        reject(new PipeError("ERR_BIND", "cannot enable broadcast", { cause: e }));
        return;
      }
      resolve(new UdpPipe(sock, bind.family, remote, cfg, route));
    });
  });
}
