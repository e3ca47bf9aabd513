/** Every failure of @p2pd/stun carries one of these stable codes. */
export type StunErrorCode =
  | "ERR_STUN_TRUNCATED"
  | "ERR_STUN_BAD_LENGTH"
  | "ERR_STUN_NOT_STUN"
  | "ERR_STUN_BAD_COOKIE"
  | "ERR_STUN_DUPLICATE_ATTR"
  | "ERR_STUN_BAD_ATTR"
  | "ERR_STUN_BAD_FINGERPRINT"
  | "ERR_STUN_TOO_LARGE"
  | "ERR_STUN_TIMEOUT"
  | "ERR_STUN_ABORTED"
  | "ERR_STUN_ERROR_RESPONSE"
  | "ERR_STUN_NO_QUORUM"
  | "ERR_STUN_BIND"
  | "ERR_STUN_CONNECT"
  | "ERR_STUN_CLOSED"
  | "ERR_STUN_DNS"
  | "ERR_STUN_INVALID_ARG";

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

export function isStunError(e: unknown): e is StunError {
  return e instanceof StunError;
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
