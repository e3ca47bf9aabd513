import { classifyIp, type IpClass } from "./classify.js";
import type { Family } from "./endpoint.js";
import { throwIfAborted } from "./errors.js";
import { isLinkLocal6 } from "./ip.js";
import { type InterfaceKind, interfaceKind } from "./kind.js";
import { defaultProvider } from "./providers/index.js";
import type { DefaultGateway, LinkInfo, NetInfoProvider, RouteEntry } from "./providers/types.js";

export interface ListOptions {
  provider?: NetInfoProvider;
  signal?: AbortSignal;
}

export interface AddressInfo {
  family: Family;
  address: string;
  prefix: number;
  class: IpClass;
  /** Zone to use for fe80::/10 (name on Unix, index on Windows). */
  scopeId?: string;
}

/** Everything the OS says about one interface, without any network lookup. */
export interface InterfaceInfo extends Omit<LinkInfo, "addresses"> {
  type: InterfaceKind;
  addresses: AddressInfo[];
  /** Default gateway per family on this interface, if it holds a default route. */
  gateways: Partial<Record<Family, string | null>>;
  isDefault: Record<Family, boolean>;
  routes: RouteEntry[];
}

export interface DefaultRoute {
  interface: string;
  /** null for a default route without next hop (point-to-point links, some VPNs). */
  gateway: string | null;
}

export interface NetSnapshot {
  platform: string;
  links: LinkInfo[];
  defaults: DefaultGateway[];
  routes: RouteEntry[];
}

/** Reads links, default routes and route tables once. */
export async function snapshot(opts: ListOptions = {}): Promise<NetSnapshot> {
  throwIfAborted(opts.signal);
  const provider = opts.provider ?? defaultProvider();
  const [links, defaults, r4, r6] = await Promise.all([
    provider.listAddresses(opts.signal),
    provider.defaultGateways(opts.signal),
    provider.routes(4, opts.signal),
    provider.routes(6, opts.signal),
  ]);
  return { platform: provider.platform, links, defaults, routes: [...r4, ...r6] };
}

/** The interface and gateway of the best default route per family (only up interfaces). */
export function pickDefaults(s: NetSnapshot): Partial<Record<Family, DefaultRoute>> {
  const out: Partial<Record<Family, DefaultRoute>> = {};
  for (const fam of [4, 6] as const) {
    const best = s.defaults
      .filter((d) => d.family === fam)
      .filter((d) => s.links.find((l) => l.name === d.interface)?.up ?? true)
      .sort((a, b) => a.metric - b.metric)[0];
    if (best) out[fam] = { interface: best.interface, gateway: best.gateway ?? null };
  }
  return out;
}

export function scopeIdFor(platform: string, link: Pick<LinkInfo, "name" | "index">): string {
  return platform === "win32" && link.index !== undefined ? String(link.index) : link.name;
}

export function describeLinks(s: NetSnapshot): InterfaceInfo[] {
  const defaults = pickDefaults(s);
  return s.links.map((l) => {
    const scope = scopeIdFor(s.platform, l);
    const gateways: Partial<Record<Family, string | null>> = {};
    for (const d of s.defaults) {
      if (d.interface === l.name && !(d.family in gateways)) gateways[d.family] = d.gateway ?? null;
    }
    const info: InterfaceInfo = {
      name: l.name,
      up: l.up,
      internal: l.internal,
      type: l.internal ? "loopback" : interfaceKind(l.name),
      addresses: l.addresses.map((a) => {
        const ai: AddressInfo = {
          family: a.family,
          address: a.address,
          prefix: a.prefix,
          class: classifyIp(a.address),
        };
        if (a.family === 6 && isLinkLocal6(a.address)) ai.scopeId = scope;
        return ai;
      }),
      gateways,
      isDefault: { 4: defaults[4]?.interface === l.name, 6: defaults[6]?.interface === l.name },
      routes: s.routes.filter((r) => r.interface === l.name),
    };
    if (l.index !== undefined) info.index = l.index;
    if (l.mac !== undefined) info.mac = l.mac;
    if (l.mtu !== undefined) info.mtu = l.mtu;
    return info;
  });
}

/** Lists every interface (up or down, with or without addresses), offline. */
export async function listInterfaces(opts: ListOptions = {}): Promise<InterfaceInfo[]> {
  return describeLinks(await snapshot(opts));
}

export async function listInterfaceNames(opts: ListOptions = {}): Promise<string[]> {
  return (await (opts.provider ?? defaultProvider()).listAddresses(opts.signal)).map((l) => l.name);
}

/** The default interface and gateway per family, from the OS routing table. */
export async function defaultRoutes(
  opts: ListOptions = {},
): Promise<Partial<Record<Family, DefaultRoute>>> {
  return pickDefaults(await snapshot(opts));
}

/** Has a default route, or owns a global IPv6 address (P2PD's "internet interface" test). */
export function isInternetLink(s: NetSnapshot, name: string): boolean {
  if (s.defaults.some((d) => d.interface === name)) return true;
  const l = s.links.find((x) => x.name === name);
  return !!l?.addresses.some((a) => a.family === 6 && classifyIp(a.address) === "public");
}

export async function isInternetInterface(name: string, opts: ListOptions = {}): Promise<boolean> {
  return isInternetLink(await snapshot(opts), name);
}
