import { createServer } from "node:net";
import type { AddressEntry, NatInfo } from "../address.js";
import type { NatLike, NatTypeName } from "../traversal/index.js";
import type { Candidate } from "./strategy.js";

const NAMES: Record<number, NatTypeName> = {
  1: "open-internet",
  2: "udp-firewall",
  3: "full-cone",
  4: "restricted-cone",
  5: "port-restricted-cone",
  6: "symmetric",
  7: "blocked",
};
const DELTAS = [
  "not-applicable",
  "equal",
  "preserving",
  "independent",
  "dependent",
  "random",
] as const;

/** Address NAT codes as the traversal planner's names; untested (0) counts as port-restricted, P2PD's default. */
export function natLike(n: NatInfo): NatLike {
  const kind = DELTAS[n.delta.type - 1] ?? "random";
  return { type: NAMES[n.type] ?? "port-restricted-cone", delta: { kind, value: n.delta.value } };
}

/** The pair to punch: the first candidate (same-LAN pairs come first), IPv4 preferred off-LAN. */
export function punchPair(cands: Candidate[]): Candidate | undefined {
  return cands.find((c) => c.sameLan) ?? cands.find((c) => c.family === 4) ?? cands[0];
}

/** A currently free TCP port on `host` (for LAN punching, where no STUN mapping is needed). */
export function freeTcpPort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, host, () => {
      const a = s.address();
      const port = typeof a === "object" && a ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

/** STUN server of the entry's family from the node's list, or undefined. */
export function stunFor(
  servers: { host: string; port: number }[],
  entry: AddressEntry,
  family: 4 | 6,
): { host: string; port: number } | undefined {
  void entry;
  return servers.find((s) => (family === 6) === s.host.includes(":"));
}

/** Meeting time lead (ms) from the measured signaling RTT: the answer must arrive first. */
export function leadMs(rttMs: number): number {
  return Math.max(250, Math.ceil(2 * rttMs) + 100);
}
