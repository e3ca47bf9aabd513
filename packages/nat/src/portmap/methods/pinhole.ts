import { isIPv6 } from "node:net";
import { networkInterfaces } from "node:os";
import { PortMapNoGatewayError } from "../errors.js";
import { unreachableReason } from "../reach.js";
import { badArgument } from "../request.js";
import type { MapMethod, MethodContext, Target } from "./method.js";

/**
 * UPnP IPv6 firewall pinholes (WANIPv6FirewallControl), through the IGD found over IPv6; the
 * pinhole's UniqueID (the handle) renews and deletes it. No translation: external = internal.
 */
export function pinholeMethod(ctx: MethodContext): MapMethod {
  async function open(t: Target, signal: AbortSignal) {
    const gw = await ctx.igd(6, signal);
    // Our address on the connection to the IGD: the one secure mode accepts.
    const ip = t.internalAddress ?? (isIPv6(gw.localAddress) ? gw.localAddress : globalIPv6());
    return { gw, ip, gateway: new URL(gw.location).hostname.replace(/^\[|\]$/g, "") };
  }

  return {
    name: "upnp-pinhole",
    supports: (family) => family === 6,
    async map(t, signal) {
      const { gw, ip, gateway } = await open(t, signal);
      if (!ip || !isIPv6(ip))
        throw new PortMapNoGatewayError("UPnP pinhole: no global IPv6 address here");
      let id = t.handle ? Number(t.handle) : undefined;
      if (id !== undefined) await gw.updatePinhole(id, t.lifetime, signal);
      else
        id = await gw.addPinhole(
          { internalClient: ip, internalPort: t.port, protocol: t.proto, lifetime: t.lifetime },
          signal,
        );
      return {
        method: "upnp-pinhole",
        protocol: t.proto,
        internal: { ip, port: t.port },
        external: { ip, port: t.port },
        lifetime: t.lifetime,
        gateway,
        handle: String(id),
      };
    },
    async unmap(t, signal) {
      if (!t.handle) throw badArgument(new TypeError("deleting a pinhole needs its handle"));
      const { gw, ip } = await open(t, signal);
      await gw.deletePinhole(Number(t.handle), signal);
      return { ip: ip && isIPv6(ip) ? ip : "", port: t.port };
    },
    checkHandle(handle) {
      if (!/^\d+$/.test(handle))
        throw badArgument(new TypeError("a pinhole handle is its decimal UniqueID"));
    },
  };
}

function globalIPv6(): string | undefined {
  for (const list of Object.values(networkInterfaces()))
    for (const a of list ?? [])
      if (a.family === "IPv6" && !a.internal && !unreachableReason(a.address)) return a.address;
  return undefined;
}
