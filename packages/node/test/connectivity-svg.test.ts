import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, test } from "vitest";
import { cellsFromTrials } from "../bench/connectivity-report.mjs";
import {
  cellsFromReport,
  type HeatCell,
  heatColour,
  renderHeatmap,
  scalePos,
} from "../bench/connectivity-svg.mjs";

const bench = join(dirname(fileURLToPath(import.meta.url)), "..", "bench");

/**
 * A small XML well-formedness check: every tag closes in order, attribute values are quoted and
 * unique, text and attributes escape `<` and `&`. Returns the elements with their attributes.
 */
function parseXml(xml: string): { name: string; attrs: Record<string, string>; text: string }[] {
  const els: { name: string; attrs: Record<string, string>; text: string }[] = [];
  const stack: { name: string; attrs: Record<string, string>; text: string }[] = [];
  const token = /<(\/?)([A-Za-z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>|([^<]+)/gy;
  let at = 0;
  for (let m = token.exec(xml); m; m = token.exec(xml)) {
    at = token.lastIndex;
    const [, close, name, attrText, self, text] = m;
    if (text !== undefined) {
      if (/&(?!(amp|lt|gt|quot|apos);)/.test(text)) throw new Error(`bad & in ${text}`);
      if (stack.length === 0 && text.trim()) throw new Error(`text outside the root: ${text}`);
      const top = stack.at(-1);
      if (top) top.text += text;
      continue;
    }
    if (close) {
      const open = stack.pop();
      if (open?.name !== name) throw new Error(`</${name}> closes <${open?.name}>`);
      continue;
    }
    const attrs: Record<string, string> = {};
    for (const a of (attrText ?? "").matchAll(/([\w:-]+)="([^"]*)"/g)) {
      if ((a[1] as string) in attrs) throw new Error(`duplicate attribute ${a[1]}`);
      if (/&(?!(amp|lt|gt|quot|apos);)/.test(a[2] as string)) throw new Error(`bad & in ${a[2]}`);
      attrs[a[1] as string] = a[2] as string;
    }
    if (stack.length === 0 && els.length > 0) throw new Error("two roots");
    const el = { name: name as string, attrs, text: "" };
    els.push(el);
    if (!self) stack.push(el);
  }
  if (at !== xml.length) throw new Error(`unparsable at ${at}: ${xml.slice(at, at + 40)}`);
  if (stack.length) throw new Error(`<${stack.at(-1)?.name}> never closed`);
  return els;
}

const pairs = ["open → open", "symmetric → symmetric", "cgnat <&> cgnat"];
const cells: HeatCell[] = [
  { pair: pairs[0] as string, group: "none", strategy: "direct", ok: true, ms: 12 },
  { pair: pairs[0] as string, group: "none", strategy: "node", ok: true, ms: 45, via: "direct" },
  { pair: pairs[1] as string, group: "none", strategy: "direct", ok: false, code: "TIMEOUT" },
  { pair: pairs[1] as string, group: "none", strategy: "node", ok: true, ms: 900, via: "turn" },
  { pair: pairs[2] as string, group: "none", strategy: "direct", ok: true, ms: 8000 },
  { pair: pairs[0] as string, group: "40ms", strategy: "direct", ok: true, ms: 300 },
];

describe("renderHeatmap (bench/connectivity-svg.mjs)", () => {
  const svg = renderHeatmap({ title: "matrix", cells });
  const els = parseXml(svg);

  test("a well-formed standalone SVG document with a size", () => {
    expect(els[0]?.name).toBe("svg");
    expect(els[0]?.attrs.xmlns).toBe("http://www.w3.org/2000/svg");
    expect(Number(els[0]?.attrs.width)).toBeGreaterThan(0);
    expect(Number(els[0]?.attrs.height)).toBeGreaterThan(0);
    // Every drawn element lies inside the canvas.
    const w = Number(els[0]?.attrs.width);
    const h = Number(els[0]?.attrs.height);
    for (const e of els.filter((x) => x.name === "rect" && x.attrs.x !== undefined)) {
      expect(Number(e.attrs.x) + Number(e.attrs.width)).toBeLessThanOrEqual(w);
      expect(Number(e.attrs.y) + Number(e.attrs.height)).toBeLessThanOrEqual(h);
    }
  });

  test("one cell per pair and column (groups x strategies), absent trials drawn empty", () => {
    const drawn = els.filter((e) => e.attrs.class?.startsWith("cell"));
    // 3 pairs x (none: direct, node; 40ms: direct) = 9 cells, 3 of them never ran.
    expect(drawn).toHaveLength(9);
    const keys = drawn.map(
      (e) => `${e.attrs["data-pair"]}|${e.attrs["data-group"]}|${e.attrs["data-strategy"]}`,
    );
    expect(new Set(keys).size).toBe(9);
    expect(drawn.filter((e) => e.attrs.class === "cell none")).toHaveLength(3);
    // Labels are escaped, not broken: the pair with "<&>" round-trips.
    expect(drawn.some((e) => e.attrs["data-pair"] === "cgnat &lt;&amp;&gt; cgnat")).toBe(true);
    expect(els.filter((e) => e.attrs.class === "pair").map((e) => e.text)).toEqual([
      "open → open",
      "symmetric → symmetric",
      "cgnat &lt;&amp;&gt; cgnat",
    ]);
    expect(els.filter((e) => e.attrs.class === "group").map((e) => e.text)).toEqual([
      "none",
      "40ms",
    ]);
  });

  test("colour is the time to connect; relayed and failed cells are marked", () => {
    const cell = (pair: string, group: string, s: string) =>
      els.find(
        (e) =>
          e.attrs["data-pair"] === pair &&
          e.attrs["data-group"] === group &&
          e.attrs["data-strategy"] === s,
      );
    const fast = cell("open → open", "none", "direct");
    const slow = cell("cgnat &lt;&amp;&gt; cgnat", "none", "direct");
    expect(fast?.attrs.class).toBe("cell ok");
    expect(fast?.attrs.fill).toBe(heatColour(12));
    expect(slow?.attrs.fill).toBe(heatColour(8000));
    // Green for fast, red for slow.
    const rgb = (hex = "") => [1, 3, 5].map((i) => Number.parseInt(hex.slice(i, i + 2), 16));
    const [fr, fg] = rgb(fast?.attrs.fill);
    const [sr, sg] = rgb(slow?.attrs.fill);
    expect(fg as number).toBeGreaterThan(fr as number);
    expect(sr as number).toBeGreaterThan(sg as number);
    const relayed = cell("symmetric → symmetric", "none", "node");
    expect(relayed?.attrs.class).toBe("cell relayed");
    expect(relayed?.attrs["stroke-dasharray"]).toBeDefined();
    const failed = cell("symmetric → symmetric", "none", "direct");
    expect(failed?.attrs.class).toBe("cell failed");
    expect(svg).toContain("<title>symmetric → symmetric, direct: failed (TIMEOUT)</title>");
    expect(svg).toMatch(/>R 900</);
  });

  test("a legend: the colour scale with ticks and both marks", () => {
    const legend = svg.slice(svg.indexOf('<g class="legend">'));
    expect(legend).toContain("time to connect (ms, log scale)");
    expect(legend).toContain('fill="url(#heat)"');
    for (const tick of [">10<", ">100<", ">1 s<", ">10 s<"]) expect(legend).toContain(tick);
    expect(legend).toContain("relayed (TURN)");
    expect(legend).toContain("failed");
    expect(els.filter((e) => e.name === "stop")).toHaveLength(3);
  });

  test("the log scale is monotonic and clamped to 10 ms .. 10 s", () => {
    expect(scalePos(1)).toBe(0);
    expect(scalePos(10)).toBe(0);
    expect(scalePos(100)).toBeCloseTo(1 / 3);
    expect(scalePos(1e6)).toBe(1);
    expect(heatColour(5)).toBe(heatColour(10));
    expect(heatColour(10_000)).toBe("#d73027");
  });
});

describe("cellsFromReport: the heat map of the committed CONNECTIVITY.md", () => {
  test("every pair row of every profile table becomes cells; the committed SVG matches", () => {
    const md = readFileSync(join(bench, "CONNECTIVITY.md"), "utf8");
    const { cells: got, groups } = cellsFromReport(md);
    const profiles = [...md.matchAll(/^## Profile `(.+)`/gm)].map((m) => m[1]);
    expect(groups.map((g) => g.name)).toEqual(profiles);
    for (const g of groups) {
      const rows = new Set(got.filter((c) => c.group === g.name).map((c) => c.pair));
      expect(rows.size).toBe(50); // 7 x 7 NAT pairs + same LAN
      expect(got.filter((c) => c.group === g.name)).toHaveLength(50 * g.strategies.length);
    }
    expect(got.some((c) => c.ok && c.via === "turn")).toBe(true);
    expect(got.some((c) => !c.ok)).toBe(true);
    const svg = readFileSync(join(bench, "connectivity.svg"), "utf8");
    expect(svg).toBe(
      renderHeatmap({
        title: "NAT-pair matrix: time to connect per strategy and profile",
        cells: got,
        groups,
      }),
    );
    expect(md).toContain("](connectivity.svg)");
  });
});

describe("cellsFromTrials: the heat map from the bench's JSON", () => {
  test("times, winners (relayed = turn) and failure codes, every profile a group", () => {
    const side = (x: object = {}) => ({ tried: [], ...x });
    const json = {
      strategies: ["udp-punch", "node"],
      profiles: ["none", "40ms"],
      trials: [
        {
          profile: "none",
          pair: "a → b",
          strategy: "udp-punch",
          result: { ok: true, a: side({ connectMs: 80 }), b: side({ connectMs: 95 }) },
        },
        {
          profile: "none",
          pair: "a → b",
          strategy: "node",
          result: { ok: true, a: side({ strategy: "turn", totalMs: 700 }), b: side() },
        },
        {
          profile: "40ms",
          pair: "a → b",
          strategy: "udp-punch",
          result: {
            ok: false,
            a: side({ tried: [{ ok: false, code: "ERR_PUNCH_TIMEOUT" }] }),
            b: side(),
          },
        },
      ],
    };
    const { cells: got, groups } = cellsFromTrials(json);
    expect(groups).toEqual([
      { name: "none", strategies: ["udp-punch", "node"] },
      { name: "40ms", strategies: ["udp-punch", "node"] },
    ]);
    expect(got).toEqual([
      { pair: "a → b", group: "none", strategy: "udp-punch", ok: true, ms: 95 },
      { pair: "a → b", group: "none", strategy: "node", ok: true, ms: 700, via: "turn" },
      { pair: "a → b", group: "40ms", strategy: "udp-punch", ok: false, code: "ERR_PUNCH_TIMEOUT" },
    ]);
    const els = parseXml(renderHeatmap({ cells: got, groups }));
    expect(els.filter((e) => e.attrs.class?.startsWith("cell"))).toHaveLength(4);
    expect(els.filter((e) => e.attrs.class === "cell relayed")).toHaveLength(1);
  });
});
