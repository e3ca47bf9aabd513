import { expect, test } from "vitest";
import { InFlightLimit } from "../../src/node/rate-limit.js";

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
