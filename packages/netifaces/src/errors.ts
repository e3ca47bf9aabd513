import { codedError, errorClass } from "./p2pd-error.js";

/** Every code @p2pd/netifaces throws (see README "Error codes"). */
export const NET_ERROR_CODES = [
  "ERR_BAD_ADDRESS",
  "ERR_BAD_PORT",
  "ERR_BAD_JSON",
  "ERR_NO_SUCH_INTERFACE",
  "ERR_DNS",
  "ERR_DNS_TIMEOUT",
  "ERR_NO_ROUTE",
  "ERR_FAMILY_MISMATCH",
  "ERR_NO_RESOLVER",
  "ERR_PROVIDER",
  "ERR_ABORTED",
  "ERR_BAD_ARGUMENT",
  "ERR_TIMEOUT",
] as const;

/** Stable error codes of @p2pd/netifaces. */
export type NetErrorCode = (typeof NET_ERROR_CODES)[number];

/** Base error of @p2pd/netifaces: every failure carries a stable `code`. */
export class P2pdNetError extends errorClass<NetErrorCode>("P2pdNetError") {}

/** A malformed IP, CIDR, netmask or host string. */
export class BadAddressError extends codedError(
  P2pdNetError,
  "ERR_BAD_ADDRESS",
  "BadAddressError",
) {}

/** The operation was cancelled through its AbortSignal. */
export class AbortedError extends P2pdNetError {
  constructor(reason?: unknown) {
    super("ERR_ABORTED", "operation aborted", { cause: reason });
    this.name = "AbortedError";
  }
}

/** Throws an AbortedError when the signal has fired. */
export function throwIfAborted(signal?: AbortSignal): void {
  if (signal?.aborted) throw new AbortedError(signal.reason);
}

/** A timeout option must be a positive finite number of milliseconds. */
export function checkTimeout(ms: unknown, name = "timeoutMs"): number {
  if (typeof ms !== "number" || !Number.isFinite(ms) || ms <= 0 || ms > 2 ** 31 - 1) {
    throw new P2pdNetError(
      "ERR_BAD_ARGUMENT",
      `${name} must be a positive number of ms, got ${String(ms)}`,
    );
  }
  return ms;
}
