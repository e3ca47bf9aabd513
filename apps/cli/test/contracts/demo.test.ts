import { describe, expect, test } from "vitest";
import { built, contractFile, oneJson, p2pd } from "./harness.js";

// The CLI contract of `p2pd demo` (issue 8).
contractFile();

describe.skipIf(!built)("p2pd demo (issue 8)", () => {
  test("--json: one JSON document with the strategy and timings, exit 0", async () => {
    const r = await p2pd(["demo", "--json"]);
    expect(r.code, r.err).toBe(0);
    const j = oneJson(r.out) as { strategy: string; ms: number };
    expect(typeof j.strategy).toBe("string");
    expect(typeof j.ms).toBe("number");
    expect(r.err.length).toBeGreaterThan(0);
  }, 30_000);
});
