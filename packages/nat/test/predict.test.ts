import { describe, expect, test } from "vitest";
import { natInfo } from "../src/info.js";
import { predictMappings, wrap } from "../src/predict.js";

describe("natInfo", () => {
  test.each([
    [
      "open-internet",
      "equal",
      { isOpen: true, canPredict: false, isHard: false, isConcurrent: true },
    ],
    [
      "udp-firewall",
      "equal",
      { isOpen: true, canPredict: false, isHard: false, isConcurrent: true },
    ],
    ["full-cone", "random", { isOpen: false, canPredict: true, isHard: false, isConcurrent: true }],
    [
      "port-restricted-cone",
      "equal",
      { isOpen: false, canPredict: true, isHard: false, isConcurrent: true },
    ],
    [
      "port-restricted-cone",
      "random",
      { isOpen: false, canPredict: true, isHard: true, isConcurrent: true },
    ],
    [
      "symmetric",
      "independent",
      { isOpen: false, canPredict: false, isHard: true, isConcurrent: false },
    ],
    [
      "symmetric",
      "preserving",
      { isOpen: false, canPredict: false, isHard: false, isConcurrent: true },
    ],
  ] as const)("%s + %s", (type, kind, flags) => {
    expect(natInfo(type, { kind, value: 1 })).toMatchObject({ type, ...flags, range: [1, 65535] });
  });

  test("defaults are P2PD's: port restricted, random delta", () => {
    expect(natInfo()).toMatchObject({ type: "port-restricted-cone", delta: { kind: "random" } });
  });
});

describe("predictMappings", () => {
  const seq = [3000, 4000, 5000];
  const picker = () => {
    let i = 0;
    return () => seq[i++ % seq.length] ?? 3000;
  };
  test("equal delta maps wanted ports to themselves", () => {
    const nat = natInfo("port-restricted-cone", { kind: "equal", value: 0 });
    expect(predictMappings(nat, { wanted: [5000, 6000] })).toEqual([
      { local: 5000, mapped: 5000 },
      { local: 6000, mapped: 6000 },
    ]);
  });
  test("a wanted port outside the NAT's range is replaced from the range", () => {
    const nat = natInfo("full-cone", { kind: "equal", value: 0 }, [35000, 65535]);
    const [p] = predictMappings(nat, { wanted: [5000], pickPort: picker() });
    expect(p?.local).toBe(p?.mapped);
    expect(p?.local).toBeGreaterThanOrEqual(35000);
  });
  test("preserving keeps the distance from the last mapping", () => {
    const nat = natInfo("symmetric", { kind: "preserving", value: 0 });
    expect(
      predictMappings(nat, { last: { local: 10000, mapped: 20000 }, wanted: [20005] }),
    ).toEqual([{ local: 10005, mapped: 20005 }]);
  });
  test("independent steps the mapped port, any local port", () => {
    const nat = natInfo("symmetric", { kind: "independent", value: 1 });
    const out = predictMappings(nat, {
      last: { local: 1, mapped: 40003 },
      count: 3,
      pickPort: picker(),
    });
    expect(out).toEqual([
      { local: 3000, mapped: 40004 },
      { local: 4000, mapped: 40005 },
      { local: 5000, mapped: 40006 },
    ]);
  });
  test("dependent steps both, and wraps inside the NAT's range", () => {
    const nat = natInfo("symmetric", { kind: "dependent", value: 2 }, [40000, 40005]);
    expect(predictMappings(nat, { last: { local: 7000, mapped: 40004 }, count: 2 })).toEqual([
      { local: 7001, mapped: 40000 },
      { local: 7002, mapped: 40002 },
    ]);
  });
  test("random delta cannot be predicted", () => {
    expect(() => predictMappings(natInfo("symmetric", { kind: "random", value: 0 }))).toThrow(
      expect.objectContaining({ code: "ERR_NAT_UNPREDICTABLE" }),
    );
  });
  test("a step delta needs the last mapping", () => {
    expect(() => predictMappings(natInfo("symmetric", { kind: "independent", value: 1 }))).toThrow(
      expect.objectContaining({ code: "ERR_NAT_BAD_ARGUMENT" }),
    );
  });
  test("wrap", () => {
    expect(wrap(65536, [1, 65535])).toBe(1);
    expect(wrap(0, [1, 65535])).toBe(65535);
    expect(wrap(44096, [40000, 44095])).toBe(40000);
  });
});
