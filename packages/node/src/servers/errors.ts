import { P2pdNodeError } from "../errors.js";

/**
 * A server list or config file that does not validate. `file` names where it came from ("bundled"
 * for the list shipped in the package) and `field` the JSON path of the bad value, e.g.
 * `stun[3].port`; the message is one line: `FILE: FIELD: why`.
 */
export class ServerConfigError extends P2pdNodeError {
  readonly file: string;
  readonly field: string;
  constructor(
    code: "ERR_BAD_CONFIG" | "ERR_BAD_SERVER_LIST",
    file: string,
    field: string,
    why: string,
    options?: ErrorOptions,
  ) {
    super(code, `${file}: ${field ? `${field}: ` : ""}${why}`, options);
    this.name = "ServerConfigError";
    this.file = file;
    this.field = field;
  }
}

/** What a dialer tried when none of the peer's brokers (nor its own) could be reached. */
export interface BrokerAttempt {
  url: string;
  code: string;
  message: string;
}

/** No broker that can reach the peer answered; `tried` lists every URL and why it failed. */
export class RendezvousError extends P2pdNodeError {
  readonly tried: BrokerAttempt[];
  constructor(message: string, tried: BrokerAttempt[]) {
    const list = tried.map((t) => `${t.url} (${t.code})`).join(", ");
    super("ERR_NO_RENDEZVOUS", `${message}; tried ${list || "nothing"}`);
    this.name = "RendezvousError";
    this.tried = tried;
  }
}
