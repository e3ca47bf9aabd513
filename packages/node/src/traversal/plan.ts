import type { Delta, NatType } from "@p2pd/nat";
import type { BuiltinStrategyName } from "../strategies/names.js";

export type { StrategyName } from "../strategies/names.js";

/** @p2pd/nat's NatType, under the name the traversal API has always exported. */
export type NatTypeName = NatType;

/**
 * What the planner needs of a NAT: @p2pd/nat's `NatInfo` and `NatResult` fit (delta optional).
 * "unknown" (not tested yet) is worth a direct or reverse try and punches like a port-restricted cone.
 */
export interface NatLike {
  type: NatType | "unknown";
  delta?: Delta;
}

/** Behaviour classes that decide what works (RFC 4787 mapping/filtering, plus port predictability). */
export type NatClass =
  | "untested"
  | "open"
  | "firewall"
  | "full-cone"
  | "restricted"
  | "port-restricted"
  | "sym-predictable"
  | "sym-random"
  | "blocked";

export function natClass(n: NatLike): NatClass {
  switch (n.type) {
    case "unknown":
      return "untested";
    case "open-internet":
      return "open";
    case "udp-firewall":
      return "firewall";
    case "full-cone":
      return "full-cone";
    case "restricted-cone":
      return "restricted";
    case "port-restricted-cone":
      return "port-restricted";
    case "blocked":
      return "blocked";
    default: {
      const k = n.delta?.kind;
      // A symmetric NAT is predictable when its ports follow a fixed step or the local port.
      return k === "independent" || k === "dependent" || k === "equal" || k === "preserving"
        ? "sym-predictable"
        : "sym-random";
    }
  }
}

const REACHABLE: ReadonlySet<NatClass> = new Set(["open", "full-cone"]);
/** Worth an unsolicited connect: reachable, or not tested yet (try it, as P2PD does). */
const DIALABLE: ReadonlySet<NatClass> = new Set(["open", "full-cone", "untested"]);

/** An untested NAT punches like P2PD's default guess, a port-restricted cone. */
function punchClass(n: NatLike): NatClass {
  const c = natClass(n);
  return c === "untested" ? "port-restricted" : c;
}
/** Endpoint-independent mapping, or a mapping we can predict. */
const PREDICTABLE: ReadonlySet<NatClass> = new Set([
  "open",
  "firewall",
  "full-cone",
  "restricted",
  "port-restricted",
  "sym-predictable",
]);

/** How the local side takes part in a punch against the given peer. */
export interface PunchRole {
  /** Which ports to tell the peer: our STUN mapping, predicted next mappings, or none we can know. */
  advertise: "mapped" | "predicted" | "unknown";
  /** The peer's ports are unknowable: accept its UDP probes from any port of its IP. */
  acceptAnyPort: boolean;
  /** Birthday probing role for UDP (random NAT vs port-restricted / firewall). */
  udpBirthday?: "many" | "spray";
  /**
   * TCP: listen on the punch port instead of dialing. True when we are reachable (open / full
   * cone: a peer's SYN would meet our kernel's RST) and the peer is not, or both are and we are
   * the responder.
   */
  tcpAccept: boolean;
  udp: boolean;
  tcp: boolean;
}

export function punchRole(
  local: NatLike,
  remote: NatLike,
  opts: { initiator?: boolean } = {},
): PunchRole {
  const l = punchClass(local);
  const r = punchClass(remote);
  const initiator = opts.initiator !== false;
  const advertise =
    l === "sym-predictable" ? "predicted" : l === "sym-random" ? "unknown" : "mapped";
  const role: PunchRole = {
    advertise,
    acceptAnyPort: r === "sym-random",
    tcpAccept: false,
    udp: false,
    tcp: false,
  };
  if (l === "blocked" || r === "blocked") return role;
  if (PREDICTABLE.has(l) && PREDICTABLE.has(r)) {
    role.udp = true;
    role.tcp = true;
    // SYNs to an unfiltered side reach its kernel, which answers RST unless something listens:
    // that side accepts (the responder, when both are unfiltered) and the other dials.
    role.tcpAccept = REACHABLE.has(l) && (!REACHABLE.has(r) || !initiator);
    return role;
  }
  if (l === "sym-random" && r === "sym-random") return role;
  // Exactly one side is random from here on.
  const other = l === "sym-random" ? r : l;
  if (other === "sym-predictable") return role; // both sides' ports move: no meeting point
  role.udp = true;
  if (other === "port-restricted" || other === "firewall") {
    role.udpBirthday = l === "sym-random" ? "many" : "spray";
  }
  if (REACHABLE.has(other)) {
    role.tcp = true;
    role.tcpAccept = l !== "sym-random";
  }
  return role;
}

/**
 * Strategies worth trying from `local` to `remote`, likeliest and cheapest first; impossible ones
 * are left out, and TURN closes the list (alone when nothing else can work).
 *
 * | local \ remote  | open/full-cone       | restricted / port-restr. / firewall | sym-predictable | sym-random          |
 * |-----------------|----------------------|--------------------------|-----------------|---------------------|
 * | open/full-cone  | direct, reverse, tcp, udp | reverse, tcp, udp   | reverse, tcp, udp | reverse, tcp(accept), udp |
 * | restr./port-r.  | direct, tcp, udp     | tcp, udp                 | tcp, udp (predict) | udp (any-port / birthday) |
 * | sym-predictable | direct, tcp, udp     | tcp, udp (predict)       | tcp, udp (predict) | turn only          |
 * | sym-random      | direct, tcp, udp     | udp (any-port / birthday)| turn only       | turn only           |
 * Every row ends with turn; `blocked` on either side gives turn only. Same LAN: everything, direct
 * first. An untested side ("unknown") counts as reachable for direct / reverse (a try is cheap).
 */
export function planStrategies(
  local: NatLike,
  remote: NatLike,
  opts: { sameLan?: boolean } = {},
): BuiltinStrategyName[] {
  const l = natClass(local);
  const r = natClass(remote);
  if (opts.sameLan) return ["direct", "reverse", "tcp-punch", "udp-punch", "turn"];
  if (l === "blocked" || r === "blocked") return ["turn"];
  const out: BuiltinStrategyName[] = [];
  if (DIALABLE.has(r)) out.push("direct");
  if (DIALABLE.has(l)) out.push("reverse");
  const role = punchRole(local, remote);
  if (role.tcp) out.push("tcp-punch");
  if (role.udp) out.push("udp-punch");
  out.push("turn");
  return out;
}
