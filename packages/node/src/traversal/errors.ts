/** Stable error codes of the traversal primitives. */
export type TraversalErrorCode =
  | "ERR_STUN_DECODE"
  | "ERR_STUN_TIMEOUT"
  | "ERR_TURN_AUTH"
  | "ERR_TURN_ALLOCATE"
  | "ERR_TURN_REQUEST"
  | "ERR_TURN_TIMEOUT"
  | "ERR_TURN_CLOSED"
  | "ERR_TURN_DECODE"
  | "ERR_TURN_ABORTED"
  | "ERR_PUNCH_TIMEOUT"
  | "ERR_PUNCH_ABORTED"
  | "ERR_PUNCH_TIMING"
  | "ERR_PEER_VANISHED"
  | "ERR_STREAM_CLOSED"
  | "ERR_FRAME_DECODE"
  | "ERR_MESSAGE_TOO_LARGE"
  | "ERR_RECV_TIMEOUT"
  | "ERR_CLOCK"
  | "ERR_INVALID_ARGUMENT";

/** Every traversal failure: `code` is stable, `message` says why. */
export class TraversalError extends Error {
  readonly code: TraversalErrorCode;
  constructor(code: TraversalErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "TraversalError";
    this.code = code;
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
