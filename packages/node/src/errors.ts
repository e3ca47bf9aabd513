import { codedError, errorClass } from "@p2pd/netifaces";

/** Codes of the traversal primitives (TraversalError, TurnError); part of NODE_ERROR_CODES. */
export const TRAVERSAL_ERROR_CODES = [
  "ERR_STUN_DECODE",
  "ERR_STUN_TIMEOUT",
  "ERR_TURN_AUTH",
  "ERR_TURN_ALLOCATE",
  "ERR_TURN_REQUEST",
  "ERR_TURN_TIMEOUT",
  "ERR_TURN_CLOSED",
  "ERR_TURN_DECODE",
  "ERR_ABORTED",
  "ERR_PUNCH_TIMEOUT",
  "ERR_PUNCH_TIMING",
  "ERR_PEER_VANISHED",
  "ERR_CLOSED",
  "ERR_BAD_FRAME",
  "ERR_MSG_TOO_LARGE",
  "ERR_RECV_TIMEOUT",
  "ERR_CLOCK",
  "ERR_BAD_ARGUMENT",
] as const;

/** Stable error codes of the traversal primitives. */
export type TraversalErrorCode = (typeof TRAVERSAL_ERROR_CODES)[number];

/** Codes of SignalError: a signaling envelope that is malformed, forged, replayed or undeliverable. */
export const SIGNAL_ERROR_CODES = [
  "ERR_SIGNAL_FORMAT",
  "ERR_SIGNAL_KEY",
  "ERR_SIGNAL_SIZE",
  "ERR_SIGNAL_AUTH",
  "ERR_SIGNAL_DECRYPT",
  "ERR_SIGNAL_STALE",
  "ERR_SIGNAL_REPLAY",
  "ERR_SIGNAL_RATE",
  "ERR_SIGNAL_OFFLINE",
  "ERR_SIGNAL_PUBLISH",
] as const;

export type SignalErrorCode = (typeof SIGNAL_ERROR_CODES)[number];

/** Codes of SecureError: the Noise channel every node connection runs over (src/secure). */
export const SECURE_ERROR_CODES = [
  "ERR_PEER_AUTH",
  "ERR_DECRYPT",
  "ERR_TRUNCATED",
  "ERR_HANDSHAKE",
  "ERR_HANDSHAKE_TIMEOUT",
  "ERR_HANDSHAKE_CLOSED",
  "ERR_NONCE_EXHAUSTED",
] as const;

export type SecureErrorCode = (typeof SECURE_ERROR_CODES)[number];

/** Every code @p2pd/node throws or reports (see README "Error codes"); each appears once. */
export const NODE_ERROR_CODES = [
  "ERR_BAD_ADDRESS",
  "ERR_BAD_SEED",
  "ERR_BAD_INTERFACES",
  "ERR_BAD_SERVER",
  "ERR_BAD_TOPIC",
  "ERR_NO_INTERFACE",
  "ERR_BIND",
  "ERR_NO_BROKER",
  "ERR_NOT_STARTED",
  "ERR_NO_NAMING",
  "ERR_NAME_NOT_FOUND",
  "ERR_UNKNOWN_STRATEGY",
  "ERR_TURN_CONFIG",
  "ERR_NO_CANDIDATE",
  "ERR_CONNECT",
  "ERR_CONNECT_REFUSED",
  "ERR_CONNECT_TIMEOUT",
  "ERR_TIMEOUT",
  "ERR_STRATEGY_TIMEOUT",
  "ERR_PEER_REFUSED",
  "ERR_LOST_RACE",
  "ERR_SKIPPED",
  "ERR_PIPE_WRITE",
  "ERR_UNKNOWN",
  // Server lists, config file and rendezvous (issue 14).
  "ERR_BAD_CONFIG",
  "ERR_BAD_SERVER_LIST",
  "ERR_NO_RENDEZVOUS",
  "ERR_PUBLIC_SERVER",
  "ERR_BROKER",
  ...SIGNAL_ERROR_CODES,
  ...SECURE_ERROR_CODES,
  ...TRAVERSAL_ERROR_CODES,
] as const;

/** Stable error codes of @p2pd/node (the traversal codes included). */
export type NodeErrorCode = (typeof NODE_ERROR_CODES)[number];

/** Base error of @p2pd/node: every failure carries a stable `code`. */
export class P2pdNodeError extends errorClass<NodeErrorCode>("P2pdNodeError") {}

/** A P2P address that does not parse or does not validate. */
export class AddressError extends codedError(P2pdNodeError, "ERR_BAD_ADDRESS", "AddressError") {}

/** A signaling envelope that is malformed, forged, replayed or not for us. */
export class SignalError extends P2pdNodeError {
  declare readonly code: SignalErrorCode;
  constructor(code: SignalErrorCode, message: string, options?: ErrorOptions) {
    super(code, message, options);
    this.name = "SignalError";
  }
}

/** One strategy's failure inside a ConnectError. */
export interface StrategyFailure {
  strategy: string;
  code: string;
  message: string;
  ms: number;
}

/** How one strategy of a connect attempt ended. */
export type AttemptOutcome = "won" | "failed" | "lost" | "skipped" | "gave-up";

/**
 * One strategy on a connect attempt's timeline: when it started and ended, in ms since the
 * connect began (a name lookup included), and how it ended (`lost`: aborted because another won;
 * `gave-up`: the whole connect timed out or was aborted while it ran).
 */
export interface TimelineEntry {
  strategy: string;
  startMs: number;
  endMs: number;
  outcome: AttemptOutcome;
  code?: string;
  message?: string;
}

/** Every strategy failed (or none could be tried). `failures` says why, one entry per strategy. */
export class ConnectError extends P2pdNodeError {
  readonly failures: StrategyFailure[];
  /** The attempt's timeline (plan order); empty when the connect failed before any strategy. */
  readonly timeline: TimelineEntry[];
  constructor(
    message: string,
    failures: StrategyFailure[],
    code: NodeErrorCode = "ERR_CONNECT",
    timeline: TimelineEntry[] = [],
  ) {
    super(code, message);
    this.name = "ConnectError";
    this.failures = failures;
    this.timeline = timeline;
  }
}

/** Maps anything thrown to a code for reports. */
export function codeOf(err: unknown): string {
  if (err && typeof err === "object" && "code" in err && typeof err.code === "string")
    return err.code;
  if (err instanceof Error && err.name === "AbortError") return "ABORT_ERR";
  if (err instanceof Error && err.name === "TimeoutError") return "ERR_TIMEOUT";
  return "ERR_UNKNOWN";
}
