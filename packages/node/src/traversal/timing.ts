/**
 * Every punch window, probe period and strategy stagger, derived from measured round trips
 * (signaling PING/PONG, STUN) with floors and ceilings. Pure functions: one rule each, so each
 * has its own unit test (test/traversal/timing.test.ts). No constant here is tuned to loopback:
 * a floor only covers event-loop and scheduling latency of a loaded host, a ceiling bounds the
 * damage of one absurd sample.
 */

/** What we know about the path to the peer; any field may be missing (not measured yet). */
export interface PathRtt {
  /** Best round trip over signaling (PING/PONG through the broker), ms. */
  signalMs?: number;
  /** Our round trip to the STUN server, ms. */
  stunMs?: number;
  /** Round trip to the peer itself (probe/ack), ms. */
  peerMs?: number;
}

/** Scheduling slack of a busy host: timers fire late, processes get the CPU late. */
export const SLACK_MS = 50;

export function clamp(x: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, Number.isFinite(x) ? x : hi));
}

/**
 * Our best guess of the round trip to the peer. The peer itself wins; then signaling (it goes
 * through a broker, so it is at least the path to the peer in practice: both ends reach the same
 * broker); then twice our STUN round trip (the peer is about as far from the Internet as we are).
 * Nothing measured: 200 ms, a typical Internet path.
 */
export function pathRttMs(p: PathRtt): number {
  const v = p.peerMs ?? p.signalMs ?? (p.stunMs === undefined ? undefined : 2 * p.stunMs);
  return clamp(v ?? 200, 1, 5000);
}

/**
 * Lead of the meeting instant after the answer leaves (`at = now + lead`): the answer's one-way
 * trip (RTT/2) plus a margin for jitter and the clock estimate's error (RTT/8, 25..150 ms). The
 * offerer sends its SYNs when the answer arrives at the latest; an earlier `at` than that only
 * costs a lost SYN, a later one costs every millisecond of it.
 */
export function meetingLeadMs(signalRttMs: number): number {
  const rtt = clamp(signalRttMs, 0, 5000);
  return Math.ceil(clamp(rtt / 2 + clamp(rtt / 8, 25, 150), 25, 3000));
}

/**
 * The path RTT a punch window assumes when nothing was measured yet (both sides read their
 * mappings off their addresses, so no STUN time, and the offer left before any PONG): a long
 * path. A window only bounds how long a failing punch goes on (the race starts TURN by its own
 * give-up time), so too long costs little and too short loses a working punch.
 */
export const UNMEASURED_WINDOW_RTT_MS = 1000;

/**
 * Lead of a TCP punch's meeting instant after the answer leaves. Between mapped ports it is 0:
 * in a simultaneous open one crossing SYN is enough (the side whose SYN a NAT dropped still has
 * its socket in SYN_SENT and answers the other's SYN), so an early SYN costs nothing and a late
 * one costs every millisecond. With predicted ports (a NAT that allocates sequentially) each side's
 * first SYNs make the mappings the other predicted, and a SYN refused early would make a new one:
 * there both keep `meetingLeadMs`.
 */
export function tcpMeetingLeadMs(signalRttMs: number, predicted: boolean): number {
  return predicted ? meetingLeadMs(signalRttMs) : 0;
}

/**
 * The answerer's meeting instant, counted from when its answer leaves (`now`): its own mapping
 * (STUN) is already made by then, so nothing else needs to fit in the lead.
 */
export function meetingAt(now: number, signalRttMs: number): number {
  return now + meetingLeadMs(signalRttMs);
}

/**
 * Spacing of the first packets to successive candidate ports: a symmetric NAT with sequential
 * ports hands them out in the order our packets reach it, and per-flow jitter reorders packets
 * of different flows sent closer together than the jitter. RTT/12 (a jitter of 1/24 of the path
 * each way) within 3..60 ms.
 */
export function candidatePaceMs(rttMs: number): number {
  return Math.round(clamp(rttMs / 12, 3, 60));
}

/**
 * Probe period of a UDP punch: a lost probe costs one period, so several probes per RTT (the hole
 * opens at the first one that crosses), but no flood on a long path. RTT/8 within 10..60 ms.
 */
export function probeIntervalMs(rttMs: number): number {
  return Math.round(clamp(rttMs / 8, 10, 60));
}

/**
 * How long a UDP punch probes after the meeting instant. The two sides' first probes meet within
 * one RTT (plus the clock error, RTT/2); at loss `lossPct` per probe each way a crossing needs on
 * average 1/(1-p)^2 tries, and we ride out 3 % loss with room: 20 probe periods past 2 RTT, and a
 * floor of 1.5 s for birthday spraying. Capped at 10 s (the strategy's timeout bounds it anyway).
 */
export function udpPunchWindowMs(rttMs: number): number {
  const interval = probeIntervalMs(rttMs);
  return Math.ceil(clamp(2.5 * rttMs + 20 * interval + SLACK_MS, 1500, 10_000));
}

/**
 * How long a TCP punch keeps dialling after the meeting instant: a SYN lost on the path is only
 * resent by the kernel after its initial RTO (1 s), so at least two of those, plus 3 RTT for the
 * handshake to cross. Capped at 10 s.
 */
export function tcpPunchWindowMs(rttMs: number): number {
  return Math.ceil(clamp(3 * rttMs + 2000 + SLACK_MS, 2500, 10_000));
}

/**
 * How long one TCP connect attempt may hang in SYN_SENT before the punch dials again: the
 * handshake plus one kernel SYN retransmission (1 s) on this path.
 */
export function tcpAttemptMs(rttMs: number): number {
  return Math.ceil(clamp(2 * rttMs + 1000 + SLACK_MS, 1200, 4000));
}

/** Strategies whose stagger the race derives (plug-ins keep their own `staggerMs`). */
export type TimedStrategy = "direct" | "reverse" | "tcp-punch" | "udp-punch" | "turn";

/**
 * Time a working run of this strategy needs, end to end, on a path of this RTT: the race starts
 * the next strategy beside it after that long (it does not stop the first).
 * - direct: a TCP connect and the ID message (2 RTT).
 * - reverse: a signaling message to the peer (RTT/2) and its dial back (1.5 RTT).
 * - udp-punch (and anything after both punches): clock sync (1 RTT, parallel with the STUN
 *   mapping), offer/answer (1 RTT plus the peer's STUN mapping), the meeting lead (1 RTT), the
 *   crossing (1 RTT): about 5 RTT.
 * - tcp-punch: 0, the UDP punch starts beside it (see below).
 * Floors keep a loopback race from starting everything at once; ceilings keep a bad sample from
 * delaying the next strategy by more than a few seconds.
 */
export function staggerMs(name: TimedStrategy, p: PathRtt): number {
  const rtt = pathRttMs(p);
  const stun = p.stunMs ?? rtt / 2;
  switch (name) {
    case "direct":
      return Math.ceil(clamp(2 * rtt + 2 * SLACK_MS, 150, 2000));
    case "reverse":
      return Math.ceil(clamp(3 * rtt + 2 * SLACK_MS, 200, 3000));
    case "tcp-punch":
      // The UDP punch runs beside it from the start (its own mapping and offer, the clock estimate
      // shared): whichever the NATs and the path's loss treat better wins, neither waits.
      return 0;
    case "udp-punch":
      return Math.ceil(clamp(5 * rtt + 2 * stun + 4 * SLACK_MS, 400, 6000));
    case "turn":
      return Number.POSITIVE_INFINITY;
  }
}

/**
 * When TURN may start: only once the planned direct strategies have clearly failed (each ended,
 * or ran past its own end: its punch window after the meeting instant). `ended` is when the last
 * direct strategy ended (or will be given up); TURN then needs about 4 round trips to the server
 * (allocate twice, permission, channel bind), which is what "1 s + 2 RTT" leaves room for.
 */
export function relayGiveUpMs(name: "tcp-punch" | "udp-punch", p: PathRtt): number {
  const rtt = pathRttMs(p);
  const window = name === "udp-punch" ? udpPunchWindowMs(rtt) : tcpPunchWindowMs(rtt);
  // The time a working run needs to reach its meeting instant (udp-punch's stagger), then the window.
  return staggerMs("udp-punch", p) + window;
}

/**
 * How many ports to advertise for a NAT that allocates sequentially. Our mapping is read before
 * the offer; the punch's own mapping is made about 3 RTT + the meeting lead later, and other
 * hosts behind the same NAT take ports meanwhile. We allow a busy home network (8 new mappings a
 * second) over that gap, on top of 8 for the burst of our own sockets: 8..64. More costs time:
 * the first packets to the list are paced (`candidatePaceMs`).
 */
export function predictCount(rttMs: number, busyPerSecond = 8): number {
  const gapMs = 3 * rttMs + meetingLeadMs(rttMs);
  return Math.ceil(clamp(8 + (busyPerSecond * gapMs) / 1000, 8, 64));
}

/**
 * Keep-alive period that holds a punched UDP path open: NATs drop idle UDP mappings after as little
 * as 30 s (RFC 4787 asks for >= 2 min, many home routers use 30-60 s); a third of the shortest
 * lifetime we must survive leaves room for two lost keep-alives.
 */
export function keepAliveMs(mappingLifetimeMs = 30_000): number {
  return Math.floor(clamp(mappingLifetimeMs / 3, 1000, 60_000));
}
