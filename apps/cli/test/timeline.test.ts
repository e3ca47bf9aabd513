import { describe, expect, test } from "vitest";
import { formatTimeline } from "../src/timeline.js";

describe("formatTimeline (connect --verbose)", () => {
  const tl = [
    {
      strategy: "udp-punch",
      startMs: 0,
      endMs: 0,
      outcome: "skipped" as const,
      code: "ERR_SKIPPED",
      message: "cannot work for these addresses",
    },
    {
      strategy: "slow",
      startMs: 0,
      endMs: 100,
      outcome: "failed" as const,
      code: "ERR_X",
      message: "no path",
    },
    { strategy: "direct", startMs: 100, endMs: 200, outcome: "won" as const },
    {
      strategy: "reverse",
      startMs: 150,
      endMs: 200,
      outcome: "lost" as const,
      code: "ERR_LOST_RACE",
      message: "direct won",
    },
  ];

  test("one line per strategy, bars on one time axis, durations, outcomes and reasons", () => {
    const lines = formatTimeline(tl, 20);
    expect(lines).toHaveLength(5);
    expect(lines[0]).toMatch(/^timeline \(/);
    const bar = (l: string | undefined) => l?.split("|")[1] ?? "";
    // Axis of 20 columns over 200 ms: 10 ms a column.
    expect(bar(lines[1])).toBe(`.${" ".repeat(19)}`);
    expect(bar(lines[2])).toBe(`${"x".repeat(11)}${" ".repeat(9)}`);
    expect(bar(lines[3])).toBe(`${" ".repeat(10)}${"#".repeat(10)}`);
    expect(bar(lines[4])).toBe(`${" ".repeat(15)}${"-".repeat(5)}`);
    expect(lines[2]).toMatch(/0\.0 ->\s+100 ms\s+100 ms {2}failed ERR_X: no path$/);
    expect(lines[3]).toMatch(/100 ->\s+200 ms\s+100 ms {2}won$/);
    expect(lines[4]).toMatch(/lost ERR_LOST_RACE: direct won$/);
    expect(lines[1]).toMatch(/skipped ERR_SKIPPED: cannot work for these addresses$/);
    // Names are padded to one column.
    expect(new Set(lines.slice(1).map((l) => l.indexOf("|"))).size).toBe(1);
  });

  test("an empty timeline (the connect failed before any strategy) is one line", () => {
    expect(formatTimeline([])).toEqual(["timeline: no strategy ran"]);
  });
});
