import { expect, test } from "vitest";
import * as p2pd from "../src/index.js";

test("meta-package exposes every @p2pd package as a namespace", () => {
  for (const ns of ["netifaces", "stun", "pipe", "nat", "ircdns", "node"] as const) {
    expect(typeof p2pd[ns]).toBe("object");
  }
});
