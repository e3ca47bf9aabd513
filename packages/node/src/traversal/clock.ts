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
  } = {},
): Promise<ClockEstimate> {
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
      const sig = opts.perPingTimeoutMs
        ? opts.signal
          ? AbortSignal.any([opts.signal, AbortSignal.timeout(opts.perPingTimeoutMs)])
          : AbortSignal.timeout(opts.perPingTimeoutMs)
        : opts.signal;
      peer = await ping(sig);
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
