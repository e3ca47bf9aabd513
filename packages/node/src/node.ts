import { randomBytes } from "node:crypto";
import { EventEmitter, setMaxListeners } from "node:events";
import type { Socket } from "node:net";
import type { PortMapper } from "@p2pd/nat";
import { deadline } from "@p2pd/netifaces";
import type { Pipe } from "@p2pd/pipe";
import { type P2PAddress, parseAddress } from "./address.js";
import type { EmbeddedBroker } from "./broker.js";
import { ReplayGuard } from "./envelope.js";
import { P2pdNodeError } from "./errors.js";
import { type NodeInterface, resolveInterfaces } from "./interfaces.js";
import { deriveKeys, type NodeKeys } from "./keys.js";
import { Connector } from "./node/connector.js";
import { Identity, seedBytes } from "./node/identity.js";
import { guardInbound } from "./node/inbound-guard.js";
import { ListenMappings } from "./node/listen-mappings.js";
import { Listener } from "./node/listener.js";
import { NodeNames } from "./node/names.js";
import { natTestFor, settleWithin, watchNat } from "./node/nat-watch.js";
import { NodePipes } from "./node/pipes.js";
import { startPortMapping } from "./node/port-mapping.js";
import { NodeProtocol } from "./node/protocol.js";
import { defaultOrder } from "./node/race-plan.js";
import { withChosenServers } from "./node/servers-choice.js";
import { SignalDispatch } from "./node/signal-dispatch.js";
import { makeTransport } from "./node/transport.js";
import type {
  ConnectOptions,
  ConnectResult,
  NodeMessageCb,
  StartNodeOptions,
} from "./node/types.js";
import { P2pdCompat } from "./p2pd-compat/compat.js";
import type { NodeTransport } from "./pipe.js";
import { helloFor, type SecureRole } from "./secure/connection.js";
import { secureIdentity } from "./secure/identity.js";
import type { SignalingTransport } from "./signaling.js";
import type { StrategyName } from "./strategies/names.js";
import { builtinStrategies, StrategyRegistry } from "./strategies/registry.js";

export type {
  ConnectOptions,
  ConnectResult,
  NodeLimits,
  NodeMessageCb,
  StartNodeOptions,
  StrategyTiming,
  TurnServerConfig,
} from "./node/types.js";

/**
 * A P2P node: listens for node connections on every interface, answers encrypted signaling on
 * MQTT, serves ECHO, and connects to other nodes with pluggable strategies. A coordinator over
 * its parts in ./node/ (identity, listener, signaling, protocol, connector, NAT watch, mappings).
 * Events: "address" (string, after a NAT/port-mapping update), "pipe" ({ id, pipe }).
 */
export class P2PNode extends EventEmitter {
  readonly nodeId: string;
  readonly keys: NodeKeys;
  readonly strategies: StrategyRegistry;
  readonly options: StartNodeOptions;
  /** Pipes tied to an id (`ID` verb), as `node.pipes` in the reference. */
  readonly pipes: Map<string, Pipe>;
  readonly #closing = new AbortController();
  readonly #log: (line: string) => void;
  readonly #id: Identity;
  readonly #listener: Listener;
  readonly #maps: ListenMappings;
  readonly #protocol: NodeProtocol;
  readonly #pipes: NodePipes;
  readonly #signaling: SignalDispatch;
  readonly #names: NodeNames;
  readonly #connector: Connector;
  /** Python P2PD interop (plaintext): its listener runs only with the p2pdCompat option. */
  readonly #p2pd: P2pdCompat;
  #transport: SignalingTransport | undefined;
  #broker: EmbeddedBroker | undefined;
  #mapper: PortMapper | undefined;
  #closed: Promise<void> | undefined;
  /** Reverse connects waiting for a dial-back: hello (hex) -> whom we expect there. */
  readonly #expecting = new Map<string, { nodeId?: string; x25519?: Uint8Array }>();

  constructor(
    opts: StartNodeOptions,
    keys: NodeKeys,
    interfaces: NodeInterface[],
    seed?: Uint8Array,
  ) {
    super();
    this.options = opts;
    this.keys = keys;
    this.nodeId = keys.nodeId;
    const log = opts.log ?? (() => {});
    this.#log = log;
    const closing = this.#closing.signal;
    // Every wait of every connect listens on it: no leak warning for busy nodes.
    setMaxListeners(0, closing);
    const builtins = builtinStrategies({
      ...(opts.stun ? { stun: opts.stun } : {}),
      ...(opts.turn ? { turn: opts.turn } : {}),
      ...(opts.turnForStrangers ? { turnForStrangers: true } : {}),
    });
    this.strategies = new StrategyRegistry([...builtins, ...(opts.strategies ?? [])]);
    const id = new Identity(keys, interfaces, seed);
    this.#id = id;
    this.#protocol = new NodeProtocol((pipe, pipeId) => this.#adopt(pipe, pipeId));
    const limits = opts.limits ?? {};
    // Every connection is Noise-encrypted unless the node opted into plaintext.
    this.#pipes = new NodePipes(
      this.#protocol,
      log,
      opts.insecure
        ? undefined
        : secureIdentity(keys, opts.noiseCipher ? { cipher: opts.noiseCipher } : {}),
      limits,
      opts.secureRekey,
    );
    this.pipes = this.#pipes.byId;
    // Inbound sockets that have not sent `ID` yet: the first to go when the listener is full.
    const pending = new WeakSet<Socket>();
    this.#listener = new Listener({
      maxConnections: limits.maxConnections ?? 256,
      evictable: (s) => pending.has(s),
      onSocket: (s) => {
        try {
          const pipe = this.#pipes.wrap(s, {
            role: "accept",
            onHello: (h) => this.#expecting.get(h.toString("hex")),
          });
          pending.add(s);
          // Before its ID an inbound connection is nobody's: its messages reach the node
          // callbacks (and ECHO) but are never queued.
          pipe.intercept(() => this.#protocol.idOf(pipe) === undefined);
          guardInbound(s, pipe, {
            handshakeMs: limits.handshakeTimeoutMs ?? 10_000,
            idleMs: limits.idleTimeoutMs ?? 300_000,
            preIdBytes: 64 * 1024,
            identified: () => this.#protocol.idOf(pipe) !== undefined,
            onIdentified: () => pending.delete(s),
            log,
          });
        } catch (err) {
          // Reset before we saw it (no peer address left): nothing to serve.
          log(`inbound connection dropped: ${(err as Error).message}`);
          s.destroy();
        }
      },
      closing,
      log,
    });
    this.#maps = new ListenMappings(this.#listener, closing, log);
    this.#signaling = new SignalDispatch({
      identity: id,
      guard: new ReplayGuard(opts.replayWindowMs),
      closing,
      log,
      answering: (type) => this.strategies.answering(type),
      wrap: (t, pipeId, from) => this.#pipes.wrap(t, { role: "answer", pipeId, nodeId: from }),
      adopt: (p, pipeId) => this.#adopt(p, this.#protocol.tie(p, pipeId)),
    });
    this.#names = new NodeNames({
      ...(opts.naming ? { naming: opts.naming } : {}),
      ...(opts.irc ? { irc: opts.irc } : {}),
      identity: id,
      signaling: this.#signaling,
      closing,
      log,
    });
    this.#p2pd = new P2pdCompat({
      pipes: this.#pipes,
      protocol: this.#protocol,
      adopt: (p, pipeId) => this.#adopt(p, pipeId),
      closing,
      log,
      ...(limits.maxConnections ? { maxConnections: limits.maxConnections } : {}),
      ...(limits.handshakeTimeoutMs ? { handshakeTimeoutMs: limits.handshakeTimeoutMs } : {}),
      ...(limits.idleTimeoutMs ? { idleTimeoutMs: limits.idleTimeoutMs } : {}),
    });
    const builtin = new Set(builtins);
    this.#connector = new Connector({
      local: () => ({ parsed: id.parsed, text: id.text }),
      strategy: (name) => this.strategies.get(name),
      isBuiltin: (s) => builtin.has(s),
      defaultOrder: () => this.defaultStrategies(),
      lookup: (name, signal) => this.lookup(name, { signal }),
      send: (to, type, pipeId, body, signal) => {
        // We chose to talk to this node: it may use our reserved slots and TURN.
        this.#signaling.contacts.add(to.nodeId);
        return this.#signaling.send(to, type, pipeId, body, signal);
      },
      waitFor: (from, type, pipeId, signal) => this.#signaling.waitFor(from, type, pipeId, signal),
      waitInbound: (pipeId, remote, signal) => {
        // A reverse dial-back says hello for this attempt: we initiate, expecting the remote.
        const key = helloFor(pipeId).toString("hex");
        this.#expecting.set(key, expectOf(remote));
        return this.#protocol
          .waitInbound(pipeId, signal)
          .finally(() => this.#expecting.delete(key));
      },
      pingNow: (to, signal) => this.#pingNow(to, signal),
      wrap: (t, remote, rttMs) =>
        this.#pipes.wrap(t, {
          role: "dial",
          expect: expectOf(remote),
          ...(rttMs === undefined ? {} : { rttMs }),
        }),
      verified: (pipe, remote) => this.#pipes.verified(pipe, expectOf(remote).nodeId),
      tie: (pipe, pipeId) => this.#protocol.tie(pipe, pipeId),
      cancel: (pipeId) => this.#protocol.cancel(pipeId),
      adoptWinner: (pipe, pipeId) => this.#pipes.add(pipe, pipeId),
      dialP2pd: (remote, signal) => this.#p2pd.dial(remote, signal),
      closing,
      log,
    });
  }

  /** Our address as parsed fields. */
  get parsedAddress(): P2PAddress {
    return this.#id.build();
  }

  /** Our P2P address (changes when background NAT tests finish: see the "address" event). */
  get address(): string {
    return this.#id.text;
  }

  get port(): number {
    return this.#id.port;
  }

  /**
   * Our address in Python P2PD's v3 format, listing the plaintext P2PD listener; undefined
   * unless the node started with `p2pdCompat`. A P2PD node reaches us there by direct TCP.
   */
  get p2pdAddress(): string | undefined {
    return this.options.p2pdCompat ? this.#p2pd.address(this.#id.build()) : undefined;
  }

  get interfaces(): readonly NodeInterface[] {
    return this.#id.interfaces;
  }

  /** The in-process broker's URL when the node runs its own. */
  get brokerUrl(): string | undefined {
    return this.#broker?.url;
  }

  /** @internal */
  async start(signal?: AbortSignal): Promise<void> {
    const id = this.#id;
    id.port = await this.#listener.listen(id.ips(), this.options.port ?? 0, signal);
    const compat = this.options.p2pdCompat;
    if (compat) {
      const port = typeof compat === "object" ? (compat.port ?? 0) : 0;
      await this.#p2pd.start(id.ips(), port, signal);
      this.#log(`P2PD compatibility (plaintext) listening on port ${this.#p2pd.port}`);
    }
    const { transport, broker } = await makeTransport(this.options, this.nodeId, this.#log, signal);
    this.#transport = transport;
    this.#broker = broker;
    id.signalIndexes = () => transport.indexes;
    if (transport.rendezvous)
      id.rendezvous = () => transport.rendezvous?.() ?? { signal: [], brokers: [] };
    id.turn = (this.options.turn ?? []).map((t) => t.url);
    this.#signaling.attach(transport);
    await transport.start({ signal });
    await this.#background();
  }

  /**
   * Starts the NAT tests and port mappings. Start waits for them at most `natWaitMs` (a cached
   * result lands well within it, so the first address is already right); the rest finishes in
   * the background and announces itself with an "address" event.
   */
  async #background(): Promise<void> {
    const o = this.options;
    const closing = this.#closing.signal;
    const natTest = natTestFor(o, this.#log);
    if (o.upnp) {
      this.#mapper = startPortMapping({
        identity: this.#id,
        signal: closing,
        log: this.#log,
        verbose: o.log !== undefined,
        onMapped: () => this.emit("address", this.address),
      });
    }
    const maps = this.#maps.start(this.#id.ips(), o.stun);
    if (!natTest && maps.length === 0) return;
    const tests = natTest
      ? watchNat(this.#id, natTest, closing, () => this.emit("address", this.address))
      : [];
    await settleWithin([...maps, ...tests], o.natWaitMs ?? 800);
  }

  /**
   * Wraps a connection as a node pipe (a @p2pd/pipe Pipe): a socket or byte stream is framed
   * (u32-length), a message transport carries one message each; the node protocol (ECHO, ID)
   * answers first, node callbacks see every message, and node close() closes it.
   */
  wrap(t: NodeTransport, role: SecureRole = { role: "dial", expect: {} }): Pipe {
    return this.#pipes.wrap(t, role);
  }

  /** The connect attempt id a pipe is tied to (its key in `pipes`), once known. */
  pipeId(pipe: Pipe): string | undefined {
    return this.#protocol.idOf(pipe);
  }

  #adopt(pipe: Pipe, id: string): void {
    this.#pipes.add(pipe, id);
    this.emit("pipe", { id, pipe });
  }

  /** Runs `cb` for every message on every node pipe (before the built-in ECHO/ID handling). */
  onMessage(cb: NodeMessageCb): () => void {
    return this.#pipes.onMessage(cb);
  }

  /** Round trip over signaling only (PING/PONG): proves both nodes share a broker. */
  async ping(target: string | P2PAddress, opts: { timeoutMs?: number; signal?: AbortSignal } = {}) {
    const to = typeof target === "string" ? parseAddress(target) : target;
    const d = deadline(opts.timeoutMs ?? 5000, this.#closing.signal, opts.signal);
    const t0 = performance.now();
    try {
      await this.#pingNow(to, d.signal);
    } finally {
      d.clear();
    }
    return performance.now() - t0;
  }

  /** One PING/PONG; resolves with the peer's clock when it answered. */
  async #pingNow(to: P2PAddress, signal: AbortSignal): Promise<number> {
    const m = await this.#signaling.request(
      to,
      "PING",
      "PONG",
      randomBytes(16).toString("hex"),
      signal,
    );
    return typeof m.now === "number" && Number.isFinite(m.now) ? m.now : Number.NaN;
  }

  /**
   * Registers `name` (IRCDNS: "name.tld") for this node. The stored value is a name record (our
   * keys and brokers, see name-record.ts); connect() asks the node for its current address.
   */
  register(name: string, opts: { signal?: AbortSignal } = {}): Promise<string> {
    return this.#names.register(name, opts);
  }

  /** Resolves a name to the node's current P2P address (name record, then GET_ADDR over signaling). */
  lookup(name: string, opts: { signal?: AbortSignal; timeoutMs?: number } = {}): Promise<string> {
    return this.#names.lookup(name, opts);
  }

  /**
   * Connects to a node by address (or name): strategies start in order, each next one when the
   * previous failed or has not succeeded within its stagger (racing); the first pipe wins.
   * Throws ConnectError.
   */
  connect(target: string | P2PAddress, opts: ConnectOptions = {}): Promise<ConnectResult> {
    return this.#connector.connect(target, opts);
  }

  /**
   * direct, reverse, punching, any other registered strategy, and turn last when TURN servers are
   * configured (relaying is opt-in, as in P2PD: configuring a server opts in).
   */
  defaultStrategies(): StrategyName[] {
    return defaultOrder(this.strategies.names(), (this.options.turn?.length ?? 0) > 0);
  }

  /** Closes servers, signaling, every pipe, and the embedded broker. Idempotent. */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      this.#closing.abort(new P2pdNodeError("ERR_CLOSED", "node closed"));
      // server.close() waits for its connections: end them first.
      const stopped = Promise.all([this.#listener.stop(), this.#p2pd.stop()]);
      await this.#pipes.closeAll();
      this.#maps.close();
      this.#listener.destroySockets();
      this.#p2pd.destroySockets();
      await stopped;
      await this.#transport?.close().catch(() => {});
      await this.#names.close();
      // Remove our port mappings from the gateway (best effort, bounded).
      await this.#mapper?.close({ signal: AbortSignal.timeout(3000) }).catch(() => {});
      await this.#broker?.close();
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
export async function startNode(options: StartNodeOptions = {}): Promise<P2PNode> {
  options.signal?.throwIfAborted();
  // Server lists given: probe them first (brokers, STUN, TURN the options leave open).
  const opts = await withChosenServers(options);
  const seed = seedBytes(opts.seed);
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

/** What the handshake must prove for an address: its node id and (v3) its X25519 key. */
function expectOf(a: P2PAddress): { nodeId?: string; x25519?: Uint8Array } {
  // A legacy (v2) address has no keys and a node id that is not a key hash: nothing to check.
  return a.keys ? { nodeId: a.nodeId, x25519: a.keys.x25519 } : {};
}
