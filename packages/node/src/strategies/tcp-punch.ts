import { P2pdNodeError } from "../errors.js";
import {
  openTcpMapping,
  peerClock,
  punchRole,
  type TcpMapping,
  tcpAttemptMs,
  tcpMeetingLeadMs,
  tcpPunch,
  tcpPunchWindowMs,
} from "../traversal/index.js";
import {
  canPunch,
  freeTcpPort,
  guessMapping,
  natLike,
  paceFor,
  punchPair,
  stunFor,
} from "./punch-common.js";
import { answerExchange, type MadeSide, offerExchange, type PunchKind } from "./punch-exchange.js";
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

interface Side extends MadeSide {
  localPort: number;
  localAddress: string;
  /** What keeps the NAT mapping alive (the open STUN connection): closed when punching ends. */
  mapping?: { close(): void };
}

/** How a TCP punch makes its side, for the shared exchange (punch-exchange.ts). */
function kind(cfg: PunchConfig, signal: AbortSignal, log: (line: string) => void): PunchKind<Side> {
  return {
    kind: "TCP",
    make: (c, guess) => tcpSide(c, cfg, signal, guess),
    guess: guessMapping,
    // A TCP mapping is a connect and a binding: two round trips to the server, about one to the peer.
    rttOfMapping: (ms) => ms,
    release: (side) => side.mapping?.close(),
    log: (line) => log(`tcp-punch: ${line}`),
  };
}

/**
 * Our side of a TCP punch: a fixed local port and what the peer should dial. `guess`: the
 * mapping is read off our address at once; the STUN connection from the same port opens beside
 * the punch and checks it (`mapped`).
 */
async function tcpSide(
  c: Candidate,
  cfg: PunchConfig,
  signal: AbortSignal,
  guess = false,
): Promise<Side> {
  const nic = c.local.internal;
  const stun = stunFor(cfg.stun, c.local, c.family);
  if (c.sameLan || !stun) {
    // LAN mode (or no STUN): the peer dials our NIC address.
    const port = await freeTcpPort(nic);
    return { host: nic, ports: [port], localPort: port, localAddress: nic };
  }
  if (guess) {
    const port = await freeTcpPort(nic);
    const opening = openTcpMapping({
      stunServer: stun,
      localAddress: nic,
      localPort: port,
      signal,
    });
    let open: TcpMapping | undefined;
    let closed = false;
    opening.then(
      (m) => {
        if (closed) m.close();
        else open = m;
      },
      () => {},
    );
    return {
      host: c.local.ext,
      ports: [port],
      localPort: port,
      localAddress: nic,
      mapping: {
        close: () => {
          closed = true;
          open?.close();
        },
      },
      mapped: opening.then((m) => m.mapped),
    };
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
      const { side, answer, clock, wrong } = await offerExchange(
        ctx,
        kind(cfg, ctx.signal, ctx.log),
        c,
      );
      const { host, ports, at } = answer;
      const role = punchRole(natLike(c.local.nat), natLike(c.remote.nat), { initiator: true });
      ctx.log(
        `tcp-punch: ${side.localAddress}:${side.localPort} <-> ${host}:${ports.join(",")}, meeting in ${Math.round(at - peerClock(clock)())} ms`,
      );
      // tcpPunch closes the mapping keeper whatever happens.
      const sock = await tcpPunch({
        localPort: side.localPort,
        localAddress: side.localAddress,
        remote: { host, ports },
        at,
        clock: peerClock(clock),
        timeoutMs: tcpPunchWindowMs(clock.rttMs),
        attemptTimeoutMs: tcpAttemptMs(clock.rttMs),
        staggerMs: paceFor(c, clock.rttMs),
        signal: AbortSignal.any([ctx.signal, wrong]),
        // Same LAN: no NAT drops our early SYNs and an unanswered SYN meets a RST, so the
        // answerer listens and we dial (simultaneous open needs SYN-dropping NATs between).
        accept: role.tcpAccept && !c.sameLan,
        // Predicted port lists can connect several tuples: the offerer picks one (a selection
        // byte), the answerer keeps that one, so both sides hold the same connection.
        role: "initiator",
        ...(side.mapping ? { mapping: side.mapping } : {}),
        log: ctx.log,
      }).catch((err: unknown) => {
        throw wrong.aborted ? wrong.reason : err;
      });
      const pipe = ctx.wrap(sock);
      await pipe.send(`ID ${ctx.pipeId}`);
      return pipe;
    },
    async respond(msg: SignalMessage, ctx: ResponderContext) {
      ctx.log(`tcp-punch: offer in`);
      // The meeting instant: at once between mapped ports (one crossing SYN is enough), the
      // full lead when a side's ports are predicted.
      const a = await answerExchange(msg, ctx, kind(cfg, ctx.signal, ctx.log), (c, side, rtt) => {
        const predicted =
          side.predict === true ||
          punchRole(natLike(c.remote.nat), natLike(c.local.nat)).advertise === "predicted";
        return Date.now() + tcpMeetingLeadMs(rtt, predicted && !c.sameLan);
      });
      if (!a) return;
      const { c, side, target } = a;
      const role = punchRole(natLike(c.local.nat), natLike(c.remote.nat), { initiator: false });
      const punching = tcpPunch({
        localPort: side.localPort,
        localAddress: side.localAddress,
        remote: { host: target.host, ports: target.ports },
        at: a.at,
        timeoutMs: tcpPunchWindowMs(a.windowRttMs),
        attemptTimeoutMs: tcpAttemptMs(a.windowRttMs),
        staggerMs: paceFor(c, a.rttMs),
        signal: a.signal,
        accept: c.sameLan || role.tcpAccept,
        role: "responder",
        ...(side.mapping ? { mapping: side.mapping } : {}),
        log: ctx.log,
      });
      punching.catch(() => {});
      await a.answered;
      const sock = await punching;
      // The offerer's `ID <pipeId>` message makes the node adopt this pipe.
      ctx.wrap(sock);
    },
  };
}
