import dgram from "node:dgram";
import { P2pdNodeError } from "../errors.js";
import {
  type BirthdayRole,
  meetingAt,
  peerClock,
  probeIntervalMs,
  punchRole,
  sessionFromToken,
  udpMapping,
  udpPunch,
  udpPunchWindowMs,
} from "../traversal/index.js";
import { canPunch, guessMapping, natLike, paceFor, punchPair, stunFor } from "./punch-common.js";
import { answerExchange, type MadeSide, offerExchange, type PunchKind } from "./punch-exchange.js";
import type {
  Candidate,
  ResponderContext,
  SignalMessage,
  Strategy,
  StrategyContext,
} from "./strategy.js";
import type { PunchConfig } from "./tcp-punch.js";

interface Side extends MadeSide {
  socket: dgram.Socket;
}

/**
 * Our UDP socket for the punch and what the peer should probe (mapped, predicted, or NIC
 * address). `guess`: the mapping is read off our address at once and checked with STUN beside
 * the punch (`mapped`).
 */
async function udpSide(
  c: Candidate,
  cfg: PunchConfig,
  signal: AbortSignal,
  guess = false,
): Promise<Side> {
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
    const port = socket.address().port;
    if (c.sameLan || !stun) return { socket, host: nic, ports: [port] };
    if (guess) {
      const mapped = udpMapping(socket, stun, { signal });
      mapped.catch(() => {});
      return { socket, host: c.local.ext, ports: [port], mapped };
    }
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

/** How a UDP punch makes its side, for the shared exchange (punch-exchange.ts). */
function kind(cfg: PunchConfig, signal: AbortSignal, log: (line: string) => void): PunchKind<Side> {
  return {
    kind: "UDP",
    make: (c, guess) => udpSide(c, cfg, signal, guess),
    // A birthday punch keeps STUN: its spray waits for a meeting instant from a measured RTT.
    guess: (c) => !birthday(c) && guessMapping(c),
    rttOfMapping: (ms) => 2 * ms,
    release: (side) => side.socket.close(),
    log: (line) => log(`udp-punch: ${line}`),
  };
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
      const { side, answer, clock, wrong } = await offerExchange(
        ctx,
        kind(cfg, ctx.signal, ctx.log),
        c,
      );
      const { host, ports, at } = answer;
      ctx.log(
        `udp-punch: ${host}:${ports.length} ports, meeting in ${Math.round(at - peerClock(clock)())} ms`,
      );
      const role = punchRole(natLike(c.local.nat), natLike(c.remote.nat));
      const bd = birthday(c);
      // udpPunch owns the socket from here, whatever happens.
      const stream = await udpPunch({
        socket: side.socket,
        remote: { host, ports },
        acceptAnyPort: role.acceptAnyPort && !c.sameLan,
        session: sessionFromToken(ctx.pipeId),
        at,
        clock: peerClock(clock),
        timeoutMs: udpPunchWindowMs(clock.rttMs),
        intervalMs: probeIntervalMs(clock.rttMs),
        paceMs: paceFor(c, clock.rttMs),
        signal: AbortSignal.any([ctx.signal, wrong]),
        ...(bd ? { birthday: bd } : {}),
        log: ctx.log,
      }).catch((err: unknown) => {
        throw wrong.aborted ? wrong.reason : err;
      });
      ctx.log(`udp-punch: hole to ${stream.remote.host}:${stream.remote.port}`);
      const pipe = ctx.wrap(stream);
      await pipe.send(`ID ${ctx.pipeId}`);
      return pipe;
    },
    async respond(msg: SignalMessage, ctx: ResponderContext) {
      ctx.log(`udp-punch: offer in`);
      // We probe as soon as we know where to (our probes open our NAT; the offerer's, sent when
      // the answer arrives, then cross it), except to spray: the offerer's many sockets must be
      // open first, so that waits for the meeting instant.
      const a = await answerExchange(msg, ctx, kind(cfg, ctx.signal, ctx.log), (c, _side, rtt) =>
        birthday(c)?.role === "spray" ? meetingAt(Date.now(), rtt) : Date.now(),
      );
      if (!a) return;
      const { c, side, target } = a;
      const role = punchRole(natLike(c.local.nat), natLike(c.remote.nat));
      const bd = birthday(c);
      const punching = udpPunch({
        socket: side.socket,
        remote: { host: target.host, ports: target.ports },
        acceptAnyPort: role.acceptAnyPort && !c.sameLan,
        session: sessionFromToken(msg.pipeId),
        at: a.at,
        timeoutMs: udpPunchWindowMs(a.windowRttMs),
        intervalMs: probeIntervalMs(a.rttMs),
        paceMs: paceFor(c, a.rttMs),
        signal: a.signal,
        ...(bd ? { birthday: bd } : {}),
        ...(ctx.probeBudget ? { probeBudget: ctx.probeBudget } : {}),
        log: ctx.log,
      });
      punching.catch(() => {});
      await a.answered;
      const stream = await punching;
      // The offerer's `ID <pipeId>` message makes the node adopt this pipe.
      ctx.wrap(stream);
    },
  };
}
