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
  // Sequential: both punches would draw from one port counter, so UDP waits until TCP ended.
  const seq = new PathTiming(ping, ctrl.signal, { sequential: true });
  expect(seq.stagger(planned("tcp-punch"))).toBe(Number.POSITIVE_INFINITY);
  expect(seq.stagger(planned("direct"))).toBe(open.stagger(planned("direct")));
  open.close();
  seq.close();
});
