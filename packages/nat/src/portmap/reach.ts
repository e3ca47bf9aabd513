import { isIPv4, isIPv6 } from "node:net";

/** Whether a mapping on a gateway with this external address makes us reachable, and why not. */
export interface Reachability {
  reachable: boolean;
  /** Set when `reachable` is false: "private", "cgnat", "loopback", ... or "mismatch". */
  reason?: string;
}

function v4(ip: string): number {
  const p = ip.split(".").map(Number);
  return (((p[0] ?? 0) << 24) | ((p[1] ?? 0) << 16) | ((p[2] ?? 0) << 8) | (p[3] ?? 0)) >>> 0;
}

// Ranges that can never be reached from the internet. Documentation ranges (192.0.2/24,
// 198.51.100/24, 203.0.113/24) are left out on purpose: labs use them as "public" WANs.
const V4_UNREACHABLE: [string, number, string][] = [
  ["0.0.0.0", 8, "unspecified"],
  ["10.0.0.0", 8, "private"],
  ["100.64.0.0", 10, "cgnat"],
  ["127.0.0.0", 8, "loopback"],
  ["169.254.0.0", 16, "link-local"],
  ["172.16.0.0", 12, "private"],
  ["192.0.0.0", 24, "private"],
  ["192.168.0.0", 16, "private"],
  ["198.18.0.0", 15, "private"],
  ["224.0.0.0", 3, "multicast-or-reserved"],
];

/** Why an IPv4/IPv6 address cannot be reached from the internet, or undefined if it can. */
export function unreachableReason(ip: string): string | undefined {
  if (isIPv4(ip)) {
    const n = v4(ip);
    for (const [base, bits, why] of V4_UNREACHABLE) {
      const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0;
      if ((n & mask) >>> 0 === (v4(base) & mask) >>> 0) return why;
    }
    return undefined;
  }
  if (isIPv6(ip)) {
    const lower = ip.toLowerCase();
    if (lower === "::" || lower === "::1") return lower === "::" ? "unspecified" : "loopback";
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(lower);
    if (mapped?.[1]) return unreachableReason(mapped[1]);
    const first = Number.parseInt(lower.split(":")[0] || "0", 16);
    if ((first & 0xfe00) === 0xfc00) return "ula";
    if ((first & 0xffc0) === 0xfe80) return "link-local";
    if ((first & 0xff00) === 0xff00) return "multicast-or-reserved";
    return undefined;
  }
  return "invalid";
}

/**
 * Judges a gateway's external address. `observed` is our address as seen from outside (e.g. by
 * STUN): when it differs, a NAT above the gateway rewrote it, whatever the range.
 */
export function judgeExternal(externalIp: string, observed?: string): Reachability {
  const why = unreachableReason(externalIp);
  if (why) return { reachable: false, reason: why };
  if (observed !== undefined && observed !== externalIp)
    return { reachable: false, reason: "mismatch" };
  return { reachable: true };
}
