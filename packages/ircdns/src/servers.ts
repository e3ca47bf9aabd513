import { BadServerError } from "./errors.js";

/** One IRC network to use. `domain` feeds every derivation, so it must be the same for all users. */
export interface ServerSpec {
  host: string;
  port: number;
  tls: boolean;
  domain: string;
  /** For messages: "host:port". */
  label: string;
  /** TLS only: false skips certificate checks for this server (default: the instance's `tlsVerify`). */
  tlsVerify?: boolean;
  /** TLS only: SHA-256 fingerprint ("AB:CD:…") the server's certificate must have; replaces CA checks. */
  tlsPin?: string;
}

export type ServerInput =
  | string
  | {
      host: string;
      port?: number;
      tls?: boolean;
      domain?: string;
      tlsVerify?: boolean;
      /** SHA-256 fingerprint of the server certificate, 64 hex digits (colons allowed). */
      tlsPin?: string;
    };

/** The networks P2PD's reference list used (spec section 9), reached by name with TLS on 6697. */
export const DEFAULT_SERVERS: readonly string[] = Object.freeze([
  "ircs://irc.phat-net.de:6697",
  "ircs://irc.tweakers.net:6697",
  "ircs://irc.swiftirc.net:6697",
  "ircs://irc.euirc.net:6697",
  "ircs://irc.darkmyst.org:6697",
]);

/**
 * Parse `host:port` (plain), `ircs://host:port` (TLS), `irc://host:port`, IPv6 as `[::1]:port`, each
 * optionally followed by `#domain` to name the network explicitly. A TLS server may carry
 * `?sha256=<fingerprint>` (pin its certificate) or `?insecure` (no certificate checks) before the `#`.
 * The derivation domain is the host alone on the standard ports (6667/6697, as in the reference),
 * otherwise `host:port`, so several networks on one host still get distinct channels.
 */
export function parseServer(input: ServerInput): ServerSpec {
  if (typeof input === "object" && input !== null) {
    const tls = input.tls ?? false;
    const port = input.port ?? (tls ? 6697 : 6667);
    return withTls(build(input.host, port, tls, input.domain), input.tlsVerify, input.tlsPin);
  }
  if (typeof input !== "string") throw new BadServerError("server must be a string or object");
  let s = input.trim();
  // "…#name" pins the network's identity (the derivation domain), whatever address reaches it.
  let domain: string | undefined;
  const hash = s.indexOf("#");
  if (hash >= 0) {
    domain = s.slice(hash + 1);
    s = s.slice(0, hash);
    if (!/^[A-Za-z0-9.\-:_[\]]{1,255}$/.test(domain))
      throw new BadServerError(`bad domain in ${input}`);
  }
  let tls = false;
  const scheme = /^([a-z]+):\/\//i.exec(s);
  if (scheme) {
    const sch = (scheme[1] as string).toLowerCase();
    if (sch !== "irc" && sch !== "ircs") throw new BadServerError(`unknown scheme in ${input}`);
    tls = sch === "ircs";
    s = s.slice(scheme[0].length);
  }
  let verify: boolean | undefined;
  let pin: string | undefined;
  const q = s.indexOf("?");
  if (q >= 0) {
    for (const kv of s.slice(q + 1).split("&")) {
      const [k = "", v] = kv.split("=", 2);
      if (k === "insecure" && v === undefined) verify = false;
      else if (k === "sha256" && v) pin = v;
      else throw new BadServerError(`unknown server option "${kv}" in ${input}`);
    }
    s = s.slice(0, q);
  }
  s = s.replace(/\/+$/, "");
  let host: string;
  let portStr: string | undefined;
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(s);
  if (v6) {
    host = v6[1] as string;
    portStr = v6[2];
  } else {
    const parts = s.split(":");
    if (parts.length > 2) throw new BadServerError(`IPv6 hosts need brackets: ${input}`);
    host = parts[0] as string;
    portStr = parts[1];
  }
  const port = portStr === undefined ? (tls ? 6697 : 6667) : Number(portStr);
  return withTls(build(host, port, tls, domain), verify, pin);
}

function withTls(
  spec: ServerSpec,
  verify: boolean | undefined,
  pin: string | undefined,
): ServerSpec {
  if (verify === undefined && pin === undefined) return spec;
  if (!spec.tls) throw new BadServerError(`${spec.label}: TLS options on a plain-text server`);
  if (verify === false && pin !== undefined)
    throw new BadServerError(`${spec.label}: a pinned server cannot also skip verification`);
  if (verify !== undefined) spec.tlsVerify = verify;
  if (pin !== undefined) spec.tlsPin = normalizePin(pin);
  return spec;
}

function build(host: string, port: number, tls: boolean, domain: string | undefined): ServerSpec {
  if (!host || !/^[A-Za-z0-9.\-:%_]+$/.test(host)) throw new BadServerError(`bad host "${host}"`);
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    throw new BadServerError(`bad port ${port}`);
  const hostPort = host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
  const d = domain ?? (port === 6667 || port === 6697 ? host : hostPort);
  return { host, port, tls, domain: d, label: `${tls ? "ircs://" : ""}${hostPort}` };
}

/** Parse a comma-separated list (the CLI's --irc-servers). */
export function parseServerList(list: string): ServerSpec[] {
  if (typeof list !== "string") throw new BadServerError("server list must be a string");
  const items = list
    .split(",")
    .map((x) => x.trim())
    .filter(Boolean);
  if (items.length === 0) throw new BadServerError("empty server list");
  return items.map(parseServer);
}

/** "ab:cd:…" or 64 hex digits → Node's fingerprint256 form ("AB:CD:…"); BadServerError otherwise. */
export function normalizePin(pin: string): string {
  const hex = typeof pin === "string" ? pin.replace(/:/g, "") : "";
  if (!/^[0-9a-fA-F]{64}$/.test(hex))
    throw new BadServerError("a TLS pin is the certificate's SHA-256 fingerprint (64 hex digits)");
  return (hex.toUpperCase().match(/../g) as string[]).join(":");
}
