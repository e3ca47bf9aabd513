import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { ConnectError, type P2PNode, startNode } from "../src/index.js";
import type { Strategy } from "../src/strategies/strategy.js";

// The connect attempt as a timeline (issue 20): real nodes on loopback, an embedded broker.
let a: P2PNode;

/** A plug-in that fails with ERR_SLOW_FAIL after `ms`. */
function slowFail(ms: number): Strategy {
  return {
    name: "slow-fail",
    timeoutMs: 5000,
    canTry: () => true,
    run: (ctx) =>
      new Promise((_, reject) => {
        const t = setTimeout(
          () => reject(Object.assign(new Error("no path"), { code: "ERR_SLOW_FAIL" })),
          ms,
        );
        ctx.signal.addEventListener("abort", () => {
          clearTimeout(t);
          reject(ctx.signal.reason);
        });
      }),
  };
}

/** A plug-in that never ends on its own. */
const hang: Strategy = {
  name: "hang",
  timeoutMs: 30_000,
  canTry: () => true,
  run: (ctx) =>
    new Promise((_, reject) =>
      ctx.signal.addEventListener("abort", () => reject(ctx.signal.reason)),
    ),
};

/** A plug-in that rules itself out. */
const never: Strategy = { ...hang, name: "never", canTry: () => false };

beforeAll(async () => {
  a = await startNode({ interfaces: "loopback" });
});

afterAll(async () => {
  await a?.close();
});

describe("ConnectResult.timeline", () => {
  test("a failed strategy, then the winner: starts, ends, outcomes and codes in plan order", async () => {
    const b = await startNode({
      interfaces: "loopback",
      mqtt: a.brokerUrl,
      strategies: [slowFail(120)],
    });
    try {
      const r = await b.connect(a.address, { strategies: ["slow-fail", "direct"] });
      expect(r.strategy).toBe("direct");
      expect(r.timeline.map((t) => [t.strategy, t.outcome])).toEqual([
        ["slow-fail", "failed"],
        ["direct", "won"],
      ]);
      const [fail, won] = r.timeline as [(typeof r.timeline)[number], (typeof r.timeline)[number]];
      expect(fail.code).toBe("ERR_SLOW_FAIL");
      expect(fail.message).toBe("no path");
      // It took about its 120 ms; the next started when it failed (a failure does not wait).
      expect(fail.endMs - fail.startMs).toBeGreaterThanOrEqual(100);
      expect(won.startMs).toBeGreaterThanOrEqual(fail.endMs - 1);
      expect(won.endMs).toBeGreaterThanOrEqual(won.startMs);
      expect(won.code).toBeUndefined();
      // Within the connect's total, and the same durations as timings.strategies.
      expect(won.endMs).toBeLessThanOrEqual(r.timings.totalMs + 1);
      expect(won.endMs - won.startMs).toBeCloseTo(r.timings.strategies[1]?.ms ?? -1, 0);
      await r.pipe.close();
    } finally {
      await b.close();
    }
  });

  test("racing: the loser started beside the winner is `lost` (ERR_LOST_RACE), a ruled-out one `skipped`", async () => {
    const b = await startNode({
      interfaces: "loopback",
      mqtt: a.brokerUrl,
      strategies: [hang, never],
    });
    try {
      const r = await b.connect(a.address, {
        strategies: ["never", "hang", "direct"],
        staggerMs: 50,
      });
      expect(r.strategy).toBe("direct");
      const [n, h, d] = r.timeline;
      expect(n).toMatchObject({ strategy: "never", outcome: "skipped", code: "ERR_SKIPPED" });
      expect(n?.endMs).toBe(n?.startMs);
      expect(h).toMatchObject({ strategy: "hang", outcome: "lost", code: "ERR_LOST_RACE" });
      expect(d).toMatchObject({ strategy: "direct", outcome: "won" });
      // direct started one stagger after hang, and hang ended when direct won.
      expect((d?.startMs ?? 0) - (h?.startMs ?? 0)).toBeGreaterThanOrEqual(45);
      expect(h?.endMs).toBeGreaterThanOrEqual(d?.endMs ?? Number.POSITIVE_INFINITY);
      await r.pipe.close();
    } finally {
      await b.close();
    }
  });

  test("a connect that gives up: ConnectError.timeline marks the running strategy `gave-up`", async () => {
    const b = await startNode({ interfaces: "loopback", mqtt: a.brokerUrl, strategies: [hang] });
    try {
      const err = await b.connect(a.address, { strategies: ["hang"], timeoutMs: 300 }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(ConnectError);
      const tl = (err as ConnectError).timeline;
      expect(tl).toHaveLength(1);
      expect(tl[0]).toMatchObject({ strategy: "hang", outcome: "gave-up" });
      expect(tl[0]?.endMs).toBeGreaterThanOrEqual(250);
    } finally {
      await b.close();
    }
  });
});
