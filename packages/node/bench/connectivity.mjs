// Connectivity matrix in the NAT lab: every ordered pair of lab NAT types (CGNAT and same LAN
// included) x each strategy alone and the planned list ("all"), with success and time to connect.
// Prints a markdown report and writes it to bench/CONNECTIVITY.md.
//   node bench/connectivity.mjs [--concurrency 4] [--types open,symmetric] [--strategies tcp-punch,all]
// Needs root, iproute2, nftables and coturn (the lab is built and removed by this script).
import { existsSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { bundleTraversal, canRunLab, Lab, NAT_OF } from "./connectivity-lib.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const { values } = parseArgs({
  options: {
    concurrency: { type: "string", default: "4" },
    types: { type: "string" },
    strategies: { type: "string" },
    // Link impairment of every home network's uplink (each direction), one lab, changed between runs.
    // A baseline build of @p2pd/node (its dist/index.js) run as strategy "node-base" beside "node".
    base: { type: "string" },
    // The build run as "node" (default: this package's dist/index.js).
    lib: { type: "string" },
    profiles: { type: "string", default: "none,40ms:5ms:1%,150ms:20ms:3%" },
    out: { type: "string", default: join(here, "CONNECTIVITY.md") },
  },
});

const why = canRunLab();
if (why) {
  console.error(`connectivity bench skipped: ${why}`);
  process.exit(0);
}

// Two home networks per type, so same-type pairs meet across two routers. h has two hosts: same LAN.
const NETS = {
  open: ["a=open", "b=open"],
  "full-cone": ["c=full-cone", "d=full-cone"],
  "restricted-cone": ["e=restricted-cone", "f=restricted-cone"],
  "port-restricted": ["g=port-restricted", "h=port-restricted,hosts=2"],
  symmetric: ["i=symmetric", "j=symmetric"],
  "symmetric-sequential": ["k=symmetric-sequential", "l=symmetric-sequential"],
  cgnat: ["m=cgnat", "n=cgnat"],
};
const TYPES = values.types ? values.types.split(",") : Object.keys(NETS);
// "node": the real P2P node (built dist + the node helper's lab peer), every strategy incl. TURN.
const nodeLib = values.lib ?? join(here, "..", "dist", "index.js");
const nodePeer = join(here, "..", "test", "lab", "peer.mjs");
const haveNode = existsSync(nodeLib) && existsSync(nodePeer);
const STRATEGIES = values.strategies
  ? values.strategies.split(",")
  : ["direct", "tcp-punch", "udp-punch", "turn", "all", ...(haveNode ? ["node"] : [])];
const hyperPeer = join(here, "hyperdht-peer.mjs");
let hyperBootstrap;
const libOf = (s) => (s === "node-base" ? values.base : nodeLib);
const NODE_STRATEGIES = "direct,reverse,tcp-punch,udp-punch,turn";
const letter = (spec) => spec[0];

const PROFILES = values.profiles.split(",");
const pairTrials = [];
for (const ta of TYPES)
  for (const tb of TYPES) {
    const a = `${letter(NETS[ta][0])}1`;
    const b = `${letter(NETS[tb][1])}1`;
    for (const s of STRATEGIES)
      pairTrials.push({ pair: `${ta} → ${tb}`, ta, tb, a, b, strategy: s, sameLan: false });
  }
if (TYPES.includes("port-restricted"))
  for (const s of STRATEGIES)
    pairTrials.push({
      pair: "same LAN (port-restricted, no hairpin)",
      ta: "port-restricted",
      tb: "port-restricted",
      a: "h1",
      b: "h2",
      strategy: s,
      sameLan: true,
    });

const profilesDone = [];
const trials = PROFILES.flatMap((profile) => pairTrials.map((t) => ({ ...t, profile })));

const lab = new Lab("trb-", "/tmp/natlab-trb");
const scenario = [...new Set(TYPES.flatMap((t) => NETS[t]))];
const t0 = Date.now();
process.on("SIGINT", () => {
  lab.down();
  process.exit(130);
});
let report = "";
try {
  console.error(`building lab: ${scenario.join(" ")}`);
  lab.up(scenario);
  await lab.startRendezvous();
  const lib = bundleTraversal();
  if (STRATEGIES.includes("hyperdht")) hyperBootstrap = await lab.startHyperdht(hyperPeer);
  console.error(`lab up in ${Date.now() - t0} ms; ${trials.length} trials`);
  for (const profile of PROFILES) {
    lab.impair(profile);
    console.error(`profile ${profile}`);
    await runTrials(
      trials.filter((t) => t.profile === profile),
      lib,
    );
    // The report so far, after each profile (a long run cut short still leaves its figures).
    profilesDone.push(profile);
    writeFileSync(values.out, render(Date.now() - t0, profilesDone));
  }
  report = render(Date.now() - t0, PROFILES);
} finally {
  lab.down();
}
console.log(report);
writeFileSync(values.out, report);
console.error(`written to ${values.out}`);

async function runTrials(trials, lib) {
  // Run trials whose routers are disjoint in parallel (a sequential NAT's counter is per router).
  const concurrency = Math.max(1, Math.min(Number(values.concurrency), cpus().length * 2));
  const busy = new Set();
  const pending = [...trials];
  let done = 0;
  let n = 0;
  await new Promise((resolveAll) => {
    const pump = () => {
      if (pending.length === 0 && busy.size === 0) return resolveAll();
      for (let i = 0; i < pending.length && busy.size / 2 < concurrency; i++) {
        const t = pending[i];
        const routers = [t.a[0], t.b[0]];
        if (routers.some((r) => busy.has(r))) continue;
        pending.splice(i--, 1);
        for (const r of routers) busy.add(r);
        const started = Date.now();
        const run =
          t.strategy === "hyperdht"
            ? lab
                .hyperdhtTrial({ peer: hyperPeer, bootstrap: hyperBootstrap, a: t.a, b: t.b })
                .then((r) => ({
                  ok: r.ok,
                  a: {
                    strategy: "hyperdht",
                    connectMs: r.ms,
                    totalMs: r.ms,
                    tried: r.ok ? [] : [{ ok: false, code: r.error }],
                  },
                  b: { tried: [] },
                }))
            : t.strategy === "node" || t.strategy === "node-base"
              ? lab
                  .nodeTrial({
                    lib: libOf(t.strategy),
                    peer: nodePeer,
                    a: t.a,
                    b: t.b,
                    strategies: NODE_STRATEGIES,
                  })
                  .then((r) => ({
                    ok: r.ok,
                    a: {
                      strategy: r.strategy,
                      connectMs: r.ms,
                      totalMs: r.ms,
                      timings: r.strategies,
                      tried: r.ok ? [] : [{ ok: false, code: r.error }],
                    },
                    b: { tried: [] },
                  }))
              : lab.trial({
                  lib,
                  a: t.a,
                  b: t.b,
                  natA: NAT_OF[t.ta],
                  natB: NAT_OF[t.tb],
                  strategy: t.strategy,
                  room: `b${n++}`,
                  sameLan: t.sameLan,
                });
        run
          .then((r) => {
            t.result = r;
            t.wallMs = Date.now() - started;
          })
          .catch((e) => {
            t.result = { ok: false, a: { tried: [], error: String(e) }, b: { tried: [] } };
          })
          .finally(() => {
            for (const r of routers) busy.delete(r);
            done++;
            const r = t.result;
            console.error(
              `[${done}/${trials.length}] ${t.profile} ${t.pair} ${t.strategy}: ${r.ok ? `ok ${r.a.strategy} ${Math.max(r.a.connectMs ?? 0, r.b.connectMs ?? 0)} ms` : `fail ${failCode(r)}`}${r.a.timings ? ` [${r.a.timings.map((x) => `${x.strategy}${x.skipped ? " skip" : ` ${x.ok ? "ok" : x.code} ${Math.round(x.ms)}`}`).join(", ")}]` : ""}`,
            );
            pump();
          });
      }
    };
    pump();
  });
}

function failCode(r) {
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
const totalOf = (t) => Math.max(t.result.a.totalMs ?? 0, t.result.b.totalMs ?? 0);
const PUNCHES = new Set(["tcp-punch", "udp-punch"]);

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
  const punched = okd.filter((t) => PUNCHES.has(t.result.a.strategy));
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
  for (const p of profiles) md += renderProfile(p);
  return md;
}
