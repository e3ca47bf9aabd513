import {
  ATTR,
  decodeMessage,
  longTermKey,
  METHOD,
  newTransactionId,
  type StunMessage,
} from "@p2pd/stun";
import { type HostPort, hostPort, hostPortKey, TraversalError, TurnError } from "./errors.js";
import { CHANNEL_MAX, CHANNEL_MIN, decodeChannelData, encodeChannelData } from "./turn-framing.js";
import { TurnLink } from "./turn-link.js";
import { encodeTurn, errorCodeOf, lifetimeOf, TurnTransactions } from "./turn-transactions.js";

export interface TurnClientOptions {
  /** TURN server (IP literal). */
  server: HostPort;
  /** Client<->server transport (the relay itself is always UDP). Default "udp". */
  transport?: "udp" | "tcp";
  username: string;
  password: string;
  localAddress?: string;
  localPort?: number;
  /** Requested allocation lifetime in seconds (default 600). */
  lifetimeSec?: number;
  /** Total time per request, retransmissions included (default 5000 ms). */
  requestTimeoutMs?: number;
  /** First UDP retransmission timeout, doubled each time (default 250 ms). */
  rtoMs?: number;
  signal?: AbortSignal;
  /** Optional debug sink (off by default). */
  log?: (line: string) => void;
}

type DataCb = (data: Buffer, from: HostPort) => void;

const PERMISSION_REFRESH_MS = 240_000; // permissions live 300 s
const CHANNEL_REFRESH_MS = 540_000; // channels live 600 s
const MAX_NONCE_RETRIES = 3;

/**
 * TURN client (RFC 8656 / 5766) with long-term credentials: Allocate, Refresh, CreatePermission,
 * ChannelBind, Send/Data indications and ChannelData, over UDP or TCP to the server.
 */
export class TurnClient {
  readonly server: HostPort;
  readonly transport: "udp" | "tcp";
  /** Our address on the relay: what peers send to. */
  relayed!: HostPort;
  /** Our address as the server sees it (server-reflexive). */
  mapped: HostPort | undefined;
  /** Local socket address towards the server. */
  local!: HostPort;
  lifetimeSec = 0;

  private link: TurnLink | undefined;
  private readonly tx: TurnTransactions;
  private readonly dataCbs = new Set<DataCb>();
  private readonly closeCbs = new Set<(err?: Error) => void>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly permissions = new Map<string, NodeJS.Timeout>();
  private readonly channelsByPeer = new Map<string, { channel: number; timer?: NodeJS.Timeout }>();
  private readonly peersByChannel = new Map<number, HostPort>();
  private nextChannel = CHANNEL_MIN;
  private realm = "";
  private nonce = "";
  private key: Uint8Array | undefined;
  private refreshTimer: NodeJS.Timeout | undefined;
  private closing = false;
  private isClosed = false;
  /** Inbound frames dropped as malformed/forged: a hint for debugging hostile paths. */
  dropped = 0;

  private constructor(private readonly opts: TurnClientOptions) {
    this.server = opts.server;
    this.transport = opts.transport ?? "udp";
    this.tx = new TurnTransactions({
      write: (bytes) => this.write(bytes),
      // Over UDP we retransmit; TCP does it for us.
      retransmit: () => this.link?.datagrams === true,
      rtoMs: opts.rtoMs ?? 250,
    });
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /** Connects to the server and allocates a relayed address; everything is closed on failure. */
  static async allocate(opts: TurnClientOptions): Promise<TurnClient> {
    const c = new TurnClient(opts);
    const { signal } = opts;
    const onAbort = () => void c.close().catch(() => {});
    signal?.addEventListener("abort", onAbort, { once: true });
    try {
      if (signal?.aborted) throw new TraversalError("ERR_ABORTED", "TURN allocate aborted");
      await c.open();
      await c.doAllocate();
      return c;
    } catch (err) {
      await c.close({ skipRefresh: true });
      if (signal?.aborted && !(err instanceof TurnError && err.code === "ERR_TURN_AUTH")) {
        throw new TraversalError("ERR_ABORTED", "TURN allocate aborted", { cause: err });
      }
      throw err;
    } finally {
      signal?.removeEventListener("abort", onAbort);
    }
  }

  private log(line: string): void {
    this.opts.log?.(`[turn ${hostPortKey(this.server)}] ${line}`);
  }

  private async open(): Promise<void> {
    this.link = new TurnLink({
      server: this.server,
      transport: this.transport,
      localAddress: this.opts.localAddress,
      localPort: this.opts.localPort,
      connectTimeoutMs: this.opts.requestTimeoutMs ?? 5000,
      onFrame: (buf) => this.onFrame(buf),
      onForeign: () => this.dropped++,
      onFail: (err) => this.fail(err),
    });
    await this.link.open();
    this.local = this.link.local;
  }

  private onFrame(buf: Buffer): void {
    const top = (buf[0] ?? 0xff) >> 6;
    if (top === 1) {
      let cd: ReturnType<typeof decodeChannelData>;
      try {
        cd = decodeChannelData(buf);
      } catch {
        this.dropped++;
        return;
      }
      const peer = this.peersByChannel.get(cd.channel);
      if (!peer) {
        this.dropped++;
        return;
      }
      this.emitData(Buffer.from(cd.data), peer);
      return;
    }
    let msg: StunMessage;
    try {
      msg = decodeMessage(buf);
    } catch {
      this.dropped++;
      return;
    }
    if (msg.cls === "indication") {
      if (msg.method !== METHOD.DATA) return;
      const data = msg.get(ATTR.DATA);
      let from: HostPort | undefined;
      try {
        const ep = msg.getAddress(ATTR.XOR_PEER_ADDRESS);
        if (ep) from = hostPort(ep);
      } catch {}
      if (!from || !data) {
        this.dropped++;
        return;
      }
      this.emitData(Buffer.from(data), from);
      return;
    }
    if (msg.cls !== "success" && msg.cls !== "error") return;
    const answered = this.tx.answer(msg, buf, this.key);
    if (answered === "forged") this.log("dropping response with bad MESSAGE-INTEGRITY");
    if (answered !== "ok") this.dropped++; // unknown transaction: stale or forged
  }

  private emitData(data: Buffer, from: HostPort): void {
    for (const cb of this.dataCbs) cb(data, from);
  }

  private write(bytes: Uint8Array): void {
    this.link?.write(bytes);
  }

  /** One request/response transaction with UDP retransmissions. */
  private transact(
    method: number,
    build: (m: StunMessage) => void,
    opts: { auth: boolean; signal?: AbortSignal; timeoutMs?: number },
  ): Promise<StunMessage> {
    if (this.isClosed)
      return Promise.reject(new TraversalError("ERR_TURN_CLOSED", "client closed"));
    const key = opts.auth ? this.key : undefined;
    const transactionId = newTransactionId();
    const bytes = encodeTurn(
      { method, cls: "request", transactionId },
      (m) => {
        build(m);
        if (key) {
          m.addString(ATTR.USERNAME, this.opts.username);
          m.addString(ATTR.REALM, this.realm);
          m.addString(ATTR.NONCE, this.nonce);
        }
      },
      { ...(key ? { integrity: key } : {}), fingerprint: true },
    );
    return this.tx.run({
      method,
      transactionId,
      bytes,
      needIntegrity: opts.auth,
      timeoutMs: opts.timeoutMs ?? this.opts.requestTimeoutMs ?? 5000,
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
  }

  /** Request with the 401/438 challenge dance; returns the success response or throws. */
  private async authed(
    method: number,
    build: (m: StunMessage) => void,
    what: string,
    signal?: AbortSignal,
  ): Promise<StunMessage> {
    let retries = 0;
    for (;;) {
      const res = await this.transact(method, build, { auth: this.key !== undefined, signal });
      if (res.cls === "success") return res;
      const { status, reason } = errorCodeOf(res);
      if ((status === 401 || status === 438) && retries < MAX_NONCE_RETRIES) {
        const realm = res.getString(ATTR.REALM);
        const nonce = res.getString(ATTR.NONCE);
        if (!nonce || (!realm && !this.realm)) {
          throw new TurnError("ERR_TURN_AUTH", `${what}: ${status} without REALM/NONCE`, status);
        }
        // A second 401 after we already sent credentials means they are wrong.
        if (status === 401 && this.key && retries > 0) {
          throw new TurnError("ERR_TURN_AUTH", `${what}: credentials rejected (${reason})`, status);
        }
        if (realm) this.realm = realm;
        this.nonce = nonce;
        this.key = longTermKey(this.opts.username, this.realm, this.opts.password);
        retries++;
        continue;
      }
      if (status === 401) {
        throw new TurnError("ERR_TURN_AUTH", `${what}: unauthorized (${reason})`, status);
      }
      throw new TurnError(
        method === METHOD.ALLOCATE ? "ERR_TURN_ALLOCATE" : "ERR_TURN_REQUEST",
        `${what} failed: ${status} ${reason}`,
        status,
      );
    }
  }

  private async doAllocate(): Promise<void> {
    const res = await this.authed(
      METHOD.ALLOCATE,
      (m) => m.addRequestedTransport(17).addUint32(ATTR.LIFETIME, this.opts.lifetimeSec ?? 600),
      "Allocate",
      this.opts.signal,
    );
    if (!res.has(ATTR.XOR_RELAYED_ADDRESS))
      throw new TurnError("ERR_TURN_ALLOCATE", "Allocate success without relayed address");
    try {
      const relayed = res.getAddress(ATTR.XOR_RELAYED_ADDRESS);
      if (relayed) this.relayed = hostPort(relayed);
      const mapped = res.getAddress(ATTR.XOR_MAPPED_ADDRESS);
      if (mapped) this.mapped = hostPort(mapped);
    } catch (err) {
      throw new TurnError(
        "ERR_TURN_ALLOCATE",
        "malformed address in Allocate response",
        undefined,
        {
          cause: err,
        },
      );
    }
    this.lifetimeSec = lifetimeOf(res) ?? 600;
    this.scheduleRefresh();
    this.log(`allocated ${hostPortKey(this.relayed)} for ${this.lifetimeSec}s`);
  }

  private scheduleRefresh(): void {
    if (this.refreshTimer) clearTimeout(this.refreshTimer);
    const ms = Math.max(1000, Math.min(this.lifetimeSec - 60, this.lifetimeSec / 2) * 1000);
    this.refreshTimer = setTimeout(() => {
      this.refresh().catch((err) => this.fail(err as Error));
    }, ms);
  }

  /** Refreshes the allocation (the client does this itself before the lifetime ends). */
  async refresh(lifetimeSec = this.opts.lifetimeSec ?? 600, signal?: AbortSignal): Promise<void> {
    const res = await this.authed(
      METHOD.REFRESH,
      (m) => m.addUint32(ATTR.LIFETIME, lifetimeSec),
      "Refresh",
      signal,
    );
    this.lifetimeSec = lifetimeOf(res) ?? lifetimeSec;
    if (this.lifetimeSec > 0) this.scheduleRefresh();
  }

  /** Installs (and keeps refreshing) permissions for peer IPs: needed before any data flows. */
  async createPermission(
    peers: string | string[],
    opts: { signal?: AbortSignal } = {},
  ): Promise<void> {
    const ips = Array.isArray(peers) ? peers : [peers];
    await this.authed(
      METHOD.CREATE_PERMISSION,
      (m) => {
        for (const ip of ips) m.addAddress(ATTR.XOR_PEER_ADDRESS, { host: ip, port: 0 });
      },
      "CreatePermission",
      opts.signal,
    );
    for (const ip of ips) {
      const old = this.permissions.get(ip);
      if (old) this.clearTimer(old);
      this.permissions.set(
        ip,
        this.addTimer(() => {
          this.createPermission(ip).catch((e) => this.log(`permission refresh failed: ${e}`));
        }, PERMISSION_REFRESH_MS),
      );
    }
  }

  /** Binds a channel to a peer (cheaper framing: 4 bytes instead of 36+); refreshed until close. */
  async bindChannel(peer: HostPort, opts: { signal?: AbortSignal } = {}): Promise<number> {
    const key = hostPortKey(peer);
    const existing = this.channelsByPeer.get(key);
    const channel = existing?.channel ?? this.allocChannel();
    await this.authed(
      METHOD.CHANNEL_BIND,
      (m) => m.addAddress(ATTR.XOR_PEER_ADDRESS, peer).addChannelNumber(channel),
      "ChannelBind",
      opts.signal,
    );
    if (existing?.timer) this.clearTimer(existing.timer);
    const timer = this.addTimer(() => {
      this.bindChannel(peer).catch((e) => this.log(`channel refresh failed: ${e}`));
    }, CHANNEL_REFRESH_MS);
    this.channelsByPeer.set(key, { channel, timer });
    this.peersByChannel.set(channel, { host: peer.host, port: peer.port });
    return channel;
  }

  private allocChannel(): number {
    if (this.nextChannel > CHANNEL_MAX) {
      throw new TraversalError("ERR_TURN_REQUEST", "no channel numbers left");
    }
    return this.nextChannel++;
  }

  /** Sends to a peer through the relay: ChannelData when a channel is bound, else a Send indication. */
  send(peer: HostPort, data: Uint8Array): void {
    if (this.isClosed) throw new TraversalError("ERR_TURN_CLOSED", "client closed");
    const ch = this.channelsByPeer.get(hostPortKey(peer));
    if (ch) {
      this.write(encodeChannelData(ch.channel, data, this.transport === "tcp"));
      return;
    }
    this.write(
      encodeTurn({ method: METHOD.SEND, cls: "indication" }, (m) =>
        m.addAddress(ATTR.XOR_PEER_ADDRESS, peer).add(ATTR.DATA, data),
      ),
    );
  }

  /** Data relayed from peers (Data indications and ChannelData). */
  onData(cb: DataCb): () => void {
    this.dataCbs.add(cb);
    return () => this.dataCbs.delete(cb);
  }

  onClose(cb: (err?: Error) => void): () => void {
    if (this.isClosed) {
      queueMicrotask(() => cb());
      return () => {};
    }
    this.closeCbs.add(cb);
    return () => this.closeCbs.delete(cb);
  }

  private addTimer(fn: () => void, ms: number): NodeJS.Timeout {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
    return t;
  }

  private clearTimer(t: NodeJS.Timeout): void {
    clearTimeout(t);
    this.timers.delete(t);
  }

  private fail(err: Error): void {
    if (this.isClosed || this.closing) return;
    this.log(`failed: ${err.message}`);
    void this.close({ skipRefresh: true, error: err });
  }

  /** Releases the allocation (Refresh lifetime 0, best effort) and closes socket and timers. */
  async close(opts: { skipRefresh?: boolean; error?: Error } = {}): Promise<void> {
    if (this.isClosed || this.closing) return;
    this.closing = true;
    if (!opts.skipRefresh && this.key && this.relayed) {
      await this.transact(METHOD.REFRESH, (m) => m.addUint32(ATTR.LIFETIME, 0), {
        auth: true,
        timeoutMs: 500,
      }).catch(() => {});
    }
    this.isClosed = true;
    if (this.refreshTimer) clearTimeout(this.refreshTimer);
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.permissions.clear();
    this.channelsByPeer.clear();
    this.tx.rejectAll(opts.error ?? new TraversalError("ERR_TURN_CLOSED", "TURN client closed"));
    const link = this.link;
    this.link = undefined;
    await link?.close();
    for (const cb of this.closeCbs) cb(opts.error);
    this.closeCbs.clear();
    this.dataCbs.clear();
  }
}
