import { describe, expect, test } from "vitest";
import {
  built,
  contractFile,
  expectFailure,
  expectUsages,
  noStack,
  oneJson,
  p2pd,
} from "./harness.js";

// The CLI contract of `p2pd interfaces` (issue 3).
contractFile();

describe.skipIf(!built)("p2pd interfaces (issue 3)", () => {
  test("--json names the default interface and its gateway", async () => {
    const r = await p2pd(["interfaces", "--json"]);
    expect(r.code).toBe(0);
    const j = oneJson(r.out) as {
      default: Record<"4" | "6", { interface: string; gateway: string | null } | null>;
      interfaces: { name: string; default: boolean; addresses: unknown[] }[];
    };
    expect(Object.keys(j.default).sort()).toEqual(["4", "6"]);
    expect(j.interfaces.length).toBeGreaterThan(0);
    for (const i of j.interfaces) {
      expect(typeof i.name).toBe("string");
      expect(typeof i.default).toBe("boolean");
      expect(Array.isArray(i.addresses)).toBe(true);
    }
    for (const f of ["4", "6"] as const) {
      const d = j.default[f];
      if (d === null) continue;
      expect(typeof d.interface).toBe("string");
      expect(d.gateway === null || typeof d.gateway === "string").toBe(true);
      expect(j.interfaces.find((i) => i.name === d.interface)?.default).toBe(true);
    }
    noStack(r.err);
  });

  test("bad input: extra arguments, --stun without --resolve, bad --timeout -> exit 2", async () => {
    await expectUsages(
      ["interfaces", "a", "b"],
      ["interfaces", "--stun", "127.0.0.1:1"],
      ["interfaces", "--resolve"],
      ["interfaces", "--timeout", "abc"],
    );
  });

  test("an interface that does not exist -> exit 1 with the reason", async () => {
    expectFailure(await p2pd(["interfaces", "no-such-if0", "--json"]), "ERR_NO_SUCH_INTERFACE");
  });
});
