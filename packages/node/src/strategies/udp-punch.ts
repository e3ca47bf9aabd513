import dgram from "node:dgram";
import { P2pdNodeError } from "../errors.js";
import {
  type BirthdayRole,
  candidatePaceMs,
  clamp,
  meetingAt,
  pathRttMs,
  peerClock,
  probeIntervalMs,
  punchRole,
  sessionFromToken,
  UNMEASURED_WINDOW_RTT_MS,
  udpMapping,
  udpPunch,
  udpPunchWindowMs,
} from "../traversal/index.js";
import {
  advertise,
  answerSide,
  canPunch,
  checkGuess,
  guessMapping,
  natLike,
  offererClock,
  offerPunch,
  type PunchSide,
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

interface Side extends PunchSide {
  socket: dgram.Socket;
  /** A guessed side (`guessMapping`): STUN's answer for it, still to come. */
  mapped?: Promise<{ host: string; port: number }>;
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
      // Clock sync over signaling and our STUN mapping, beside the offer (which leaves at once:
      // the answerer makes its mapping while we make ours; ours follows the offer).
      const clock = offererClock(ctx);
      const t0 = performance.now();
      let stunMs: number | undefined;
      const bd = birthday(c);
      const guess = !bd && guessMapping(c);
      const making = udpSide(c, cfg, ctx.signal, guess).then((s) => {
        if (!guess) stunMs = performance.now() - t0;
        ctx.log(`udp-punch: ${guess ? "guessed" : "mapped"} ${s.host}:${s.ports[0]}`);
        return s;
      });
      // A wrong guess stops the punch at once.
      const wrong = new AbortController();
      let handedOver = false;
      try {
        // Guessed: the side is ready at once and rides in the offer.
        const early = guess ? await making : making;
        if (guess) {
          const s = early as Side;
          if (s.mapped)
            checkGuess(s.mapped, { host: s.host, port: s.ports[0] as number }, wrong, ctx.log);
        }
        // A UDP binding is one round trip to the server: the peer is about twice as far.
        const ans = await offerPunch(
          ctx,
          "UDP",
          c,
          early,
          () => clock.rttMs(stunMs === undefined ? undefined : 2 * stunMs),
          clock.start,
        );
        const { host, ports, at } = ans;
        const side = await making;
        const est = await clock.best(ans.clock);
        ctx.log(
          `udp-punch: clock offset ${est.offsetMs} ms, signaling RTT ${Math.round(est.rttMs)} ms`,
        );
        ctx.log(
          `udp-punch: ${host}:${ports.length} ports, meeting in ${Math.round(at - peerClock(est)())} ms`,
        );
        const role = punchRole(natLike(c.local.nat), natLike(c.remote.nat));
        handedOver = true; // udpPunch owns the socket from here, whatever happens
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
          signal: AbortSignal.any([ctx.signal, wrong.signal]),
          ...(bd ? { birthday: bd } : {}),
          log: ctx.log,
        }).catch((err: unknown) => {
          throw wrong.signal.aborted ? wrong.signal.reason : err;
        });
        ctx.log(`udp-punch: hole to ${stream.remote.host}:${stream.remote.port}`);
        const pipe = ctx.wrap(stream);
        await pipe.send(`ID ${ctx.pipeId}`);
        return pipe;
      } finally {
        // A side made after we gave up is closed when it arrives.
        if (!handedOver)
          making.then(
            (s) => s.socket.close(),
            () => {},
          );
      }
    },
    async respond(msg: SignalMessage, ctx: ResponderContext) {
      const rx = Date.now();
      ctx.log(`udp-punch: offer in`);
      // Before any await: an early offer's UDP_MAPPED is caught from here on.
      const offer = await readOffer(msg, ctx, "UDP");
      if (!offer) return;
      const c = offer.pair;
      const bd = birthday(c);
      const guess = !bd && guessMapping(c);
      const t0 = performance.now();
      // The offerer's measure, when its mapping came before ours (a lost packet can stretch ours).
      let theirs = Number.POSITIVE_INFINITY;
      offer.target.then(
        (t) => {
          theirs = t.rttMs ?? theirs;
        },
        () => {},
      );
      const side = await answerSide(ctx, "UDP", () => udpSide(c, cfg, ctx.signal, guess));
      const wrong = new AbortController();
      if (side.mapped)
        checkGuess(side.mapped, { host: side.host, port: side.ports[0] as number }, wrong, ctx.log);
      let handedOver = false;
      try {
        // The offerer's view of the path when its offer carried it, else ours (2 STUN RTTs;
        // none for a guessed mapping).
        const known = offer.inline
          ? (await offer.target).rttMs
          : guess
            ? undefined
            : Math.ceil(clamp(Math.min(2 * (performance.now() - t0), theirs), 1, 5000));
        const rtt = known ?? pathRttMs({});
        ctx.log(`udp-punch: ${guess ? "guessed" : "mapped"}, answering`);
        // We probe as soon as we know where to (our probes open our NAT; the offerer's, sent when
        // the answer arrives, then cross it), except to spray: the offerer's many sockets must be
        // open first, so that waits for the meeting instant.
        const at = bd?.role === "spray" ? meetingAt(Date.now(), rtt) : Date.now();
        const role = punchRole(natLike(c.local.nat), natLike(c.remote.nat));
        // The answer leaves before the offerer's mapping is in (it may still be on its way); a
        // failed send stops the punch.
        const stop = new AbortController();
        const answered = ctx
          .send("UDP_ANSWER", {
            host: side.host,
            ports: advertise(side, c, rtt),
            at,
            rx,
            tx: Date.now(),
          })
          .then(
            () => ctx.log(`udp-punch: answered, meeting in ${at - Date.now()} ms`),
            (err: unknown) => {
              stop.abort(err);
              throw err;
            },
          );
        answered.catch(() => {});
        const target = await offer.target;
        // Measured by either side, else a long path for the window (see UNMEASURED_WINDOW_RTT_MS).
        const measured = Math.max(known ?? 0, target.rttMs ?? 0) || undefined;
        const pathRtt = measured ?? rtt;
        handedOver = true; // udpPunch owns the socket from here
        const punching = udpPunch({
          socket: side.socket,
          remote: { host: target.host, ports: target.ports },
          acceptAnyPort: role.acceptAnyPort && !c.sameLan,
          session: sessionFromToken(msg.pipeId),
          at,
          timeoutMs: udpPunchWindowMs(measured ?? UNMEASURED_WINDOW_RTT_MS),
          intervalMs: probeIntervalMs(pathRtt),
          paceMs: candidatePaceMs(pathRtt),
          signal: AbortSignal.any([ctx.signal, stop.signal, wrong.signal]),
          ...(bd ? { birthday: bd } : {}),
          ...(ctx.probeBudget ? { probeBudget: ctx.probeBudget } : {}),
          log: ctx.log,
        });
        punching.catch(() => {});
        await answered;
        const stream = await punching;
        // The offerer's `ID <pipeId>` message makes the node adopt this pipe.
        ctx.wrap(stream);
      } finally {
        if (!handedOver) side.socket.close();
      }
    },
  };
}
