import { errorClass } from "@p2pd/netifaces";

/** Every code the classification side of @p2pd/nat throws (see README "Error codes"). */
export const NAT_ERROR_CODES = [
  "ERR_NAT_BAD_ARGUMENT",
  "ERR_NAT_ABORTED",
  "ERR_NAT_NO_SERVERS",
  "ERR_NAT_BIND",
  "ERR_NAT_UNPREDICTABLE",
  "ERR_NAT_CACHE",
] as const;

/** Stable error codes of the classification side of @p2pd/nat. */
export type NatErrorCode = (typeof NAT_ERROR_CODES)[number];

export class NatError extends errorClass<NatErrorCode>("NatError") {}

export function abortError(signal: AbortSignal | undefined): NatError {
  return new NatError("ERR_NAT_ABORTED", "NAT classification aborted", { cause: signal?.reason });
}
