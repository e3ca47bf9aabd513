import {
  decodeNatPmpExternalAddress,
  decodeNatPmpMap,
  encodeNatPmpExternalAddressRequest,
  encodeNatPmpMapRequest,
} from "../natpmp.js";
import type { MapMethod, MethodContext, Target } from "./method.js";

/** NAT-PMP (RFC 6886): IPv4 only; a mapping is known by its internal port and protocol. */
export function natpmpMethod(ctx: MethodContext): MapMethod {
  // lifetime 0 deletes; a delete asks for external port 0 (RFC 6886 §3.4).
  async function request(t: Target, lifetime: number, signal: AbortSignal) {
    const gateway = await ctx.gateway(4);
    const { r, local } = await ctx.exchange({
      gateway,
      what: "NAT-PMP map",
      build: () =>
        encodeNatPmpMapRequest({
          protocol: t.proto,
          internalPort: t.port,
          externalPort: lifetime ? t.externalPort : 0,
          lifetime,
        }),
      match: (p) => decodeNatPmpMap(p, t.proto),
      signal,
    });
    return { r, local, gateway };
  }

  async function externalIp(signal: AbortSignal): Promise<{ ip: string; gateway: string }> {
    const gateway = await ctx.gateway(4);
    const { r } = await ctx.exchange({
      gateway,
      what: "NAT-PMP external address",
      build: () => encodeNatPmpExternalAddressRequest(),
      match: (p) => decodeNatPmpExternalAddress(p),
      signal,
    });
    return { ip: r.ip, gateway };
  }

  return {
    name: "natpmp",
    supports: (family) => family === 4,
    async map(t, signal) {
      const { r, local, gateway } = await request(t, t.lifetime, signal);
      // The map answer has no address: ask for it.
      const { ip } = await externalIp(signal);
      return {
        method: "natpmp",
        protocol: t.proto,
        internal: { ip: t.internalAddress ?? local, port: t.port },
        external: { ip, port: r.externalPort },
        lifetime: r.lifetime,
        gateway,
      };
    },
    async unmap(t, signal) {
      const { r } = await request(t, 0, signal);
      return { ip: "", port: r.externalPort };
    },
    externalIp,
  };
}
