import { describe, expect, test } from "vitest";
import { type NatLike, planStrategies, punchRole } from "../../src/traversal/index.js";

const open: NatLike = { type: "open-internet" };
const cone: NatLike = { type: "full-cone" };
const restricted: NatLike = { type: "restricted-cone" };
const portR: NatLike = { type: "port-restricted-cone" };
const seq: NatLike = { type: "symmetric", delta: { kind: "independent", value: 1 } };
const rnd: NatLike = { type: "symmetric", delta: { kind: "random", value: 0 } };
const blocked: NatLike = { type: "blocked" };

describe("planStrategies", () => {
  test("random <-> random and random <-> sequential give up on everything but TURN", () => {
    expect(planStrategies(rnd, rnd)).toEqual(["turn"]);
    expect(planStrategies(rnd, seq)).toEqual(["turn"]);
    expect(planStrategies(seq, rnd)).toEqual(["turn"]);
    expect(planStrategies(blocked, cone)).toEqual(["turn"]);
  });

  test("reachable peers are dialed directly, reachable selves are dialed back", () => {
    expect(planStrategies(portR, cone)).toEqual(["direct", "tcp-punch", "udp-punch", "turn"]);
    expect(planStrategies(open, portR)).toEqual(["reverse", "tcp-punch", "udp-punch", "turn"]);
    expect(planStrategies(rnd, open)).toEqual(["direct", "tcp-punch", "udp-punch", "turn"]);
  });

  test("punchable pairs punch; random vs restricted is UDP only", () => {
    expect(planStrategies(portR, portR)).toEqual(["tcp-punch", "udp-punch", "turn"]);
    expect(planStrategies(seq, portR)).toEqual(["tcp-punch", "udp-punch", "turn"]);
    expect(planStrategies(seq, seq)).toEqual(["tcp-punch", "udp-punch", "turn"]);
    expect(planStrategies(rnd, portR)).toEqual(["udp-punch", "turn"]);
    expect(planStrategies(restricted, rnd)).toEqual(["udp-punch", "turn"]);
    expect(planStrategies(portR, portR, { sameLan: true })[0]).toBe("direct");
  });

  test("the plan is symmetric in what it deems possible", () => {
    const all = [
      open,
      cone,
      restricted,
      portR,
      seq,
      rnd,
      blocked,
      { type: "udp-firewall" } as NatLike,
    ];
    const punches = (a: NatLike, b: NatLike) =>
      planStrategies(a, b).filter((s) => s.endsWith("punch"));
    for (const a of all) for (const b of all) expect(punches(a, b)).toEqual(punches(b, a));
  });

  test("punch roles: birthday sides, prediction and accept mode", () => {
    expect(punchRole(rnd, portR)).toMatchObject({
      udpBirthday: "many",
      advertise: "unknown",
      tcp: false,
    });
    expect(punchRole(portR, rnd)).toMatchObject({ udpBirthday: "spray", acceptAnyPort: true });
    expect(punchRole(seq, portR)).toMatchObject({ advertise: "predicted", udp: true, tcp: true });
    expect(punchRole(cone, rnd)).toMatchObject({ tcpAccept: true, acceptAnyPort: true });
    expect(punchRole(rnd, cone)).toMatchObject({ tcpAccept: false, tcp: true });
    // Unfiltered sides listen; between two, the responder does.
    expect(punchRole(open, restricted)).toMatchObject({ tcpAccept: true, tcp: true });
    expect(punchRole(restricted, open)).toMatchObject({ tcpAccept: false, tcp: true });
    expect(punchRole(cone, open).tcpAccept).toBe(false);
    expect(punchRole(cone, open, { initiator: false }).tcpAccept).toBe(true);
  });
});
