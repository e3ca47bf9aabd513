import type { AddressEntry, P2PAddress } from "../address.js";
import type { Candidate } from "./strategy.js";

/** NAT types where an unsolicited inbound TCP connect can work (0 = not tested: try it). */
export const REACHABLE_NAT = new Set([0, 1, 3]);

/**
 * Pairs our entries with the peer's, per family both have. Peers behind the same external IP
 * (the reference's `work_behind_same_router`) get the peer's internal IP and count as reachable.
 * Order: same-LAN pairs first (no NAT in the way), then IPv6 (usually not NATed), then IPv4.
 */
export function candidates(local: P2PAddress, remote: P2PAddress): Candidate[] {
  const out: Candidate[] = [];
  for (const family of [6, 4] as const) {
    const ours = family === 4 ? local.ipv4 : local.ipv6;
    const theirs = family === 4 ? remote.ipv4 : remote.ipv6;
    for (const r of theirs) {
      const l: AddressEntry | undefined = ours.find((o) => o.ext === r.ext) ?? ours[0];
      if (!l) continue;
      const sameLan = l.ext === r.ext;
      out.push({
        family,
        local: l,
        remote: r,
        sameLan,
        host: sameLan ? r.internal : r.ext,
        port: r.port,
      });
    }
  }
  return out.sort((a, b) => Number(b.sameLan) - Number(a.sameLan));
}

/** Can `to` accept an unsolicited connection on this candidate? */
export function reachable(c: Candidate, side: "remote" | "local"): boolean {
  return c.sameLan || REACHABLE_NAT.has((side === "remote" ? c.remote : c.local).nat.type);
}
