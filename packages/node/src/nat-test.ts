import { isIP } from "node:net";
import { DELTA_CODE, detectNat, NAT_TYPE_CODE, type NatResult } from "@p2pd/nat";
import type { NatInfo } from "./address.js";
import type { NodeInterface } from "./interfaces.js";
import { isLoopback } from "./ip.js";

export interface NatTestOptions {
  /** STUN servers, "host:port". */
  stun: string[];
  /** Directory of @p2pd/nat's per-network cache; a cache hit makes the test near-instant. */
  cacheDir?: string;
  timeoutMs?: number;
  /** Test loopback interfaces too (the offline demo's in-process STUN server lives there). */
  includeLoopback?: boolean;
  log?: (line: string) => void;
}

/** NAT codes for the address from @p2pd/nat's result ("unknown" is 0). */
export function natFromResult(r: NatResult): NatInfo {
  return {
    type: r.type === "unknown" ? 0 : NAT_TYPE_CODE[r.type],
    delta: { type: DELTA_CODE[r.delta.kind], value: r.delta.value },
  };
}

/**
 * The default background NAT test: @p2pd/nat's detectNat per family from each NIC IP. It fills
 * the external IPs and NAT info of the address; loopback interfaces are left alone.
 */
export function stunNatTest(opts: NatTestOptions) {
  return async (
    iface: NodeInterface,
    { signal }: { signal: AbortSignal },
  ): Promise<Partial<NodeInterface>> => {
    const out: Partial<NodeInterface> = {};
    for (const family of [4, 6] as const) {
      const nic = family === 4 ? iface.ipv4 : iface.ipv6;
      if (!nic || (isLoopback(nic) && !opts.includeLoopback)) continue;
      // IP-literal servers only serve their own family; names may serve both.
      const servers = opts.stun.filter((s) => {
        const host = s.startsWith("[") ? s.slice(1, s.indexOf("]")) : s.replace(/:\d+$/, "");
        const f = isIP(host);
        return f === 0 || f === family;
      });
      if (servers.length === 0) continue;
      try {
        const r = await detectNat({
          servers,
          family,
          localAddress: nic,
          signal,
          timeoutMs: opts.timeoutMs ?? 4000,
          ...(opts.cacheDir ? { cache: opts.cacheDir } : {}),
        });
        const ext = r.mapped[0]?.host;
        if (family === 4) {
          if (ext) out.ext4 = ext;
          // The address carries one NAT per interface: IPv4's (IPv6 is rarely NATed).
          out.nat = natFromResult(r);
        } else if (ext) {
          out.ext6 = ext;
        }
        opts.log?.(`NAT ${iface.name} IPv${family}: ${r.type}${r.cached ? " (cached)" : ""}`);
      } catch (err) {
        opts.log?.(`NAT ${iface.name} IPv${family}: ${(err as Error).message}`);
      }
    }
    return out;
  };
}
