import { randomBytes } from "node:crypto";
import { decodePcpMapResponse, encodePcpMapRequest } from "../pcp.js";
import { badArgument } from "../request.js";
import type { MapMethod, MethodContext, Target } from "./method.js";

/** PCP (RFC 6887) MAP: IPv4 mappings and IPv6 pinholes; the nonce (the handle) renews and deletes. */
export function pcpMethod(ctx: MethodContext): MapMethod {
  async function request(t: Target, lifetime: number, signal: AbortSignal) {
    const gateway = await ctx.gateway(t.family);
    const nonce = t.handle ? Buffer.from(t.handle, "hex") : randomBytes(12);
    const { r, local } = await ctx.exchange({
      gateway,
      what: "PCP map",
      build: (clientIp) =>
        encodePcpMapRequest({
          clientIp,
          nonce,
          protocol: t.proto,
          internalPort: t.port,
          externalPort: t.externalPort,
          lifetime,
        }),
      match: (p) => decodePcpMapResponse(p, { nonce, protocol: t.proto, internalPort: t.port }),
      signal,
    });
    return {
      method: "pcp" as const,
      protocol: t.proto,
      // PCP maps the request's source address: the client address in the packet.
      internal: { ip: local, port: t.port },
      external: { ip: r.externalIp, port: r.externalPort },
      lifetime: r.lifetime,
      gateway,
      handle: nonce.toString("hex"),
    };
  }

  return {
    name: "pcp",
    supports: () => true,
    map: (t, signal) => request(t, t.lifetime, signal),
    async unmap(t, signal) {
      // Another nonce would ask to delete a mapping that is not there.
      if (!t.handle) throw badArgument(new TypeError("deleting a PCP mapping needs its handle"));
      return (await request(t, 0, signal)).external;
    },
    checkHandle(handle) {
      if (!/^[0-9a-f]{24}$/i.test(handle))
        throw badArgument(new TypeError("a PCP handle is the 24-hex-digit nonce"));
    },
  };
}
