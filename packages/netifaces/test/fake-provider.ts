import type { DefaultGateway, LinkInfo, NetInfoProvider, RouteEntry } from "../src/index.js";

/** A NetInfoProvider over fixed data: drives the pure grouping/selection logic without a network. */
export function fakeProvider(
  links: LinkInfo[],
  routes: RouteEntry[],
  platform = "linux",
): NetInfoProvider {
  return {
    platform,
    async listAddresses() {
      return structuredClone(links);
    },
    async routes(family) {
      return routes.filter((r) => r.family === family);
    },
    async defaultGateways() {
      return routes
        .filter((r) => r.prefix === 0)
        .map(
          (r): DefaultGateway => ({
            family: r.family,
            interface: r.interface,
            metric: r.metric,
            ...(r.gateway ? { gateway: r.gateway } : {}),
          }),
        )
        .sort((a, b) => a.metric - b.metric);
    },
  };
}
