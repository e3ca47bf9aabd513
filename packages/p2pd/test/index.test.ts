import { expect, test } from "vitest";
import { ircdns, nat, netifaces, node, P2pdClient, pipe, rest, stun } from "../src/index.js";

test("meta-package exposes every @p2pd package as a namespace, and the REST client", () => {
  for (const ns of [netifaces, stun, pipe, nat, ircdns, node, rest]) {
    expect(typeof ns).toBe("object");
    expect(Object.keys(ns).length).toBeGreaterThan(0);
  }
  expect(typeof P2pdClient).toBe("function");
  expect(new P2pdClient().url).toBe("http://127.0.0.1:12333");
});
