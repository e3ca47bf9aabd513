import { P2pdError } from "@p2pd/netifaces";

/** Every code @p2pd/pipe throws. Match on `code`, never on the message text. */
export const PIPE_ERROR_CODES = [
  "ERR_BIND",
  "ERR_CONNECT",
  "ERR_CONNECT_TIMEOUT",
  "ERR_RECV_TIMEOUT",
  "ERR_NOT_SUBSCRIBED",
  "ERR_BAD_REGEX",
  "ERR_MSG_TOO_LARGE",
  "ERR_CLOSED",
  "ERR_BAD_PORT",
  "ERR_BAD_HOST",
  "ERR_RESOLVE",
  "ERR_ABORTED",
  "ERR_NO_DEST",
  "ERR_SEND",
  "ERR_SOCKET",
  "ERR_QUEUE_FULL",
  "ERR_BAD_FRAME",
  "ERR_BAD_ARGUMENT",
  "ERR_FAMILY",
  "ERR_ACK_TIMEOUT",
  "ERR_TLS",
] as const;

/** Stable error codes of @p2pd/pipe. */
export type PipeErrorCode = (typeof PIPE_ERROR_CODES)[number];

/** Every failure of @p2pd/pipe: a class with a stable `code` (see README "Error codes"). */
export class PipeError extends P2pdError<PipeErrorCode> {
  constructor(code: PipeErrorCode, message: string, options?: ErrorOptions) {
    super(code, message, options);
    this.name = "PipeError";
  }
}

/** True when `e` is a PipeError (optionally with the given code). */
export function isPipeError(e: unknown, code?: PipeErrorCode): e is PipeError {
  return e instanceof PipeError && (code === undefined || e.code === code);
}

/** Maps the reason of an aborted signal to ERR_ABORTED, keeping the reason as `cause`. */
export function abortError(signal: AbortSignal, what: string): PipeError {
  return new PipeError("ERR_ABORTED", `${what} aborted`, { cause: signal.reason });
}
