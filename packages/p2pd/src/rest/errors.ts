import { P2pdError } from "@p2pd/netifaces";

/** Every code the REST server answers with on its own (see README "Error codes"). */
export const REST_ERROR_CODES = [
  "ERR_BAD_REQUEST",
  "ERR_BAD_ENCODING",
  "ERR_BAD_LENGTH",
  "ERR_BAD_NAME",
  "ERR_BAD_TIMEOUT",
  "ERR_BAD_REGEX",
  "ERR_LENGTH_REQUIRED",
  "ERR_UNAUTHORIZED",
  "ERR_BAD_ORIGIN",
  "ERR_CROSS_SITE",
  "ERR_NOT_FOUND",
  "ERR_NO_SUCH_CONNECTION",
  "ERR_NOT_SUBSCRIBED",
  "ERR_METHOD",
  "ERR_REQUEST_TIMEOUT",
  "ERR_NAME_EXISTS",
  "ERR_RELAY_BUSY",
  "ERR_TOO_MANY_SUBS",
  "ERR_CLOSED",
  "ERR_BODY_TOO_LARGE",
  "ERR_HEAD_TOO_LARGE",
  "ERR_NOT_LOOPBACK",
  "ERR_ABORTED",
  "ERR_CONNECT",
  "ERR_SEND",
  "ERR_INTERNAL",
  "ERR_LISTEN",
  "ERR_BUSY",
  "ERR_RECV_TIMEOUT",
] as const;

/** Codes of the REST server's own errors. */
export type RestErrorCode = (typeof REST_ERROR_CODES)[number];

/** Codes P2pdClient makes itself, when no error answer came from the server. */
export const CLIENT_ERROR_CODES = ["ERR_HTTP", "ERR_ABORTED"] as const;

/** A client error carries the server's code, or one of CLIENT_ERROR_CODES. */
export type ClientErrorCode = (typeof CLIENT_ERROR_CODES)[number] | (string & {});

/**
 * A REST API failure: a stable `code`, the HTTP status it maps to, and a message. The server
 * also wraps a library error in one, keeping that error's code (hence the type parameter).
 */
export class RestError<C extends string = RestErrorCode> extends P2pdError<C> {
  readonly status: number;
  constructor(code: C, status: number, message: string, options?: ErrorOptions) {
    super(code, message, options);
    this.name = "RestError";
    this.status = status;
  }
}
