import { describe, expect, test } from "vitest";
import { PathTiming } from "../src/rtt.js";

describe("PathTiming", () => {
  test("answers a retransmission brought count as loss, not as round trips", () => {
    const p = new PathTiming(50);
    expect([p.max, p.min, p.lossRatio]).toEqual([0, 0, 0]);
    // RTT ~80 ms with jitter; two first packets lost (answers to the retransmission 50 ms later).
    for (const ms of [78, 81, 84, 79, 90, 77, 83, 131, 86, 80, 136, 82]) p.add(ms);
    expect(p.count).toBe(12);
    expect(p.max).toBe(90);
    expect(p.min).toBe(77);
    expect(p.lossRatio).toBeCloseTo(2 / 12);
  });

  test("a round trip longer than the retransmission interval is not loss", () => {
    const p = new PathTiming(50);
    for (const ms of [300, 310, 290, 305, 298, 302]) p.add(ms);
    expect(p.lossRatio).toBe(0);
    expect(p.max).toBe(310);
  });
});
