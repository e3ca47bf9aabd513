import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { natInfo } from "../src/info.js";
import { loadNat } from "../src/load.js";
import { DELTA_KINDS, NAT_TYPES } from "../src/types.js";
import { natFromWire, natToWire } from "../src/wire.js";

describe("NAT dict on the wire (P2PD codes)", () => {
  test("round-trips every type and delta", () => {
    for (const t of NAT_TYPES) {
      for (const k of DELTA_KINDS) {
        const info = natInfo(t, { kind: k, value: k === "independent" ? -2 : 0 }, [1024, 65000]);
        expect(natFromWire(JSON.parse(JSON.stringify(natToWire(info))))).toEqual(info);
      }
    }
  });
  test("P2PD's numbers", () => {
    expect(natToWire(natInfo("port-restricted-cone", { kind: "random", value: 0 }))).toEqual({
      type: 5,
      delta: { type: 6, value: 0 },
      range: [1, 65535],
    });
    expect(natFromWire({ type: 6, delta: { type: 4, value: 1 } })).toMatchObject({
      type: "symmetric",
      delta: { kind: "independent", value: 1 },
      isConcurrent: false,
    });
  });
  test.each([
    null,
    7,
    {},
    { type: 8, delta: { type: 1, value: 0 } },
    { type: 1, delta: { type: 0, value: 0 } },
    { type: 1, delta: { type: 1, value: 1.5 } },
    { type: 1, delta: { type: 1, value: 0 }, range: [5, 2] },
    { type: 1, delta: { type: 1, value: 0 }, range: [0, 2] },
    { type: 1, delta: null },
  ])("rejects %j", (bad) => {
    expect(() => natFromWire(bad)).toThrow(
      expect.objectContaining({ code: "ERR_NAT_BAD_ARGUMENT" }),
    );
  });
  test("fuzz: any JSON either decodes to a valid dict or throws NatError", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.json().map((j) => JSON.parse(j)),
          fc.anything(),
        ),
        (v) => {
          try {
            const n = natFromWire(v);
            expect(NAT_TYPES).toContain(n.type);
            expect(DELTA_KINDS).toContain(n.delta.kind);
          } catch (e) {
            expect((e as { code?: string }).code).toBe("ERR_NAT_BAD_ARGUMENT");
          }
        },
      ),
    );
  });
});

describe("loadNat", () => {
  test("keeps P2PD's default when the test cannot tell", async () => {
    const r = await loadNat({ servers: ["127.0.0.1:9"], firstAnswerMs: 200 });
    // Nobody answers on loopback port 9: blocked is a real answer, and it is kept.
    expect(r.nat.type).toBe("blocked");
    const bad = await loadNat({ servers: ["not valid:x"] });
    expect(bad.nat).toEqual(natInfo());
    expect(bad.error).toMatchObject({ code: "ERR_NAT_BAD_ARGUMENT" });
  });
});
