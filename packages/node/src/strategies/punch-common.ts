import { createServer } from "node:net";
import { DELTA_KINDS, NAT_TYPES } from "@p2pd/nat";
import type { AddressEntry, NatInfo, P2PAddress } from "../address.js";
import { P2pdNodeError } from "../errors.js";
import {
  candidatePaceMs,
  type NatLike,
  natClass,
  predictCount,
  predictPorts,
  punchRole,
} from "../traversal/index.js";
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

/** Our punching side as the peer sees it: a mapped (or NIC) address and port. */
export interface PunchSide {
  host: string;
  ports: number[];
  /** Our NAT allocates sequentially: advertise predicted ports from `ports[0]` (see `advertise`). */
  predict?: boolean;
}

/** The ports the peer should punch to: the mapped one, or predictions over the punch's time gap. */
export function advertise(side: PunchSide, c: Candidate, rttMs: number): number[] {
  if (!side.predict) return side.ports;
  return predictPorts(
    natLike(c.local.nat).delta ?? 0,
    side.ports[0] as number,
    predictCount(rttMs),
  );
}

/** A clock offset to the peer (peer ≈ local + offsetMs) and the round trip it was read over. */
export interface PeerClock {
  offsetMs: number;
  rttMs: number;
}

/**
 * The peer's clock from the offer and its answer alone (NTP's four timestamps): we sent the offer
 * at `t0` and got the answer at `t3` (our clock); the answer says when the offer reached the peer
 * (`rx`) and when the answer left (`tx`, the peer's clock). The peer's time in between (its own
 * mapping) is not path. Undefined for an answer without them or with impossible ones.
 */
export function answerClock(
  t0: number,
  t3: number,
  rx: unknown,
  tx: unknown,
): PeerClock | undefined {
  if (typeof rx !== "number" || typeof tx !== "number") return undefined;
  if (!Number.isFinite(rx) || !Number.isFinite(tx) || tx < rx || t3 < t0) return undefined;
  const rttMs = t3 - t0 - (tx - rx);
  if (rttMs < 0) return undefined;
  return { offsetMs: Math.round((rx - t0 + (tx - t3)) / 2), rttMs };
}

/**
 * The offerer's half of the signaling, shared by TCP and UDP punching. A side already known (a
 * mapping read off our address: `guessMapping`) rides in the offer. Otherwise the offer leaves at
 * once, before our mapping is made, so the answerer makes its mapping while we make ours (one
 * mapping round trip less on the critical path); ours follows in `<KIND>_MAPPED` {host, ports,
 * rttMs} (or {error} when we could not make it). The answer {host, ports, at, rx, tx} (or {error})
 * is validated; `clock` is the peer clock its timestamps give. `rttMs()` is what we tell the
 * answerer about the path (undefined: nothing measured yet).
 */
export async function offerPunch<S extends PunchSide>(
  ctx: StrategyContext,
  kind: "TCP" | "UDP",
  c: Candidate,
  side: Promise<S> | S,
  rttMs: () => number | undefined,
): Promise<PunchAnswer & { clock?: PeerClock }> {
  const answer = ctx.waitFor(`${kind}_ANSWER`);
  // It may reject (abort, lost race) while we still await the send: never unhandled.
  answer.catch(() => {});
  const t0 = Date.now();
  if (!(side instanceof Promise)) {
    const rtt = rttMs();
    await ctx.send(`${kind}_OFFER`, {
      family: c.family,
      host: side.host,
      ports: advertise(side, c, rtt ?? 200),
      ...(rtt === undefined ? {} : { rttMs: rtt }),
    });
  } else {
    await ctx.send(`${kind}_OFFER`, { family: c.family });
    let s: S;
    try {
      s = await side;
    } catch (err) {
      // The answerer waits for our mapping: tell it there will be none.
      ctx
        .send(`${kind}_MAPPED`, { error: `no mapping: ${(err as Error).message}` })
        .catch(() => {});
      throw err;
    }
    const rtt = rttMs() ?? 200;
    await ctx.send(`${kind}_MAPPED`, { host: s.host, ports: advertise(s, c, rtt), rttMs: rtt });
  }
  const ans = await answer;
  const t3 = Date.now();
  if (typeof ans.error === "string")
    throw new P2pdNodeError("ERR_PEER_REFUSED", `peer: ${ans.error}`);
  const clock = answerClock(t0, t3, ans.rx, ans.tx);
  return {
    host: ipField(ans.host, "answer host"),
    ports: portsField(ans.ports),
    at: numberField(ans.at, "meeting time"),
    ...(clock ? { clock } : {}),
  };
}

/**
 * Whether our mapping for a punch can be read off our address instead of asked from STUN: the
 * NAT test saw our NAT keep local ports (delta "equal") and maps endpoint-independently, so a
 * socket on local port P is seen as our external IP and P (and the peer's ports are not predicted
 * either). The mapping is still checked with
 * STUN beside the punch (`checkGuess`), which a NAT that took another port makes fail fast.
 */
export function guessMapping(c: Candidate): boolean {
  if (c.sameLan || c.local.nat.type === 0) return false;
  const local = natLike(c.local.nat);
  const remote = natLike(c.remote.nat);
  if (local.delta?.kind !== "equal") return false;
  // Both sides' mapped ports, no prediction: nothing then needs a measured RTT before the answer.
  return (
    punchRole(local, remote).advertise === "mapped" &&
    punchRole(remote, local).advertise === "mapped"
  );
}

/**
 * A guessed side checked against STUN's answer: resolves when they agree (or STUN could not
 * tell), aborts `stop` with ERR_MAPPING_GUESS when the NAT mapped us elsewhere.
 */
export function checkGuess(
  mapped: Promise<{ host: string; port: number }>,
  guess: { host: string; port: number },
  stop: AbortController,
  log: (line: string) => void,
): void {
  mapped.then(
    (m) => {
      if (m.host === guess.host && m.port === guess.port) return;
      log(`mapping guess ${guess.host}:${guess.port} was wrong: ${m.host}:${m.port}`);
      stop.abort(
        new P2pdNodeError(
          "ERR_PUNCH_TIMEOUT",
          `NAT mapped ${m.host}:${m.port}, not the guessed ${guess.host}:${guess.port}`,
        ),
      );
    },
    () => {},
  );
}

/**
 * Spacing of our first packets to successive candidate ports (`candidatePaceMs`): only a NAT that
 * numbers a new mapping per destination (symmetric, sequential) needs them in order; behind any
 * other NAT one socket's packets share one mapping, and pacing would only hold back the second
 * packet to each port (a cone peer's probes to a sequential side's predicted ports).
 */
export function paceFor(c: Candidate, rttMs: number): number {
  return natClass(natLike(c.local.nat)) === "sym-predictable" ? candidatePaceMs(rttMs) : 0;
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
 * The offerer's clock estimate over signaling PINGs (shared by the connect's punches), asked
 * for only when the answer does not carry the peer's clock (an older peer): `best(fromAnswer)`
 * takes the answer's timestamps when they came (no wait, no PINGs), the better of both when
 * PINGs were made anyway. `rttMs` is what the offer tells the answerer: the PINGs' RTT when in,
 * else `fallbackMs` (from the STUN time; undefined: nothing measured).
 */
export function offererClock(ctx: StrategyContext): {
  estimate(): Promise<PeerClock>;
  best(fromAnswer?: PeerClock): Promise<PeerClock>;
  rttMs(fallbackMs?: number): number | undefined;
} {
  let known: PeerClock | undefined;
  let started: Promise<PeerClock> | undefined;
  const estimate = () => {
    if (!started) {
      started = ctx.clock({ signal: ctx.signal });
      // Handled here too: a side that fails first leaves the estimate unawaited.
      started.then(
        (e) => {
          known = e;
        },
        () => {},
      );
    }
    return started;
  };
  return {
    estimate,
    best: async (fromAnswer) => {
      if (!fromAnswer) return estimate();
      return known && known.rttMs < fromAnswer.rttMs ? known : fromAnswer;
    },
    rttMs: (fallbackMs) => {
      const v = known?.rttMs ?? fallbackMs;
      return v === undefined ? undefined : Math.ceil(Math.min(5000, Math.max(1, v)));
    },
  };
}

/** Where the offerer punches from: its host, ports and its view of the path's RTT. */
export interface PunchTarget {
  host: string;
  ports: number[];
  /** Absent: the offerer had measured nothing yet (a guessed mapping rides in the offer). */
  rttMs?: number;
}

/** A validated punch offer and our candidate pair of the offer's family. */
export interface PunchOffer {
  pair: Candidate;
  /**
   * The offerer's side: in the offer itself (an offer that carries its mapping), or still to come
   * in `<KIND>_MAPPED` (the offerer makes its mapping while we make ours). Validated, and only
   * the sender's own addresses (no reflection); rejects otherwise.
   */
  target: Promise<PunchTarget>;
  /** The target came with the offer (no wait). */
  inline: boolean;
}

function readTarget(m: SignalMessage, ctx: ResponderContext, what: string): PunchTarget {
  if (typeof m.error === "string") throw new P2pdNodeError("ERR_PEER_REFUSED", `peer: ${m.error}`);
  const host = ipField(m.host, `${what} host`);
  const ports = portsField(m.ports);
  const rttMs =
    m.rttMs === undefined ? undefined : Math.min(5000, Math.max(0, numberField(m.rttMs, "rtt")));
  // No reflection: we only ever punch towards the sender itself.
  const refused = refuseTarget(host, ctx.candidates);
  if (refused) throw new P2pdNodeError("ERR_PEER_REFUSED", refused);
  return { host, ports, ...(rttMs === undefined ? {} : { rttMs }) };
}

/**
 * The answerer's half, first step: validate the offer (throws on bad fields) and pick our pair
 * of the offer's family; without one, or for a target that is not the sender's, the offerer gets
 * an `{error}` answer and we get undefined. Call it before any await in `respond`: the
 * `<KIND>_MAPPED` that follows an early offer is only caught once waited for.
 */
export async function readOffer(
  msg: SignalMessage,
  ctx: ResponderContext,
  kind: "TCP" | "UDP",
): Promise<PunchOffer | undefined> {
  const inline = msg.host !== undefined || msg.ports !== undefined;
  const mapped = inline ? undefined : ctx.waitFor(`${kind}_MAPPED`);
  mapped?.catch(() => {});
  let target: Promise<PunchTarget>;
  if (mapped) target = mapped.then((m) => readTarget(m, ctx, "mapped"));
  else {
    try {
      target = Promise.resolve(readTarget(msg, ctx, "offer"));
    } catch (err) {
      if ((err as { code?: string }).code !== "ERR_PEER_REFUSED") throw err;
      ctx.log(`${kind} offer refused: ${(err as Error).message}`);
      await ctx.send(`${kind}_ANSWER`, { error: (err as Error).message });
      return undefined;
    }
  }
  target.catch(() => {});
  // The offer's family decides: our side must punch from the same one.
  const family = msg.family === 6 ? 6 : 4;
  const pair = punchPair(ctx.candidates.filter((x) => x.family === family));
  if (!pair) {
    await ctx.send(`${kind}_ANSWER`, { error: "no common address family" });
    return undefined;
  }
  return { pair, target, inline };
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
