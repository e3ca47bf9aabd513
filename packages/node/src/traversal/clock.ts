import { deadline } from "@p2pd/netifaces";
import { TraversalError } from "./errors.js";

/**
 * One clock probe over the signaling path: resolves with the peer's clock (epoch ms) read when it
 * handled the probe.
 */
export type ClockPing = (signal?: AbortSignal) => Promise<number>;

export interface ClockEstimate {
  /** peerClock ≈ localClock + offsetMs. */
  offsetMs: number;
  /** Round trip of the best sample: the error bound of `offsetMs` is ±rttMs/2. */
  rttMs: number;
  samples: number;
}

/**
 * NTP-style offset over the signaling round trip: offset = peer − (t0 + t3)/2 per sample, keeping
 * the sample with the smallest RTT (its error bound is the tightest; NTP's clock filter).
 */
export async function estimateClockOffset(
  ping: ClockPing,
  opts: {
    samples?: number;
    signal?: AbortSignal;
    now?: () => number;
    perPingTimeoutMs?: number;
    /** Send every ping at once and settle one best-RTT after the first answer (default false). */
    parallel?: boolean;
  } = {},
): Promise<ClockEstimate> {
  if (opts.parallel) return parallelEstimate(ping, opts);
  const n = opts.samples ?? 5;
  const now = opts.now ?? Date.now;
  let best: { offset: number; rtt: number } | undefined;
  let ok = 0;
  let lastErr: unknown;
  for (let i = 0; i < n; i++) {
    if (opts.signal?.aborted) {
      throw new TraversalError("ERR_CLOCK", "clock estimation aborted", {
        cause: opts.signal.reason,
      });
    }
    const t0 = now();
    let peer: number;
    try {
      const limit = deadline(opts.perPingTimeoutMs || undefined, opts.signal);
      try {
        peer = await ping(limit.signal);
      } finally {
        limit.clear();
      }
    } catch (err) {
      lastErr = err;
      continue;
    }
    const t3 = now();
    if (!Number.isFinite(peer) || t3 < t0) continue;
    ok++;
    const rtt = t3 - t0;
    const offset = peer - (t0 + t3) / 2;
    if (!best || rtt < best.rtt) best = { offset, rtt };
  }
  if (!best) throw new TraversalError("ERR_CLOCK", "no clock sample succeeded", { cause: lastErr });
  return { offsetMs: Math.round(best.offset), rttMs: best.rtt, samples: ok };
}

/**
 * All pings at once: sequential pings cost n RTTs, and one lost on a lossy path costs a timeout.
 * The estimate settles when every ping answered, or a quarter RTT (20..250 ms) after the first
 * answer: the pings left together, so a straggler was delayed or lost and its RTT would be worse.
 */
function parallelEstimate(
  ping: ClockPing,
  opts: { samples?: number; signal?: AbortSignal; now?: () => number; perPingTimeoutMs?: number },
): Promise<ClockEstimate> {
  const n = Math.max(1, opts.samples ?? 3);
  const now = opts.now ?? Date.now;
  const ctrl = new AbortController();
  // Ends with the estimate (settle aborts ctrl, which clears the timer and parent listeners).
  const sig = deadline(opts.perPingTimeoutMs || undefined, ctrl.signal, opts.signal).signal;
  return new Promise<ClockEstimate>((resolve, reject) => {
    let best: { offset: number; rtt: number } | undefined;
    let ok = 0;
    let ended = 0;
    let lastErr: unknown;
    let timer: NodeJS.Timeout | undefined;
    const settle = () => {
      clearTimeout(timer);
      ctrl.abort();
      if (best) resolve({ offsetMs: Math.round(best.offset), rttMs: best.rtt, samples: ok });
      else
        reject(
          new TraversalError("ERR_CLOCK", "no clock sample succeeded", {
            cause: opts.signal?.aborted ? opts.signal.reason : lastErr,
          }),
        );
    };
    for (let i = 0; i < n; i++) {
      const t0 = now();
      ping(sig).then(
        (peer) => {
          const t3 = now();
          if (Number.isFinite(peer) && t3 >= t0) {
            ok++;
            const rtt = t3 - t0;
            const offset = peer - (t0 + t3) / 2;
            if (!best || rtt < best.rtt) best = { offset, rtt };
            // Sent together, the others arrive within the jitter: a quarter RTT covers it.
            if (ok === 1 && !ctrl.signal.aborted)
              timer = setTimeout(settle, Math.min(MAX_GRACE_MS, Math.max(GRACE_MS, rtt / 4)));
          }
          if (++ended === n && !ctrl.signal.aborted) settle();
        },
        (err: unknown) => {
          lastErr = err;
          if (++ended === n && !ctrl.signal.aborted) settle();
        },
      );
    }
  });
}

/** Least wait for the other pings after the first answer (event-loop slack of a busy host). */
const GRACE_MS = 20;
/** Most wait for stragglers: a lost ping on a long path must not hold the punch back. */
const MAX_GRACE_MS = 250;

/** A clock in the peer's timeframe, from an estimate (what `tcpPunch`/`udpPunch` take as `clock`). */
export function peerClock(est: Pick<ClockEstimate, "offsetMs">): () => number {
  return () => Date.now() + est.offsetMs;
}

/**
 * Refuses a meeting time a punch cannot keep: implausibly far ahead (`maxLeadMs`, default 30 s) or
 * already past its window. Throws ERR_PUNCH_TIMING.
 */
export function checkMeetingTime(
  at: number,
  clock: () => number,
  windowMs: number,
  maxLeadMs = 30_000,
): void {
  const lead = at - clock();
  if (!Number.isFinite(lead) || lead > maxLeadMs) {
    throw new TraversalError("ERR_PUNCH_TIMING", `meeting time ${lead} ms ahead is not plausible`);
  }
  if (lead < -windowMs) {
    throw new TraversalError("ERR_PUNCH_TIMING", `meeting time passed ${-lead} ms ago`);
  }
}

/**
 * Meeting time for a punch: far enough ahead that the signaling message arrives (≥ 2 RTT plus a
 * floor), close enough that NAT mappings are still fresh.
 */
export function meetingTime(rttMs: number, opts: { now?: number; floorMs?: number } = {}): number {
  return (opts.now ?? Date.now()) + Math.max(opts.floorMs ?? 150, Math.ceil(2 * rttMs));
}
