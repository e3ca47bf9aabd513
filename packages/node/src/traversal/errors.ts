import { P2pdNodeError, TRAVERSAL_ERROR_CODES, type TraversalErrorCode } from "../errors.js";

export { TRAVERSAL_ERROR_CODES, type TraversalErrorCode };

/** Every traversal failure: `code` is stable, `message` says why. A P2pdNodeError. */
export class TraversalError extends P2pdNodeError {
  declare readonly code: TraversalErrorCode;
  constructor(code: TraversalErrorCode, message: string, options?: ErrorOptions) {
    super(code, message, options);
    this.name = "TraversalError";
  }
}

/** Error of a TURN error response: `status` is the STUN ERROR-CODE (401, 403, 437, 438, 486, ...). */
export class TurnError extends TraversalError {
  readonly status: number | undefined;
  constructor(code: TraversalErrorCode, message: string, status?: number, options?: ErrorOptions) {
    super(code, message, options);
    this.name = "TurnError";
    this.status = status;
  }
}

/** A plain `host:port` pair (IPv6 without brackets). */
export interface HostPort {
  host: string;
  port: number;
}

export function hostPortKey(e: HostPort): string {
  return `${e.host}:${e.port}`;
}

/** The plain pair of an endpoint (drops @p2pd/stun's `family`): what callbacks get and tests compare. */
export function hostPort(e: HostPort): HostPort {
  return { host: e.host, port: e.port };
}
