/**
 * The handshake timeout from a measured round-trip time: the handshake itself takes 1 (IK) or
 * 1.5 (XX) round trips plus a few milliseconds of CPU, so allow many RTTs for loss and load,
 * never less than the floor (a loaded machine, a first retransmission) nor more than the ceiling
 * (a stalled peer must not hold a connection slot for long). Without a measurement: the ceiling.
 */
export const HANDSHAKE_TIMEOUT = { floorMs: 3000, ceilingMs: 15_000, rtts: 10 } as const;

export function handshakeTimeoutMs(rttMs?: number): number {
  const { floorMs, ceilingMs, rtts } = HANDSHAKE_TIMEOUT;
  if (rttMs === undefined || !Number.isFinite(rttMs) || rttMs < 0) return ceilingMs;
  return Math.min(ceilingMs, Math.max(floorMs, Math.ceil(rttMs * rtts)));
}
