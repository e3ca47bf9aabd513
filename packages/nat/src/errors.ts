/** Stable error codes of the classification side of @p2pd/nat. */
export type NatErrorCode =
  | "ERR_NAT_INVALID_ARG"
  | "ERR_NAT_ABORTED"
  | "ERR_NAT_NO_SERVERS"
  | "ERR_NAT_BIND"
  | "ERR_NAT_UNPREDICTABLE"
  | "ERR_NAT_CACHE";

export class NatError extends Error {
  readonly code: NatErrorCode;
  constructor(code: NatErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "NatError";
    this.code = code;
  }
}

export function abortError(signal: AbortSignal | undefined): NatError {
  return new NatError("ERR_NAT_ABORTED", "NAT classification aborted", { cause: signal?.reason });
}
