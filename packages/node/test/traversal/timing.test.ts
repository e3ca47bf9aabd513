// One test per timing rule (pure logic, src/traversal/timing.ts and the parallel clock estimate).
import { describe, expect, test } from "vitest";
import {
  candidatePaceMs,
  estimateClockOffset,
  keepAliveMs,
  meetingAt,
  meetingLeadMs,
  pathRttMs,
  predictCount,
  probeIntervalMs,
  relayGiveUpMs,
  staggerMs,
  tcpAttemptMs,
  tcpMeetingLeadMs,
  tcpPunchWindowMs,
  UNMEASURED_WINDOW_RTT_MS,
  udpPunchWindowMs,
} from "../../src/traversal/index.js";

// The bench's three profiles, as home-to-home round trips (4 impaired legs) in labs/natlab.
const LOOPBACK = 1;
const TYPICAL = 170; // 40 ms +-5 ms per leg
const BAD = 620; // 150 ms +-20 ms per leg

describe("timing from measured round trips", () => {
  test("path RTT: the peer's own RTT wins, then signaling, then twice STUN, else 200 ms", () => {
    expect(pathRttMs({ peerMs: 80, signalMs: 300, stunMs: 10 })).toBe(80);
    expect(pathRttMs({ signalMs: 300, stunMs: 10 })).toBe(300);
    expect(pathRttMs({ stunMs: 40 })).toBe(80);
    expect(pathRttMs({})).toBe(200);
    expect(pathRttMs({ signalMs: 1e9 })).toBe(5000); // a bad sample is capped
    expect(pathRttMs({ signalMs: Number.NaN })).toBe(5000);
  });

  test("meeting lead: the answer's one-way trip plus a margin of RTT/8 (25..150 ms), capped", () => {
    expect(meetingLeadMs(LOOPBACK)).toBe(26);
    expect(meetingLeadMs(TYPICAL)).toBe(TYPICAL / 2 + 25);
    expect(meetingLeadMs(BAD)).toBe(Math.ceil(BAD / 2 + BAD / 8));
    // The answer (RTT/2) always arrives before the meeting, and the lead stays under one RTT.
    for (const rtt of [TYPICAL, BAD]) {
      expect(meetingLeadMs(rtt)).toBeGreaterThan(rtt / 2);
      expect(meetingLeadMs(rtt)).toBeLessThan(rtt);
    }
    expect(meetingLeadMs(60_000)).toBe(2650); // a bad sample is capped at 5 s of RTT
  });

  test("meeting instant counts from when the answer leaves (the answerer's mapping is made)", () => {
    expect(meetingAt(3000, TYPICAL)).toBe(3000 + meetingLeadMs(TYPICAL));
  });

  test("TCP meeting lead: none between mapped ports, the full lead with predicted ports", () => {
    for (const rtt of [LOOPBACK, TYPICAL, BAD]) {
      expect(tcpMeetingLeadMs(rtt, false)).toBe(0);
      expect(tcpMeetingLeadMs(rtt, true)).toBe(meetingLeadMs(rtt));
    }
  });

  test("an unmeasured path gets windows at least as long as any profile's measured one", () => {
    // Too long only delays a failure; too short loses a working punch on a long path.
    for (const rtt of [LOOPBACK, TYPICAL, BAD]) {
      expect(udpPunchWindowMs(UNMEASURED_WINDOW_RTT_MS)).toBeGreaterThanOrEqual(
        udpPunchWindowMs(rtt),
      );
      expect(tcpPunchWindowMs(UNMEASURED_WINDOW_RTT_MS)).toBeGreaterThanOrEqual(
        tcpPunchWindowMs(rtt),
      );
    }
  });

  test("candidate pace: RTT/12 between first packets to successive ports, 3..60 ms", () => {
    expect(candidatePaceMs(LOOPBACK)).toBe(3);
    // Above the per-flow jitter spread of both bench profiles (2 x 5 ms, 2 x 20 ms).
    expect(candidatePaceMs(TYPICAL)).toBeGreaterThan(10);
    expect(candidatePaceMs(BAD)).toBeGreaterThan(40);
    expect(candidatePaceMs(5000)).toBe(60);
  });

  test("probe period: several probes per RTT, 10..60 ms", () => {
    expect(probeIntervalMs(LOOPBACK)).toBe(10);
    expect(probeIntervalMs(TYPICAL)).toBe(21);
    expect(probeIntervalMs(BAD)).toBe(60);
    for (const rtt of [LOOPBACK, TYPICAL, BAD]) expect(probeIntervalMs(rtt)).toBeLessThan(rtt + 10);
  });

  test("UDP punch window rides out 3 % loss: >= 20 probes each way past 2 RTT, 1.5..10 s", () => {
    for (const rtt of [LOOPBACK, TYPICAL, BAD]) {
      const w = udpPunchWindowMs(rtt);
      const probes = (w - 2 * rtt) / probeIntervalMs(rtt);
      expect(probes).toBeGreaterThanOrEqual(20);
      // Chance that every probe crossing of one side is lost on an 11.5 % round trip: < 1e-18.
      expect(0.115 ** probes).toBeLessThan(1e-18);
    }
    expect(udpPunchWindowMs(LOOPBACK)).toBe(1500);
    expect(udpPunchWindowMs(5000)).toBe(10_000);
  });

  test("TCP punch window outlasts two initial SYN retransmissions plus 3 RTT; attempts outlast one", () => {
    expect(tcpPunchWindowMs(LOOPBACK)).toBe(2500);
    expect(tcpPunchWindowMs(BAD)).toBe(3 * BAD + 2050);
    expect(tcpPunchWindowMs(5000)).toBe(10_000);
    expect(tcpAttemptMs(LOOPBACK)).toBe(1200);
    expect(tcpAttemptMs(BAD)).toBe(2 * BAD + 1050);
    expect(tcpAttemptMs(5000)).toBe(4000);
  });

  test("stagger: direct < reverse; the UDP punch starts with the TCP punch; floored and capped", () => {
    for (const rtt of [LOOPBACK, TYPICAL, BAD]) {
      const p = { signalMs: rtt };
      expect(staggerMs("direct", p)).toBeLessThan(staggerMs("reverse", p));
      expect(staggerMs("tcp-punch", p)).toBe(0);
    }
    expect(staggerMs("direct", { signalMs: LOOPBACK })).toBe(150);
    expect(staggerMs("direct", { signalMs: TYPICAL })).toBe(2 * TYPICAL + 100);
    expect(staggerMs("udp-punch", { signalMs: LOOPBACK })).toBe(400);
    expect(staggerMs("udp-punch", { signalMs: TYPICAL, stunMs: 80 })).toBe(5 * TYPICAL + 160 + 200);
    expect(staggerMs("udp-punch", { signalMs: 10_000 })).toBe(6000);
    // TURN is never started by a stagger: only once the direct strategies clearly failed.
    expect(staggerMs("turn", { signalMs: TYPICAL })).toBe(Number.POSITIVE_INFINITY);
  });

  test("TURN's give-up point: a punch's stagger plus its window, so 1 s + 2 RTT still beats the timeout", () => {
    for (const rtt of [LOOPBACK, TYPICAL, BAD]) {
      const p = { signalMs: rtt };
      expect(relayGiveUpMs("udp-punch", p)).toBe(staggerMs("udp-punch", p) + udpPunchWindowMs(rtt));
      expect(relayGiveUpMs("tcp-punch", p)).toBe(staggerMs("udp-punch", p) + tcpPunchWindowMs(rtt));
      // Relay connected by then (plus 1 s + 2 RTT) within the punch strategies' 15 s timeout.
      expect(relayGiveUpMs("tcp-punch", p) + 1000 + 2 * rtt).toBeLessThan(15_000);
    }
  });

  test("predicted ports cover a busy NAT's other traffic over the punch's time gap, 8..64", () => {
    expect(predictCount(LOOPBACK)).toBe(9);
    // 8 mappings/s by other hosts over 3 RTT + the meeting lead, plus our own 8.
    expect(predictCount(TYPICAL)).toBe(
      Math.ceil(8 + (8 * (3 * TYPICAL + meetingLeadMs(TYPICAL))) / 1000),
    );
    expect(predictCount(BAD)).toBe(26);
    expect(predictCount(5000)).toBe(64); // the signaling port list's cap
    expect(predictCount(TYPICAL, 0)).toBe(8);
  });

  test("keep-alive: a third of the shortest mapping lifetime, 1..60 s", () => {
    expect(keepAliveMs()).toBe(10_000);
    expect(keepAliveMs(30_000)).toBe(10_000);
    expect(keepAliveMs(600)).toBe(1000);
    expect(keepAliveMs(10 * 60_000)).toBe(60_000);
  });

  test("parallel clock estimate: one lost ping costs a quarter RTT, not a timeout; best sample wins", async () => {
    // Peer 30 s ahead (a skewed clock); pings of 40, 30 ms and one that never answers.
    const delays = [40, 30, undefined];
    let i = 0;
    const t0 = Date.now();
    const est = await estimateClockOffset(
      (signal) => {
        const d = delays[i++];
        return new Promise<number>((resolve, reject) => {
          if (d === undefined) {
            signal?.addEventListener("abort", () => reject(new Error("dropped")), { once: true });
            return;
          }
          setTimeout(() => resolve(Date.now() - d / 2 + 30_000), d);
        });
      },
      { samples: 3, parallel: true, perPingTimeoutMs: 10_000 },
    );
    const took = Date.now() - t0;
    expect(est.samples).toBe(2);
    expect(Math.abs(est.offsetMs - 30_000)).toBeLessThanOrEqual(est.rttMs / 2 + 5);
    expect(est.rttMs).toBeGreaterThanOrEqual(29);
    expect(took).toBeLessThan(500); // settled a quarter RTT after the first answer, not at 10 s
  });

  test("parallel clock estimate: every ping failing is ERR_CLOCK", async () => {
    await expect(
      estimateClockOffset(async () => Promise.reject(new Error("down")), {
        samples: 3,
        parallel: true,
      }),
    ).rejects.toMatchObject({ code: "ERR_CLOCK" });
  });
});
