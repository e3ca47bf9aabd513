import { randomBytes } from "node:crypto";
import { EventEmitter, setMaxListeners } from "node:events";
import { createServer, type Server, type Socket } from "node:net";
import type { Duplex } from "node:stream";
import { createPortMapper, type PortMapper } from "@p2pd/nat";
import {
  type AddressEntry,
  formatAddress,
  type NatInfo,
  type P2PAddress,
  parseAddress,
  tryParseAddress,
} from "./address.js";
import { type EmbeddedBroker, startBroker } from "./broker.js";
import { openEnvelope, ReplayGuard, sealEnvelope } from "./envelope.js";
import {
  AddressError,
  ConnectError,
  codeOf,
  P2pdNodeError,
  SignalError,
  type StrategyFailure,
} from "./errors.js";
import { type NodeInterface, resolveInterfaces, UNKNOWN_NAT } from "./interfaces.js";
import { hostPort, isLinkLocal6, isLoopback } from "./ip.js";
import { deriveKeys, type NodeKeys } from "./keys.js";
import { openListenMapping } from "./listen-mapping.js";
import { formatNameRecord, parseNameRecord, recordAddress } from "./name-record.js";
import type { NamingProvider } from "./naming.js";
import { IrcNaming } from "./naming-irc.js";
import { stunNatTest } from "./nat-test.js";
import { NodePipe } from "./pipe.js";
import { MqttSignaling, type SignalingTransport } from "./signaling.js";
import { candidates } from "./strategies/candidates.js";
import { builtinStrategies, DEFAULT_STRATEGIES, StrategyRegistry } from "./strategies/registry.js";
import { parseServer } from "./strategies/signal-fields.js";
import type {
  ResponderContext,
  SignalMessage,
  Strategy,
  StrategyContext,
  StrategyName,
} from "./strategies/strategy.js";
import { estimateClockOffset, type TcpMapping } from "./traversal/index.js";

export interface StartNodeOptions {
  /** Identity seed (>= 16 bytes, or a string hashed into one): same seed, same node id and keys. */
  seed?: Uint8Array | string;
  /** Listen port on every interface; 0 (default) = any free port. */
  port?: number;
  /** "auto" (default), "loopback", interface names, or explicit NodeInterface objects. */
  interfaces?: "auto" | "loopback" | (string | NodeInterface)[];
  /** MQTT broker URLs. Default: an in-process aedes broker on 127.0.0.1 (offline use). */
  mqtt?: string | string[];
  /** Give up start when no broker answers within this (ms, default 5000). */
  mqttTimeoutMs?: number;
  /** Custom signaling transport (replaces mqtt). Its indexes go in the address. */
  transport?: SignalingTransport;
  /** STUN servers (host:port) for the background NAT test. */
  stun?: string[];
  /** TURN servers, for the turn strategy. */
  turn?: TurnServerConfig[];
  /** IRC servers for names (IRCDNS), used when no `naming` is given. */
  irc?: string[];
  naming?: NamingProvider;
  /** Map the listen port on the gateway (UPnP/NAT-PMP) in the background. */
  upnp?: boolean;
  /** Known NAT per interface name (a cached NAT test): makes the address right from the start. */
  nat?: Record<string, NatInfo>;
  /** Directory for the per-network NAT cache (with `stun`): a hit is applied before ready. */
  natCache?: string;
  /** How long start waits for the NAT test before going on in the background (default 800 ms). */
  natWaitMs?: number;
  /** Background NAT test (default with `stun`: @p2pd/nat detectNat); resolves ext IPs and NAT info. */
  natTest?: (
    iface: NodeInterface,
    opts: { signal: AbortSignal },
  ) => Promise<Partial<NodeInterface>>;
  /** Strategies beyond the built-in ones (or replacing them by name). */
  strategies?: Strategy[];
  /** Replay window for signaling timestamps (ms, default 120 s). */
  replayWindowMs?: number;
  /** Debug log sink (off by default). */
  log?: (line: string) => void;
  signal?: AbortSignal;
}

export interface TurnServerConfig {
  url: string;
  username?: string;
  password?: string;
  realm?: string;
}

export interface ConnectOptions {
  /** Strategy names in order (default direct, reverse, then any registered punch/relay). */
  strategies?: StrategyName[];
  /** Cap for the whole connect (default 60 s). */
  timeoutMs?: number;
  /**
   * Racing: start the next strategy when the running one has not succeeded after this long
   * (default: each strategy's own `staggerMs`; Infinity = one after the other). A failure starts
   * the next at once. The first success wins; the others are aborted and their pipes closed.
   */
  staggerMs?: number;
  signal?: AbortSignal;
}

export interface StrategyTiming {
  strategy: StrategyName;
  ok: boolean;
  skipped?: boolean;
  /** From this strategy's start to its success, failure or abort (ERR_LOST_RACE). */
  ms: number;
  code?: string;
}

export interface ConnectResult {
  pipe: NodePipe;
  strategy: StrategyName;
  /** Total ms to a ready pipe and the outcome of each strategy that ran or was skipped, in plan order. */
  timings: { totalMs: number; lookupMs?: number; strategies: StrategyTiming[] };
}

export type NodeMessageCb = (data: Buffer, pipe: NodePipe) => void;

const PIPE_ID = /^[0-9a-f]{32}$/;
const TYPE = /^[A-Z][A-Z0-9_]{0,31}$/;
const MAX_RESPONDERS = 32;
const MAX_PER_SENDER = 4;

function looksLikeAddress(s: string): boolean {
  return s.includes("[") || s.split("-").length >= 4;
}

/**
 * A P2P node: listens for node connections on every interface, answers encrypted signaling on
 * MQTT, serves ECHO, and connects to other nodes with pluggable strategies.
 * Events: "address" (string, after a NAT/port-mapping update), "pipe" ({ id, pipe }).
 */
export class P2PNode extends EventEmitter {
  readonly nodeId: string;
  readonly keys: NodeKeys;
  readonly strategies: StrategyRegistry;
  readonly options: StartNodeOptions;
  #interfaces: NodeInterface[];
  #port = 0;
  #transport: SignalingTransport | undefined;
  #broker: EmbeddedBroker | undefined;
  readonly #servers: Server[] = [];
  readonly #serverByHost = new Map<string, Server>();
  /** STUN connections keeping our listen port's NAT mappings open. */
  readonly #listenMaps = new Set<TcpMapping>();
  readonly #sockets = new Set<Socket>();
  readonly #pipes = new Set<NodePipe>();
  /** Pipes tied to an id (`ID` verb), as `node.pipes` in the reference. */
  readonly pipes = new Map<string, NodePipe>();
  readonly #inbound = new Map<string, (p: NodePipe) => void>();
  /** Ids of connect attempts given up (lost a race, failed): pipe id -> when (Date.now()). */
  readonly #cancelled = new Map<string, number>();
  readonly #waiters = new Map<string, { from: string; resolve: (m: SignalMessage) => void }>();
  readonly #msgCbs = new Set<NodeMessageCb>();
  readonly #closing = new AbortController();
  readonly #guard: ReplayGuard;
  #responders = 0;
  readonly #perSender = new Map<string, number>();
  #closed: Promise<void> | undefined;
  #log: (line: string) => void;
  #naming: NamingProvider | undefined;
  #mapper: PortMapper | undefined;

  readonly #seed: Uint8Array | undefined;

  constructor(
    opts: StartNodeOptions,
    keys: NodeKeys,
    interfaces: NodeInterface[],
    seed?: Uint8Array,
  ) {
    super();
    this.#seed = seed;
    this.options = opts;
    this.keys = keys;
    this.nodeId = keys.nodeId;
    this.#interfaces = interfaces;
    this.#guard = new ReplayGuard(opts.replayWindowMs);
    this.#log = opts.log ?? (() => {});
    this.#naming = opts.naming;
    // Every wait of every connect listens on it: no leak warning for busy nodes.
    setMaxListeners(0, this.#closing.signal);
    this.strategies = new StrategyRegistry([
      ...builtinStrategies({
        ...(opts.stun ? { stun: opts.stun } : {}),
        ...(opts.turn ? { turn: opts.turn } : {}),
      }),
      ...(opts.strategies ?? []),
    ]);
  }

  /** Our address as parsed fields. */
  get parsedAddress(): P2PAddress {
    const entry = (i: NodeInterface, idx: number, fam: 4 | 6): AddressEntry[] => {
      const nic = fam === 4 ? i.ipv4 : i.ipv6;
      if (!nic) return [];
      return [
        {
          netifaceIndex: i.netifaceIndex ?? idx,
          ifIndex: idx,
          ext: (fam === 4 ? i.ext4 : i.ext6) ?? nic,
          internal: nic,
          port: this.#port,
          nat: i.nat ?? UNKNOWN_NAT,
        },
      ];
    };
    return {
      version: 3,
      signal: this.#transport?.indexes.slice(0, 6) ?? [],
      ipv4: this.#interfaces.flatMap((i, n) => entry(i, n, 4)),
      ipv6: this.#interfaces.flatMap((i, n) => entry(i, n, 6)),
      nodeId: this.nodeId,
      keys: { x25519: this.keys.x25519.publicKey, ed25519: this.keys.ed25519.publicKey },
    };
  }

  /** Our P2P address (changes when background NAT tests finish: see the "address" event). */
  get address(): string {
    return formatAddress(this.parsedAddress);
  }

  get port(): number {
    return this.#port;
  }

  get interfaces(): readonly NodeInterface[] {
    return this.#interfaces;
  }

  /** The in-process broker's URL when the node runs its own. */
  get brokerUrl(): string | undefined {
    return this.#broker?.url;
  }

  /** @internal */
  async start(signal?: AbortSignal): Promise<void> {
    await this.#listen(signal);
    const opts = this.options;
    if (opts.transport) {
      this.#transport = opts.transport;
    } else {
      let brokers = typeof opts.mqtt === "string" ? [opts.mqtt] : opts.mqtt;
      if (!brokers || brokers.length === 0) {
        this.#broker = await startBroker({ signal });
        brokers = [this.#broker.url];
      }
      this.#transport = new MqttSignaling({
        brokers,
        nodeId: this.nodeId,
        log: this.#log,
        ...(opts.mqttTimeoutMs ? { connectTimeoutMs: opts.mqttTimeoutMs } : {}),
      });
    }
    this.#transport.onMessage((data) => this.#onSignal(data));
    await this.#transport.start({ signal });
    await this.#background();
  }

  async #listen(signal?: AbortSignal): Promise<void> {
    const ips = [
      ...new Set(this.#interfaces.flatMap((i) => [i.ipv4, i.ipv6]).filter((x) => x !== undefined)),
    ];
    if (ips.length === 0) throw new P2pdNodeError("ERR_NO_INTERFACE", "no IP to listen on");
    const wanted = this.options.port ?? 0;
    // With port 0 the first listener picks the port and the others must get the same one;
    // retry a few times if another process holds it on one of our IPs.
    for (let attempt = 0; attempt < 5; attempt++) {
      let port = wanted;
      const servers: Server[] = [];
      try {
        for (const host of ips) {
          const srv = await this.#listenOn(host, port, signal);
          servers.push(srv);
          this.#serverByHost.set(host, srv);
          const a = srv.address();
          if (port === 0 && a && typeof a === "object") port = a.port;
        }
        this.#servers.push(...servers);
        this.#port = port;
        return;
      } catch (err) {
        for (const s of servers) s.close();
        if (wanted !== 0 || attempt === 4 || signal?.aborted)
          throw new P2pdNodeError("ERR_BIND", `cannot listen: ${(err as Error).message}`, {
            cause: err,
          });
      }
    }
  }

  async #listenOn(host: string, port: number, signal?: AbortSignal): Promise<Server> {
    const srv = createServer((sock) => this.#accept(sock));
    await new Promise<void>((resolve, reject) => {
      srv.once("error", reject);
      srv.listen({ host, port, signal, ipv6Only: host.includes(":") }, () => {
        srv.off("error", reject);
        resolve();
      });
    });
    srv.on("error", (e) => this.#log(`server ${host}: ${e.message}`));
    return srv;
  }

  /**
   * Opens (and keeps) the NAT mapping of our listen port on `host` with a STUN request over TCP
   * from that port (see listen-mapping.ts): behind a full cone it makes direct dials to us work.
   * A mapping that does not keep our port number is no use to peers (they dial our port): dropped.
   */
  async #mapListenPort(host: string, stun: { host: string; port: number }): Promise<void> {
    const signal = this.#closing.signal;
    if (signal.aborted) return;
    const old = this.#serverByHost.get(host);
    if (!old) return;
    let fresh: Server | undefined;
    const m = await openListenMapping({
      host,
      port: this.#port,
      stun,
      signal,
      unlisten: () => old.close(),
      relisten: async () => {
        fresh = await this.#listenOn(host, this.#port);
      },
    }).finally(() => {
      if (!fresh) return;
      const i = this.#servers.indexOf(old);
      if (i >= 0) this.#servers.splice(i, 1, fresh);
      else this.#servers.push(fresh);
      this.#serverByHost.set(host, fresh);
      // Closed while we were re-listening: close() only knew the old server.
      if (signal.aborted) fresh.close();
    });
    if (signal.aborted || m.mapped.port !== this.#port) {
      this.#log(
        `listen mapping ${hostPort(host, this.#port)} -> ${hostPort(m.mapped.host, m.mapped.port)}: not kept`,
      );
      m.close();
      return;
    }
    this.#log(
      `listen mapping ${hostPort(host, this.#port)} -> ${hostPort(m.mapped.host, m.mapped.port)}`,
    );
    this.#listenMaps.add(m);
    m.socket.once("close", () => {
      this.#listenMaps.delete(m);
      if (signal.aborted) return;
      // The STUN server hung up: reopen the mapping a little later (no tight loop).
      const t = setTimeout(() => {
        this.#mapListenPort(host, stun).catch((err) =>
          this.#log(`listen mapping ${host}: ${codeOf(err)} ${(err as Error).message}`),
        );
      }, 5000);
      signal.addEventListener("abort", () => clearTimeout(t), { once: true });
    });
  }

  #accept(sock: Socket): void {
    if (this.#closing.signal.aborted) return void sock.destroy();
    sock.setNoDelay(true);
    this.#sockets.add(sock);
    sock.on("close", () => this.#sockets.delete(sock));
    this.wrap(sock);
  }

  /** Wraps a connected stream as a node pipe: node protocol, user callbacks, closed on close(). */
  wrap(stream: Duplex): NodePipe {
    const pipe = new NodePipe(stream);
    this.#pipes.add(pipe);
    pipe.onClose(() => {
      this.#pipes.delete(pipe);
      if (pipe.id && this.pipes.get(pipe.id) === pipe) this.pipes.delete(pipe.id);
    });
    pipe.onMessage((data, p) => {
      for (const cb of this.#msgCbs) {
        try {
          cb(data, p);
        } catch (err) {
          this.#log(`message callback: ${err}`);
        }
      }
    });
    pipe.intercept = (data, p) => this.#protocol(data, p);
    return pipe;
  }

  /** Built-in node protocol: `ECHO <bytes>` answers `<bytes>`; `ID <pipeId>` ties a pipe to a connect. */
  #protocol(data: Buffer, pipe: NodePipe): boolean {
    if (data.length >= 5 && data.subarray(0, 5).toString("latin1") === "ECHO ") {
      pipe.send(data.subarray(5)).catch(() => {});
      return true;
    }
    if (data.length === 35 && data.subarray(0, 3).toString("latin1") === "ID ") {
      const id = data.subarray(3).toString("latin1");
      if (!PIPE_ID.test(id) || pipe.id) return true;
      if (this.#cancelled.has(id)) {
        // The dial-back of an attempt we gave up (e.g. reverse losing a race): not a new pipe.
        this.#cancelled.delete(id);
        pipe.close().catch(() => {});
        return true;
      }
      pipe.id = id;
      const waiting = this.#inbound.get(id);
      if (waiting) {
        this.#inbound.delete(id);
        waiting(pipe);
      } else {
        this.#adopt(pipe);
      }
      return true;
    }
    return false;
  }

  #adopt(pipe: NodePipe): void {
    if (pipe.id) this.pipes.set(pipe.id, pipe);
    this.emit("pipe", { id: pipe.id, pipe });
  }

  /** Runs `cb` for every message on every node pipe (before the built-in ECHO/ID handling). */
  onMessage(cb: NodeMessageCb): () => void {
    this.#msgCbs.add(cb);
    return () => this.#msgCbs.delete(cb);
  }

  // ---- signaling ----

  async #sendSignal(
    to: P2PAddress,
    type: string,
    pipeId: string,
    body: Record<string, unknown>,
    signal?: AbortSignal,
  ) {
    if (!to.keys)
      throw new AddressError("the peer's address has no keys (legacy form): cannot signal");
    if (!this.#transport) throw new P2pdNodeError("ERR_NOT_STARTED", "node not started");
    const msg = { ...body, type, pipeId, from: this.address };
    const env = sealEnvelope(this.keys, to.keys.x25519, Buffer.from(JSON.stringify(msg)));
    await this.#transport.publish(to.nodeId, env, to.signal, {
      signal: signal ?? this.#closing.signal,
    });
  }

  #onSignal(data: Buffer): void {
    let msg: SignalMessage;
    let from: P2PAddress;
    try {
      const env = openEnvelope(this.keys, data);
      let body: unknown;
      try {
        body = JSON.parse(env.plaintext.toString("utf8"));
      } catch {
        throw new SignalError("ERR_SIGNAL_FORMAT", "body is not JSON");
      }
      if (
        !body ||
        typeof body !== "object" ||
        typeof (body as SignalMessage).type !== "string" ||
        !TYPE.test((body as SignalMessage).type) ||
        typeof (body as SignalMessage).pipeId !== "string" ||
        !PIPE_ID.test((body as SignalMessage).pipeId) ||
        typeof (body as SignalMessage).from !== "string"
      )
        throw new SignalError("ERR_SIGNAL_FORMAT", "bad message fields");
      msg = body as SignalMessage;
      try {
        from = parseAddress(msg.from);
      } catch (err) {
        throw new SignalError("ERR_SIGNAL_FORMAT", `bad sender address: ${(err as Error).message}`);
      }
      if (from.nodeId !== env.senderNodeId)
        throw new SignalError("ERR_SIGNAL_AUTH", "sender address is not the signer's");
      // Only after authentication, so forged copies cannot burn a nonce.
      this.#guard.check(env);
    } catch (err) {
      this.#log(`signal dropped: ${codeOf(err)} ${(err as Error).message}`);
      return;
    }
    const key = `${msg.type}:${msg.pipeId}`;
    const waiter = this.#waiters.get(key);
    if (waiter && waiter.from === from.nodeId) {
      this.#waiters.delete(key);
      waiter.resolve(msg);
      return;
    }
    if (msg.type === "PING") {
      // `now` lets the peer estimate our clock offset (punch meeting times).
      this.#sendSignal(from, "PONG", msg.pipeId, { now: Date.now() }).catch(() => {});
      return;
    }
    if (msg.type === "GET_ADDR") {
      // Name lookups end here: our current address rides in `from`.
      this.#sendSignal(from, "ADDR", msg.pipeId, {}).catch(() => {});
      return;
    }
    const strategy = this.strategies.answering(msg.type);
    if (!strategy?.respond) {
      this.#log(`signal ${msg.type}: nobody answers it`);
      return;
    }
    // Anyone can make a key: cap what one sender (and everyone) can make us do at once.
    const mine = this.#perSender.get(from.nodeId) ?? 0;
    if (this.#responders >= MAX_RESPONDERS || mine >= MAX_PER_SENDER) {
      this.#log("too many signals in flight");
      return;
    }
    this.#responders++;
    this.#perSender.set(from.nodeId, mine + 1);
    const signal = AbortSignal.any([
      this.#closing.signal,
      AbortSignal.timeout(Math.max(strategy.timeoutMs, 10_000)),
    ]);
    setMaxListeners(0, signal);
    const ctx: ResponderContext = {
      local: this.parsedAddress,
      localText: this.address,
      remote: from,
      signal,
      candidates: candidates(this.parsedAddress, from),
      send: (type, body) => this.#sendSignal(from, type, msg.pipeId, body, signal),
      waitFor: (type, o) => this.#waitFor(from.nodeId, type, msg.pipeId, o?.signal ?? signal),
      wrap: (s) => this.wrap(s),
      adopt: (p) => this.#adopt(p),
      log: (l) => this.#log(l),
    };
    strategy
      .respond(msg, ctx)
      .catch((err) =>
        this.#log(`${strategy.name} respond: ${codeOf(err)} ${(err as Error).message}`),
      )
      .finally(() => {
        this.#responders--;
        const n = (this.#perSender.get(from.nodeId) ?? 1) - 1;
        if (n > 0) this.#perSender.set(from.nodeId, n);
        else this.#perSender.delete(from.nodeId);
      });
  }

  #waitFor(fromNodeId: string, type: string, pipeId: string, signal: AbortSignal) {
    return new Promise<SignalMessage>((resolve, reject) => {
      const key = `${type}:${pipeId}`;
      if (signal.aborted) return reject(signal.reason);
      const onAbort = () => {
        this.#waiters.delete(key);
        reject(signal.reason);
      };
      signal.addEventListener("abort", onAbort, { once: true });
      this.#waiters.set(key, {
        from: fromNodeId,
        resolve: (m) => {
          signal.removeEventListener("abort", onAbort);
          resolve(m);
        },
      });
    });
  }

  #waitInbound(pipeId: string, signal: AbortSignal) {
    return new Promise<NodePipe>((resolve, reject) => {
      if (signal.aborted) return reject(signal.reason);
      const onAbort = () => {
        this.#inbound.delete(pipeId);
        reject(signal.reason);
      };
      signal.addEventListener("abort", onAbort, { once: true });
      this.#inbound.set(pipeId, (p) => {
        signal.removeEventListener("abort", onAbort);
        resolve(p);
      });
    });
  }

  /** Round trip over signaling only (PING/PONG): proves both nodes share a broker. */
  async ping(target: string | P2PAddress, opts: { timeoutMs?: number; signal?: AbortSignal } = {}) {
    const to = typeof target === "string" ? parseAddress(target) : target;
    const signal = AbortSignal.any([
      this.#closing.signal,
      AbortSignal.timeout(opts.timeoutMs ?? 5000),
      ...(opts.signal ? [opts.signal] : []),
    ]);
    const t0 = performance.now();
    await this.#pingNow(to, signal);
    return performance.now() - t0;
  }

  /** One PING/PONG; resolves with the peer's clock when it answered. */
  async #pingNow(to: P2PAddress, signal: AbortSignal): Promise<number> {
    const pipeId = randomBytes(16).toString("hex");
    const pong = this.#waitFor(to.nodeId, "PONG", pipeId, signal);
    await this.#sendSignal(to, "PING", pipeId, {}, signal).catch((e) => {
      pong.catch(() => {});
      throw e;
    });
    const m = await pong;
    return typeof m.now === "number" && Number.isFinite(m.now) ? m.now : Number.NaN;
  }

  // ---- names ----

  /**
   * Registers `name` (IRCDNS: "name.tld") for this node. The stored value is a name record (our
   * keys and brokers, see name-record.ts); connect() asks the node for its current address.
   */
  async register(name: string, opts: { signal?: AbortSignal } = {}): Promise<string> {
    const naming = this.#getNaming();
    return naming.register(name, formatNameRecord(this.parsedAddress), opts);
  }

  /** Resolves a name to the node's current P2P address (name record, then GET_ADDR over signaling). */
  async lookup(
    name: string,
    opts: { signal?: AbortSignal; timeoutMs?: number } = {},
  ): Promise<string> {
    const naming = this.#getNaming();
    const signal = AbortSignal.any([
      this.#closing.signal,
      AbortSignal.timeout(opts.timeoutMs ?? 60_000),
      ...(opts.signal ? [opts.signal] : []),
    ]);
    const value = await naming.lookup(name, { signal });
    // A name may also hold a plain P2P address (e.g. `p2pd name register --value ADDR`).
    const plain = tryParseAddress(value);
    if (plain && !value.startsWith("p2pd1:")) return value;
    const record = parseNameRecord(value);
    const to = recordAddress(record);
    const pipeId = randomBytes(16).toString("hex");
    const reply = this.#waitFor(to.nodeId, "ADDR", pipeId, signal);
    await this.#sendSignal(to, "GET_ADDR", pipeId, {}, signal).catch((e) => {
      reply.catch(() => {});
      throw e;
    });
    // #onSignal already checked that `from` is signed by the named node's key.
    return (await reply).from;
  }

  #getNaming(): NamingProvider {
    if (this.#naming) return this.#naming;
    if (this.options.irc?.length) {
      this.#naming = new IrcNaming({
        servers: this.options.irc,
        ...(this.#seed ? { seed: IrcNaming.seedFrom(this.#seed) } : {}),
        log: this.#log,
      });
      return this.#naming;
    }
    throw new P2pdNodeError("ERR_NO_NAMING", "no naming provider: pass `naming` or `irc` servers");
  }

  // ---- connect ----

  /**
   * Connects to a node by address (or name): strategies start in order, each next one when the
   * previous failed or has not succeeded within its stagger (racing); the first pipe wins.
   * Throws ConnectError.
   */
  async connect(target: string | P2PAddress, opts: ConnectOptions = {}): Promise<ConnectResult> {
    const t0 = performance.now();
    const overall = AbortSignal.any([
      this.#closing.signal,
      AbortSignal.timeout(opts.timeoutMs ?? 60_000),
      ...(opts.signal ? [opts.signal] : []),
    ]);
    setMaxListeners(0, overall);
    let lookupMs: number | undefined;
    let remote: P2PAddress;
    if (typeof target === "string" && !looksLikeAddress(target)) {
      const addr = await this.lookup(target, { signal: overall });
      lookupMs = performance.now() - t0;
      remote = parseAddress(addr);
    } else {
      remote = typeof target === "string" ? parseAddress(target) : target;
    }
    const local = this.parsedAddress;
    const names = opts.strategies ?? this.defaultStrategies();
    // Unknown names fail before anything starts.
    const planned = names.map((name) => ({ name, strategy: this.strategies.get(name) }));
    const timings: (StrategyTiming | undefined)[] = planned.map(() => undefined);
    const failures: (StrategyFailure | undefined)[] = planned.map(() => undefined);
    type Outcome = { run: Run; pipe?: NodePipe; err?: unknown };
    interface Run {
      index: number;
      name: StrategyName;
      s0: number;
      ctrl: AbortController;
      signal: AbortSignal;
      pipeId: string;
      done: Promise<Outcome>;
    }
    const running = new Set<Run>();
    let next = 0;
    let lastStart = 0;
    let stagger = Number.POSITIVE_INFINITY;

    const fail = (i: number, name: StrategyName, code: string, message: string, ms: number) => {
      timings[i] = { strategy: name, ok: false, ms, code };
      failures[i] = { strategy: name, code, message, ms };
    };
    /** Starts the next strategy that can try; false when none is left. */
    const startNext = (): boolean => {
      while (next < planned.length) {
        const index = next++;
        const { name, strategy } = planned[index] as (typeof planned)[number];
        if (!strategy.canTry(local, remote)) {
          timings[index] = { strategy: name, ok: false, skipped: true, ms: 0 };
          failures[index] = {
            strategy: name,
            code: "ERR_SKIPPED",
            message: "cannot work for these addresses",
            ms: 0,
          };
          continue;
        }
        const ctrl = new AbortController();
        const signal = AbortSignal.any([
          overall,
          ctrl.signal,
          AbortSignal.timeout(strategy.timeoutMs),
        ]);
        setMaxListeners(0, signal);
        const pipeId = randomBytes(16).toString("hex");
        const ctx = this.#strategyContext(local, remote, pipeId, signal);
        const run = { index, name, s0: performance.now(), ctrl, signal, pipeId } as Run;
        // new Promise: a plug-in whose run() throws synchronously fails like a rejected one.
        run.done = new Promise<NodePipe>((r) => r(strategy.run(ctx))).then(
          (pipe) => ({ run, pipe }),
          (err: unknown) => ({ run, err }),
        );
        running.add(run);
        lastStart = run.s0;
        stagger = opts.staggerMs ?? strategy.staggerMs ?? 500;
        return true;
      }
      return false;
    };

    let winner: { run: Run; pipe: NodePipe } | undefined;
    startNext();
    while (!winner && running.size > 0) {
      // Wait for a run to end, or for the stagger to start the next one beside it.
      let timer: NodeJS.Timeout | undefined;
      const wait =
        next < planned.length ? Math.max(0, lastStart + stagger - performance.now()) : -1;
      const tick =
        wait >= 0 && Number.isFinite(wait)
          ? new Promise<undefined>((r) => {
              timer = setTimeout(() => r(undefined), wait);
            })
          : undefined;
      const ev = await Promise.race([...[...running].map((r) => r.done), ...(tick ? [tick] : [])]);
      clearTimeout(timer);
      if (!ev) {
        startNext();
        continue;
      }
      running.delete(ev.run);
      const ms = performance.now() - ev.run.s0;
      if (ev.pipe) {
        timings[ev.run.index] = { strategy: ev.run.name, ok: true, ms };
        winner = { run: ev.run, pipe: ev.pipe };
        break;
      }
      this.#cancel(ev.run.pipeId);
      const code = overall.aborted
        ? codeOf(overall.reason) === "ERR_TIMEOUT"
          ? "ERR_CONNECT_TIMEOUT"
          : codeOf(overall.reason)
        : ev.run.signal.aborted
          ? "ERR_STRATEGY_TIMEOUT"
          : codeOf(ev.err);
      fail(ev.run.index, ev.run.name, code, (ev.err as Error)?.message ?? String(ev.err), ms);
      this.#log(`${ev.run.name} failed: ${code}`);
      if (overall.aborted) break;
      // A failure starts the next strategy at once (no stagger wait).
      startNext();
    }
    // Losers are aborted; a pipe one of them still produces is closed, never handed out.
    for (const r of running) {
      const ms = performance.now() - r.s0;
      if (winner) fail(r.index, r.name, "ERR_LOST_RACE", `${winner.run.name} won`, ms);
      else fail(r.index, r.name, "ERR_CONNECT_TIMEOUT", "connect gave up", ms);
      r.ctrl.abort(new P2pdNodeError("ERR_LOST_RACE", "another strategy won"));
      this.#cancel(r.pipeId);
      r.done.then((o) => o.pipe?.close().catch(() => {}));
    }
    const report = timings.filter((t): t is StrategyTiming => t !== undefined);
    if (winner) {
      const { pipe, run } = winner;
      pipe.id ??= run.pipeId;
      this.pipes.set(pipe.id, pipe);
      return {
        pipe,
        strategy: run.name,
        timings: {
          totalMs: performance.now() - t0,
          ...(lookupMs === undefined ? {} : { lookupMs }),
          strategies: report,
        },
      };
    }
    const failed = failures.filter((f): f is StrategyFailure => f !== undefined);
    const detail = failed.map((f) => `${f.strategy}: ${f.code}`).join("; ");
    throw new ConnectError(`could not connect (${detail || "no strategy"})`, failed);
  }

  #strategyContext(
    local: P2PAddress,
    remote: P2PAddress,
    pipeId: string,
    signal: AbortSignal,
  ): StrategyContext {
    return {
      local,
      remote,
      localText: this.address,
      pipeId,
      signal,
      candidates: candidates(local, remote),
      send: (type, body) => this.#sendSignal(remote, type, pipeId, body, signal),
      waitFor: (type, o) => this.#waitFor(remote.nodeId, type, pipeId, o?.signal ?? signal),
      waitInbound: (o) => this.#waitInbound(pipeId, o?.signal ?? signal),
      wrap: (st) => this.wrap(st),
      clock: (o) =>
        estimateClockOffset((sig) => this.#pingNow(remote, sig ?? signal), {
          samples: 3,
          perPingTimeoutMs: 2000,
          signal: o?.signal ?? signal,
        }),
      log: (l) => this.#log(l),
    };
  }

  /** A connect attempt we gave up: a connection that still announces its id is closed, not adopted. */
  #cancel(pipeId: string): void {
    const now = Date.now();
    for (const [id, at] of this.#cancelled) if (now - at > 60_000) this.#cancelled.delete(id);
    this.#cancelled.set(pipeId, now);
  }

  /**
   * direct, reverse, punching, any other registered strategy, and turn last when TURN servers are
   * configured (relaying is opt-in, as in P2PD: configuring a server opts in).
   */
  defaultStrategies(): StrategyName[] {
    const extra = this.strategies
      .names()
      .filter((n) => !DEFAULT_STRATEGIES.includes(n) && n !== "turn");
    const turn: StrategyName[] = this.options.turn?.length ? ["turn"] : [];
    return [...DEFAULT_STRATEGIES, ...extra, ...turn];
  }

  // ---- background ----

  /**
   * Starts the NAT tests. Start waits for them at most `natWaitMs` (a cached result lands well
   * within it, so the first address is already right); the rest finishes in the background and
   * announces itself with an "address" event.
   */
  async #background(): Promise<void> {
    const o = this.options;
    const natTest =
      o.natTest ??
      (o.stun?.length
        ? stunNatTest({
            stun: o.stun,
            ...(o.natCache ? { cacheDir: o.natCache } : {}),
            log: this.#log,
          })
        : undefined);
    if (o.upnp) this.#portMap();
    const maps = this.#listenMappings();
    if (!natTest && maps.length === 0) return;
    const signal = this.#closing.signal;
    const all = Promise.allSettled([
      ...maps,
      ...this.#interfaces.map(async (iface, i) => {
        if (!natTest) return;
        const update = await natTest(iface, { signal });
        if (signal.aborted) return;
        const before = this.address;
        const cur = this.#interfaces[i] ?? iface;
        // A port mapping beats the NAT test: the node port is reachable whatever the NAT does.
        this.#interfaces[i] = cur.mapped
          ? {
              ...cur,
              ...update,
              ext4: cur.ext4,
              nat: { type: 1, delta: update.nat?.delta ?? { type: 0, value: 0 } },
            }
          : { ...cur, ...update };
        if (this.address !== before) this.emit("address", this.address);
      }),
    ]);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      all,
      new Promise<void>((r) => {
        timer = setTimeout(r, o.natWaitMs ?? 800);
      }),
    ]);
    clearTimeout(timer);
  }

  /** Listen-port mappings for every non-loopback NIC IP with a STUN server of its family. */
  #listenMappings(): Promise<void>[] {
    const servers = (this.options.stun ?? []).flatMap((t) => {
      try {
        return [parseServer(t)];
      } catch {
        return []; // names: only IP literals here
      }
    });
    if (servers.length === 0) return [];
    const ips = new Set(this.#interfaces.flatMap((i) => [i.ipv4, i.ipv6]));
    return [...ips].flatMap((ip) => {
      if (!ip || isLoopback(ip) || isLinkLocal6(ip)) return [];
      const stun = servers.find((v) => v.host.includes(":") === ip.includes(":"));
      if (!stun) return [];
      return [
        this.#mapListenPort(ip, stun).catch((err) =>
          this.#log(`listen mapping ${ip}: ${codeOf(err)} ${(err as Error).message}`),
        ),
      ];
    });
  }

  /**
   * Maps the node port on the gateway (UPnP IGD, NAT-PMP, PCP via @p2pd/nat) for each IPv4 NIC.
   * A mapping that keeps the port number makes the interface reachable: its entry then carries
   * the gateway's external IP and NAT type 1 (open), since for the node port it is.
   */
  #portMap(): void {
    const signal = this.#closing.signal;
    const mapper = createPortMapper({ signal, ...(this.options.log ? { log: this.#log } : {}) });
    this.#mapper = mapper;
    this.#interfaces.forEach((iface, i) => {
      const nic = iface.ipv4;
      if (!nic || isLoopback(nic)) return;
      mapper
        .add({ port: this.#port, proto: "tcp", internalAddress: nic, lifetime: 3600, signal })
        .then(async (m) => {
          if (signal.aborted) return;
          if (m.external.port !== this.#port || !m.reachable) {
            this.#log(
              `port mapping ${m.external.ip}:${m.external.port} not usable (${m.reason ?? "port changed"})`,
            );
            await mapper.remove({ port: this.#port, proto: "tcp" }).catch(() => {});
            return;
          }
          const cur = this.#interfaces[i] ?? iface;
          const delta = cur.nat?.delta ?? { type: 0, value: 0 };
          this.#interfaces[i] = {
            ...cur,
            ext4: m.external.ip,
            nat: { type: 1, delta },
            mapped: true,
          };
          this.#log(`port mapping via ${m.method}: ${m.external.ip}:${m.external.port}`);
          this.emit("address", this.address);
        })
        .catch((err) =>
          this.#log(`port mapping on ${iface.name}: ${codeOf(err)} ${(err as Error).message}`),
        );
    });
  }

  /** Closes servers, signaling, every pipe, and the embedded broker. Idempotent. */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      this.#closing.abort(new P2pdNodeError("ERR_NODE_CLOSED", "node closed"));
      // server.close() waits for its connections: end them first.
      const closing = this.#servers.map((s) => new Promise<void>((r) => s.close(() => r())));
      await Promise.all([...this.#pipes].map((p) => p.close().catch(() => {})));
      for (const m of this.#listenMaps) m.close();
      this.#listenMaps.clear();
      for (const s of this.#sockets) s.destroy();
      await Promise.all(closing);
      await this.#transport?.close().catch(() => {});
      await this.#naming?.close?.().catch(() => {});
      // Remove our port mappings from the gateway (best effort, bounded).
      await this.#mapper?.close({ signal: AbortSignal.timeout(3000) }).catch(() => {});
      await this.#broker?.close();
      this.#msgCbs.clear();
    })();
    return this.#closed;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/**
 * Starts a node: keys from the seed, listeners on every interface, signaling connected. Resolves
 * as soon as it can accept connections; NAT tests and port mapping continue in the background
 * and update `node.address` (event "address").
 */
export async function startNode(opts: StartNodeOptions = {}): Promise<P2PNode> {
  opts.signal?.throwIfAborted();
  const seed =
    typeof opts.seed === "string"
      ? (await import("node:crypto")).createHash("sha256").update(opts.seed).digest()
      : opts.seed;
  const ifaces = (
    await resolveInterfaces(opts.interfaces, opts.signal ? { signal: opts.signal } : {})
  ).map((i) => ({
    ...i,
    ...(opts.nat?.[i.name] ? { nat: opts.nat[i.name] } : {}),
  }));
  const node = new P2PNode(opts, deriveKeys(seed), ifaces, seed);
  try {
    await node.start(opts.signal);
  } catch (err) {
    await node.close();
    throw err;
  }
  return node;
}
