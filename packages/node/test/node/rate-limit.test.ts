import { describe, expect, test } from "vitest";
import { InFlightLimit, ProbeBudget, SignalRate } from "../../src/node/rate-limit.js";

test("one sender gets at most perSender slots; releasing one frees it", () => {
  const l = new InFlightLimit(32, 4);
  const slots = [1, 2, 3, 4].map(() => l.acquire("mallory"));
  expect(slots.every((s) => s !== undefined)).toBe(true);
  expect(l.acquire("mallory")).toBeUndefined();
  // Others are not held up by one busy sender.
  expect(l.acquire("alice")).toBeDefined();
  slots[0]?.();
  expect(l.acquire("mallory")).toBeDefined();
});

test("everyone together gets at most max slots", () => {
  const l = new InFlightLimit(3, 2);
  const a = l.acquire("a");
  l.acquire("b");
  l.acquire("c");
  expect(l.inFlight).toBe(3);
  expect(l.acquire("d")).toBeUndefined();
  a?.();
  expect(l.acquire("d")).toBeDefined();
});

test("a release called twice frees one slot, not two", () => {
  const l = new InFlightLimit(1, 1);
  const r = l.acquire("a");
  r?.();
  r?.();
  expect(l.inFlight).toBe(0);
  expect(l.acquire("a")).toBeDefined();
  expect(l.acquire("b")).toBeUndefined();
});

test("strangers hold at most their share of slots: contacts always find one", () => {
  const l = new InFlightLimit(8, 1);
  let got = 0;
  for (let i = 0; i < 100; i++) if (l.acquire(`throwaway${i}`, false)) got++;
  expect(got).toBe(6);
  expect(l.acquire("friend", true)).toBeDefined();
});

test("signal rate: per sender and global token buckets", () => {
  const r = new SignalRate({
    perSenderRate: 1,
    perSenderBurst: 3,
    globalRate: 10,
    globalBurst: 20,
  });
  const t = 1000;
  expect([1, 2, 3, 4].map(() => r.take("a", t))).toEqual([true, true, true, false]);
  // 10,000 throwaway keys at once: only the global burst gets through.
  let ok = 0;
  for (let i = 0; i < 10_000; i++) if (r.take(`k${i}`, t)) ok++;
  expect(ok).toBe(17);
  // A second later the global bucket refilled by 10: a legitimate sender gets through again.
  expect(r.take("legit", t + 1000)).toBe(true);
});

describe("ProbeBudget", () => {
  test("one offer gets at most perOffer probes; all offers share the per-minute bucket", () => {
    const b = new ProbeBudget({ perOffer: 100, perMinute: 250 });
    const count = (gate: () => boolean, tries: number) => {
      let n = 0;
      for (let i = 0; i < tries; i++) if (gate()) n++;
      return n;
    };
    expect(count(b.forOffer(), 1000)).toBe(100);
    expect(count(b.forOffer(), 1000)).toBe(100);
    // 50 tokens left in the bucket (refill over a few microseconds is a fraction of one).
    expect(count(b.forOffer(), 1000)).toBe(50);
    expect(count(b.forOffer(), 1000)).toBe(0);
  });

  test("defaults: 2,500 per offer (a spray's worth), 10,000 a minute", () => {
    const b = new ProbeBudget();
    expect(b.perOffer).toBe(2500);
    let total = 0;
    for (let o = 0; o < 10; o++) {
      const g = b.forOffer();
      for (let i = 0; i < 5000; i++) if (g()) total++;
    }
    expect(total).toBeGreaterThanOrEqual(10_000);
    expect(total).toBeLessThan(10_010);
  });
});
