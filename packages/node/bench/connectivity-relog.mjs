// Rebuilds the connectivity report from a run's log (stderr of connectivity.mjs), e.g. when a
// long run was cut short or to merge profiles of two runs:
//   node bench/connectivity-relog.mjs run.log [more.log ...] > CONNECTIVITY.md
// A later log's trials replace an earlier one's for the same profile, pair and strategy.
import { readFileSync } from "node:fs";
import { renderReport } from "./connectivity-report.mjs";

const LINE = /^\[\d+\/\d+\] (\S+) (.+) (\S+): (ok (\S+) (\d+) ms|fail (.*?))( \[(.*)\])?$/;
const byKey = new Map();
for (const file of process.argv.slice(2)) {
  for (const line of readFileSync(file, "utf8").split("\n")) {
    const m = LINE.exec(line);
    if (!m) continue;
    const [, profile, pair, strategy, , winner, ms, code, , timings] = m;
    const ok = winner !== undefined;
    const total = Number(ms ?? 0);
    const t = {
      profile,
      pair,
      strategy,
      result: {
        ok,
        a: {
          strategy: winner,
          connectMs: total,
          totalMs: total,
          tried: ok ? [] : [{ ok: false, code }],
          timingsText: timings,
        },
        b: { tried: [] },
      },
    };
    byKey.set(`${profile}|${pair}|${strategy}`, t);
  }
}
const trials = [...byKey.values()];
const PROFILES = [...new Set(trials.map((t) => t.profile))];
const STRATEGIES = [...new Set(trials.map((t) => t.strategy))];
process.stdout.write(
  renderReport(
    { trials, STRATEGIES, PROFILES, NODE_STRATEGIES: "direct,reverse,tcp-punch,udp-punch,turn" },
    0,
    PROFILES,
  ),
);
