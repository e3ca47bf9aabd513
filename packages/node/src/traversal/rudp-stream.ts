import type dgram from "node:dgram";
import { type HostPort, TraversalError } from "./errors.js";
import { DuplexInbox, type MessageDuplex } from "./message-queue.js";
import { DATA_HEADER, decodeFrame, encodeFrame, type Frame, FrameType } from "./rudp-frame.js";
import type { TurnClient } from "./turn-client.js";

/** What the stream needs from a datagram path: a punched UDP socket or a TURN relay. */
export interface DatagramLink {
  readonly local: HostPort;
  readonly remote: HostPort;
  send(frame: Buffer): void;
  onDatagram(cb: (frame: Buffer) => void): () => void;
  close(): void;
}

/** A UDP socket talking to one remote: datagrams from anyone else are ignored. */
export function udpSocketLink(
  socket: dgram.Socket,
  remote: HostPort,
  opts: { closeSocket?: boolean } = {},
): DatagramLink {
  const a = socket.address();
  const cbs = new Set<(b: Buffer) => void>();
  let sending = 0;
  let closing = false;
  const closeSocket = () => {
    try {
      socket.close();
    } catch {}
  };
  const onMsg = (msg: Buffer, ri: dgram.RemoteInfo) => {
    if (ri.port !== remote.port || ri.address.replace(/^::ffff:/, "") !== remote.host) return;
    for (const cb of cbs) cb(msg);
  };
  socket.on("message", onMsg);
  return {
    local: { host: a.address, port: a.port },
    remote: { ...remote },
    send: (b) => {
      if (closing) return;
      try {
        sending++;
        socket.send(b, remote.port, remote.host, () => {
          // A close right after a send would cancel it (the last ACK/FIN): close when drained.
          if (--sending === 0 && closing && opts.closeSocket !== false) closeSocket();
        });
      } catch {
        sending--;
      }
    },
    onDatagram: (cb) => {
      cbs.add(cb);
      return () => cbs.delete(cb);
    },
    close: () => {
      if (closing) return;
      closing = true;
      socket.off("message", onMsg);
      cbs.clear();
      if (opts.closeSocket !== false && sending === 0) closeSocket();
    },
  };
}

/** A TURN allocation talking to one peer (permission/channel set up by the caller). */
export function turnLink(
  client: TurnClient,
  peer: HostPort,
  opts: { closeClient?: boolean } = {},
): DatagramLink {
  const cbs = new Set<(b: Buffer) => void>();
  const off = client.onData((d, from) => {
    if (from.host !== peer.host || from.port !== peer.port) return;
    for (const cb of cbs) cb(d);
  });
  return {
    local: client.relayed,
    remote: { ...peer },
    send: (b) => {
      if (!client.closed) client.send(peer, b);
    },
    onDatagram: (cb) => {
      cbs.add(cb);
      return () => cbs.delete(cb);
    },
    close: () => {
      off();
      cbs.clear();
      if (opts.closeClient !== false) void client.close();
    },
  };
}

export interface ReliableUdpOptions {
  /** Session id both sides agreed on; frames with another id are dropped. */
  session: number;
  /** Largest payload per datagram (default 1200). */
  mtu?: number;
  /** Most unacknowledged datagrams in flight (default 128). */
  window?: number;
  /** Largest message accepted by send()/reassembly (default 1 MiB). */
  maxMessage?: number;
  /** Ping when idle this long (default 2000 ms). */
  keepAliveMs?: number;
  /** Declare the peer gone after this much silence (default 10 000 ms). */
  deadAfterMs?: number;
  /** Give up a datagram after this many retransmissions (default 12). */
  maxRetransmits?: number;
  /** Most time close() waits for queued data and the FIN's ack (default 2000 ms). */
  closeTimeoutMs?: number;
}

interface Outgoing {
  seq: number;
  bytes: Buffer;
  sentAt: number;
  retries: number;
  fin?: boolean;
}

const MIN_RTO = 100;
const MAX_RTO = 3000;

/**
 * Reliable, ordered, message-oriented stream over datagrams: sequence numbers, cumulative +
 * selective acks, RTO-timed retransmission (RFC 6298 estimator, Karn's rule), fragmentation,
 * FIN close, keep-alives and peer-loss detection.
 */
export class ReliableUdpStream implements MessageDuplex {
  readonly local: HostPort;
  readonly remote: HostPort;
  private readonly session: number;
  private readonly mtu: number;
  private readonly window: number;
  private readonly maxMessage: number;
  private readonly inbox = new DuplexInbox();
  // Sender.
  private nextSeq = 0;
  private readonly inflight = new Map<number, Outgoing>();
  private readonly backlog: Outgoing[] = [];
  private readonly spaceWaiters: Array<() => void> = [];
  private srtt = 0;
  private rttvar = 0;
  private rto = 300;
  // AIMD congestion window (datagrams): loopback and small socket buffers drop bursts otherwise.
  private cwnd = 16;
  private ssthresh = Number.POSITIVE_INFINITY;
  private lastCut = 0;
  // Receiver.
  private expected = 0;
  private readonly ooo = new Map<number, Frame & { type: 3 }>();
  private fragments: Buffer[] = [];
  private fragmentBytes = 0;
  private ackPending = false;
  private peerFin = false;
  // Lifecycle.
  private lastRecv = Date.now();
  private lastSend = Date.now();
  private readonly tick: NodeJS.Timeout;
  private readonly offLink: () => void;
  private state: "open" | "closing" | "closed" = "open";
  private finAcked: (() => void) | undefined;
  /** Counters for tests and benchmarks. */
  readonly stats = { sent: 0, retransmits: 0, received: 0, dropped: 0 };

  constructor(
    private readonly link: DatagramLink,
    private readonly opts: ReliableUdpOptions,
  ) {
    this.local = link.local;
    this.remote = link.remote;
    this.session = opts.session >>> 0;
    this.mtu = opts.mtu ?? 1200;
    this.window = opts.window ?? 128;
    this.maxMessage = opts.maxMessage ?? 1 << 20;
    this.offLink = link.onDatagram((b) => this.onDatagram(b));
    this.tick = setInterval(() => this.onTick(), 20);
  }

  get closed(): boolean {
    return this.state === "closed";
  }

  private raw(f: Frame): void {
    this.lastSend = Date.now();
    this.link.send(encodeFrame(f));
  }

  async send(data: Uint8Array | string): Promise<number> {
    if (this.state !== "open") throw new TraversalError("ERR_CLOSED", "stream closed");
    const b = typeof data === "string" ? Buffer.from(data, "utf8") : Buffer.from(data);
    if (b.length > this.maxMessage) {
      throw new TraversalError(
        "ERR_MSG_TOO_LARGE",
        `message of ${b.length} bytes > ${this.maxMessage}`,
      );
    }
    const n = Math.max(1, Math.ceil(b.length / this.mtu));
    for (let i = 0; i < n; i++) {
      const payload = b.subarray(i * this.mtu, (i + 1) * this.mtu);
      const seq = this.nextSeq++;
      const bytes = encodeFrame({
        type: FrameType.data,
        session: this.session,
        seq,
        last: i === n - 1,
        payload,
      });
      this.backlog.push({ seq, bytes, sentAt: 0, retries: 0 });
    }
    this.pump();
    // Backpressure: resolve once our fragments left the backlog (are in flight).
    while (this.backlog.length > 0 && this.state === "open") {
      await new Promise<void>((r) => this.spaceWaiters.push(r));
    }
    if (this.closedNow() && this.backlog.length > 0) {
      throw new TraversalError("ERR_CLOSED", "stream closed before the message was sent");
    }
    return b.length;
  }

  private pump(): void {
    const now = Date.now();
    const limit = Math.max(2, Math.min(this.window, Math.floor(this.cwnd)));
    while (this.backlog.length > 0 && this.inflight.size < limit) {
      const o = this.backlog.shift() as Outgoing;
      o.sentAt = now;
      this.inflight.set(o.seq, o);
      this.lastSend = now;
      this.link.send(o.bytes);
      this.stats.sent++;
    }
    if (this.backlog.length === 0 || this.state !== "open") {
      for (const w of this.spaceWaiters.splice(0)) w();
    }
  }

  private onDatagram(buf: Buffer): void {
    let f: Frame;
    try {
      f = decodeFrame(buf);
    } catch {
      this.stats.dropped++;
      return;
    }
    if (this.state === "closed") {
      if (this.peerFin && f.session === this.session && f.type === FrameType.fin) {
        this.raw({ type: FrameType.ack, session: this.session, ack: this.expected, sack: 0 });
      }
      return;
    }
    if (f.session !== this.session) {
      this.stats.dropped++;
      return;
    }
    this.lastRecv = Date.now();
    this.stats.received++;
    switch (f.type) {
      case FrameType.probe:
        // The peer's punch may still be running: tell it we are here.
        this.raw({ type: FrameType.probeAck, session: this.session, nonce: f.nonce });
        return;
      case FrameType.data:
        this.onData(f);
        return;
      case FrameType.fin:
        this.onFin(f.seq);
        return;
      case FrameType.ack:
        this.onAck(f.ack, f.sack);
        return;
      case FrameType.ping:
        this.scheduleAck();
        return;
      case FrameType.rst:
        this.end(new TraversalError("ERR_PEER_VANISHED", "peer reset the stream"));
        return;
      default:
        return;
    }
  }

  private onData(f: Frame & { type: 3 }): void {
    this.scheduleAck();
    if (f.seq < this.expected || this.peerFin) return; // duplicate
    if (f.seq >= this.expected + this.window * 2) return; // beyond what we buffer
    this.ooo.set(f.seq, f);
    this.deliver();
  }

  private deliver(): void {
    for (;;) {
      const f = this.ooo.get(this.expected);
      if (!f) break;
      this.ooo.delete(this.expected);
      this.expected++;
      if (f.type !== FrameType.data) continue;
      this.fragmentBytes += f.payload.length;
      if (this.fragmentBytes > this.maxMessage) {
        this.abort(new TraversalError("ERR_MSG_TOO_LARGE", "peer sent an oversized message"));
        return;
      }
      this.fragments.push(f.payload);
      if (f.last) {
        const msg =
          this.fragments.length === 1
            ? (this.fragments[0] as Buffer)
            : Buffer.concat(this.fragments);
        this.fragments = [];
        this.fragmentBytes = 0;
        this.inbox.deliver(msg);
      }
    }
    if (this.finSeq !== undefined && this.expected === this.finSeq) {
      this.expected++;
      this.peerFin = true;
      this.flushAck();
      this.end(undefined, true);
    }
  }

  private finSeq: number | undefined;

  private onFin(seq: number): void {
    this.scheduleAck();
    if (seq < this.expected) return;
    this.finSeq = seq;
    this.deliver();
  }

  private scheduleAck(): void {
    if (this.ackPending) return;
    this.ackPending = true;
    setImmediate(() => this.flushAck());
  }

  private flushAck(): void {
    if (!this.ackPending && this.state === "closed") return;
    this.ackPending = false;
    let sack = 0;
    for (let i = 0; i < 32; i++) if (this.ooo.has(this.expected + 1 + i)) sack |= 1 << i;
    this.raw({ type: FrameType.ack, session: this.session, ack: this.expected, sack: sack >>> 0 });
  }

  private onAck(ack: number, sack: number): void {
    const now = Date.now();
    const acked = (o: Outgoing) => {
      if (o.retries === 0) this.sampleRtt(now - o.sentAt); // Karn: only first transmissions
      this.inflight.delete(o.seq);
      if (o.fin) this.finAcked?.();
      this.cwnd += this.cwnd < this.ssthresh ? 1 : 1 / this.cwnd;
    };
    let highestSacked = -1;
    for (const o of [...this.inflight.values()]) {
      if (o.seq < ack) acked(o);
      else if (o.seq > ack && o.seq <= ack + 32 && sack & (1 << (o.seq - ack - 1))) {
        highestSacked = Math.max(highestSacked, o.seq);
        acked(o);
      }
    }
    // Fast retransmit: holes below three or more selectively acked datagrams are lost.
    if (highestSacked >= ack + 3) {
      let resent = false;
      for (const o of this.inflight.values()) {
        if (o.seq >= highestSacked || now - o.sentAt < Math.max(10, this.srtt)) continue;
        o.retries++;
        o.sentAt = now;
        this.stats.retransmits++;
        this.link.send(o.bytes);
        resent = true;
      }
      if (resent) this.onLoss(now);
    }
    this.pump();
  }

  private sampleRtt(r: number): void {
    if (this.srtt === 0) {
      this.srtt = r;
      this.rttvar = r / 2;
    } else {
      this.rttvar = 0.75 * this.rttvar + 0.25 * Math.abs(this.srtt - r);
      this.srtt = 0.875 * this.srtt + 0.125 * r;
    }
    this.rto = Math.min(MAX_RTO, Math.max(MIN_RTO, this.srtt + 4 * this.rttvar));
  }

  /** Multiplicative decrease, at most once per RTT. */
  private onLoss(now: number): void {
    if (now - this.lastCut < Math.max(this.srtt, 10)) return;
    this.lastCut = now;
    this.ssthresh = Math.max(4, this.cwnd / 2);
    this.cwnd = this.ssthresh;
  }

  private onTick(): void {
    const now = Date.now();
    if (now - this.lastRecv > (this.opts.deadAfterMs ?? 10_000)) {
      this.abort(new TraversalError("ERR_PEER_VANISHED", "no datagram from the peer"), false);
      return;
    }
    for (const o of this.inflight.values()) {
      const wait = Math.min(MAX_RTO, this.rto * 2 ** Math.min(o.retries, 6));
      if (now - o.sentAt < wait) continue;
      if (o.retries >= (this.opts.maxRetransmits ?? 12)) {
        this.abort(
          new TraversalError("ERR_PEER_VANISHED", `datagram ${o.seq} never acknowledged`),
          false,
        );
        return;
      }
      o.retries++;
      o.sentAt = now;
      this.stats.retransmits++;
      this.lastSend = now;
      this.link.send(o.bytes);
      this.onLoss(now);
    }
    if (now - this.lastSend > (this.opts.keepAliveMs ?? 2000)) {
      this.raw({ type: FrameType.ping, session: this.session });
    }
  }

  recv(opts?: { timeoutMs?: number; signal?: AbortSignal }): Promise<Buffer> {
    return this.inbox.recv(opts);
  }

  onMessage(cb: (d: Buffer) => void): () => void {
    return this.inbox.onMessage(cb);
  }

  onEnd(cb: (err?: Error) => void): () => void {
    return this.inbox.onEnd(cb, this.state === "closed");
  }

  /** Ends at once (RST to the peer unless it is the one that vanished). */
  abort(err: Error = new TraversalError("ERR_CLOSED", "stream aborted"), sendRst = true): void {
    if (this.state === "closed") return;
    if (sendRst) this.raw({ type: FrameType.rst, session: this.session });
    this.end(err);
  }

  private end(err?: Error, linger = false): void {
    if (this.state === "closed") return;
    this.state = "closed";
    clearInterval(this.tick);
    if (linger) {
      // Our ACK of the peer's FIN may be lost: keep re-acking its retransmissions for a moment.
      const t = setTimeout(() => {
        this.offLink();
        this.link.close();
      }, 600);
      t.unref();
    } else {
      this.offLink();
      this.link.close();
    }
    this.inflight.clear();
    this.finAcked?.();
    for (const w of this.spaceWaiters.splice(0)) w();
    this.inbox.end(err, new TraversalError("ERR_CLOSED", "stream closed by the peer"));
  }

  /** Graceful close: flush queued data, send FIN, wait for its ack (bounded), release the link. */
  async close(): Promise<void> {
    if (this.state !== "open") return;
    this.state = "closing";
    const limit = Date.now() + (this.opts.closeTimeoutMs ?? 2000);
    while ((this.backlog.length > 0 || this.inflight.size > 0) && Date.now() < limit) {
      await new Promise((r) => setTimeout(r, 10));
      if (this.closedNow()) return;
      this.pump();
    }
    const seq = this.nextSeq++;
    const bytes = encodeFrame({ type: FrameType.fin, session: this.session, seq });
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, Math.max(0, limit - Date.now()));
      this.finAcked = () => {
        clearTimeout(t);
        resolve();
      };
      if (this.closedNow()) {
        this.finAcked();
        return;
      }
      this.inflight.set(seq, { seq, bytes, sentAt: Date.now(), retries: 0, fin: true });
      this.link.send(bytes);
    });
    this.end();
  }

  private closedNow(): boolean {
    return this.state === "closed";
  }
}

export { DATA_HEADER };
