import { clamp, pathRttMs, UNMEASURED_WINDOW_RTT_MS } from "../traversal/index.js";
import {
  advertise,
  answerSide,
  checkGuess,
  offererClock,
  offerPunch,
  type PeerClock,
  type PunchAnswer,
  type PunchSide,
  type PunchTarget,
  readOffer,
} from "./punch-common.js";
import type { Candidate, ResponderContext, SignalMessage, StrategyContext } from "./strategy.js";

/** Our side of a punch as TCP and UDP make it (see `tcpSide` / `udpSide`). */
export interface MadeSide extends PunchSide {
  /** A guessed side: STUN's answer for it, still to come. */
  mapped?: Promise<{ host: string; port: number }>;
}

/** What the two punches differ in, for the shared exchange. */
export interface PunchKind<S extends MadeSide> {
  kind: "TCP" | "UDP";
  /** Our side; `guess`: read the mapping off our address (checked by STUN beside the punch). */
  make(c: Candidate, guess: boolean): Promise<S>;
  /** Whether this punch may guess its mapping for this pair (`guessMapping` and its own rules). */
  guess(c: Candidate): boolean;
  /** The peer round trip a mapping of `ms` suggests (a UDP binding is 1 server RTT, TCP 2). */
  rttOfMapping(ms: number): number;
  /** Frees a side the punch never took over (its socket, its STUN connection). */
  release(side: S): void;
  log(line: string): void;
}

/** A guessed side checked against STUN: `wrong` aborts when STUN saw another mapping. */
function watchGuess(side: MadeSide, wrong: AbortController, log: (l: string) => void): void {
  if (side.mapped)
    checkGuess(side.mapped, { host: side.host, port: side.ports[0] as number }, wrong, log);
}

/** The offerer's exchange done: our side, the answer, the peer's clock, and the guess check. */
export interface Offered<S> {
  side: S;
  answer: PunchAnswer;
  clock: PeerClock;
  /** Aborts (ERR_PUNCH_TIMEOUT) when a guessed mapping turns out wrong: stop the punch. */
  wrong: AbortSignal;
}

/**
 * The offerer's half up to the punch, shared by TCP and UDP: our side (guessed, or mapped by
 * STUN while the offer is already on its way), the offer and the answer, and the peer's clock
 * (the answer's timestamps, or the connect's PINGs). On failure our side is released, also when
 * it is made after we gave up; on success the caller owns it.
 */
export async function offerExchange<S extends MadeSide>(
  ctx: StrategyContext,
  k: PunchKind<S>,
  c: Candidate,
): Promise<Offered<S>> {
  const clock = offererClock(ctx);
  const t0 = performance.now();
  let stunMs: number | undefined;
  const guess = k.guess(c);
  const making = k.make(c, guess).then((s) => {
    if (!guess) stunMs = performance.now() - t0;
    k.log(`${guess ? "guessed" : "mapped"} ${s.host}:${s.ports[0]}`);
    return s;
  });
  const wrong = new AbortController();
  try {
    // Guessed: the side is ready at once and rides in the offer.
    const early = guess ? await making : making;
    if (guess) watchGuess(early as S, wrong, k.log);
    const answer = await offerPunch(ctx, k.kind, c, early, () =>
      clock.rttMs(stunMs === undefined ? undefined : k.rttOfMapping(stunMs)),
    );
    const side = await making;
    // The answer's timestamps give the peer's clock and the signaling RTT (the race's timing);
    // an answer without them (an older peer) waits for the connect's PINGs.
    if (answer.clock) ctx.observeRtt?.(answer.clock.rttMs);
    const est = await clock.best(answer.clock);
    k.log(`clock offset ${est.offsetMs} ms, signaling RTT ${Math.round(est.rttMs)} ms`);
    return { side, answer, clock: est, wrong: wrong.signal };
  } catch (err) {
    making.then(
      (s) => k.release(s),
      () => {},
    );
    throw err;
  }
}

/** The answerer's exchange done: what to punch from and to, and how. */
export interface Answered<S> {
  c: Candidate;
  side: S;
  target: PunchTarget;
  /** The meeting instant we told the offerer (our clock). */
  at: number;
  /** The path RTT for probe periods and paces (measured, else a typical path). */
  rttMs: number;
  /** The path RTT for windows (measured, else a long path: UNMEASURED_WINDOW_RTT_MS). */
  windowRttMs: number;
  /** Stops the punch: the answer could not be sent, or a guessed mapping was wrong. */
  signal: AbortSignal;
  /** The answer's send (rejects when it failed); await it beside the punch. */
  answered: Promise<void>;
}

/**
 * The answerer's half up to the punch, shared by TCP and UDP: reads the offer (call it first in
 * `respond`, before any await: an early offer's MAPPED is caught from then on), makes our side,
 * sends the answer with the meeting instant `at(c, side, rtt)` and our receive/send times (the
 * offerer's clock), then waits for the offerer's side (in the offer, or its MAPPED). Undefined
 * when the offer was answered with an error. On failure our side is released; on success the
 * caller owns it.
 */
export async function answerExchange<S extends MadeSide>(
  msg: SignalMessage,
  ctx: ResponderContext,
  k: PunchKind<S>,
  at: (c: Candidate, side: S, rttMs: number) => number,
): Promise<Answered<S> | undefined> {
  const rx = Date.now();
  const offer = await readOffer(msg, ctx, k.kind);
  if (!offer) return undefined;
  const c = offer.pair;
  const guess = k.guess(c);
  const t0 = performance.now();
  // The offerer's measure, when its mapping came before ours (a lost packet can stretch ours).
  let theirs = Number.POSITIVE_INFINITY;
  offer.target.then(
    (t) => {
      theirs = t.rttMs ?? theirs;
    },
    () => {},
  );
  const side = await answerSide(ctx, k.kind, () => k.make(c, guess));
  const stop = new AbortController();
  watchGuess(side, stop, k.log);
  try {
    // The offerer's view of the path when its offer carried it, else ours (none when guessed).
    const known = offer.inline
      ? (await offer.target).rttMs
      : guess
        ? undefined
        : Math.ceil(clamp(Math.min(k.rttOfMapping(performance.now() - t0), theirs), 1, 5000));
    const rtt = known ?? pathRttMs({});
    k.log(`${guess ? "guessed" : "mapped"}, answering`);
    const when = at(c, side, rtt);
    // The answer leaves before the offerer's mapping is in (it may still be on its way); a
    // failed send stops the punch.
    const answered = ctx
      .send(`${k.kind}_ANSWER`, {
        host: side.host,
        ports: advertise(side, c, rtt),
        at: when,
        rx,
        tx: Date.now(),
      })
      .then(
        () => k.log(`answered, meeting in ${when - Date.now()} ms`),
        (err: unknown) => {
          stop.abort(err);
          throw err;
        },
      );
    answered.catch(() => {});
    const target = await offer.target;
    const measured = Math.max(known ?? 0, target.rttMs ?? 0) || undefined;
    return {
      c,
      side,
      target,
      at: when,
      rttMs: measured ?? rtt,
      windowRttMs: measured ?? UNMEASURED_WINDOW_RTT_MS,
      signal: AbortSignal.any([ctx.signal, stop.signal]),
      answered,
    };
  } catch (err) {
    k.release(side);
    throw err;
  }
}
