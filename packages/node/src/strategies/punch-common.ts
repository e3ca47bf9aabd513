import { createServer } from "node:net";
import { DELTA_KINDS, NAT_TYPES } from "@p2pd/nat";
import type { AddressEntry, NatInfo, P2PAddress } from "../address.js";
import { P2pdNodeError } from "../errors.js";
import { type NatLike, punchRole } from "../traversal/index.js";
import { candidates } from "./candidates.js";
import { refuseTarget } from "./offer-target.js";
import { ipField, numberField, portsField } from "./signal-fields.js";
import type { Candidate, ResponderContext, SignalMessage, StrategyContext } from "./strategy.js";

/** Address NAT codes as the traversal planner's names; untested (0) counts as port-restricted, P2PD's default. */
export function natLike(n: NatInfo): NatLike {
  const kind = DELTA_KINDS[n.delta.type - 1] ?? "random";
  return {
    type: NAT_TYPES[n.type - 1] ?? "port-restricted-cone",
    delta: { kind, value: n.delta.value },
  };
}

/** Whether a punch of this kind can work between the two addresses (the planner decides off-LAN). */
export function canPunch(
  kind: "tcp" | "udp",
  local: P2PAddress,
  remote: P2PAddress,
  stun: { host: string; port: number }[],
): boolean {
  const c = punchPair(candidates(local, remote));
  if (!c || !remote.keys) return false;
  if (c.sameLan) return true;
  if (!stunFor(stun, c.local, c.family)) return false;
  return punchRole(natLike(c.local.nat), natLike(c.remote.nat))[kind];
}

/** Where and when the answerer punches from, as its answer says. */
export interface PunchAnswer {
  host: string;
  ports: number[];
  at: number;
}

/**
 * The offerer's half of the signaling: send our side of the punch, wait for the peer's answer
 * and validate it. Shared by TCP and UDP punching (TCP_OFFER/TCP_ANSWER, UDP_OFFER/UDP_ANSWER).
 */
export async function offerPunch(
  ctx: StrategyContext,
  kind: "TCP" | "UDP",
  offer: { family: 4 | 6; host: string; ports: number[]; rttMs: number },
): Promise<PunchAnswer> {
  const answer = ctx.waitFor(`${kind}_ANSWER`);
  // It may reject (abort, lost race) while we still await the send: never unhandled.
  answer.catch(() => {});
  await ctx.send(`${kind}_OFFER`, offer);
  const ans = await answer;
  if (typeof ans.error === "string")
    throw new P2pdNodeError("ERR_PEER_REFUSED", `peer: ${ans.error}`);
  return {
    host: ipField(ans.host, "answer host"),
    ports: portsField(ans.ports),
    at: numberField(ans.at, "meeting time"),
  };
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

/**
 * The offerer's clock estimate, started beside its punching side (each costs a round trip:
 * signaling and STUN). The offer waits for the side only: the estimate is needed to read the
 * answer's meeting instant, which is one more round trip away. `rttMs` is what the offer tells
 * the answerer: the estimate's RTT when it is in already, else `fallbackMs` (from the STUN time).
 */
export function offererClock(ctx: StrategyContext): {
  estimate: Promise<{ offsetMs: number; rttMs: number }>;
  rttMs(fallbackMs: number): number;
} {
  let known: number | undefined;
  const estimate = ctx.clock({ signal: ctx.signal });
  // Handled here too: a side that fails first leaves the estimate unawaited.
  estimate.then(
    (e) => {
      known = e.rttMs;
    },
    () => {},
  );
  return {
    estimate,
    rttMs: (fallbackMs) => Math.ceil(Math.min(5000, Math.max(1, known ?? fallbackMs))),
  };
}

/** A validated punch offer and our candidate pair of the offer's family. */
export interface PunchOffer {
  host: string;
  ports: number[];
  rttMs: number;
  pair: Candidate;
}

/**
 * The answerer's half, first step: validate the offer (throws on bad fields) and pick our pair
 * of the offer's family; without one, the offerer gets an `{error}` answer and we get undefined.
 */
export async function readOffer(
  msg: SignalMessage,
  ctx: ResponderContext,
  kind: "TCP" | "UDP",
): Promise<PunchOffer | undefined> {
  const host = ipField(msg.host, "offer host");
  const ports = portsField(msg.ports);
  const rttMs = Math.min(5000, Math.max(0, numberField(msg.rttMs, "rtt")));
  // The offer's family decides: our side must punch from the same one.
  const family = msg.family === 6 ? 6 : 4;
  const pair = punchPair(ctx.candidates.filter((x) => x.family === family));
  if (!pair) {
    await ctx.send(`${kind}_ANSWER`, { error: "no common address family" });
    return undefined;
  }
  // No reflection: we only ever punch towards the sender itself.
  const refused = refuseTarget(host, ctx.candidates);
  if (refused) {
    ctx.log(`${kind} offer refused: ${refused}`);
    await ctx.send(`${kind}_ANSWER`, { error: refused });
    return undefined;
  }
  return { host, ports, rttMs, pair };
}

/** Makes our punching side; when that fails the offerer gets an `{error}` answer first. */
export async function answerSide<S>(
  ctx: ResponderContext,
  kind: "TCP" | "UDP",
  make: () => Promise<S>,
): Promise<S> {
  try {
    return await make();
  } catch (err) {
    await ctx.send(`${kind}_ANSWER`, { error: `no mapping: ${(err as Error).message}` });
    throw err;
  }
}
