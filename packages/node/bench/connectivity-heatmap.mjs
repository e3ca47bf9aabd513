// Draws the NAT-pair matrix of a connectivity report as an SVG heat map:
//   node bench/connectivity-heatmap.mjs [CONNECTIVITY.md|CONNECTIVITY.json] [out.svg]
// From the JSON the bench writes (its trials), else from the report's markdown tables (a report
// rebuilt by connectivity-relog.mjs has no JSON). Default: bench/CONNECTIVITY.json if present,
// else bench/CONNECTIVITY.md; output bench/connectivity.svg.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { cellsFromTrials } from "./connectivity-report.mjs";
import { cellsFromReport, renderHeatmap } from "./connectivity-svg.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const json = join(here, "CONNECTIVITY.json");
const src = process.argv[2] ?? (existsSync(json) ? json : join(here, "CONNECTIVITY.md"));
const out = process.argv[3] ?? join(here, "connectivity.svg");
const text = readFileSync(src, "utf8");
const data = src.endsWith(".json") ? cellsFromTrials(JSON.parse(text)) : cellsFromReport(text);
writeFileSync(
  out,
  renderHeatmap({ title: "NAT-pair matrix: time to connect per strategy and profile", ...data }),
);
console.error(`${data.cells.length} cells from ${src} -> ${out}`);
