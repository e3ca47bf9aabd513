/** Base class: every error this package throws on purpose has a stable `code`. */
export class IrcDnsError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
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

/** Name, TLD or password is empty, non-ASCII, contains spaces/control characters, or too long. */
export class BadNameError extends IrcDnsError {
  constructor(message: string) {
    super("ERR_IRCDNS_BAD_NAME", message);
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
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/** The caller's AbortSignal fired. */
export class AbortedError extends IrcDnsError {
  constructor(message = "operation aborted", options?: { cause?: unknown }) {
    super("ERR_IRCDNS_ABORTED", message, options);
  }
}

/** The IRCDNS instance was closed. */
export class ClosedError extends IrcDnsError {
  constructor() {
    super("ERR_IRCDNS_CLOSED", "IRCDNS instance is closed");
  }
}
