import type { Pipe, PipePeer } from "@p2pd/pipe";
import type { NatInfo } from "../address.js";
import type { TimelineEntry } from "../errors.js";
import type { NodeInterface } from "../interfaces.js";
import type { NamingProvider } from "../naming.js";
import type { NoiseCipher } from "../secure/cipher-state.js";
import type { ServerLists } from "../servers/list.js";
import type { SignalingTransport } from "../signaling.js";
import type { StrategyName } from "../strategies/names.js";
import type { Strategy } from "../strategies/strategy.js";

/** A TURN server for the turn strategy. */
export interface TurnServerConfig {
  url: string;
  username?: string;
  password?: string;
  realm?: string;
}

/** What a stranger can make the node hold (see README "Abuse limits"). */
export interface NodeLimits {
  /** Open inbound connections at most (default 256); pre-ID ones are evicted first. */
  maxConnections?: number;
  /** An inbound connection must announce its `ID` within this (ms, default 10000). */
  handshakeTimeoutMs?: number;
  /** An inbound connection silent this long is closed (ms, default 300000; 0 = never). */
  idleTimeoutMs?: number;
  /** Unread bytes per connection queue (default 2 MiB). */
  maxQueueBytes?: number;
  /** Unread bytes of all connections together (default 16 MiB). */
  queueBudgetBytes?: number;
}

export interface StartNodeOptions {
  /** Memory, connection and timeout bounds against hostile peers. */
  limits?: NodeLimits;
  /**
   * Plaintext node connections, for peers that cannot encrypt (the reference P2PD, old builds).
   * Off by default: every connection is Noise-encrypted and authenticated. Both ends must agree.
   */
  insecure?: boolean;
  /**
   * The Noise cipher this node asks for when it dials: "AESGCM" (default; fast with AES
   * instructions) or "ChaChaPoly" (CPUs without them). Answering, a node accepts both.
   */
  noiseCipher?: NoiseCipher;
  /**
   * Accept Python P2PD nodes: a second, plaintext listener (port 0 = any) that speaks P2PD's node
   * protocol, listed in `node.p2pdAddress`. Off by default. Dialing a P2PD-format address needs
   * no option (it is plaintext too, and only ever for P2PD-format addresses).
   */
  p2pdCompat?: boolean | { port?: number };
  /**
   * @internal Tests only: rekey the Noise transport keys after this many frames / bytes instead
   * of every 10,000 frames or 256 MiB. Both ends must use the same thresholds.
   */
  secureRekey?: { frames?: number; bytes?: number };
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
  /**
   * Server lists to choose from at start (issue 14; `bundledServers()` or a config file's): the
   * brokers that answer first when neither `mqtt` nor `transport` is given, the RFC 5780 STUN
   * servers that agree when no `stun` is given, its TURN servers when no `turn` is given.
   * Default: none, i.e. offline (an in-process broker, no STUN).
   */
  servers?: ServerLists;
  /** Directory of the per-network server cache (with `servers`): the next start is fast. */
  serverCache?: string;
  /** How long start probes `servers` at most (ms, default 1500). */
  serverBudgetMs?: number;
  /** STUN servers (host:port) for the background NAT test. */
  stun?: string[];
  /** TURN servers, for the turn strategy. */
  turn?: TurnServerConfig[];
  /**
   * Answer TURN offers (allocate a relay with our credentials) from any peer, not only from peers
   * this node signaled lately (default false: a stranger cannot spend our TURN quota).
   */
  turnForStrangers?: boolean;
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
  /** The connection: a @p2pd/pipe Pipe (subscriptions, recv, linking, async iteration). */
  pipe: Pipe;
  /** The connect attempt's id (the pipe's key in `node.pipes`). */
  id: string;
  /** Who the far end proved to be in the Noise handshake (absent on a plaintext node). */
  peer?: PipePeer;
  strategy: StrategyName;
  /** True for a connection to a Python P2PD node (a P2PD-format address): NOT encrypted. */
  plaintext?: true;
  /** Total ms to a ready pipe and the outcome of each strategy that ran or was skipped, in plan order. */
  timings: { totalMs: number; lookupMs?: number; strategies: StrategyTiming[] };
  /** The attempt as a timeline: each strategy's start and end (ms since the connect began) and outcome. */
  timeline: TimelineEntry[];
}

export type NodeMessageCb = (data: Buffer, pipe: Pipe) => void;
