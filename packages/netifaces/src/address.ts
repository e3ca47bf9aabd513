import { lookup as dnsLookup } from "node:dns/promises";
import { raceAbort, timeoutError } from "./abort.js";
import { classifyIp, type IpClass, isPrivateIp } from "./classify.js";
import type { Endpoint, Family } from "./endpoint.js";
import {
  AbortedError,
  BadAddressError,
  checkTimeout,
  P2pdNetError,
  throwIfAborted,
} from "./errors.js";
import { formatIp, isLinkLocal6, tryParseIp } from "./ip.js";
import type { Route } from "./route.js";
import { checkPort } from "./route.js";

/** `dns.promises.lookup`-shaped function; injectable so tests never query a real resolver. */
export type LookupFn = (
  host: string,
  opts: { family: 0 | 4 | 6; all: true; verbatim: true },
) => Promise<{ address: string; family: number }[]>;

export interface ResolveOptions {
  /** The route the address will be used with: its family wins, its interface scopes link-locals. */
  route?: Pick<Route, "family"> & { scopeId?: string | undefined };
  family?: Family;
  /** DNS deadline (default 2000 ms, as P2PD). */
  timeoutMs?: number;
  signal?: AbortSignal;
  lookup?: LookupFn;
}

export interface AddressJSON {
  host: string;
  ip: string;
  port: number;
  family: Family;
  scopeId?: string;
  hostType: "ip" | "domain";
  ips: string[];
}

const HOST_RE =
  /^(?=.{1,253}$)([A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)(\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*\.?$/;

/** Splits "host:port", "[v6]:port", "[fe80::1%eth0]:port" and "v4" forms. */
export function splitHostPort(target: string): { host: string; port?: number } {
  if (typeof target !== "string" || target.length === 0 || target.length > 300) {
    throw new BadAddressError("target must be a non-empty string");
  }
  const t = target.trim();
  const portOf = (s: string): number => {
    if (!/^\d{1,5}$/.test(s))
      throw new P2pdNetError("ERR_BAD_PORT", `bad port in ${JSON.stringify(target)}`);
    return checkPort(Number(s));
  };
  if (t.startsWith("[")) {
    const end = t.indexOf("]");
    if (end === -1) throw new BadAddressError(`unclosed [ in ${JSON.stringify(target)}`);
    const host = t.slice(1, end);
    const rest = t.slice(end + 1);
    if (rest === "") return { host };
    if (!rest.startsWith(":"))
      throw new BadAddressError(`junk after ] in ${JSON.stringify(target)}`);
    return { host, port: portOf(rest.slice(1)) };
  }
  const colons = t.split(":").length - 1;
  if (colons === 0) return { host: t };
  if (colons === 1) {
    const [host, port] = t.split(":") as [string, string];
    return { host, port: portOf(port) };
  }
  return { host: t }; // a bare IPv6 literal
}

/** A resolved destination: hostname or IP literal, port, family, and classification. */
export class Address {
  readonly host: string;
  readonly ip: string;
  readonly port: number;
  readonly family: Family;
  readonly scopeId: string | undefined;
  readonly hostType: "ip" | "domain";
  /** Every address DNS gave for the chosen family, in resolver order. */
  readonly ips: readonly string[];

  private constructor(j: AddressJSON) {
    this.host = j.host;
    this.ip = j.ip;
    this.port = j.port;
    this.family = j.family;
    this.scopeId = j.scopeId;
    this.hostType = j.hostType;
    this.ips = [...j.ips];
  }

  get class(): IpClass {
    return classifyIp(this.ip);
  }

  get isPrivate(): boolean {
    return isPrivateIp(this.ip);
  }

  get isPublic(): boolean {
    return !this.isPrivate;
  }

  get isLoopback(): boolean {
    return this.class === "loopback";
  }

  /**
   * Resolves `host` (IP literal or DNS name) for `port`. With a route, the family must match
   * (ERR_FAMILY_MISMATCH); names resolve only to that family. Link-locals get the route's zone.
   */
  static async resolve(host: string, port: number, opts: ResolveOptions = {}): Promise<Address> {
    throwIfAborted(opts.signal);
    checkPort(port);
    if (typeof host !== "string" || host.length === 0)
      throw new BadAddressError("host must be a non-empty string");
    const family = opts.route?.family ?? opts.family;
    if (opts.route && opts.family && opts.family !== opts.route.family) {
      throw new P2pdNetError(
        "ERR_FAMILY_MISMATCH",
        "family option differs from the route's family",
      );
    }
    const literal = tryParseIp(host);
    if (literal) {
      if (family && literal.family !== family) {
        throw new P2pdNetError("ERR_FAMILY_MISMATCH", `${host} is not IPv${family}`);
      }
      const ip = formatIp(literal.family, literal.value);
      const j: AddressJSON = { host, ip, port, family: literal.family, hostType: "ip", ips: [ip] };
      const scope = literal.scopeId ?? opts.route?.scopeId;
      if (literal.family === 6 && isLinkLocal6(literal.value) && scope !== undefined)
        j.scopeId = scope;
      return new Address(j);
    }
    if (host.includes("%") || host.includes(":") || !HOST_RE.test(host)) {
      throw new BadAddressError(`not an IP address or host name: ${JSON.stringify(host)}`);
    }
    const timeoutMs = checkTimeout(opts.timeoutMs ?? 2000);
    const lookup: LookupFn = opts.lookup ?? (dnsLookup as unknown as LookupFn);
    let found: { address: string; family: number }[];
    try {
      found = await raceAbort(
        Promise.resolve().then(() =>
          lookup(host, { family: family ?? 0, all: true, verbatim: true }),
        ),
        opts.signal,
        {
          ms: timeoutMs,
          error: timeoutError("ERR_DNS_TIMEOUT", `DNS lookup of ${host}`, timeoutMs),
        },
      );
    } catch (e) {
      if (e instanceof AbortedError || (e instanceof P2pdNetError && e.code === "ERR_DNS_TIMEOUT"))
        throw e;
      const code = (e as { code?: unknown }).code;
      throw new P2pdNetError(
        "ERR_DNS",
        `cannot resolve ${host}${typeof code === "string" ? ` (${code})` : ""}`,
        {
          cause: e,
        },
      );
    }
    const ips: { ip: string; family: Family }[] = [];
    for (const r of Array.isArray(found) ? found : []) {
      const p = typeof r?.address === "string" ? tryParseIp(r.address) : undefined;
      if (!p || (family && p.family !== family)) continue;
      ips.push({ ip: formatIp(p.family, p.value), family: p.family });
    }
    const first = ips[0];
    if (!first) {
      throw new P2pdNetError("ERR_DNS", `${host} has no ${family ? `IPv${family} ` : ""}address`);
    }
    const sameFamily = ips.filter((x) => x.family === first.family).map((x) => x.ip);
    return new Address({
      host,
      ip: first.ip,
      port,
      family: first.family,
      hostType: "domain",
      ips: sameFamily,
    });
  }

  /** Parses "host:port" / "[v6%zone]:port" (or a bare host with `defaultPort`) and resolves it. */
  static async parse(
    target: string,
    opts: ResolveOptions & { defaultPort?: number } = {},
  ): Promise<Address> {
    const { host, port } = splitHostPort(target);
    const p = port ?? opts.defaultPort;
    if (p === undefined)
      throw new P2pdNetError("ERR_BAD_PORT", `no port in ${JSON.stringify(target)}`);
    return Address.resolve(host, p, opts);
  }

  static fromJSON(j: unknown): Address {
    if (typeof j !== "object" || j === null)
      throw new P2pdNetError("ERR_BAD_JSON", "address JSON must be an object");
    const o = j as Record<string, unknown>;
    const p = typeof o.ip === "string" ? tryParseIp(o.ip) : undefined;
    if (!p) throw new P2pdNetError("ERR_BAD_JSON", "address JSON has no valid ip");
    const port = checkPort(o.port);
    const ip = formatIp(p.family, p.value);
    const out: AddressJSON = {
      host: typeof o.host === "string" ? o.host : ip,
      ip,
      port,
      family: p.family,
      hostType: o.hostType === "domain" ? "domain" : "ip",
      ips: Array.isArray(o.ips)
        ? o.ips.filter(
            (x): x is string => typeof x === "string" && tryParseIp(x)?.family === p.family,
          )
        : [ip],
    };
    if (typeof o.scopeId === "string" && p.family === 6 && isLinkLocal6(p.value))
      out.scopeId = o.scopeId;
    return new Address(out);
  }

  toEndpoint(): Endpoint {
    const e: Endpoint = { host: this.ip, port: this.port, family: this.family };
    if (this.scopeId !== undefined) e.scopeId = this.scopeId;
    return e;
  }

  /** "ip:port" or "[v6%zone]:port". */
  toString(): string {
    const ip = this.scopeId ? `${this.ip}%${this.scopeId}` : this.ip;
    return this.family === 6 ? `[${ip}]:${this.port}` : `${ip}:${this.port}`;
  }

  toJSON(): AddressJSON {
    const j: AddressJSON = {
      host: this.host,
      ip: this.ip,
      port: this.port,
      family: this.family,
      hostType: this.hostType,
      ips: [...this.ips],
    };
    if (this.scopeId !== undefined) j.scopeId = this.scopeId;
    return j;
  }
}

/** "host:port" text of an endpoint, zone included (the form used for subscription matching). */
export function endpointToString(e: Endpoint): string {
  const ip = e.scopeId ? `${e.host}%${e.scopeId}` : e.host;
  return e.family === 6 ? `[${ip}]:${e.port}` : `${ip}:${e.port}`;
}
