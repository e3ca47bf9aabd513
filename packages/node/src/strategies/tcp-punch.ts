import { P2pdNodeError } from "../errors.js";
import {
  candidatePaceMs,
  meetingAt,
  openTcpMapping,
  peerClock,
  predictCount,
  predictPorts,
  punchRole,
  type TcpMapping,
  tcpAttemptMs,
  tcpPunch,
  tcpPunchWindowMs,
} from "../traversal/index.js";
import {
  answerSide,
  canPunch,
  freeTcpPort,
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

export interface PunchConfig {
  /** STUN servers (IP literals) for fresh mappings; without one only LAN punching works. */
  stun: { host: string; port: number }[];
}

interface Side {
  /** What we tell the peer: where to dial. */
  host: string;
  ports: number[];
  localPort: number;
  localAddress: string;
  mapping?: TcpMapping;
  /** Our NAT allocates sequentially: advertise predicted ports from `ports[0]` (see `advertise`). */
  predict?: boolean;
}

/** The ports the peer should dial: the mapped one, or predictions over the punch's time gap. */
function advertise(side: Side, c: Candidate, rttMs: number): number[] {
  if (!side.predict) return side.ports;
  return predictPorts(
    natLike(c.local.nat).delta ?? 0,
    side.ports[0] as number,
    predictCount(rttMs),
  );
}

/** Our side of a TCP punch: a fixed local port and what the peer should dial. */
async function tcpSide(c: Candidate, cfg: PunchConfig, signal: AbortSignal): Promise<Side> {
  const nic = c.local.internal;
  const stun = stunFor(cfg.stun, c.local, c.family);
  if (c.sameLan || !stun) {
    // LAN mode (or no STUN): the peer dials our NIC address.
    const port = await freeTcpPort(nic);
    return { host: nic, ports: [port], localPort: port, localAddress: nic };
  }
  // Keep the STUN connection open until the punch ends: a FIN can drop the mapping.
  const mapping = await openTcpMapping({ stunServer: stun, localAddress: nic, signal });
  const role = punchRole(natLike(c.local.nat), natLike(c.remote.nat));
  return {
    host: mapping.mapped.host,
    ports: [mapping.mapped.port],
    predict: role.advertise === "predicted",
    localPort: mapping.local.port,
    localAddress: nic,
    mapping,
  };
}

/**
 * TCP hole punching (simultaneous open) with the traversal module's `tcpPunch`. Messages:
 * TCP_OFFER {family, host, ports, rttMs} -> TCP_ANSWER {host, ports, at} (or {error}), with `at`
 * in the answerer's clock; the offerer converts it with a clock offset measured over signaling.
 */
export function tcpPunchStrategy(cfg: PunchConfig): Strategy {
  return {
    name: "tcp-punch",
    timeoutMs: 15_000,
    // Racing without a measured path (the node derives it from RTTs: traversal/timing.ts).
    staggerMs: 1000,
    answers: ["TCP_OFFER"],
    canTry: (local, remote) => canPunch("tcp", local, remote, cfg.stun),
    async run(ctx: StrategyContext) {
      const c = punchPair(ctx.candidates);
      if (!c) throw new P2pdNodeError("ERR_NO_CANDIDATE", "no common address family");
      // Clock sync over signaling beside our STUN mapping; the offer waits for the mapping only.
      const clock = offererClock(ctx);
      const t0 = performance.now();
      const side = await tcpSide(c, cfg, ctx.signal);
      // A TCP mapping is a connect and a binding: two round trips to the server, about one to the peer.
      const rttMs = clock.rttMs(performance.now() - t0);
      ctx.log(`tcp-punch: mapped ${side.host}:${side.ports[0]}, offering (rtt ${rttMs} ms)`);
      try {
        const { host, ports, at } = await offerPunch(ctx, "TCP", {
          family: c.family,
          host: side.host,
          ports: advertise(side, c, rttMs),
          rttMs,
        });
        const est = await clock.estimate;
        ctx.log(
          `tcp-punch: clock offset ${est.offsetMs} ms, signaling RTT ${Math.round(est.rttMs)} ms`,
        );
        const role = punchRole(natLike(c.local.nat), natLike(c.remote.nat), { initiator: true });
        ctx.log(
          `tcp-punch: ${side.localAddress}:${side.localPort} <-> ${host}:${ports.join(",")}, meeting in ${Math.round(at - peerClock(est)())} ms`,
        );
        const sock = await tcpPunch({
          localPort: side.localPort,
          localAddress: side.localAddress,
          remote: { host, ports },
          at,
          clock: peerClock(est),
          timeoutMs: tcpPunchWindowMs(est.rttMs),
          attemptTimeoutMs: tcpAttemptMs(est.rttMs),
          staggerMs: candidatePaceMs(est.rttMs),
          signal: ctx.signal,
          // Same LAN: no NAT drops our early SYNs and an unanswered SYN meets a RST, so the
          // answerer listens and we dial (simultaneous open needs SYN-dropping NATs between).
          accept: role.tcpAccept && !c.sameLan,
          // Predicted port lists can connect several tuples: the offerer picks one (a selection
          // byte), the answerer keeps that one, so both sides hold the same connection.
          role: "initiator",
          ...(side.mapping ? { mapping: side.mapping } : {}),
          log: ctx.log,
        });
        const pipe = ctx.wrap(sock);
        await pipe.send(`ID ${ctx.pipeId}`);
        return pipe;
      } finally {
        side.mapping?.close();
      }
    },
    async respond(msg: SignalMessage, ctx: ResponderContext) {
      ctx.log(`tcp-punch: offer in`);
      const offer = await readOffer(msg, ctx, "TCP");
      if (!offer) return;
      const { host, ports, pair: c } = offer;
      const rtt = offer.rttMs;
      const side = await answerSide(ctx, "TCP", () => tcpSide(c, cfg, ctx.signal));
      ctx.log(`tcp-punch: mapped, answering`);
      try {
        const at = meetingAt(Date.now(), rtt);
        const role = punchRole(natLike(c.local.nat), natLike(c.remote.nat), { initiator: false });
        // Dialling waits for `at` while the answer is still being sent; a failed send stops it.
        const stop = new AbortController();
        const punching = tcpPunch({
          localPort: side.localPort,
          localAddress: side.localAddress,
          remote: { host, ports },
          at,
          timeoutMs: tcpPunchWindowMs(rtt),
          attemptTimeoutMs: tcpAttemptMs(rtt),
          staggerMs: candidatePaceMs(rtt),
          signal: AbortSignal.any([ctx.signal, stop.signal]),
          accept: c.sameLan || role.tcpAccept,
          role: "responder",
          ...(side.mapping ? { mapping: side.mapping } : {}),
          log: ctx.log,
        });
        punching.catch(() => {});
        try {
          await ctx.send("TCP_ANSWER", { host: side.host, ports: advertise(side, c, rtt), at });
          ctx.log(`tcp-punch: answered, meeting in ${at - Date.now()} ms`);
        } catch (err) {
          stop.abort(err);
          throw err;
        }
        const sock = await punching;
        // The offerer's `ID <pipeId>` message makes the node adopt this pipe.
        ctx.wrap(sock);
      } finally {
        side.mapping?.close();
      }
    },
  };
}
