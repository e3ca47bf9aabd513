import { networkInterfaces } from "node:os";
import { defaultRoutes } from "@p2pd/netifaces";
import type { NatInfo } from "./address.js";
import { P2pdNodeError } from "./errors.js";
import { canonicalIp, isLinkLocal6 } from "./ip.js";

/** One interface the node listens on; ext defaults to the NIC IP until STUN says otherwise. */
export interface NodeInterface {
  name: string;
  /** Position in the machine's interface list. */
  netifaceIndex?: number;
  ipv4?: string;
  ipv6?: string;
  ext4?: string;
  ext6?: string;
  nat?: NatInfo;
  /** The node port is mapped on the gateway (UPnP / NAT-PMP / PCP). */
  mapped?: boolean;
}

export const UNKNOWN_NAT: NatInfo = { type: 0, delta: { type: 0, value: 0 } };

export const LOOPBACK: NodeInterface = { name: "lo", ipv4: "127.0.0.1", ipv6: "::1" };

/**
 * Resolves the `interfaces` option: "auto" takes the NICs that carry a default route (from
 * @p2pd/netifaces; the default one first), else every non-internal NIC, and falls back to loopback
 * on a machine with no network; "loopback" is 127.0.0.1 + ::1; names pick those NICs; objects are
 * taken as given. Each NIC contributes its first IPv4 and first non-link-local IPv6.
 */
export async function resolveInterfaces(
  spec: "auto" | "loopback" | (string | NodeInterface)[] = "auto",
  opts: { signal?: AbortSignal } = {},
): Promise<NodeInterface[]> {
  if (spec === "loopback") return [{ ...LOOPBACK }];
  const os = networkInterfaces();
  const names = Object.keys(os);
  const fromOs = (name: string): NodeInterface | undefined => {
    const addrs = os[name] ?? [];
    const v4 = addrs.find((a) => a.family === "IPv4");
    const v6 = addrs.find((a) => a.family === "IPv6" && !isLinkLocal6(a.address));
    if (!v4 && !v6) return undefined;
    return {
      name,
      netifaceIndex: names.indexOf(name),
      ...(v4 ? { ipv4: v4.address } : {}),
      ...(v6 ? { ipv6: canonicalIp(v6.address, 6) ?? v6.address } : {}),
    };
  };
  if (spec === "auto") {
    const external = names.filter((n) => (os[n] ?? []).some((a) => !a.internal));
    let routed: string[] = [];
    try {
      const d = await defaultRoutes(opts.signal ? { signal: opts.signal } : {});
      routed = [d[4]?.interface, d[6]?.interface].filter(
        (n): n is string => n !== undefined && external.includes(n),
      );
    } catch {
      // No routing table (odd platform): every external NIC then.
    }
    const order = routed.length ? [...new Set(routed)] : external;
    const found = order.map(fromOs).filter((x): x is NodeInterface => x !== undefined);
    return found.length ? found.slice(0, 4) : [{ ...LOOPBACK }];
  }
  if (spec.length === 0 || spec.length > 4)
    throw new P2pdNodeError("ERR_BAD_INTERFACES", "give 1 to 4 interfaces");
  return spec.map((s) => {
    if (typeof s !== "string") return s;
    if (s === "lo" && !os.lo) return { ...LOOPBACK };
    const i = fromOs(s);
    if (!i) throw new P2pdNodeError("ERR_NO_INTERFACE", `no usable interface "${s}"`);
    return i;
  });
}
