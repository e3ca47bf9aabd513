import type { ConnectionOptions } from "node:tls";
import { PipeError } from "./errors.js";
import { createDecoder, type Framing } from "./framing.js";
import type { Message, OverflowPolicy, QueueBudget } from "./subscription.js";

export type MsgCb = (msg: Message) => unknown;
export type EndCb = (pipe: import("./pipe.js").Pipe, error?: Error) => unknown;
export type ConnectionCb = (child: import("./pipe.js").Pipe) => unknown;

/** Pipe options (P2PD's NET_CONF, in milliseconds). Every field is optional. */
export interface PipeOptions {
  /** Aborts opening (connect, bind, DNS). */
  signal?: AbortSignal;
  /** TCP connect timeout (ms), default 2000. */
  connectTimeoutMs?: number;
  /** Deadline for resolving a host name (ms), default 2000 (P2PD's dns_timeout); then ERR_RESOLVE. */
  dnsTimeoutMs?: number;
  /** Default recv() timeout (ms), default 2000; 0 = wait forever. */
  recvTimeoutMs?: number;
  /** Per-subscription queue bound, default 1000; 0 = unbounded. */
  maxQueue?: number;
  /** Per-subscription queue bound in payload bytes, default 0 = unbounded. */
  maxQueueBytes?: number;
  /** A byte budget every queue of this pipe shares with other pipes (e.g. a whole server's). */
  queueBudget?: QueueBudget;
  /** What a full queue does, default "drop-oldest". */
  overflow?: OverflowPolicy;
  /** TCP message framing, default "u32-length". */
  framing?: Framing;
  /** Largest message accepted or sent on TCP (bytes), default 16 MiB. */
  maxMessageBytes?: number;
  /**
   * Subscribe to everything at open. Default: true for pipes with one peer (TCP client, TCP
   * child, UDP with a destination), false for TCP servers and UDP servers. Explicit values apply to all.
   */
  autoSubscribe?: boolean;
  /** Message callback installed before any data can arrive (P2PD's msg_cb). */
  onMessage?: MsgCb;
  /** End callback (connection lost or closed). */
  onEnd?: EndCb;
  /** TCP servers: called with each accepted child pipe (P2PD's up_cb). */
  onConnection?: ConnectionCb;
  /**
   * TCP clients: TLS over the connection (P2PD's use_ssl). `true` or node:tls options; certificates
   * ARE verified by default (P2PD disabled verification). Failures are ERR_TLS.
   */
  tls?: boolean | ConnectionOptions;
  /** TLS handshake timeout (ms), default 4000. */
  tlsHandshakeTimeoutMs?: number;
  /** UDP: SO_REUSEADDR (last binder receives on Linux). Default false. */
  reuseAddr?: boolean;
  /** UDP: SO_BROADCAST. Default false. */
  broadcast?: boolean;
  /** IPv6 sockets accept only IPv6 (so "::" and "0.0.0.0" can share a port). Default true. */
  ipv6Only?: boolean;
  /** TCP_NODELAY, default true (messages go out at once). */
  noDelay?: boolean;
  /** TCP listen backlog, default 511. */
  backlog?: number;
  /** How long close() waits for queued TCP data to flush before destroying (ms), default 1000. */
  closeTimeoutMs?: number;
  /**
   * UDP: P2PD's ACK-UDP (proto RUDP). Each datagram carries a 9-byte header (u64 sequence + flag);
   * the receiver ACKs every data packet and drops retransmitted duplicates; send() resolves once
   * ACKed and rejects with ERR_ACK_TIMEOUT after `ackTries` tries of `ackTimeoutMs`. Default false.
   */
  reliable?: boolean;
  /** Per-try ACK wait (ms), default 3000. */
  ackTimeoutMs?: number;
  /** Tries before ERR_ACK_TIMEOUT, default 3. */
  ackTries?: number;
  /** Drop repeats of the same payload from the same IP (P2PD's enable_msg_ids). Default false. */
  dedupe?: boolean;
  /** How many recent (IP, payload) keys dedupe remembers, default 1000. */
  dedupeWindow?: number;
  /** UDP socket buffer sizes (SO_RCVBUF / SO_SNDBUF), OS default when unset. */
  recvBufferSize?: number;
  sendBufferSize?: number;
}

export interface ResolvedOptions {
  connectTimeoutMs: number;
  dnsTimeoutMs: number;
  recvTimeoutMs: number;
  maxQueue: number;
  maxQueueBytes: number;
  queueBudget: QueueBudget | undefined;
  overflow: OverflowPolicy;
  framing: Framing;
  maxMessageBytes: number;
  autoSubscribe: boolean | undefined;
  onMessage: MsgCb | undefined;
  onEnd: EndCb | undefined;
  onConnection: ConnectionCb | undefined;
  reuseAddr: boolean;
  broadcast: boolean;
  ipv6Only: boolean;
  noDelay: boolean;
  backlog: number;
  closeTimeoutMs: number;
  recvBufferSize: number | undefined;
  sendBufferSize: number | undefined;
  dedupe: boolean;
  dedupeWindow: number;
  tls: ConnectionOptions | undefined;
  tlsHandshakeTimeoutMs: number;
  reliable: boolean;
  ackTimeoutMs: number;
  ackTries: number;
}

function nonNeg(v: number | undefined, d: number, name: string): number {
  if (v === undefined) return d;
  if (typeof v !== "number" || !Number.isFinite(v) || v < 0) {
    throw new PipeError("ERR_BAD_ARGUMENT", `${name} must be a non-negative number`);
  }
  return v;
}

const POLICIES: readonly OverflowPolicy[] = ["drop-oldest", "drop-newest", "error", "pause"];

/** Throws ERR_BAD_ARGUMENT unless `p` is an overflow policy. */
export function checkOverflow(p: unknown): OverflowPolicy {
  if (!POLICIES.includes(p as OverflowPolicy)) {
    throw new PipeError("ERR_BAD_ARGUMENT", `overflow must be one of ${POLICIES.join(", ")}`);
  }
  return p as OverflowPolicy;
}

/** Throws ERR_BAD_ARGUMENT unless `n` is a queue bound (a non-negative integer; 0 = unbounded). */
export function checkMaxQueue(n: unknown): number {
  if (typeof n !== "number" || !Number.isInteger(n) || n < 0) {
    throw new PipeError("ERR_BAD_ARGUMENT", "maxQueue must be a non-negative integer");
  }
  return n;
}

/** A timer length: 0..2^31-1 ms (Node would fire a larger one after 1 ms). */
function ms(v: number | undefined, d: number, name: string): number {
  const n = nonNeg(v, d, name);
  if (n > 0x7fffffff) throw new PipeError("ERR_BAD_ARGUMENT", `${name} must be at most 2^31-1 ms`);
  return n;
}

function fn<T>(v: T | undefined, name: string): T | undefined {
  if (v !== undefined && typeof v !== "function") {
    throw new PipeError("ERR_BAD_ARGUMENT", `${name} must be a function`);
  }
  return v;
}

function bufferSize(v: number | undefined, name: string): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== "number" || !Number.isInteger(v) || v <= 0 || v > 0x7fffffff) {
    throw new PipeError("ERR_BAD_ARGUMENT", `${name} must be a positive integer`);
  }
  return v;
}

function tlsOption(t: PipeOptions["tls"]): ConnectionOptions | undefined {
  if (t === undefined || t === false) return undefined;
  if (t === true) return {};
  if (typeof t !== "object" || t === null) {
    throw new PipeError("ERR_BAD_ARGUMENT", "tls must be a boolean or node:tls connection options");
  }
  return t;
}

function positive(v: number | undefined, d: number, name: string): number {
  const n = nonNeg(v, d, name);
  if (n === 0 || n > 0x7fffffff)
    throw new PipeError("ERR_BAD_ARGUMENT", `${name} must be 1..2^31-1`);
  return n;
}

export function resolveOptions(o: PipeOptions = {}): ResolvedOptions {
  if (typeof o !== "object" || o === null)
    throw new PipeError("ERR_BAD_ARGUMENT", "options must be an object");
  const maxMessageBytes = nonNeg(o.maxMessageBytes, 16 * 1024 * 1024, "maxMessageBytes");
  const framing = o.framing ?? "u32-length";
  // Fail at open, not inside the first accepted connection (where a throw would crash the process).
  createDecoder(framing, maxMessageBytes);
  return {
    connectTimeoutMs: ms(o.connectTimeoutMs, 2000, "connectTimeoutMs"),
    dnsTimeoutMs: positive(o.dnsTimeoutMs, 2000, "dnsTimeoutMs"),
    recvTimeoutMs: ms(o.recvTimeoutMs, 2000, "recvTimeoutMs"),
    maxQueue: checkMaxQueue(o.maxQueue ?? 1000),
    maxQueueBytes: nonNeg(o.maxQueueBytes, 0, "maxQueueBytes"),
    queueBudget: o.queueBudget,
    overflow: checkOverflow(o.overflow ?? "drop-oldest"),
    framing,
    maxMessageBytes,
    autoSubscribe: o.autoSubscribe,
    onMessage: fn(o.onMessage, "onMessage"),
    onEnd: fn(o.onEnd, "onEnd"),
    onConnection: fn(o.onConnection, "onConnection"),
    reuseAddr: o.reuseAddr ?? false,
    broadcast: o.broadcast ?? false,
    ipv6Only: o.ipv6Only ?? true,
    noDelay: o.noDelay ?? true,
    backlog: nonNeg(o.backlog, 511, "backlog"),
    closeTimeoutMs: ms(o.closeTimeoutMs, 1000, "closeTimeoutMs"),
    tls: tlsOption(o.tls),
    tlsHandshakeTimeoutMs: ms(o.tlsHandshakeTimeoutMs, 4000, "tlsHandshakeTimeoutMs"),
    reliable: o.reliable ?? false,
    ackTimeoutMs: ms(o.ackTimeoutMs, 3000, "ackTimeoutMs"),
    ackTries: Math.max(1, Math.floor(nonNeg(o.ackTries, 3, "ackTries"))),
    dedupe: o.dedupe ?? false,
    dedupeWindow: nonNeg(o.dedupeWindow, 1000, "dedupeWindow"),
    recvBufferSize: bufferSize(o.recvBufferSize, "recvBufferSize"),
    sendBufferSize: bufferSize(o.sendBufferSize, "sendBufferSize"),
  };
}

/** `maxQueueBytes` as given (ERR_BAD_ARGUMENT unless a non-negative integer). */
export function nonNegBytes(n: number): number {
  if (typeof n !== "number" || !Number.isInteger(n) || n < 0)
    throw new PipeError("ERR_BAD_ARGUMENT", "maxQueueBytes must be a non-negative integer");
  return n;
}
