import type { MapMethod, MethodContext } from "./method.js";

/** UPnP IGD port mappings over IPv4; a mapping is known by its external port and protocol. */
export function upnpMethod(ctx: MethodContext): MapMethod {
  return {
    name: "upnp",
    supports: (family) => family === 4,
    async map(t, signal) {
      const gw = await ctx.igd(4, signal);
      const ip = await gw.externalIp(signal); // also learns our LAN address
      const internalClient = t.internalAddress ?? gw.localAddress;
      const r = await gw.addPortMapping(
        {
          externalPort: t.externalPort,
          protocol: t.proto,
          internalPort: t.port,
          internalClient,
          lifetime: t.lifetime,
          description: ctx.description,
          anyPort: true,
        },
        signal,
      );
      return {
        method: "upnp",
        protocol: t.proto,
        internal: { ip: internalClient, port: t.port },
        external: { ip, port: r.externalPort },
        lifetime: r.lifetime,
        gateway: new URL(gw.location).hostname,
      };
    },
    async unmap(t, signal) {
      const gw = await ctx.igd(4, signal);
      await gw.deletePortMapping(t.externalPort, t.proto, signal);
      return { ip: "", port: t.externalPort };
    },
    async externalIp(signal) {
      const gw = await ctx.igd(4, signal);
      return { ip: await gw.externalIp(signal), gateway: new URL(gw.location).hostname };
    },
  };
}
