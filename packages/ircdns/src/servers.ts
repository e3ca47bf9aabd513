import { BadServerError } from "./errors.js";

/** One IRC network to use. `domain` feeds every derivation, so it must be the same for all users. */
export interface ServerSpec {
  host: string;
  port: number;
  tls: boolean;
  domain: string;
  /** For messages: "host:port". */
  label: string;
}

export type ServerInput = string | { host: string; port?: number; tls?: boolean; domain?: string };

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
 * optionally followed by `#domain` to name the network explicitly.
 * The derivation domain is the host alone on the standard ports (6667/6697, as in the reference),
 * otherwise `host:port`, so several networks on one host still get distinct channels.
 */
export function parseServer(input: ServerInput): ServerSpec {
  if (typeof input === "object" && input !== null) {
    const tls = input.tls ?? false;
    const port = input.port ?? (tls ? 6697 : 6667);
    return build(input.host, port, tls, input.domain);
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
    s = s.slice(scheme[0].length).replace(/\/+$/, "");
  }
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
  return build(host, port, tls, domain);
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
