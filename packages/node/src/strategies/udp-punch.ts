import dgram from "node:dgram";
import { P2pdNodeError } from "../errors.js";
import {
  type BirthdayRole,
  candidatePaceMs,
  meetingAt,
  peerClock,
  predictCount,
  predictPorts,
  probeIntervalMs,
  punchRole,
  sessionFromToken,
  udpMapping,
  udpPunch,
  udpPunchWindowMs,
} from "../traversal/index.js";
import {
  answerSide,
  canPunch,
  natLike,
  offererClock,
  offerPunch,
  punchPair,
  readOffer,
  stunFor,
} from "./punch-common.js";
import type {
  Candidate,
  ResponderContext,
  SignalMessage,
  Strategy,
  StrategyContext,
} from "./strategy.js";
import type { PunchConfig } from "./tcp-punch.js";

interface Side {
  socket: dgram.Socket;
  host: string;
  ports: number[];
  /** Our NAT allocates sequentially: advertise predicted ports from `ports[0]` (see `advertise`). */
  predict?: boolean;
}

/** The ports the peer should probe: the mapped one, or predictions over the punch's time gap. */
function advertise(side: Side, c: Candidate, rttMs: number): number[] {
  if (!side.predict) return side.ports;
  return predictPorts(
    natLike(c.local.nat).delta ?? 0,
    side.ports[0] as number,
    predictCount(rttMs),
  );
}

/** Our UDP socket for the punch and what the peer should probe (mapped, predicted, or NIC address). */
async function udpSide(c: Candidate, cfg: PunchConfig, signal: AbortSignal): Promise<Side> {
  const nic = c.local.internal;
  const socket = dgram.createSocket(c.family === 6 ? "udp6" : "udp4");
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once("error", reject);
      socket.bind({ port: 0, address: nic }, () => {
        socket.off("error", reject);
        resolve();
      });
    });
    const stun = stunFor(cfg.stun, c.local, c.family);
    if (c.sameLan || !stun) return { socket, host: nic, ports: [socket.address().port] };
    const mapped = await udpMapping(socket, stun, { signal });
    const role = punchRole(natLike(c.local.nat), natLike(c.remote.nat));
    return {
      socket,
      host: mapped.host,
      ports: [mapped.port],
      predict: role.advertise === "predicted",
    };
  } catch (err) {
    socket.close();
    throw err;
  }
}

function birthday(c: Candidate): BirthdayRole | undefined {
  if (c.sameLan) return undefined;
  const r = punchRole(natLike(c.local.nat), natLike(c.remote.nat)).udpBirthday;
  return r ? { role: r } : undefined;
}

/**
 * UDP hole punching with the traversal module's `udpPunch` (birthday probing when one NAT is
 * random); the hole becomes a ReliableUdpStream keyed by a session derived from the pipe id.
 * Messages: UDP_OFFER {family, host, ports, rttMs} -> UDP_ANSWER {host, ports, at} (or {error}).
 */
export function udpPunchStrategy(cfg: PunchConfig): Strategy {
  return {
    name: "udp-punch",
    timeoutMs: 15_000,
    // Racing without a measured path (the node derives it from RTTs: traversal/timing.ts).
    staggerMs: 1000,
    answers: ["UDP_OFFER"],
    canTry: (local, remote) => canPunch("udp", local, remote, cfg.stun),
    async run(ctx: StrategyContext) {
      const c = punchPair(ctx.candidates);
      if (!c) throw new P2pdNodeError("ERR_NO_CANDIDATE", "no common address family");
      // Clock sync over signaling beside our STUN mapping; the offer waits for the mapping only.
      const clock = offererClock(ctx);
      const t0 = performance.now();
      const side = await udpSide(c, cfg, ctx.signal);
      // A UDP binding is one round trip to the server: the peer is about twice as far.
      const rttMs = clock.rttMs(2 * (performance.now() - t0));
      ctx.log(`udp-punch: mapped ${side.host}:${side.ports[0]}, offering (rtt ${rttMs} ms)`);
      let handedOver = false;
      try {
        const { host, ports, at } = await offerPunch(ctx, "UDP", {
          family: c.family,
          host: side.host,
          ports: advertise(side, c, rttMs),
          rttMs,
        });
        const est = await clock.estimate;
        ctx.log(
          `udp-punch: clock offset ${est.offsetMs} ms, signaling RTT ${Math.round(est.rttMs)} ms`,
        );
        ctx.log(
          `udp-punch: ${host}:${ports.length} ports, meeting in ${Math.round(at - peerClock(est)())} ms`,
        );
        const role = punchRole(natLike(c.local.nat), natLike(c.remote.nat));
        handedOver = true; // udpPunch owns the socket from here, whatever happens
        const bd = birthday(c);
        const stream = await udpPunch({
          socket: side.socket,
          remote: { host, ports },
          acceptAnyPort: role.acceptAnyPort && !c.sameLan,
          session: sessionFromToken(ctx.pipeId),
          at,
          clock: peerClock(est),
          timeoutMs: udpPunchWindowMs(est.rttMs),
          intervalMs: probeIntervalMs(est.rttMs),
          paceMs: candidatePaceMs(est.rttMs),
          signal: ctx.signal,
          ...(bd ? { birthday: bd } : {}),
          log: ctx.log,
        });
        ctx.log(`udp-punch: hole to ${stream.remote.host}:${stream.remote.port}`);
        const pipe = ctx.wrap(stream);
        await pipe.send(`ID ${ctx.pipeId}`);
        return pipe;
      } finally {
        if (!handedOver) side.socket.close();
      }
    },
    async respond(msg: SignalMessage, ctx: ResponderContext) {
      ctx.log(`udp-punch: offer in`);
      const offer = await readOffer(msg, ctx, "UDP");
      if (!offer) return;
      const { host, ports, pair: c } = offer;
      const rtt = offer.rttMs;
      const side = await answerSide(ctx, "UDP", () => udpSide(c, cfg, ctx.signal));
      ctx.log(`udp-punch: mapped, answering`);
      const bd = birthday(c);
      // We probe as soon as the answer leaves (our probes open our NAT; the offerer's, sent when
      // the answer arrives, then cross it), except to spray: the offerer's many sockets must be
      // open first, so that waits for the meeting instant.
      const at = bd?.role === "spray" ? meetingAt(Date.now(), rtt) : Date.now();
      const role = punchRole(natLike(c.local.nat), natLike(c.remote.nat));
      // Punching starts while the answer is still being sent (the broker's acknowledgement costs
      // a round trip to it); a failed send stops it.
      const stop = new AbortController();
      const punching = udpPunch({
        socket: side.socket,
        remote: { host, ports },
        acceptAnyPort: role.acceptAnyPort && !c.sameLan,
        session: sessionFromToken(msg.pipeId),
        at,
        timeoutMs: udpPunchWindowMs(rtt),
        intervalMs: probeIntervalMs(rtt),
        paceMs: candidatePaceMs(rtt),
        signal: AbortSignal.any([ctx.signal, stop.signal]),
        ...(bd ? { birthday: bd } : {}),
        ...(ctx.probeBudget ? { probeBudget: ctx.probeBudget } : {}),
        log: ctx.log,
      });
      punching.catch(() => {});
      try {
        await ctx.send("UDP_ANSWER", { host: side.host, ports: advertise(side, c, rtt), at });
        ctx.log(`udp-punch: answered, meeting in ${at - Date.now()} ms`);
      } catch (err) {
        stop.abort(err);
        throw err;
      }
      const stream = await punching;
      // The offerer's `ID <pipeId>` message makes the node adopt this pipe.
      ctx.wrap(stream);
    },
  };
}
