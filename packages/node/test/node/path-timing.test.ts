// The connect's timing view (pure logic): which strategy starts beside which.
import { expect, test } from "vitest";
import { PathTiming } from "../../src/node/path-timing.js";
import type { PlannedStrategy } from "../../src/node/race-plan.js";

const planned = (name: string) => ({ name, possible: true }) as unknown as PlannedStrategy;
const ping = async () => Date.now();

test("the UDP punch starts beside the TCP punch, unless a side's NAT hands out sequential ports", () => {
  const ctrl = new AbortController();
  const open = new PathTiming(ping, ctrl.signal);
  expect(open.stagger(planned("tcp-punch"))).toBe(0);
  // Sequential: both punches would draw from one port counter, so one waits until the other
  // ended (the UDP punch runs first: sequentialPlan).
  const seq = new PathTiming(ping, ctrl.signal, { sequential: true });
  expect(seq.stagger(planned("tcp-punch"))).toBe(Number.POSITIVE_INFINITY);
  expect(seq.stagger(planned("udp-punch"))).toBe(Number.POSITIVE_INFINITY);
  expect(seq.stagger(planned("direct"))).toBe(open.stagger(planned("direct")));
  open.close();
  seq.close();
});

test("a round trip a punch measured itself (its offer and answer) times the race, the best one kept", () => {
  const ctrl = new AbortController();
  const t = new PathTiming(ping, ctrl.signal);
  const unmeasured = t.giveUp({ name: "udp-punch" } as never);
  t.observe(600);
  t.observe(Number.NaN); // ignored
  t.observe(-1); // ignored
  expect(t.rtt.signalMs).toBe(600);
  t.observe(800);
  expect(t.rtt.signalMs).toBe(600);
  // A long measured path gives the punch longer before TURN may start.
  expect(t.giveUp({ name: "udp-punch" } as never)).toBeGreaterThan(unmeasured);
  t.close();
});
