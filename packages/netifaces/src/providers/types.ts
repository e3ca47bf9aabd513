import type { Family } from "../endpoint.js";

/** One address on a link, as the OS reports it. */
export interface LinkAddress {
  family: Family;
  address: string;
  prefix: number;
  /** IPv6 zone index (numeric), when the OS gives one. */
  scopeIndex?: number;
}

/** A network interface ("link"), up or down, with or without addresses. */
export interface LinkInfo {
  name: string;
  /** OS interface index (ifindex), when known. */
  index?: number;
  mac?: string;
  mtu?: number;
  up: boolean;
  /** Loopback or otherwise internal to the host. */
  internal: boolean;
  addresses: LinkAddress[];
}

/** One routing-table row. `gateway` is undefined for on-link routes. */
export interface RouteEntry {
  family: Family;
  destination: string;
  prefix: number;
  gateway?: string;
  interface: string;
  metric: number;
}

/** A default route: the interface and gateway the OS uses to reach the internet. */
export interface DefaultGateway {
  family: Family;
  interface: string;
  gateway?: string;
  metric: number;
}

/**
 * The OS adapter behind interface discovery. Linux reads procfs/sysfs; macOS/BSD and Windows
 * parse command output. A fake provider drives unit tests without touching the network.
 */
export interface NetInfoProvider {
  readonly platform: string;
  listAddresses(signal?: AbortSignal): Promise<LinkInfo[]>;
  /** Default routes, best (lowest metric) first. */
  defaultGateways(signal?: AbortSignal): Promise<DefaultGateway[]>;
  routes(family: Family, signal?: AbortSignal): Promise<RouteEntry[]>;
}

/** Default routes from a route table, best first. */
export function defaultsFromRoutes(routes: readonly RouteEntry[]): DefaultGateway[] {
  return routes
    .filter((r) => r.prefix === 0)
    .map((r) => {
      const g: DefaultGateway = { family: r.family, interface: r.interface, metric: r.metric };
      if (r.gateway !== undefined) g.gateway = r.gateway;
      return g;
    })
    .sort((a, b) => a.metric - b.metric);
}
