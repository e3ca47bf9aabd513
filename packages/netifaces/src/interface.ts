import {
  buildRoutes,
  type ExternalIpResolver,
  localRoutes,
  usableAddresses,
} from "./build-routes.js";
import { deadline } from "./deadline.js";
import type { Family } from "./endpoint.js";
import { AbortedError, checkTimeout, P2pdNetError, throwIfAborted } from "./errors.js";
import {
  type DefaultRoute,
  type NetSnapshot,
  pickDefaults,
  scopeIdFor,
  snapshot,
} from "./interfaces-list.js";
import { toFamily } from "./ip-range.js";
import { jsonNumber } from "./json-number.js";
import { type InterfaceKind, interfaceKind } from "./kind.js";
import { DELTA_TEXT, defaultNat, NAT_TEXT, type NatInfo, parseNat } from "./nat-info.js";
import type { LinkInfo, NetInfoProvider } from "./providers/types.js";
import { Route, type RouteJSON } from "./route.js";
import { RoutePool } from "./route-pool.js";

export type Stack = "dual" | Family | "unknown";

export interface StartOptions {
  /** External-address lookup (e.g. `@p2pd/stun`'s). Required unless `skipResolve`. */
  resolveExternalIp?: ExternalIpResolver;
  /** Cap per family for the lookups (default 15000 ms, as P2PD). */
  timeoutMs?: number;
  /** Public NIC addresses are taken as-is; private ones are looked up only if a resolver is given. */
  skipResolve?: boolean;
  signal?: AbortSignal;
  provider?: NetInfoProvider;
}

export interface StartLocalOptions {
  signal?: AbortSignal;
  provider?: NetInfoProvider;
}

export interface InterfaceJSON {
  name: string;
  index?: number;
  id: string | number;
  mac: string;
  mtu?: number;
  type: InterfaceKind;
  is_default: Record<"4" | "6", boolean>;
  gateways: Partial<Record<"4" | "6", string | null>>;
  nat: {
    type: number;
    nat_info: string;
    delta: { type: number; value: number };
    delta_info: string;
    range: [number, number];
  };
  rp: Record<"4" | "6", RouteJSON[]>;
}

interface InterfaceInit {
  name: string;
  index?: number;
  mac?: string;
  mtu?: number;
  platform: string;
  pools: Record<Family, RoutePool>;
  defaults: Partial<Record<Family, DefaultRoute>>;
  nat?: NatInfo;
  errors?: Error[];
}

function badJson(msg: string, cause?: unknown): P2pdNetError {
  return new P2pdNetError("ERR_BAD_JSON", msg, cause === undefined ? undefined : { cause });
}

/** Picks the link for a name or family from a snapshot (P2PD's load_if_info). */
export function pickLink(s: NetSnapshot, nameOrFamily?: string | Family): LinkInfo {
  const defaults = pickDefaults(s);
  let name: string | undefined;
  if (typeof nameOrFamily === "string") {
    name = nameOrFamily;
  } else if (nameOrFamily === 4 || nameOrFamily === 6) {
    name = defaults[nameOrFamily]?.interface;
    if (!name) throw new P2pdNetError("ERR_NO_ROUTE", `no IPv${nameOrFamily} default route`);
  } else if (nameOrFamily === undefined) {
    name = defaults[4]?.interface ?? defaults[6]?.interface;
    // No default route: fall back to the first up Ethernet/Wi-Fi link with an address.
    name ??= s.links.find(
      (l) => l.up && !l.internal && l.addresses.length > 0 && interfaceKind(l.name) !== "unknown",
    )?.name;
    if (!name) throw new P2pdNetError("ERR_NO_ROUTE", "no default route and no usable interface");
  } else {
    throw new P2pdNetError(
      "ERR_NO_SUCH_INTERFACE",
      `bad interface selector ${String(nameOrFamily)}`,
    );
  }
  const link = s.links.find((l) => l.name === name);
  if (!link)
    throw new P2pdNetError("ERR_NO_SUCH_INTERFACE", `no interface named ${JSON.stringify(name)}`);
  return link;
}

/** A network interface with its routes per family (P2PD's Interface). */
export class Interface {
  readonly name: string;
  readonly index: number | undefined;
  readonly mac: string;
  readonly mtu: number | undefined;
  readonly type: InterfaceKind;
  readonly pools: Record<Family, RoutePool>;
  readonly platform: string;
  /** Lookup failures during start() (families may still be partly usable). */
  readonly errors: readonly Error[];
  nat: NatInfo;
  #defaults: Partial<Record<Family, DefaultRoute>>;

  private constructor(init: InterfaceInit) {
    this.name = init.name;
    this.index = init.index;
    this.mac = init.mac ?? "";
    this.mtu = init.mtu;
    this.platform = init.platform;
    this.type = interfaceKind(init.name);
    this.pools = init.pools;
    this.#defaults = init.defaults;
    this.nat = init.nat ?? defaultNat();
    this.errors = init.errors ?? [];
  }

  /**
   * Resolves an interface (a name, the default for a family, or the default one) and builds its
   * routes, looking up external addresses with the injected `resolveExternalIp`.
   */
  static async start(nameOrFamily?: string | Family, opts: StartOptions = {}): Promise<Interface> {
    const { signal } = opts;
    throwIfAborted(signal);
    if (!opts.resolveExternalIp && !opts.skipResolve) {
      throw new P2pdNetError(
        "ERR_NO_RESOLVER",
        "Interface.start needs resolveExternalIp (e.g. from @p2pd/stun), or use skipResolve / startLocal",
      );
    }
    const timeoutMs = checkTimeout(opts.timeoutMs ?? 15_000);
    const snap = await snapshot({ ...opts, ...(signal ? { signal } : {}) });
    const link = pickLink(snap, nameOrFamily);
    const defaults = pickDefaults(snap);
    const scopeId = scopeIdFor(snap.platform, link);
    const errors: Error[] = [];
    const addresses = await usableAddresses(link.addresses);
    const built = await Promise.all(
      ([4, 6] as const).map(async (family) => {
        // P2PD skips a family with no default route at all: nothing to look up through.
        const routable = snap.defaults.some((d) => d.family === family);
        if (!routable) {
          const ll = localRoutes({
            family,
            addresses: link.addresses,
            interfaceName: link.name,
            scopeId,
          });
          return new RoutePool(family, [], ll.linkLocals);
        }
        const limit = deadline(timeoutMs, signal);
        const fam = limit.signal;
        try {
          const r = await buildRoutes({
            family,
            addresses,
            interfaceName: link.name,
            scopeId,
            ...(opts.resolveExternalIp ? { resolveExternalIp: opts.resolveExternalIp } : {}),
            ...(opts.skipResolve ? { skipResolve: true } : {}),
            signal: fam,
          });
          errors.push(...r.errors);
          return new RoutePool(family, r.routes, r.linkLocals);
        } catch (e) {
          if (signal?.aborted) throw new AbortedError(signal.reason);
          errors.push(
            e instanceof AbortedError
              ? new P2pdNetError("ERR_TIMEOUT", `IPv${family} lookups exceeded ${timeoutMs} ms`)
              : (e as Error),
          );
          return new RoutePool(family, [], []);
        } finally {
          limit.clear();
        }
      }),
    );
    return new Interface({
      ...Interface.linkInit(link),
      platform: snap.platform,
      pools: { 4: built[0] as RoutePool, 6: built[1] as RoutePool },
      defaults,
      errors,
    });
  }

  /** Like start() without any lookup: one route per family with the NIC addresses, ext unknown. */
  static async startLocal(
    name?: string | Family,
    opts: StartLocalOptions = {},
  ): Promise<Interface> {
    const snap = await snapshot(opts);
    const link = pickLink(snap, name);
    const scopeId = scopeIdFor(snap.platform, link);
    const pool = (family: Family) => {
      const r = localRoutes({
        family,
        addresses: link.addresses,
        interfaceName: link.name,
        scopeId,
      });
      return new RoutePool(family, r.routes, r.linkLocals);
    };
    return new Interface({
      ...Interface.linkInit(link),
      platform: snap.platform,
      pools: { 4: pool(4), 6: pool(6) },
      defaults: pickDefaults(snap),
    });
  }

  private static linkInit(link: LinkInfo) {
    return {
      name: link.name,
      ...(link.index !== undefined ? { index: link.index } : {}),
      ...(link.mac !== undefined ? { mac: link.mac } : {}),
      ...(link.mtu !== undefined ? { mtu: link.mtu } : {}),
    };
  }

  /** "dual" when both families have routes. */
  get stack(): Stack {
    const has4 = !this.pools[4].isEmpty;
    const has6 = !this.pools[6].isEmpty;
    return has4 && has6 ? "dual" : has4 ? 4 : has6 ? 6 : "unknown";
  }

  supported(): Family[] {
    return ([4, 6] as const).filter((f) => !this.pools[f].isEmpty);
  }

  /** Zone id for link-local binds: the name on Unix, the index on Windows. */
  get scopeId(): string {
    return scopeIdFor(this.platform, {
      name: this.name,
      ...(this.index !== undefined ? { index: this.index } : {}),
    });
  }

  /** A copy of the primary (first, default) route; P2PD returned the last one by mistake. */
  route(family?: Family): Route {
    const fam = family ?? this.supported()[0];
    const r = fam === undefined ? undefined : this.pools[fam].routes[0];
    if (!r) {
      throw new P2pdNetError(
        "ERR_NO_ROUTE",
        `interface ${this.name} has no ${family ? `IPv${family} ` : ""}route`,
      );
    }
    return r.copy();
  }

  routes(family: Family): Route[] {
    return this.pools[family].routes.map((r) => r.copy());
  }

  isDefault(family: Family): boolean {
    return this.#defaults[family]?.interface === this.name;
  }

  gateway(family: Family): string | undefined {
    const d = this.#defaults[family];
    return d?.interface === this.name ? (d.gateway ?? undefined) : undefined;
  }

  toJSON(): InterfaceJSON {
    const gateways: Partial<Record<"4" | "6", string | null>> = {};
    for (const f of [4, 6] as const) {
      const d = this.#defaults[f];
      if (d?.interface === this.name) gateways[f] = d.gateway;
    }
    const j: InterfaceJSON = {
      name: this.name,
      id: this.index ?? this.name,
      mac: this.mac,
      type: this.type,
      is_default: { 4: this.isDefault(4), 6: this.isDefault(6) },
      gateways,
      nat: {
        type: this.nat.type,
        nat_info: NAT_TEXT[this.nat.type],
        delta: { ...this.nat.delta },
        delta_info: DELTA_TEXT[this.nat.delta.type],
        range: [...this.nat.range],
      },
      rp: { 4: this.pools[4].toJSON(), 6: this.pools[6].toJSON() },
    };
    if (this.index !== undefined) j.index = this.index;
    if (this.mtu !== undefined) j.mtu = this.mtu;
    return j;
  }

  /**
   * P2PD's Python `to_dict` shape, for talking to Python peers: OS AF numbers as keys (2 and
   * `af6`, 10 = Linux by default), exploded IPv6, `nic_no`. Link-locals are left out as P2PD does.
   */
  toPythonDict(af6: 10 | 23 | 28 | 30 = 10): Record<string, unknown> {
    const afOf = (f: Family) => (f === 4 ? 2 : af6);
    const ipr = (r: { family: Family; prefix: number; exploded(): string }) => ({
      ip: r.exploded(),
      cidr: r.prefix,
      af: afOf(r.family),
    });
    const rp: Record<string, unknown[]> = {};
    for (const f of [4, 6] as const) {
      rp[String(afOf(f))] = this.pools[f].routes.map((r) => ({
        af: afOf(f),
        nic_ips: r.nicIps.map(ipr),
        ext_ips: r.extIps.map(ipr),
      }));
    }
    return {
      name: this.name,
      nic_no: this.index ?? 0,
      id: this.platform === "win32" && this.index !== undefined ? this.index : this.name,
      mac: this.mac,
      is_default: { "2": this.isDefault(4), [String(af6)]: this.isDefault(6) },
      nat: {
        type: this.nat.type,
        nat_info: NAT_TEXT[this.nat.type],
        delta: { ...this.nat.delta },
        delta_info: DELTA_TEXT[this.nat.delta.type],
      },
      rp,
    };
  }

  /**
   * Rebuilds an interface from toJSON() output, or from P2PD's `to_dict` (keys "2"/"10"/"23"/"30",
   * `nic_no`, no link-locals). Throws ERR_BAD_JSON on malformed input.
   */
  static fromJSON(j: unknown, opts: { platform?: string } = {}): Interface {
    if (typeof j !== "object" || j === null || Array.isArray(j))
      throw badJson("interface JSON must be an object");
    const o = j as Record<string, unknown>;
    if (typeof o.name !== "string" || o.name.length === 0 || o.name.length > 256) {
      throw badJson("interface JSON lacks a name");
    }
    const name = o.name;
    const rawIndex = o.index ?? o.nic_no ?? (typeof o.id === "number" ? o.id : undefined);
    // `+ 0` folds -0 into 0 so a JSON round trip is exact.
    const index =
      rawIndex === undefined || rawIndex === null ? undefined : jsonNumber(rawIndex) + 0;
    if (index !== undefined && (!Number.isInteger(index) || index < 0))
      throw badJson("bad interface index");
    const mac = o.mac === undefined || o.mac === null ? "" : o.mac;
    if (typeof mac !== "string") throw badJson("mac must be a string");
    const mtu = o.mtu === undefined ? undefined : jsonNumber(o.mtu);
    if (mtu !== undefined && (!Number.isInteger(mtu) || mtu <= 0)) throw badJson("bad mtu");
    // Zones depend on the OS that binds (index on Windows), not on the one that wrote the JSON.
    const platform = opts.platform ?? process.platform;
    const scopeId = platform === "win32" && index !== undefined ? String(index) : name;

    const rp = o.rp ?? {};
    if (typeof rp !== "object" || rp === null || Array.isArray(rp))
      throw badJson("rp must be an object");
    const routes: Record<Family, Route[]> = { 4: [], 6: [] };
    const lls: Record<Family, string[]> = { 4: [], 6: [] };
    for (const [k, list] of Object.entries(rp as Record<string, unknown>)) {
      const fam = toFamily(k);
      if (!fam) throw badJson(`rp key ${k} is not an address family`);
      if (!Array.isArray(list)) throw badJson(`rp[${k}] must be a list`);
      for (const rj of list) {
        const r = Route.fromJSON(rj, { interfaceName: name, scopeId });
        if (r.family !== fam) throw badJson(`route of IPv${r.family} under rp[${k}]`);
        routes[fam].push(r);
        for (const ll of r.linkLocals) if (!lls[fam].includes(ll)) lls[fam].push(ll);
      }
    }
    const defaults: Partial<Record<Family, DefaultRoute>> = {};
    const isDef = o.is_default ?? {};
    const gws = (o.gateways ?? {}) as Record<string, unknown>;
    if (typeof isDef === "object" && isDef !== null) {
      for (const [k, v] of Object.entries(isDef as Record<string, unknown>)) {
        const fam = toFamily(k);
        if (fam && v === true) {
          const gw = gws[String(fam)];
          defaults[fam] = { interface: name, gateway: typeof gw === "string" ? gw : null };
        }
      }
    }
    let nat: NatInfo | undefined;
    if (o.nat !== undefined && o.nat !== null) {
      nat = parseNat(o.nat);
      if (!nat) throw badJson("bad nat");
    }
    return new Interface({
      name,
      ...(index !== undefined ? { index } : {}),
      mac,
      ...(mtu !== undefined ? { mtu } : {}),
      platform,
      pools: { 4: new RoutePool(4, routes[4], lls[4]), 6: new RoutePool(6, routes[6], lls[6]) },
      defaults,
      ...(nat ? { nat } : {}),
    });
  }
}
