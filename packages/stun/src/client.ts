import { decodeMessage, encodeMessage, isStunMessage, verifyIntegrity } from "./codec.js";
import { ATTR, METHOD } from "./constants.js";
import { formatEndpoint, type StunEndpoint, sameEndpoint, sameHost } from "./endpoint.js";
import { abortError, StunError } from "./errors.js";
import type { StunFraming } from "./framing.js";
import { StunMessage } from "./message.js";
import { bindUdp, connectTcp, resolveServer, type StunServerAddress } from "./sockets.js";
import { createTcpTransport, createUdpTransport, type StunTransport } from "./transport.js";

/** Retransmission knobs (RFC 8489 §6.2.1): RTO doubles after each send, Rc sends, then Rm*RTO. */
export interface RetransmitOptions {
  /** Initial retransmission timeout in ms (default 500). */
  rto?: number;
  /** Number of UDP sends (default 7). */
  rc?: number;
  /** Final wait after the last UDP send, in multiples of the initial RTO (default 16). */
  rm?: number;
  /** Timeout of a TCP transaction in ms (default 39500, as RFC 8489's Ti). */
  tcpTimeoutMs?: number;
}

export interface ClientOptions extends RetransmitOptions {
  /** SOFTWARE attribute added to requests the client builds (default none). */
  software?: string;
  /** Debug log sink; off by default. */
  debug?: (line: string) => void;
  /** Larger answers are dropped unread (default 4096 bytes; a Binding or TURN answer is far smaller). */
  maxMessageSize?: number;
}

/** Default cap on an answer's size: anything bigger is dropped before decoding. */
const MAX_ANSWER_SIZE = 4096;

export interface RequestOptions extends RetransmitOptions {
  /** The request to send (default: a fresh Binding request). */
  message?: StunMessage;
  /** RFC 5780/3489 CHANGE-REQUEST flags; the answer is then expected from a different address. */
  changeIp?: boolean;
  changePort?: boolean;
  /** RFC 5780 RESPONSE-PORT. */
  responsePort?: number;
  /** RFC 5780 PADDING of this many bytes. */
  padding?: number;
  /** Overall cap in ms on top of the retransmission schedule. */
  timeoutMs?: number;
  /** Where the answer must come from (default: the server, or as implied by CHANGE-REQUEST); "any" disables the check. */
  expectFrom?: StunEndpoint | "any";
  /** Sign with MESSAGE-INTEGRITY (and require it on success answers). */
  integrityKey?: Uint8Array;
  /** Use MESSAGE-INTEGRITY-SHA256 instead of MESSAGE-INTEGRITY. */
  integritySha256?: boolean;
  /** Append FINGERPRINT (default true). */
  fingerprint?: boolean;
  signal?: AbortSignal;
}

export interface StunResponse {
  message: StunMessage;
  /** The bytes as received (for verifyIntegrity). */
  raw: Uint8Array;
  from: StunEndpoint;
  server: StunEndpoint;
  /** Milliseconds from the latest send to the answer. */
  rtt: number;
}

export interface BindingResult {
  /** Our address as the server saw it (XOR-MAPPED-ADDRESS, else MAPPED-ADDRESS). */
  mapped: StunEndpoint;
  rtt: number;
  server: StunEndpoint;
  local: StunEndpoint | undefined;
  protocol: "udp" | "tcp";
  from: StunEndpoint;
  responseOrigin?: StunEndpoint;
  /** RFC 5780 OTHER-ADDRESS, or RFC 3489 CHANGED-ADDRESS. */
  otherAddress?: StunEndpoint;
  software?: string;
}

interface Pending {
  server: StunEndpoint;
  opts: RequestOptions;
  legacy: boolean;
  lastSend: number;
  resolve(r: StunResponse): void;
  reject(e: Error): void;
}

/**
 * Runs STUN transactions over one transport. Many transactions may run at once; answers are matched
 * by transaction id and source, anything else is ignored.
 */
export class StunClient {
  readonly transport: StunTransport;
  private readonly opts: ClientOptions;
  private readonly pending = new Map<string, Pending>();
  private readonly unsubscribe: () => void;
  private closed = false;

  constructor(transport: StunTransport, opts: ClientOptions = {}) {
    this.transport = transport;
    this.opts = opts;
    this.unsubscribe = transport.subscribe(
      (data, from) => this.onMessage(data, from),
      (err) =>
        this.failAll(
          new StunError("ERR_STUN_CLOSED", `transport closed${err ? `: ${err.message}` : ""}`),
        ),
    );
  }

  /** A client on its own UDP socket (closed with the client). */
  static async udp(
    opts: ClientOptions & {
      family?: 4 | 6;
      localAddress?: string;
      localPort?: number;
      reuseAddr?: boolean;
      signal?: AbortSignal;
    } = {},
  ): Promise<StunClient> {
    const sock = await bindUdp(opts);
    return new StunClient(createUdpTransport(sock, { owned: true }), opts);
  }

  /** A client on its own TCP connection to `server` (closed with the client). */
  static async tcp(
    server: StunServerAddress,
    opts: ClientOptions & {
      family?: 4 | 6;
      localAddress?: string;
      localPort?: number;
      framing?: StunFraming;
      signal?: AbortSignal;
    } = {},
  ): Promise<StunClient> {
    const to = await resolveServer(server, opts);
    const sock = await connectTcp(to, opts);
    return new StunClient(
      createTcpTransport(sock, { framing: opts.framing ?? "stun", owned: true }),
      opts,
    );
  }

  local(): StunEndpoint | undefined {
    return this.transport.local();
  }

  /** Sends a request and resolves with the first valid answer (success or error class). */
  async request(server: StunServerAddress, opts: RequestOptions = {}): Promise<StunResponse> {
    if (this.closed) throw new StunError("ERR_STUN_CLOSED", "client is closed");
    if (opts.signal?.aborted) throw abortError(opts.signal);
    const local = this.transport.local();
    // A dual-stack "::" socket reaches both families; otherwise names resolve in the socket's family.
    const family = local && local.host !== "::" ? local.family : undefined;
    const to = await resolveServer(server, { family, signal: opts.signal });
    const msg = opts.message ?? new StunMessage({ method: METHOD.BINDING, cls: "request" });
    if (!opts.message) {
      if (opts.changeIp || opts.changePort)
        msg.addChangeRequest({ changeIp: opts.changeIp, changePort: opts.changePort });
      if (opts.responsePort !== undefined) msg.addResponsePort(opts.responsePort);
      if (opts.padding) msg.addPadding(opts.padding);
      if (this.opts.software) msg.addString(ATTR.SOFTWARE, this.opts.software);
    }
    const key = opts.integrityKey;
    const bytes = encodeMessage(msg, {
      integrity: key && !opts.integritySha256 ? key : undefined,
      integritySha256: key && opts.integritySha256 ? key : undefined,
      fingerprint: opts.fingerprint ?? !msg.legacy,
    });
    const id = msg.id;
    if (this.pending.has(id))
      throw new StunError("ERR_STUN_BAD_ARGUMENT", "transaction id already in flight");
    const rto = opts.rto ?? this.opts.rto ?? 500;
    const rc = opts.rc ?? this.opts.rc ?? 7;
    const rm = opts.rm ?? this.opts.rm ?? 16;
    const tcpTimeout = opts.tcpTimeoutMs ?? this.opts.tcpTimeoutMs ?? 39_500;
    const signal = opts.signal;
    if (signal?.aborted) throw abortError(signal);

    return new Promise<StunResponse>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      let cap: NodeJS.Timeout | undefined;
      const finish = (err: Error | undefined, res?: StunResponse) => {
        if (timer) clearTimeout(timer);
        if (cap) clearTimeout(cap);
        signal?.removeEventListener("abort", onAbort);
        this.pending.delete(id);
        if (err) reject(err);
        else resolve(res as StunResponse);
      };
      const onAbort = () => finish(abortError(signal as AbortSignal));
      signal?.addEventListener("abort", onAbort, { once: true });
      const entry: Pending = {
        server: to,
        opts,
        legacy: msg.legacy,
        lastSend: 0,
        resolve: (r) => finish(undefined, r),
        reject: (e) => finish(e),
      };
      this.pending.set(id, entry);
      const timeout = () =>
        finish(
          new StunError(
            "ERR_STUN_TIMEOUT",
            `no answer from ${formatEndpoint(to)} (${this.transport.protocol})`,
          ),
        );
      if (opts.timeoutMs !== undefined) cap = setTimeout(timeout, opts.timeoutMs);
      let sends = 0;
      let wait = rto;
      const send = () => {
        try {
          entry.lastSend = performance.now();
          this.transport.send(bytes, to);
          this.opts.debug?.(`stun: sent ${id} to ${formatEndpoint(to)} (#${sends + 1})`);
        } catch (e) {
          finish(
            e instanceof StunError
              ? e
              : new StunError("ERR_STUN_CLOSED", (e as Error).message, { cause: e }),
          );
          return;
        }
        sends++;
        if (this.transport.protocol === "tcp") {
          timer = setTimeout(timeout, tcpTimeout);
        } else if (sends >= rc) {
          timer = setTimeout(timeout, rm * rto);
        } else {
          timer = setTimeout(send, wait);
          wait *= 2;
        }
      };
      send();
    });
  }

  /** Sends an indication (no answer expected, e.g. TURN Send), signed or fingerprinted as asked. */
  async indicate(
    server: StunServerAddress,
    message: StunMessage,
    opts: Pick<RequestOptions, "integrityKey" | "integritySha256" | "fingerprint" | "signal"> = {},
  ): Promise<void> {
    if (this.closed) throw new StunError("ERR_STUN_CLOSED", "client is closed");
    if (message.cls !== "indication") {
      throw new StunError("ERR_STUN_BAD_ARGUMENT", "indicate() sends indications only");
    }
    if (opts.signal?.aborted) throw abortError(opts.signal);
    const local = this.transport.local();
    const family = local && local.host !== "::" ? local.family : undefined;
    const to = await resolveServer(server, { family, signal: opts.signal });
    const key = opts.integrityKey;
    const bytes = encodeMessage(message, {
      integrity: key && !opts.integritySha256 ? key : undefined,
      integritySha256: key && opts.integritySha256 ? key : undefined,
      fingerprint: opts.fingerprint ?? !message.legacy,
    });
    try {
      this.transport.send(bytes, to);
    } catch (e) {
      // A socket closed under us (or any other send failure) is this package's typed error, not Node's.
      throw e instanceof StunError
        ? e
        : new StunError("ERR_STUN_CLOSED", (e as Error).message, { cause: e });
    }
  }

  /** A Binding transaction reduced to what callers want: the mapped address and friends. */
  async binding(server: StunServerAddress, opts: RequestOptions = {}): Promise<BindingResult> {
    const res = await this.request(server, opts);
    return bindingResult(res, this.transport);
  }

  private onMessage(data: Uint8Array, from: StunEndpoint): void {
    if (this.pending.size === 0 || !isStunMessage(data, true)) return;
    // Decoding costs time in proportion to the size: no answer we wait for needs 64 KiB.
    if (data.length > (this.opts.maxMessageSize ?? MAX_ANSWER_SIZE)) {
      this.opts.debug?.(`stun: dropped ${data.length}-byte answer from ${formatEndpoint(from)}`);
      return;
    }
    let msg: StunMessage;
    try {
      msg = decodeMessage(data, { legacy: true });
    } catch (e) {
      this.opts.debug?.(
        `stun: dropped malformed answer from ${formatEndpoint(from)}: ${(e as Error).message}`,
      );
      return;
    }
    const p = this.pending.get(msg.id);
    if (!p || (msg.cls !== "success" && msg.cls !== "error")) return;
    if (this.transport.protocol === "udp" && !sourceOk(p, from, msg.cls === "error")) {
      this.opts.debug?.(`stun: ignored answer ${msg.id} from unexpected ${formatEndpoint(from)}`);
      return;
    }
    if (
      p.opts.integrityKey &&
      msg.cls === "success" &&
      !verifyIntegrity(data, p.opts.integrityKey)
    ) {
      this.opts.debug?.(`stun: ignored answer ${msg.id} with bad integrity`);
      return;
    }
    p.resolve({
      message: msg,
      raw: data,
      from,
      server: p.server,
      rtt: performance.now() - p.lastSend,
    });
  }

  private failAll(err: StunError): void {
    for (const p of [...this.pending.values()]) p.reject(err);
  }

  /** Fails pending transactions and stops listening, leaving the transport open (for shared sockets). */
  detach(): void {
    if (this.closed) return;
    this.closed = true;
    this.failAll(new StunError("ERR_STUN_CLOSED", "client closed"));
    this.unsubscribe();
  }

  /** Fails pending transactions and releases the transport (and its socket if the transport owns it). */
  close(): void {
    const wasOpen = !this.closed;
    this.detach();
    if (wasOpen) this.transport.close();
  }
}

function sourceOk(p: Pending, from: StunEndpoint, isError: boolean): boolean {
  const exp = p.opts.expectFrom;
  if (exp === "any") return true;
  if (exp) return sameEndpoint(exp, from);
  // A server that cannot honour CHANGE-REQUEST answers the error from the address we asked.
  if (isError && sameEndpoint(p.server, from)) return true;
  const ipOk = p.opts.changeIp
    ? !sameHost(p.server.host, from.host)
    : sameHost(p.server.host, from.host);
  const portOk = p.opts.changePort ? p.server.port !== from.port : p.server.port === from.port;
  return ipOk && portOk;
}

export function bindingResult(res: StunResponse, transport: StunTransport): BindingResult {
  const m = res.message;
  if (m.cls === "error") {
    const ec = safe(() => m.getErrorCode());
    const err = new StunError(
      "ERR_STUN_ERROR_RESPONSE",
      `${formatEndpoint(res.server)} answered ${ec ? `${ec.code} ${ec.reason}` : "with an error"}`,
    );
    err.status = ec?.code;
    err.details = ec;
    throw err;
  }
  const mapped =
    m.getAddress(ATTR.XOR_MAPPED_ADDRESS) ??
    safe(() => m.getAddress(0x8020)) ??
    m.getAddress(ATTR.MAPPED_ADDRESS);
  if (!mapped)
    throw new StunError(
      "ERR_STUN_BAD_ATTR",
      `${formatEndpoint(res.server)} sent no mapped address`,
    );
  const out: BindingResult = {
    mapped,
    rtt: res.rtt,
    server: res.server,
    local: transport.local(),
    protocol: transport.protocol,
    from: res.from,
  };
  const origin = safe(
    () => m.getAddress(ATTR.RESPONSE_ORIGIN) ?? m.getAddress(ATTR.SOURCE_ADDRESS),
  );
  if (origin) out.responseOrigin = origin;
  const other = safe(() => m.getAddress(ATTR.OTHER_ADDRESS) ?? m.getAddress(ATTR.CHANGED_ADDRESS));
  if (other) out.otherAddress = other;
  const sw = m.getString(ATTR.SOFTWARE);
  if (sw !== undefined) out.software = sw;
  return out;
}

/** Optional attributes that fail to parse are treated as absent. */
function safe<T>(f: () => T): T | undefined {
  try {
    return f();
  } catch {
    return undefined;
  }
}

export interface OneShotOptions extends RequestOptions, ClientOptions {
  protocol?: "udp" | "tcp";
  family?: 4 | 6;
  localAddress?: string;
  localPort?: number;
  /** Run over this transport instead of a fresh socket (it is not closed afterwards). */
  transport?: StunTransport;
  framing?: StunFraming;
}

async function withClient<T>(
  server: StunServerAddress,
  opts: OneShotOptions,
  f: (c: StunClient, to: StunEndpoint) => Promise<T>,
): Promise<T> {
  const to = await resolveServer(server, { family: opts.family, signal: opts.signal });
  if (opts.transport) {
    const c = new StunClient(opts.transport, opts);
    try {
      return await f(c, to);
    } finally {
      // Release our subscription but never the caller's socket.
      c.detach();
    }
  }
  const c =
    (opts.protocol ?? "udp") === "tcp"
      ? await StunClient.tcp(to, { ...opts, family: to.family })
      : await StunClient.udp({ ...opts, family: to.family });
  try {
    return await f(c, to);
  } finally {
    c.close();
  }
}

/** One request/answer over a fresh socket (or the given transport). */
export function stunRequest(
  server: StunServerAddress,
  opts: OneShotOptions = {},
): Promise<StunResponse> {
  return withClient(server, opts, (c, to) => c.request(to, opts));
}

/** Asks one server for our mapped (server-reflexive) address. */
export function getMappedAddress(
  server: StunServerAddress,
  opts: OneShotOptions = {},
): Promise<BindingResult> {
  return withClient(server, opts, (c, to) => c.binding(to, opts));
}
