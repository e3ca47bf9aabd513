/**
 * Every code @p2pd/stun throws or reports (see README "Error codes"). ERR_STUN_UNEXPECTED only
 * labels a per-server failure that had no code of its own (in ERR_STUN_NO_QUORUM details).
 */
export const STUN_ERROR_CODES = [
  "ERR_STUN_TRUNCATED",
  "ERR_STUN_BAD_LENGTH",
  "ERR_STUN_NOT_STUN",
  "ERR_STUN_BAD_COOKIE",
  "ERR_STUN_DUPLICATE_ATTR",
  "ERR_STUN_BAD_ATTR",
  "ERR_STUN_BAD_FINGERPRINT",
  "ERR_STUN_TOO_LARGE",
  "ERR_STUN_TIMEOUT",
  "ERR_STUN_ABORTED",
  "ERR_STUN_ERROR_RESPONSE",
  "ERR_STUN_NO_QUORUM",
  "ERR_STUN_BIND",
  "ERR_STUN_CONNECT",
  "ERR_STUN_CLOSED",
  "ERR_STUN_DNS",
  "ERR_STUN_BAD_ARGUMENT",
  "ERR_STUN_UNEXPECTED",
] as const;

/** Every failure of @p2pd/stun carries one of these stable codes. */
export type StunErrorCode = (typeof STUN_ERROR_CODES)[number];

/**
 * The p2pd error shape (code, message, name = class name, cause), kept by convention: this
 * package has no @p2pd dependency, so it cannot extend @p2pd/netifaces' P2pdError.
 */
export class StunError extends Error {
  readonly code: StunErrorCode;
  /** STUN error status (e.g. 420) for ERR_STUN_ERROR_RESPONSE. */
  status?: number;
  /** Extra machine-readable detail (e.g. per-server results for ERR_STUN_NO_QUORUM). */
  details?: unknown;
  constructor(code: StunErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "StunError";
    this.code = code;
  }
}

/** True when `e` is a StunError (optionally with the given code). */
export function isStunError(e: unknown, code?: StunErrorCode): e is StunError {
  return e instanceof StunError && (code === undefined || e.code === code);
}

/** The error an aborted operation rejects with (the signal's reason is kept as `cause`). */
export function abortError(signal: AbortSignal): StunError {
  const reason = signal.reason as unknown;
  if (reason instanceof StunError) return reason;
  const timeout = reason instanceof Error && reason.name === "TimeoutError";
  return new StunError(
    timeout ? "ERR_STUN_TIMEOUT" : "ERR_STUN_ABORTED",
    timeout ? "timed out" : "aborted",
    { cause: reason },
  );
}
