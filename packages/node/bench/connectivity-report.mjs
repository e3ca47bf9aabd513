// The connectivity report (markdown) from a list of trials; shared by connectivity.mjs and
// connectivity-relog.mjs (which rebuilds a report from a run's log).
import { cpus } from "node:os";

let trials = [];
let STRATEGIES = [];
let PROFILES = [];
let NODE_STRATEGIES = "";

/** Renders the report of `profiles` from `opts.trials` (each {pair, strategy, profile, result}). */
export function renderReport(opts, totalMs, profiles) {
  ({ trials, STRATEGIES, PROFILES, NODE_STRATEGIES } = opts);
  return render(totalMs, profiles);
}

export function failCode(r) {
  const tried = [...(r.a.tried ?? []), ...(r.b.tried ?? [])];
  return tried.find((x) => !x.ok)?.code ?? (r.a.error || r.b.error ? "ERR_AGENT" : "ERR");
}
function connectMs(r) {
  return Math.max(r.a.connectMs ?? 0, r.b.connectMs ?? 0);
}
function median(xs) {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((x, y) => x - y);
  return s[Math.floor((s.length - 1) / 2)];
}
function pct(xs, p) {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((x, y) => x - y);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))];
}

/** Nominal home-to-home RTT of a profile (4 impaired legs of DELAY ms; "none": 1 ms). */
function profileRtt(profile) {
  const m = /^(\d+(?:\.\d+)?)/.exec(profile);
  return m && Number(m[1]) > 0 ? 4 * Number(m[1]) : 1;
}
function totalOf(t) {
  return Math.max(t.result.a.totalMs ?? 0, t.result.b.totalMs ?? 0);
}
function isPunch(strategy) {
  return strategy === "tcp-punch" || strategy === "udp-punch";
}

/**
 * The heat map's cells (connectivity-svg.mjs) from the bench's JSON
 * (`{ strategies, profiles, trials: [{profile, pair, strategy, result}] }`): the same times the
 * report's cells show, the winner for the planned columns, the failure code otherwise.
 */
export function cellsFromTrials(json) {
  const cells = [];
  for (const t of json.trials) {
    if (!t.result) continue;
    const r = t.result;
    const whole =
      t.strategy === "all" || t.strategy.startsWith("node") || t.strategy === "hyperdht";
    const base = { pair: t.pair, group: t.profile, strategy: t.strategy };
    if (!r.ok) cells.push({ ...base, ok: false, code: failCode(r) });
    else
      cells.push({
        ...base,
        ok: true,
        ms: whole ? totalOf(t) : connectMs(r),
        ...(whole && r.a.strategy && t.strategy !== "hyperdht" ? { via: r.a.strategy } : {}),
      });
  }
  const groups = json.profiles.map((name) => ({ name, strategies: json.strategies }));
  return { cells, groups };
}

function cell(t) {
  if (!t) return "";
  const r = t.result;
  if (!r.ok) return `✗ ${failCode(r).replace(/^ERR_/, "")}`;
  if (t.strategy === "all" || t.strategy.startsWith("node"))
    return `✓ ${r.a.strategy} ${totalOf(t)} ms`;
  return `✓ ${connectMs(r)} ms`;
}

function renderProfile(profile) {
  const ts = trials.filter((t) => t.profile === profile);
  const pairs = [...new Set(ts.map((t) => t.pair))];
  let md = `## Profile \`${profile}\`\n\n`;
  md += `| pair | ${STRATEGIES.join(" | ")} | planned |\n|${"---|".repeat(STRATEGIES.length + 2)}\n`;
  for (const p of pairs) {
    const row = STRATEGIES.map((s) => cell(ts.find((t) => t.pair === p && t.strategy === s)));
    const plan = ts.find((t) => t.pair === p && t.result?.a?.plan)?.result?.a?.plan;
    md += `| ${p} | ${row.join(" | ")} | ${plan ? plan.join(", ") : ""} |\n`;
  }
  const ok = (s) => ts.filter((t) => t.strategy === s && t.result.ok);
  md += "\n| strategy | successes | median ms | p90 ms | max ms |\n|---|---|---|---|---|\n";
  for (const s of STRATEGIES) {
    const all = ts.filter((t) => t.strategy === s);
    const ms = ok(s).map((t) =>
      s === "all" || s.startsWith("node") || s === "hyperdht" ? totalOf(t) : connectMs(t.result),
    );
    md += `| ${s} | ${ms.length}/${all.length} | ${median(ms)} | ${pct(ms, 0.9)} | ${Math.max(...ms, 0)} |\n`;
  }
  return `${md}\n`;
}

/** The issue-13 figures of one profile for one node column ("node" or "node-base"). */
function summaryRow(profile, col) {
  const ts = trials.filter((t) => t.profile === profile);
  const mine = ts.filter((t) => t.strategy === col);
  if (mine.length === 0) return undefined;
  const okd = mine.filter((t) => t.result.ok);
  const relayed = okd.filter((t) => t.result.a.strategy === "turn");
  const punched = okd.filter((t) => isPunch(t.result.a.strategy));
  const target = Math.round(3 * profileRtt(profile) + 150);
  const med = median(punched.map(totalOf));
  const hyper = ts.filter((t) => t.strategy === "hyperdht");
  let vs = "n/a";
  if (hyper.length) {
    const common = okd.filter((t) => hyper.some((h) => h.pair === t.pair && h.result.ok));
    const ours = median(common.map(totalOf));
    const theirs = median(common.map((t) => totalOf(hyper.find((h) => h.pair === t.pair))));
    const hOk = hyper.filter((h) => h.result.ok).length;
    vs = `${ours} / ${theirs} ms on ${common.length} common pairs (hyperdht ${hOk}/${hyper.length}); ratio ${(ours / theirs).toFixed(2)}`;
    // The same on the pairs we punched (direct and reverse wins are cheap and hyperdht has none).
    const cp = common.filter((t) => isPunch(t.result.a.strategy));
    const po = median(cp.map(totalOf));
    const ph = median(cp.map((t) => totalOf(hyper.find((h) => h.pair === t.pair))));
    vs += `; punched: ${po} / ${ph} ms on ${cp.length} (ratio ${(po / ph).toFixed(2)})`;
  }
  return `| \`${profile}\` | ${col} | ${okd.length}/${mine.length} | ${relayed.length} | ${punched.length} | ${med} | ${target} | ${vs} |`;
}

function render(totalMs, profiles) {
  let md = "# Connectivity matrix (NAT lab)\n\n";
  md += `Generated by \`pnpm bench:connectivity\` (packages/node/bench/connectivity.mjs) on ${new Date().toISOString().slice(0, 16)}Z, `;
  md += `Node ${process.version}, ${cpus().length} CPUs; ${trials.length} trials in ${(totalMs / 1000).toFixed(0)} s; profiles ${PROFILES.join(", ")} (one lab, \`natlab impair\` between them).\n\n`;
  md +=
    "Rows are ordered pairs (initiator A → responder B) of lab NAT types (`labs/natlab`: nftables NATs in network namespaces, coturn, mosquitto, a JSON-lines rendezvous on the pub host). ";
  md +=
    "A profile `DELAY:JITTER:LOSS` impairs every home network's uplink in both directions, so a home-to-home round trip crosses 4 impaired legs (`40ms:5ms:1%`: RTT ~165 ms, 3.9 % loss; `150ms:20ms:3%`: RTT ~610 ms, 11.5 % loss); pub (STUN, TURN, MQTT, the hyperdht bootstrap) is not impaired itself. ";
  md +=
    "Single-strategy cells give the time from the agreed meeting instant to the connected socket (punches), from the start of the attempt (direct, TURN). ";
  md += `\`node\` is the real P2P node end to end (\`startNode\` + \`connect\` with ${NODE_STRATEGIES}; MQTT signaling, the node's own NAT test, ECHO proof): its winning strategy and connect time. \`node-base\` is the same with a baseline build (before this change), run in the same lab and run. `;
  md +=
    "`hyperdht` is hyperdht from npm (5-node testnet on pub, server on B, `dht.connect(key)` on A after both bootstrapped, time to the socket's open, then an echoed hello); it has no relay.\n\n";
  md += "## Summary\n\n";
  md +=
    "Punched = the node's winner was tcp-punch or udp-punch. Target: median of punched pairs within 3 RTT + 150 ms. Last column: median connect time of ours / hyperdht's on the pairs both connected.\n\n";
  md +=
    "| profile | build | connected | via TURN | punched | punched median ms | 3 RTT + 150 ms | ours / hyperdht |\n|---|---|---|---|---|---|---|---|\n";
  for (const p of profiles)
    for (const col of ["node-base", "node"]) {
      const row = summaryRow(p, col);
      if (row) md += `${row}\n`;
    }
  md += "\n";
  md +=
    "![NAT-pair matrix as a heat map: rows are pairs, columns strategies per profile; colour is the time to connect, R marks a relayed (TURN) connection, a grey ✗ a failure](connectivity.svg)\n\n";
  md +=
    "The heat map (`connectivity.svg`, drawn by `bench/connectivity-svg.mjs` from `CONNECTIVITY.json`, or from this file's tables with `node bench/connectivity-heatmap.mjs`): rows are pairs, columns the strategies of each profile; the colour is the time to connect on a log scale (green 10 ms to red 10 s), `R` with a dashed border marks a connection relayed by TURN, a grey `✗` a failure.\n\n";
  for (const p of profiles) md += renderProfile(p);
  return md;
}
