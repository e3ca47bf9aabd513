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
  /** TLS only: host name the certificate must carry (and the SNI) when `host` is an IP; default `host`. */
  tlsName?: string;
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
      /** Host name the certificate must carry, for a server reached by IP. */
      tlsName?: string;
    };

/**
 * The networks P2PD's reference list used (spec section 9), reached by IP with TLS on 6697 as the
 * reference does (no DNS needed): each certificate is checked against the network's host name, which
 * is also its derivation domain, so names are the same as through `ircs://<host name>:6697`.
 */
export const DEFAULT_SERVERS: readonly string[] = Object.freeze(
  (
    [
      ["116.203.29.246", "irc.phat-net.de"],
      ["213.239.154.35", "irc.tweakers.net"],
      ["159.65.55.232", "irc.swiftirc.net"],
      ["83.137.40.10", "irc.euirc.net"],
      ["23.239.26.75", "irc.darkmyst.org"],
    ] as const
  ).map(([ip, host]) => `ircs://${ip}:6697?name=${host}#${host}`),
);

/**
 * Parse `host:port` (plain), `ircs://host:port` (TLS), `irc://host:port`, IPv6 as `[::1]:port`, each
 * optionally followed by `#domain` to name the network explicitly. A TLS server may carry
 * `?sha256=<fingerprint>` (pin its certificate), `?insecure` (no certificate checks) or `?name=<host>`
 * (the name its certificate carries, for a server reached by IP) before the `#`.
 * The derivation domain is the host alone on the standard ports (6667/6697, as in the reference),
 * otherwise `host:port`, so several networks on one host still get distinct channels.
 */
export function parseServer(input: ServerInput): ServerSpec {
  if (typeof input === "object" && input !== null) {
    const tls = input.tls ?? false;
    const port = input.port ?? (tls ? 6697 : 6667);
    return withTls(
      build(input.host, port, tls, input.domain),
      input.tlsVerify,
      input.tlsPin,
      input.tlsName,
    );
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
  let name: string | undefined;
  const q = s.indexOf("?");
  if (q >= 0) {
    for (const kv of s.slice(q + 1).split("&")) {
      const [k = "", v] = kv.split("=", 2);
      if (k === "insecure" && v === undefined) verify = false;
      else if (k === "sha256" && v) pin = v;
      else if (k === "name" && v) name = v;
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
  return withTls(build(host, port, tls, domain), verify, pin, name);
}

function withTls(
  spec: ServerSpec,
  verify: boolean | undefined,
  pin: string | undefined,
  name?: string | undefined,
): ServerSpec {
  if (verify === undefined && pin === undefined && name === undefined) return spec;
  if (!spec.tls) throw new BadServerError(`${spec.label}: TLS options on a plain-text server`);
  if (verify === false && pin !== undefined)
    throw new BadServerError(`${spec.label}: a pinned server cannot also skip verification`);
  if (verify !== undefined) spec.tlsVerify = verify;
  if (pin !== undefined) spec.tlsPin = normalizePin(pin);
  if (name !== undefined) {
    if (!TLS_NAME.test(name)) throw new BadServerError(`${spec.label}: bad TLS name "${name}"`);
    spec.tlsName = name;
  }
  return spec;
}

const TLS_NAME =
  /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/i;

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
