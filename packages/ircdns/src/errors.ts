/** Every code @p2pd/ircdns throws (see README "Error codes"). */
export const IRCDNS_ERROR_CODES = [
  "ERR_IRCDNS_BAD_SEED",
  "ERR_IRCDNS_BAD_NAME",
  "ERR_IRCDNS_BAD_VALUE",
  "ERR_IRCDNS_VALUE_TOO_LARGE",
  "ERR_IRCDNS_BAD_SERVER",
  "ERR_IRCDNS_NO_QUORUM",
  "ERR_IRCDNS_TAKEN",
  "ERR_IRCDNS_NOT_FOUND",
  "ERR_IRCDNS_BAD_TOPIC",
  "ERR_IRCDNS_ABORTED",
  "ERR_IRCDNS_CLOSED",
  "ERR_IRCDNS_TIMEOUT",
  "ERR_IRCDNS_CONNECT",
  "ERR_IRCDNS_TLS",
  "ERR_IRCDNS_DISCONNECTED",
  "ERR_IRCDNS_NICK_IN_USE",
  "ERR_IRCDNS_REFUSED",
  "ERR_IRCDNS_LOGIN",
  "ERR_IRCDNS_REGISTER",
  "ERR_IRCDNS_NO_SERVICES",
  "ERR_IRCDNS_SERVICES_BUSY",
  "ERR_IRCDNS_JOIN",
  "ERR_IRCDNS_DROP",
  "ERR_IRCDNS_DISAGREE",
  "ERR_IRCDNS_RELEASED",
  "ERR_IRCDNS_TOPIC",
  "ERR_IRCDNS_TOPIC_TRUNCATED",
  "ERR_IRCDNS_LINE_TOO_LONG",
  "ERR_IRCDNS_BAD_LINE",
  "ERR_IRCDNS_BAD_SIGNER",
  "ERR_IRCDNS_CHANNEL_LIMIT",
  "ERR_IRCDNS_INTERNAL",
] as const;

/** Stable error codes of @p2pd/ircdns. */
export type IrcDnsErrorCode = (typeof IRCDNS_ERROR_CODES)[number];

/**
 * Base class: every error this package throws on purpose has a stable `code`. The p2pd error
 * shape (code, message, name = class name, cause), kept by convention: this package has no
 * @p2pd dependency, so it cannot extend @p2pd/netifaces' P2pdError.
 */
export class IrcDnsError extends Error {
  readonly code: IrcDnsErrorCode;
  constructor(code: IrcDnsErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** Seed missing, not bytes, or shorter than 24 bytes. */
export class BadSeedError extends IrcDnsError {
  constructor(message: string) {
    super("ERR_IRCDNS_BAD_SEED", message);
  }
}

/** Why a name was refused (`BadNameError.reason`); stable, like the code. */
export type BadNameReason =
  | "type"
  | "format"
  | "empty"
  | "too_long"
  | "control"
  | "not_utf8"
  | "no_ascii";

/** Name, TLD or password is not text, empty, too long, has control characters or no ASCII at all. */
export class BadNameError extends IrcDnsError {
  readonly reason: BadNameReason;
  constructor(message: string, reason: BadNameReason = "format") {
    super("ERR_IRCDNS_BAD_NAME", message);
    this.reason = reason;
  }
}

/** Value is non-ASCII / contains newlines (ERR_IRCDNS_BAD_VALUE). */
export class BadValueError extends IrcDnsError {
  constructor(message: string) {
    super("ERR_IRCDNS_BAD_VALUE", message);
  }
}

/** Value does not fit the smallest topic limit (TOPICLEN, 512-byte lines). */
export class ValueTooLargeError extends IrcDnsError {
  readonly maxBytes: number;
  constructor(message: string, maxBytes: number) {
    super("ERR_IRCDNS_VALUE_TOO_LARGE", message);
    this.maxBytes = maxBytes;
  }
}

/** A server list entry could not be parsed. */
export class BadServerError extends IrcDnsError {
  constructor(message: string) {
    super("ERR_IRCDNS_BAD_SERVER", message);
  }
}

/** Fewer servers than the quorum needs answered (or agreed). */
export class NoQuorumError extends IrcDnsError {
  readonly needed: number;
  readonly got: number;
  constructor(message: string, needed: number, got: number) {
    super("ERR_IRCDNS_NO_QUORUM", message);
    this.needed = needed;
    this.got = got;
  }
}

/** The name's channels are owned by someone else on too many servers. */
export class NameTakenError extends IrcDnsError {
  constructor(message: string) {
    super("ERR_IRCDNS_TAKEN", message);
  }
}

/** The name was never stored (every answering server has no valid record). */
export class NotFoundError extends IrcDnsError {
  constructor(message: string) {
    super("ERR_IRCDNS_NOT_FOUND", message);
  }
}

/** A topic could not be parsed, or its signature does not check out. */
export class BadTopicError extends IrcDnsError {
  constructor(message: string) {
    super("ERR_IRCDNS_BAD_TOPIC", message);
  }
}

/** One IRC session failed (connect, login, services). Carried inside quorum errors. */
export class SessionError extends IrcDnsError {
  constructor(code: IrcDnsErrorCode, message: string, options?: ErrorOptions) {
    super(code, message, options);
  }
}

/** The caller's AbortSignal fired. */
export class AbortedError extends IrcDnsError {
  constructor(message = "operation aborted", options?: ErrorOptions) {
    super("ERR_IRCDNS_ABORTED", message, options);
  }
}

/** The IRCDNS instance was closed. */
export class ClosedError extends IrcDnsError {
  constructor() {
    super("ERR_IRCDNS_CLOSED", "IRCDNS instance is closed");
  }
}
