import { describe, expect, test } from "vitest";
import {
  type AddressEntry,
  deriveKeys,
  type P2PAddress,
  STRATEGY_NAMES,
  type Strategy,
} from "../../src/index.js";
import {
  defaultOrder,
  type PlannedStrategy,
  plannerAllows,
  plannerNat,
  planRace,
  sequentialPlan,
} from "../../src/node/race-plan.js";
import { builtinStrategies } from "../../src/strategies/registry.js";

const k = deriveKeys(Buffer.alloc(32, 9));
const entry = (ext: string, internal: string, type: number, delta = 3): AddressEntry => ({
  netifaceIndex: 0,
  ifIndex: 0,
  ext,
  internal,
  port: 5000,
  nat: { type, delta: { type: delta, value: delta === 4 ? 1 : 0 } },
});
const addr = (v4: AddressEntry[], keys = true): P2PAddress => ({
  version: 3,
  signal: [0],
  ipv4: v4,
  ipv6: [],
  nodeId: k.nodeId,
  ...(keys ? { keys: { x25519: k.x25519.publicKey, ed25519: k.ed25519.publicKey } } : {}),
});
const stun = ["198.51.100.1:3478"];
const turn = [{ url: "turn:198.51.100.2:3478", username: "u", password: "p" }];

describe("the race plan uses the planner", () => {
  test("untested NATs (code 0) are 'unknown' to the planner, not a guess", () => {
    expect(plannerNat({ type: 0, delta: { type: 0, value: 0 } }).type).toBe("unknown");
    expect(plannerNat({ type: 3, delta: { type: 3, value: 0 } }).type).toBe("full-cone");
  });

  test("symmetric random on both sides: the planner leaves TURN only", () => {
    const l = addr([entry("203.0.113.1", "10.0.0.1", 6, 6)]);
    const r = addr([entry("203.0.113.2", "10.0.1.1", 6, 6)]);
    const builtins = builtinStrategies({ stun, turn });
    const byName = new Map(builtins.map((s) => [s.name, s]));
    const plan = planRace(
      STRATEGY_NAMES,
      (n) => byName.get(n) as Strategy,
      () => true,
      l,
      r,
    );
    expect(plan.filter((p) => p.possible).map((p) => p.name)).toEqual(["turn"]);
  });

  test("a plug-in that replaces a built-in by name is asked itself (canTry), not the planner", () => {
    const l = addr([entry("203.0.113.1", "10.0.0.1", 6, 6)]);
    const r = addr([entry("203.0.113.2", "10.0.1.1", 6, 6)]);
    const mine: Strategy = {
      name: "direct",
      timeoutMs: 1000,
      canTry: () => true,
      run: () => Promise.reject(new Error("not run here")),
    };
    const plan = planRace(
      ["direct"],
      () => mine,
      () => false,
      l,
      r,
    );
    expect(plan[0]?.possible).toBe(true);
    expect(plannerAllows("direct", l, r)).toBe(false);
  });

  test("unknown names fail before anything runs", () => {
    const l = addr([entry("203.0.113.1", "10.0.0.1", 1)]);
    expect(() =>
      planRace(
        ["nope"],
        () => {
          throw Object.assign(new Error("unknown"), { code: "ERR_UNKNOWN_STRATEGY" });
        },
        () => true,
        l,
        l,
      ),
    ).toThrow("unknown");
  });

  test("for every NAT pair, the planner never rules out what a built-in's canTry accepts (except a blocked side)", () => {
    const builtins = builtinStrategies({ stun, turn });
    for (const sameLan of [false, true])
      for (let lt = 0; lt <= 7; lt++)
        for (let rt = 0; rt <= 7; rt++)
          for (const ld of [3, 4, 6])
            for (const rd of [3, 4, 6]) {
              const l = addr([entry("203.0.113.1", "10.0.0.1", lt, ld)]);
              const r = addr([entry(sameLan ? "203.0.113.1" : "203.0.113.2", "10.0.0.2", rt, rd)]);
              for (const s of builtins) {
                if (!s.canTry(l, r)) continue;
                if (!sameLan && (lt === 7 || rt === 7)) continue;
                expect(plannerAllows(s.name, l, r), `${s.name} ${lt}/${ld} -> ${rt}/${rd}`).toBe(
                  true,
                );
              }
            }
  });

  test("no common address family: only TURN is left to try", () => {
    const l = addr([entry("203.0.113.1", "10.0.0.1", 1)]);
    const r: P2PAddress = { ...addr([]), ipv6: [entry("2001:db8::2", "2001:db8::2", 1)] };
    expect(plannerAllows("direct", l, r)).toBe(false);
    expect(plannerAllows("turn", l, r)).toBe(true);
  });
});

describe("default order", () => {
  test("built-ins in the planner's order, plug-ins next, turn last only when configured", () => {
    const reg = ["direct", "reverse", "tcp-punch", "udp-punch", "turn", "knock"];
    expect(defaultOrder(reg, false)).toEqual([
      "direct",
      "reverse",
      "tcp-punch",
      "udp-punch",
      "knock",
    ]);
    expect(defaultOrder(reg, true)).toEqual([
      "direct",
      "reverse",
      "tcp-punch",
      "udp-punch",
      "knock",
      "turn",
    ]);
  });
});

describe("a sequential NAT on a side: the punches one after the other", () => {
  const p = (name: string) => ({ name, possible: true }) as unknown as PlannedStrategy;
  const names = (plan: PlannedStrategy[]) => plan.map((x) => x.name);
  test("the UDP punch moves before the TCP punch; everything else keeps its place", () => {
    const plan = ["direct", "reverse", "tcp-punch", "udp-punch", "turn"].map(p);
    expect(names(sequentialPlan(plan))).toEqual([
      "direct",
      "reverse",
      "udp-punch",
      "tcp-punch",
      "turn",
    ]);
  });
  test("a plan with one punch, or UDP already first, is left as it is", () => {
    for (const order of [
      ["tcp-punch", "turn"],
      ["udp-punch", "turn"],
      ["udp-punch", "tcp-punch"],
    ]) {
      const plan = order.map(p);
      expect(sequentialPlan(plan)).toBe(plan);
    }
  });
});
