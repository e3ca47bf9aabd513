import { codedError, errorClass } from "@p2pd/netifaces";

/**
 * Every code port mapping throws. ERR_PORTMAP_BAD_ARGUMENT is set on the built-in
 * RangeError/TypeError a bad request throws (callers test for those), not on a PortMapError.
 */
export const PORTMAP_ERROR_CODES = [
  "ERR_PORTMAP_NO_GATEWAY",
  "ERR_PORTMAP_REFUSED",
  "ERR_PORTMAP_BAD_RESPONSE",
  "ERR_PORTMAP_TIMEOUT",
  "ERR_PORTMAP_UNSUPPORTED",
  "ERR_PORTMAP_CLOSED",
  "ERR_PORTMAP_BAD_ARGUMENT",
  "ERR_DOUBLE_NAT",
] as const;

/** Stable error codes of port mapping. */
export type PortMapErrorCode = (typeof PORTMAP_ERROR_CODES)[number];

/** Base class of every port-mapping error; `code` is stable, `message` is for humans. */
export class PortMapError extends errorClass<PortMapErrorCode>("PortMapError") {}

/** No gateway answered: no default route, no SSDP answer, nothing listening on 5351. */
export class PortMapNoGatewayError extends codedError(
  PortMapError,
  "ERR_PORTMAP_NO_GATEWAY",
  "PortMapNoGatewayError",
) {}

/** The gateway answered and said no (UPnP fault, NAT-PMP/PCP result code). */
export class PortMapRefusedError extends PortMapError {
  /** UPnP errorCode or NAT-PMP/PCP result code, when the gateway gave one. */
  readonly gatewayCode: number | undefined;
  constructor(message: string, gatewayCode?: number, options?: ErrorOptions) {
    super("ERR_PORTMAP_REFUSED", message, options);
    this.name = "PortMapRefusedError";
    this.gatewayCode = gatewayCode;
  }
}

/** An answer we could not decode: truncated packet, malformed XML/SOAP/SSDP, wrong opcode. */
export class PortMapBadResponseError extends codedError(
  PortMapError,
  "ERR_PORTMAP_BAD_RESPONSE",
  "PortMapBadResponseError",
) {}

/** The gateway (or one protocol on it) stayed silent past the deadline. */
export class PortMapTimeoutError extends codedError(
  PortMapError,
  "ERR_PORTMAP_TIMEOUT",
  "PortMapTimeoutError",
) {}

/** The gateway does not speak this protocol version or operation (falls back to the next method). */
export class PortMapUnsupportedError extends codedError(
  PortMapError,
  "ERR_PORTMAP_UNSUPPORTED",
  "PortMapUnsupportedError",
) {}

/** The mapper was closed. */
export class PortMapClosedError extends PortMapError {
  constructor() {
    super("ERR_PORTMAP_CLOSED", "the port mapper is closed");
    this.name = "PortMapClosedError";
  }
}

/**
 * The mapping exists on the gateway, but the gateway's own external address is private, CGNAT
 * or otherwise not reachable from the internet (or differs from an address observed from outside):
 * another NAT sits above it, so the mapping does not make this node reachable.
 */
export class DoubleNatError extends PortMapError {
  readonly externalIp: string;
  constructor(externalIp: string, reason: string) {
    super("ERR_DOUBLE_NAT", `double NAT: ${reason}`);
    this.name = "DoubleNatError";
    this.externalIp = externalIp;
  }
}
