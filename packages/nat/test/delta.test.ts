import { describe, expect, test } from "vitest";
import { classifyDelta, type PortSample, portStep } from "../src/delta.js";

const spreadLocals = [41234, 50311, 33012, 60007, 45555, 38001, 52222, 47777];
const s = (mapped: (l: number, i: number) => number, locals = spreadLocals): PortSample[] =>
  locals.map((local, i) => ({ local, mapped: mapped(local, i) }));
const consecutive = (start: number) => Array.from({ length: 8 }, (_, i) => start + i);
const rnd2 = [5123, 61000, 2222, 33333, 18000, 44444, 9999, 27000];

describe("classifyDelta", () => {
  const rnd = [5123, 61000, 2222, 33333, 18000, 44444, 9999, 27000];
  test.each([
    ["port preserved", s((l) => l), [], { kind: "equal", value: 0 }],
    [
      "preserved, 3 of 8 taken",
      s((l, i) => (i % 3 === 0 ? l + 7 : l)),
      [],
      { kind: "equal", value: 0 },
    ],
    ["distances kept, offset 1000", s((l) => l - 1000), [], { kind: "preserving", value: 0 }],
    ["shared counter +1", s((_, i) => 40000 + i), [], { kind: "independent", value: 1 }],
    [
      "shared counter +2 with a gap",
      s((_, i) => 40000 + 2 * i + (i > 5 ? 2 : 0)),
      [],
      {
        kind: "independent",
        value: 2,
      },
    ],
    ["counter running down", s((_, i) => 50000 - 3 * i), [], { kind: "independent", value: -3 }],
    [
      "counter wraps at 65535",
      s((_, i) => (65533 + i) % 65536),
      [],
      { kind: "independent", value: 1 },
    ],
    [
      "dependent +4 on consecutive locals",
      s((_, i) => rnd[i] ?? 0),
      s((_, i) => 30000 + 4 * i, consecutive(20000)),
      { kind: "dependent", value: 4 },
    ],
    [
      "random",
      s((_, i) => rnd[i] ?? 0),
      s((_, i) => rnd[7 - i] ?? 0, consecutive(20000)),
      {
        kind: "random",
        value: 0,
      },
    ],
  ])("%s", (_name, spread, cons, want) => {
    expect(classifyDelta(spread, cons)).toEqual(want);
  });

  test("a lost probe breaks adjacency instead of faking a step", () => {
    const list: (PortSample | null)[] = s((_, i) => 40000 + i);
    list[3] = null;
    // 7 pairs -> 5 remain, all +1
    expect(classifyDelta(list)).toEqual({ kind: "independent", value: 1 });
    list[5] = null; // 3 pairs left: too few to tell
    expect(classifyDelta(list)).toEqual({ kind: "not-applicable", value: 0 });
  });

  test("a shared counter seen out of order (jitter reorders the burst) is still independent", () => {
    // 16 mappings from one counter, created in a shuffled order of the sockets, two ports taken by
    // other sockets of the same burst in between.
    const order = [1, 0, 2, 3, 5, 4, 8, 6, 7, 9, 11, 10, 12, 14, 13, 15];
    const port = (k: number) => 40000 + order.indexOf(k) + (order.indexOf(k) > 9 ? 2 : 0);
    const spread = s((_, i) => port(i));
    const cons = s((_, i) => port(8 + i), consecutive(20000));
    expect(classifyDelta(spread, cons)).toEqual({ kind: "independent", value: 1 });
    const down = s((_, i) => 60000 - 3 * port(i) + 120000);
    const downCons = s((_, i) => 60000 - 3 * port(8 + i) + 120000, consecutive(20000));
    expect(classifyDelta(down, downCons)).toEqual({ kind: "independent", value: -3 });
  });

  test("random ports stay random when sorted", () => {
    const more = [1234, 60001, 15000, 42424, 7000, 39999, 25000, 51000];
    expect(
      classifyDelta(
        s((_, i) => rnd2[i] ?? 0),
        s((_, i) => more[i] ?? 0, consecutive(20000)),
      ),
    ).toEqual({
      kind: "random",
      value: 0,
    });
  });

  test("a sequential NAT behind a path that reorders flows (jitter): the sorted ports show the step", () => {
    // Sent in order 0..7, reached the NAT in this order: send-order steps are all over the place.
    const order = [2, 0, 1, 5, 3, 4, 7, 6];
    expect(classifyDelta(s((_, i) => 40000 + (order[i] as number)))).toEqual({
      kind: "independent",
      value: 1,
    });
    // A counter running down shows in the send order when the shuffle is mild.
    const mild = [1, 0, 2, 3, 5, 4, 6, 7];
    expect(classifyDelta(s((_, i) => 50000 - 2 * (mild[i] as number)))).toEqual({
      kind: "independent",
      value: -2,
    });
    // Both lists' probes left together and interleaved at the NAT (seen in natlab at 40ms:5ms:1%).
    const spread = [40048, 40062, 40049, 40056, 40058, 40057, 40054, 40060];
    const cons = [40052, 40051, 40059, 40050, 40063, 40061, 40053, 40055];
    expect(
      classifyDelta(
        s((_, i) => spread[i] as number),
        s((_, i) => cons[i] as number, consecutive(20000)),
      ),
    ).toEqual({ kind: "independent", value: 1 });
  });

  test("too few answers => not-applicable", () => {
    expect(classifyDelta([{ local: 1, mapped: 5 }, null, { local: 9, mapped: 77 }])).toEqual({
      kind: "not-applicable",
      value: 0,
    });
    expect(classifyDelta([])).toEqual({ kind: "not-applicable", value: 0 });
  });

  test("portStep wraps to the shortest signed distance", () => {
    expect(portStep(65535, 0)).toBe(1);
    expect(portStep(0, 65535)).toBe(-1);
    expect(portStep(1000, 1010)).toBe(10);
  });
});
