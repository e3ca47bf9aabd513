// The doctor's verdict: which kinds of peers reach this machine directly, by hole punching, or only
// through a relay. Pure logic over what the probes measured (tested without a network).
import type { DeltaKind } from "@p2pd/nat";

/** Kinds of remote peers the verdict talks about (the NAT in front of the peer). */
export const PEER_KINDS = [
  "open-internet",
  "full-cone",
  "restricted-cone",
  "port-restricted-cone",
  "symmetric-predictable",
  "symmetric-random",
  "ipv6",
] as const;
export type PeerKind = (typeof PEER_KINDS)[number];

/** What the verdict needs to know about this machine. */
export interface VerdictInput {
  /** IPv4 UDP reached a STUN server / TCP reached a STUN server or a broker. */
  udp: boolean;
  tcp: boolean;
  /** IPv4 NAT type and delta (undefined: not measured). */
  natType?: string;
  deltaKind?: DeltaKind;
  /** A gateway granted a port mapping (UPnP / NAT-PMP / PCP) reachable from the internet. */
  portMapping: boolean;
  /** IPv6: "open" (inbound allowed), "firewalled" (stateful firewall: punch), or "none". */
  ipv6: "open" | "firewalled" | "none";
}

export interface DoctorVerdict {
  /** False when no peer can reach this node at all (the `reason` says why); exit code 1. */
  canWork: boolean;
  reason?: string;
  /** Peer kinds that connect without hole punching (one side dials the other). */
  direct: PeerKind[];
  /** Peer kinds that need hole punching (UDP or TCP). */
  holePunch: PeerKind[];
  /** Peer kinds that will need a relay (TURN). */
  relay: PeerKind[];
  /** The verdict in plain words, one sentence per line. */
  summary: string[];
}

const PREDICTABLE: readonly string[] = ["equal", "preserving", "independent", "dependent"];

/** How a peer behind `peer` gets to us, given our IPv4 situation. */
function v4Path(me: VerdictInput, peer: PeerKind): "direct" | "punch" | "relay" {
  const type = me.natType;
  const inboundOpen = me.portMapping || type === "open-internet" || type === "full-cone";
  if (!me.udp) {
    // TCP only: we can dial peers that accept inbound connections; the rest need a TCP relay.
    if (peer === "open-internet" || me.portMapping) return "direct";
    return "relay";
  }
  if (inboundOpen) return "direct";
  if (peer === "open-internet" || peer === "full-cone") return "direct"; // we dial them (reverse)
  if (peer === "restricted-cone") return "punch";
  // Our own mapping: endpoint-independent unless symmetric.
  const meSymmetric = type === "symmetric";
  const mePredictable = !meSymmetric || PREDICTABLE.includes(me.deltaKind ?? "random");
  if (type === "restricted-cone") return "punch"; // an address-restricted filter opens to any port
  if (peer === "port-restricted-cone")
    return !meSymmetric ? "punch" : mePredictable ? "punch" : "relay";
  if (peer === "symmetric-predictable") return mePredictable ? "punch" : "relay";
  // A random symmetric peer: only a cone that filters by address alone lets its packets in.
  return "relay";
}

/** Derives the verdict from the measurements. */
export function doctorVerdict(me: VerdictInput): DoctorVerdict {
  const direct: PeerKind[] = [];
  const holePunch: PeerKind[] = [];
  const relay: PeerKind[] = [];
  if (!me.udp && !me.tcp && me.ipv6 === "none") {
    return {
      canWork: false,
      reason: "UDP and TCP are both blocked: no STUN server or broker answered",
      direct,
      holePunch,
      relay,
      summary: [
        "This machine cannot work as a node: no STUN server or signaling broker answered over UDP or TCP.",
      ],
    };
  }
  for (const peer of PEER_KINDS) {
    if (peer === "ipv6") {
      if (me.ipv6 === "open") direct.push(peer);
      else if (me.ipv6 === "firewalled") holePunch.push(peer);
      else relay.push(peer);
      continue;
    }
    if (!me.udp && !me.tcp) {
      relay.push(peer);
      continue;
    }
    const p = v4Path(me, peer);
    (p === "direct" ? direct : p === "punch" ? holePunch : relay).push(peer);
  }
  const summary: string[] = [];
  if (!me.udp)
    summary.push(
      me.tcp
        ? "UDP is blocked: only TCP works (direct TCP to open peers, TURN over TCP for the rest)."
        : "IPv4 is blocked for UDP and TCP: only IPv6 peers can be reached.",
    );
  if (me.portMapping) summary.push("The gateway mapped a port: any peer can connect directly.");
  const list = (k: PeerKind[]) => (k.length ? k.join(", ") : "none");
  summary.push(`Direct: ${list(direct)}.`);
  summary.push(`Hole punching: ${list(holePunch)}.`);
  summary.push(`Relay (TURN) needed: ${list(relay)}.`);
  return { canWork: true, direct, holePunch, relay, summary };
}
