// The NAT-pair matrix as an SVG heat map: rows are pairs, columns are strategies (grouped by
// profile), a cell's colour is the time to connect on a log scale, "R" marks a relayed (TURN)
// connection and a grey cell with "✗" a failure. A pure function of its data (no I/O).

/** Fixed log-scale domain (ms), so maps of different runs and profiles compare by colour. */
export const SCALE_MS = [10, 10_000];
// Green (fast) -> yellow -> red (slow): ColorBrewer RdYlGn, readable by most colour-blind readers
// together with the printed ms.
const STOPS = [
  [0, [26, 152, 80]],
  [0.5, [254, 224, 139]],
  [1, [215, 48, 39]],
];
const FAILED = "#8c959f";
const LAYOUT = { label: 270, cell: 64, row: 20, head: 46, pad: 10, legend: 74 };

function esc(s) {
  return String(s)
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;");
}

/** 0..1 position of `ms` on the log scale (clamped). */
export function scalePos(ms) {
  const [lo, hi] = SCALE_MS;
  const x = (Math.log10(Math.max(lo, Math.min(hi, ms))) - Math.log10(lo)) / Math.log10(hi / lo);
  return Math.max(0, Math.min(1, x));
}

/** The heat colour (#rrggbb) of a time to connect. */
export function heatColour(ms) {
  const t = scalePos(ms);
  let i = 0;
  while (i < STOPS.length - 2 && t > STOPS[i + 1][0]) i++;
  const [t0, c0] = STOPS[i];
  const [t1, c1] = STOPS[i + 1];
  const f = (t - t0) / (t1 - t0);
  return `#${c0
    .map((v, k) =>
      Math.round(v + f * (c1[k] - v))
        .toString(16)
        .padStart(2, "0"),
    )
    .join("")}`;
}

/** Dark text on light cells, white on dark ones. */
function ink(hex) {
  const [r, g, b] = [1, 3, 5].map((i) => Number.parseInt(hex.slice(i, i + 2), 16));
  return 0.299 * r + 0.587 * g + 0.114 * b > 150 ? "#1b1f24" : "#ffffff";
}

const fmtMs = (ms) => (ms >= 10_000 ? `${Math.round(ms / 1000)} s` : `${Math.round(ms)}`);

/**
 * Renders the heat map.
 * @param {{ title?: string, cells: Array<{ pair: string, group?: string, strategy: string,
 *   ok: boolean, ms?: number, via?: string, code?: string }>, pairs?: string[],
 *   groups?: Array<{ name: string, strategies: string[] }> }} data
 *   `pairs` and `groups` fix the order (default: first appearance in `cells`).
 * @returns {string} a standalone SVG document
 */
export function renderHeatmap(data) {
  const cells = data.cells;
  const pairs = data.pairs ?? [...new Set(cells.map((c) => c.pair))];
  const groups =
    data.groups ??
    [...new Set(cells.map((c) => c.group ?? ""))].map((name) => ({
      name,
      strategies: [
        ...new Set(cells.filter((c) => (c.group ?? "") === name).map((c) => c.strategy)),
      ],
    }));
  const cols = groups.flatMap((g) => g.strategies.map((s) => ({ group: g.name, strategy: s })));
  const { label, cell, row, head, pad, legend } = LAYOUT;
  const gap = 8; // between groups
  const colX = [];
  let x = pad + label;
  groups.forEach((g, gi) => {
    if (gi > 0) x += gap;
    for (const _ of g.strategies) {
      colX.push(x);
      x += cell;
    }
  });
  const titleH = data.title ? 22 : 0;
  const width = Math.max(x + pad, pad * 2 + 520);
  const top = pad + titleH + head;
  const height = top + pairs.length * row + pad + legend;
  const find = new Map(cells.map((c) => [`${c.pair}\0${c.group ?? ""}\0${c.strategy}`, c]));
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui,-apple-system,Segoe UI,sans-serif" font-size="11">`,
    `<title>${esc(data.title ?? "NAT-pair matrix")}</title>`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
  ];
  if (data.title)
    out.push(
      `<text x="${pad}" y="${pad + 14}" font-size="14" font-weight="600">${esc(data.title)}</text>`,
    );
  // Column heads: the group (profile) over its strategies.
  let ci = 0;
  for (const g of groups) {
    const x0 = colX[ci];
    const w = g.strategies.length * cell;
    if (g.name)
      out.push(
        `<text class="group" x="${x0 + w / 2}" y="${pad + titleH + 16}" text-anchor="middle" font-weight="600">${esc(g.name)}</text>`,
      );
    for (const s of g.strategies) {
      out.push(
        `<text class="strategy" x="${colX[ci] + cell / 2}" y="${top - 8}" text-anchor="middle">${esc(s)}</text>`,
      );
      ci++;
    }
  }
  // One row per pair, one cell per column.
  pairs.forEach((p, ri) => {
    const y = top + ri * row;
    out.push(
      `<text class="pair" x="${pad + label - 6}" y="${y + 14}" text-anchor="end">${esc(p)}</text>`,
    );
    cols.forEach((col, k) => {
      const c = find.get(`${p}\0${col.group}\0${col.strategy}`);
      const at = `x="${colX[k] + 1}" y="${y + 1}" width="${cell - 2}" height="${row - 2}"`;
      const cx = colX[k] + cell / 2;
      const attrs = `data-pair="${esc(p)}" data-strategy="${esc(col.strategy)}"${col.group ? ` data-group="${esc(col.group)}"` : ""}`;
      if (!c) {
        out.push(`<rect class="cell none" ${attrs} ${at} fill="#ffffff" stroke="#eaeef2"/>`);
        return;
      }
      const tip = c.ok
        ? `${p}, ${col.strategy}: ${c.via ? `${c.via} ` : ""}${Math.round(c.ms ?? 0)} ms`
        : `${p}, ${col.strategy}: failed${c.code ? ` (${c.code})` : ""}`;
      if (!c.ok || c.ms === undefined || !Number.isFinite(c.ms)) {
        out.push(
          `<rect class="cell failed" ${attrs} ${at} fill="${FAILED}"><title>${esc(tip)}</title></rect>`,
          `<text x="${cx}" y="${y + 14}" text-anchor="middle" fill="#ffffff">✗</text>`,
        );
        return;
      }
      const relayed = c.via === "turn" || col.strategy === "turn";
      const fill = heatColour(c.ms);
      out.push(
        `<rect class="cell ${relayed ? "relayed" : "ok"}" ${attrs} data-ms="${Math.round(c.ms)}" ${at} fill="${fill}"${relayed ? ' stroke="#1b1f24" stroke-width="1.5" stroke-dasharray="3 2"' : ""}><title>${esc(tip)}</title></rect>`,
        `<text x="${cx}" y="${y + 14}" text-anchor="middle" fill="${ink(fill)}">${relayed ? "R " : ""}${fmtMs(c.ms)}</text>`,
      );
    });
  });
  // Legend: the colour scale with its ticks, then the marks.
  const ly = top + pairs.length * row + pad + 8;
  const lw = 300;
  out.push(
    '<defs><linearGradient id="heat" x1="0" x2="1" y1="0" y2="0">',
    ...STOPS.map(([t, c]) => `<stop offset="${t}" stop-color="rgb(${c.join(",")})"/>`),
    "</linearGradient></defs>",
    `<g class="legend"><text x="${pad}" y="${ly + 10}">time to connect (ms, log scale)</text>`,
    `<rect x="${pad}" y="${ly + 16}" width="${lw}" height="12" fill="url(#heat)"/>`,
  );
  for (const t of [10, 100, 1000, 10_000]) {
    const tx = pad + scalePos(t) * lw;
    out.push(
      `<line x1="${tx}" x2="${tx}" y1="${ly + 28}" y2="${ly + 32}" stroke="#1b1f24"/>`,
      `<text x="${tx}" y="${ly + 44}" text-anchor="middle">${t >= 1000 ? `${t / 1000} s` : t}</text>`,
    );
  }
  const mx = pad + lw + 30;
  out.push(
    `<rect x="${mx}" y="${ly + 14}" width="28" height="16" fill="${heatColour(300)}" stroke="#1b1f24" stroke-width="1.5" stroke-dasharray="3 2"/>`,
    `<text x="${mx + 14}" y="${ly + 26}" text-anchor="middle">R</text>`,
    `<text x="${mx + 34}" y="${ly + 26}">relayed (TURN)</text>`,
    `<rect x="${mx}" y="${ly + 36}" width="28" height="16" fill="${FAILED}"/>`,
    `<text x="${mx + 14}" y="${ly + 48}" text-anchor="middle" fill="#ffffff">✗</text>`,
    `<text x="${mx + 34}" y="${ly + 48}">failed</text>`,
    "</g>",
    "</svg>",
  );
  return `${out.join("\n")}\n`;
}

/**
 * Cells from the markdown report's profile tables (`## Profile \`P\`` then `| pair | s1 | ... |`):
 * "✓ 45 ms", "✓ direct 45 ms" (winner and time), "✗ CODE". Lets a map be drawn from a report
 * whose run left no JSON.
 */
export function cellsFromReport(md) {
  const cells = [];
  const groups = [];
  let group;
  let heads;
  for (const line of md.split("\n")) {
    const prof = /^## Profile `(.+)`/.exec(line);
    if (prof) {
      group = { name: prof[1], strategies: [] };
      groups.push(group);
      heads = undefined;
      continue;
    }
    if (!line.startsWith("|")) {
      if (line.trim() === "") heads = undefined; // a blank line ends a table
      continue;
    }
    if (!group) continue;
    const cols = line
      .split("|")
      .slice(1, -1)
      .map((s) => s.trim());
    if (cols[0] === "pair") {
      heads = cols.slice(1).filter((h) => h !== "planned");
      group.strategies = heads;
      continue;
    }
    if (!heads || cols[0].startsWith("---")) continue;
    heads.forEach((s, i) => {
      const v = cols[i + 1] ?? "";
      const ok = /^✓(?: (\S+))? (\d+(?:\.\d+)?) ms$/.exec(v);
      const fail = /^✗ (.*)$/.exec(v);
      if (ok)
        cells.push({
          pair: cols[0],
          group: group.name,
          strategy: s,
          ok: true,
          ms: Number(ok[2]),
          ...(ok[1] ? { via: ok[1] } : {}),
        });
      else if (fail)
        cells.push({ pair: cols[0], group: group.name, strategy: s, ok: false, code: fail[1] });
    });
  }
  return { cells, groups };
}
