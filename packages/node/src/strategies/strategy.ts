import type { Pipe } from "@p2pd/pipe";
import type { AddressEntry, P2PAddress } from "../address.js";
import type { NodeTransport } from "../pipe.js";
import type { StrategyName } from "./names.js";

export type { StrategyName } from "./names.js";

/** A decrypted, authenticated signaling message (JSON body of an envelope). */
export interface SignalMessage {
  /** Message type, e.g. "CONNECT", "PUNCH_OFFER". */
  type: string;
  /** The connect attempt it belongs to (128-bit random hex, secret between the two nodes). */
  pipeId: string;
  /** Sender's full P2P address (its keys were checked against the envelope signature). */
  from: string;
  [field: string]: unknown;
}

/** One pair of endpoints to try: ours and theirs, same family. */
export interface Candidate {
  family: 4 | 6;
  local: AddressEntry;
  remote: AddressEntry;
  /** Same external IP on both sides: use the remote's internal IP. */
  sameLan: boolean;
  /** Where to connect (remote internal IP when same LAN, else ext) and its port. */
  host: string;
  port: number;
}

/** What the node gives a strategy on the connecting side. */
export interface StrategyContext {
  local: P2PAddress;
  remote: P2PAddress;
  /** Our address as text (peers reply to it). */
  localText: string;
  /** Fresh random id for this attempt. */
  pipeId: string;
  /** Aborted at this strategy's timeout, the connect's timeout, or node close. */
  signal: AbortSignal;
  /** Candidate pairs, same-LAN pairs first, then IPv6, then IPv4 (see candidates()). */
  candidates: Candidate[];
  /** Sends an encrypted signaling message to the remote node. */
  send(type: string, body: Record<string, unknown>): Promise<void>;
  /** Waits for a signaling message of `type` from the remote node for this pipeId. */
  waitFor(type: string, opts?: { signal?: AbortSignal }): Promise<SignalMessage>;
  /** Waits for an inbound node connection that announces `ID <pipeId>`. */
  waitInbound(opts?: { signal?: AbortSignal }): Promise<Pipe>;
  /**
   * Wraps a connected byte stream (framed) or a message transport (one message each) as a node
   * pipe tied to this attempt (serves ECHO, feeds onMessage).
   */
  wrap(t: NodeTransport): Pipe;
  /** Clock offset to the peer over signaling (peer ≈ local + offsetMs) and the best RTT. */
  clock(opts?: { signal?: AbortSignal }): Promise<{ offsetMs: number; rttMs: number }>;
  /**
   * A signaling round trip to the peer the strategy measured itself (e.g. over its offer and
   * answer): it times the rest of the race (stagger, TURN's give-up) like `clock`'s would.
   */
  observeRtt?(rttMs: number): void;
  log(line: string): void;
}

/** What the node gives a strategy on the answering side. */
export interface ResponderContext {
  local: P2PAddress;
  localText: string;
  /** The sender's parsed address. */
  remote: P2PAddress;
  /** True when we chose to talk to the sender (signaled it lately): only then TURN answers. */
  known?: boolean;
  /** For strangers: asked before each punch probe; false drops it (per-offer and per-minute budgets). */
  probeBudget?: () => boolean;
  signal: AbortSignal;
  candidates: Candidate[];
  send(type: string, body: Record<string, unknown>): Promise<void>;
  waitFor(type: string, opts?: { signal?: AbortSignal }): Promise<SignalMessage>;
  /** Wraps a connected stream or message transport as a node pipe (the peer sends `ID` on it). */
  wrap(t: NodeTransport): Pipe;
  /** Hands a pipe that is ready (and has sent `ID <pipeId>`) to the node, tied to this pipe id. */
  adopt(pipe: Pipe): void;
  log(line: string): void;
}

/**
 * A way to get a pipe to a peer. The connecting node runs `run`; the peer's node runs `respond`
 * for the signaling messages listed in `answers`.
 */
export interface Strategy {
  readonly name: StrategyName;
  /** Default time budget for one run (ms). */
  readonly timeoutMs: number;
  /**
   * How long connect() gives this strategy alone before it also starts the next one (racing,
   * first success wins; default 500 ms). About the time a working run needs.
   */
  readonly staggerMs?: number;
  /** Cheap test from both addresses: can this strategy possibly work? */
  canTry(local: P2PAddress, remote: P2PAddress): boolean;
  run(ctx: StrategyContext): Promise<Pipe>;
  /** Signaling message types this strategy answers (the first message of an exchange). */
  readonly answers?: readonly string[];
  respond?(msg: SignalMessage, ctx: ResponderContext): Promise<void>;
}
