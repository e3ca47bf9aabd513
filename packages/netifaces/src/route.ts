import type { Endpoint, Family, RouteLike } from "./endpoint.js";
import { BadAddressError, P2pdNetError } from "./errors.js";
import { formatIp, isLinkLocal6, tryParseIp } from "./ip.js";
import { IPRange, type IPRangeJSON, toFamily } from "./ip-range.js";

/** JSON of a route. `link_locals` is what P2PD forgot to serialise. */
export interface RouteJSON {
  af: Family;
  nic_ips: IPRangeJSON[];
  ext_ips: IPRangeJSON[];
  link_locals: string[];
}

export interface RouteInit {
  family: Family;
  nicIps: IPRange[];
  /** External ranges; empty when unknown (startLocal, or lookup skipped). */
  extIps?: IPRange[];
  /** IPv6 link-local addresses of the interface (no zone). */
  linkLocals?: string[];
  interfaceName?: string;
  /** Zone for fe80::/10 binds: interface name on Unix, index on Windows. */
  scopeId?: string;
}

/** What `bind(port, ips)` accepts as `ips`: "" or "*" = wildcard, an IP, or one IP per family. */
export type BindIps = string | Partial<Record<Family, string>>;

/** A usable host of a range: the address itself, or the first host of an assigned block. */
export function hostOf(r: IPRange): string {
  if (r.isHost) return r.ip;
  return r.size > 2n ? r.at(1) : r.first;
}

export function checkPort(port: unknown): number {
  if (typeof port !== "number" || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new P2pdNetError(
      "ERR_BAD_PORT",
      `port must be an integer from 0 to 65535, got ${String(port)}`,
    );
  }
  return port + 0; // -0 -> 0
}

/**
 * NIC address ranges that reach the internet as one external range, plus bind state.
 * Implements RouteLike so pipes can bind through it.
 */
export class Route implements RouteLike {
  readonly family: Family;
  readonly nicIps: readonly IPRange[];
  readonly extIps: readonly IPRange[];
  readonly linkLocals: readonly string[];
  readonly interfaceName: string | undefined;
  readonly scopeId: string | undefined;
  #port = 0;
  #nicIp: string | undefined;
  #extIp: string | undefined;

  constructor(init: RouteInit) {
    this.family = init.family;
    for (const r of [...init.nicIps, ...(init.extIps ?? [])]) {
      if (r.family !== init.family) {
        throw new P2pdNetError("ERR_FAMILY_MISMATCH", `${r.toString()} is not IPv${init.family}`);
      }
    }
    this.nicIps = [...init.nicIps];
    this.extIps = [...(init.extIps ?? [])];
    this.linkLocals = [...(init.linkLocals ?? [])];
    this.interfaceName = init.interfaceName;
    this.scopeId = init.scopeId;
  }

  /** First NIC address (falls back to the first link-local on link-local-only IPv6 links). */
  nic(): string {
    const first = this.nicIps[0];
    if (first) return hostOf(first);
    const ll = this.linkLocals[0];
    if (ll) return ll;
    throw new P2pdNetError("ERR_NO_ROUTE", `route has no IPv${this.family} NIC address`);
  }

  /** The external (WAN) address, undefined when not resolved. */
  ext(): string | undefined {
    const first = this.extIps[0];
    return first ? hostOf(first) : undefined;
  }

  linkLocal(): string | undefined {
    return this.linkLocals[0];
  }

  get bindPort(): number {
    return this.#port;
  }

  /**
   * Sets the bind port and IPs; returns `this`. Unlike P2PD, IPs are not sticky: omitting `ips`
   * goes back to the route's own NIC/EXT addresses.
   */
  bind(port?: number, ips?: BindIps): this {
    if (port !== undefined) this.#port = checkPort(port);
    if (ips === undefined) {
      this.#nicIp = undefined;
      this.#extIp = undefined;
      return this;
    }
    let ip: string | undefined;
    if (typeof ips === "string") ip = ips;
    else if (typeof ips === "object" && ips !== null) ip = ips[this.family];
    else throw new BadAddressError("bind ips must be a string or a {4,6} map");
    if (ip === undefined)
      throw new P2pdNetError("ERR_FAMILY_MISMATCH", `no IPv${this.family} bind IP given`);
    if (ip === "" || ip === "*") {
      const any = this.family === 4 ? "0.0.0.0" : "::";
      this.#nicIp = any;
      this.#extIp = any;
      return this;
    }
    const p = tryParseIp(ip);
    if (!p) throw new BadAddressError(`not an IP address: ${JSON.stringify(ip)}`);
    if (p.family !== this.family) {
      throw new P2pdNetError("ERR_FAMILY_MISMATCH", `${ip} is not IPv${this.family}`);
    }
    const text = formatIp(p.family, p.value);
    this.#nicIp = p.scopeId === undefined ? text : `${text}%${p.scopeId}`;
    this.#extIp = this.#nicIp;
    return this;
  }

  private endpoint(ipWithZone: string): Endpoint {
    const [host, zone] = ipWithZone.split("%") as [string, string | undefined];
    const e: Endpoint = { host, port: this.#port, family: this.family };
    // Only fe80::/10 needs a zone; libuv rejects numeric zones on Unix, so it carries the name.
    if (this.family === 6 && isLinkLocal6(host)) {
      const scope = zone ?? this.scopeId;
      if (scope !== undefined) e.scopeId = scope;
    }
    return e;
  }

  nicBind(): Endpoint {
    return this.endpoint(this.#nicIp ?? this.nic());
  }

  /** The external address with the bind port, when known. */
  extBind(): Endpoint | undefined {
    const ext = this.#extIp ?? this.ext();
    return ext === undefined ? undefined : this.endpoint(ext);
  }

  loopbackBind(): Endpoint {
    return { host: this.family === 4 ? "127.0.0.1" : "::1", port: this.#port, family: this.family };
  }

  setBindPort(port: number): void {
    this.#port = checkPort(port);
  }

  /** Same ranges and bind state, detached from this object. */
  copy(): Route {
    const r = new Route(this.initOf());
    r.#port = this.#port;
    r.#nicIp = this.#nicIp;
    r.#extIp = this.#extIp;
    return r;
  }

  /** A copy whose external side is the single address `ext`. */
  withExt(ext: IPRange): Route {
    return new Route({ ...this.initOf(), extIps: [ext] });
  }

  private initOf(): RouteInit {
    const init: RouteInit = {
      family: this.family,
      nicIps: [...this.nicIps],
      extIps: [...this.extIps],
      linkLocals: [...this.linkLocals],
    };
    if (this.interfaceName !== undefined) init.interfaceName = this.interfaceName;
    if (this.scopeId !== undefined) init.scopeId = this.scopeId;
    return init;
  }

  /** Routes compare by external address (as in P2PD). */
  equals(other: Route | IPRange | string): boolean {
    const mine = this.extIps[0];
    if (!mine) return false;
    if (other instanceof Route) {
      const o = other.extIps[0];
      return o !== undefined && mine.intersects(o);
    }
    const r = typeof other === "string" ? IPRange.from(other) : other;
    return mine.intersects(r);
  }

  /** True when `ip` is one of this route's NIC addresses or inside one of its NIC blocks. */
  hasNic(ip: string): boolean {
    const bare = ip.split("%")[0] as string;
    return this.nicIps.some((r) => r.contains(bare)) || this.linkLocals.includes(bare);
  }

  toJSON(): RouteJSON {
    return {
      af: this.family,
      nic_ips: this.nicIps.map((r) => r.toJSON()),
      ext_ips: this.extIps.map((r) => r.toJSON()),
      link_locals: [...this.linkLocals],
    };
  }

  toString(): string {
    const ext = this.extIps.map(String).join(", ") || "?";
    return `[${this.nicIps.map(String).join(", ")}] -> [${ext}]`;
  }

  /**
   * A route for binding `ip` on an interface (P2PD's bind_to_route): NIC side = `ip`; external side =
   * `ip` when public, else the external range of the interface route whose NIC ranges hold `ip`.
   */
  static fromBindAddress(
    iface: { routes(f: Family): Route[]; readonly name: string; readonly scopeId: string },
    ip: string,
    port = 0,
  ): Route {
    const p = tryParseIp(ip);
    if (!p) throw new BadAddressError(`not an IP address: ${JSON.stringify(ip)}`);
    const nic = IPRange.fromNumber(p.family, p.value);
    const owner = iface.routes(p.family).find((r) => r.hasNic(nic.ip));
    const ext = nic.isPublic ? [nic] : owner ? [...owner.extIps] : [];
    const r = new Route({
      family: p.family,
      nicIps: [nic],
      extIps: ext,
      linkLocals: owner ? [...owner.linkLocals] : [],
      interfaceName: iface.name,
      scopeId: p.scopeId ?? iface.scopeId,
    });
    return r.bind(port);
  }

  /** Accepts this package's JSON and P2PD's (`af` 2/10/23/30, no link_locals, camelCase too). */
  static fromJSON(j: unknown, ctx: { interfaceName?: string; scopeId?: string } = {}): Route {
    if (typeof j !== "object" || j === null)
      throw new P2pdNetError("ERR_BAD_JSON", "route JSON must be an object");
    const o = j as Record<string, unknown>;
    const family = toFamily(o.af ?? o.family);
    if (!family) throw new P2pdNetError("ERR_BAD_JSON", `route JSON has bad af ${String(o.af)}`);
    const list = (v: unknown, what: string): unknown[] => {
      if (v === undefined || v === null) return [];
      if (!Array.isArray(v))
        throw new P2pdNetError("ERR_BAD_JSON", `route JSON ${what} must be a list`);
      return v;
    };
    try {
      const nicIps = list(o.nic_ips ?? o.nicIps, "nic_ips").map((x) => IPRange.fromJSON(x));
      const extIps = list(o.ext_ips ?? o.extIps, "ext_ips").map((x) => IPRange.fromJSON(x));
      const linkLocals = list(o.link_locals ?? o.linkLocals, "link_locals").map((x) => {
        const p = typeof x === "string" ? tryParseIp(x) : undefined;
        if (p?.family !== 6) throw new BadAddressError(`bad link-local ${String(x)}`);
        return formatIp(6, p.value);
      });
      return new Route({ family, nicIps, extIps, linkLocals, ...ctx });
    } catch (e) {
      if (e instanceof P2pdNetError && e.code === "ERR_BAD_JSON") throw e;
      throw new P2pdNetError("ERR_BAD_JSON", `bad route JSON: ${(e as Error).message}`, {
        cause: e,
      });
    }
  }
}
