import { P2pdNodeError } from "../errors.js";
import {
  candidatePaceMs,
  clamp,
  openTcpMapping,
  pathRttMs,
  peerClock,
  punchRole,
  type TcpMapping,
  tcpAttemptMs,
  tcpMeetingLeadMs,
  tcpPunch,
  tcpPunchWindowMs,
  UNMEASURED_WINDOW_RTT_MS,
} from "../traversal/index.js";
import {
  advertise,
  answerSide,
  canPunch,
  checkGuess,
  freeTcpPort,
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

export interface PunchConfig {
  /** STUN servers (IP literals) for fresh mappings; without one only LAN punching works. */
  stun: { host: string; port: number }[];
}

interface Side extends PunchSide {
  localPort: number;
  localAddress: string;
  /** What keeps the NAT mapping alive (the open STUN connection): closed when punching ends. */
  mapping?: { close(): void };
  /** A guessed side (`guessMapping`): STUN's answer for it, still to come. */
  mapped?: Promise<{ host: string; port: number }>;
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
      // Clock sync over signaling and our STUN mapping, beside the offer (which leaves at once:
      // the answerer makes its mapping while we make ours; ours follows the offer).
      const clock = offererClock(ctx);
      const t0 = performance.now();
      let stunMs: number | undefined;
      const guess = guessMapping(c);
      const making = tcpSide(c, cfg, ctx.signal, guess).then((s) => {
        if (!guess) stunMs = performance.now() - t0;
        ctx.log(`tcp-punch: ${guess ? "guessed" : "mapped"} ${s.host}:${s.ports[0]}`);
        return s;
      });
      // A wrong guess stops the punch at once.
      const wrong = new AbortController();
      try {
        // Guessed: the side is ready at once and rides in the offer.
        const early = guess ? await making : making;
        if (guess) {
          const s = early as Side;
          if (s.mapped)
            checkGuess(s.mapped, { host: s.host, port: s.ports[0] as number }, wrong, ctx.log);
        }
        // A TCP mapping is a connect and a binding: two round trips to the server, about one to the peer.
        const ans = await offerPunch(ctx, "TCP", c, early, () => clock.rttMs(stunMs), clock.start);
        const { host, ports, at } = ans;
        const side = await making;
        const est = await clock.best(ans.clock);
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
          signal: AbortSignal.any([ctx.signal, wrong.signal]),
          // Same LAN: no NAT drops our early SYNs and an unanswered SYN meets a RST, so the
          // answerer listens and we dial (simultaneous open needs SYN-dropping NATs between).
          accept: role.tcpAccept && !c.sameLan,
          // Predicted port lists can connect several tuples: the offerer picks one (a selection
          // byte), the answerer keeps that one, so both sides hold the same connection.
          role: "initiator",
          ...(side.mapping ? { mapping: side.mapping } : {}),
          log: ctx.log,
        }).catch((err: unknown) => {
          throw wrong.signal.aborted ? wrong.signal.reason : err;
        });
        const pipe = ctx.wrap(sock);
        await pipe.send(`ID ${ctx.pipeId}`);
        return pipe;
      } finally {
        // Also a mapping made after we gave up.
        making.then(
          (s) => s.mapping?.close(),
          () => {},
        );
      }
    },
    async respond(msg: SignalMessage, ctx: ResponderContext) {
      const rx = Date.now();
      ctx.log(`tcp-punch: offer in`);
      // Before any await: an early offer's TCP_MAPPED is caught from here on.
      const offer = await readOffer(msg, ctx, "TCP");
      if (!offer) return;
      const c = offer.pair;
      const guess = guessMapping(c);
      const t0 = performance.now();
      // The offerer's measure, when its mapping came before ours (a lost packet can stretch ours).
      let theirs = Number.POSITIVE_INFINITY;
      offer.target.then(
        (t) => {
          theirs = t.rttMs ?? theirs;
        },
        () => {},
      );
      const side = await answerSide(ctx, "TCP", () => tcpSide(c, cfg, ctx.signal, guess));
      const wrong = new AbortController();
      if (side.mapped)
        checkGuess(side.mapped, { host: side.host, port: side.ports[0] as number }, wrong, ctx.log);
      try {
        // The offerer's view of the path when its offer carried it, else ours (the mapping's
        // two round trips to the server: about one to the peer; none for a guessed mapping).
        const known = offer.inline
          ? (await offer.target).rttMs
          : guess
            ? undefined
            : Math.ceil(clamp(Math.min(performance.now() - t0, theirs), 1, 5000));
        const rtt = known ?? pathRttMs({});
        ctx.log(`tcp-punch: ${guess ? "guessed" : "mapped"}, answering`);
        const role = punchRole(natLike(c.local.nat), natLike(c.remote.nat), { initiator: false });
        const predicted =
          side.predict === true ||
          punchRole(natLike(c.remote.nat), natLike(c.local.nat)).advertise === "predicted";
        const at = Date.now() + tcpMeetingLeadMs(rtt, predicted && !c.sameLan);
        // The answer leaves before the offerer's mapping is in (it may still be on its way);
        // dialling starts when both are known, and a failed send stops it.
        const stop = new AbortController();
        const answered = ctx
          .send("TCP_ANSWER", {
            host: side.host,
            ports: advertise(side, c, rtt),
            at,
            rx,
            tx: Date.now(),
          })
          .then(
            () => ctx.log(`tcp-punch: answered, meeting in ${at - Date.now()} ms`),
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
        const punching = tcpPunch({
          localPort: side.localPort,
          localAddress: side.localAddress,
          remote: { host: target.host, ports: target.ports },
          at,
          timeoutMs: tcpPunchWindowMs(measured ?? UNMEASURED_WINDOW_RTT_MS),
          attemptTimeoutMs: tcpAttemptMs(measured ?? UNMEASURED_WINDOW_RTT_MS),
          staggerMs: candidatePaceMs(pathRtt),
          signal: AbortSignal.any([ctx.signal, stop.signal, wrong.signal]),
          accept: c.sameLan || role.tcpAccept,
          role: "responder",
          ...(side.mapping ? { mapping: side.mapping } : {}),
          log: ctx.log,
        });
        punching.catch(() => {});
        await answered;
        const sock = await punching;
        // The offerer's `ID <pipeId>` message makes the node adopt this pipe.
        ctx.wrap(sock);
      } finally {
        side.mapping?.close();
      }
    },
  };
}
