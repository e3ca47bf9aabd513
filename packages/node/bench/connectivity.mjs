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
import { cellsFromTrials, failCode, renderReport } from "./connectivity-report.mjs";
import { renderHeatmap } from "./connectivity-svg.mjs";

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
    // The trials as JSON and the heat map (the report embeds connectivity.svg).
    json: { type: "string", default: join(here, "CONNECTIVITY.json") },
    svg: { type: "string", default: join(here, "connectivity.svg") },
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
// The newer lab behaviours (issue 13), a second matrix: `--types` with any of these and the above.
const MORE_NETS = {
  "port-preserving": ["p=port-preserving", "q=port-preserving"],
  "sequential-busy": ["r=sequential-busy", "s=sequential-busy"],
  "short-timeout": ["t=short-timeout", "u=short-timeout"],
  "udp-blocked": ["v=udp-blocked", "w=udp-blocked"],
};
const TYPES = values.types ? values.types.split(",") : Object.keys(NETS);
Object.assign(NETS, MORE_NETS);
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
    writeResults(profilesDone);
  }
  report = render(Date.now() - t0, PROFILES);
} finally {
  lab.down();
}
console.log(report);
writeFileSync(values.out, report);
writeResults(PROFILES);
console.error(`written to ${values.out}, ${values.json} and ${values.svg}`);

/** The trials as JSON (the heat map's and any later report's data) and the heat map. */
function writeResults(profiles) {
  const json = {
    strategies: STRATEGIES,
    profiles,
    trials: trials
      .filter((t) => profiles.includes(t.profile) && t.result)
      .map(({ profile, pair, strategy, result }) => ({ profile, pair, strategy, result })),
  };
  writeFileSync(values.json, `${JSON.stringify(json, null, 1)}\n`);
  writeFileSync(
    values.svg,
    renderHeatmap({
      title: "NAT-pair matrix: time to connect per strategy and profile",
      ...cellsFromTrials(json),
    }),
  );
}

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

function render(totalMs, profiles) {
  return renderReport({ trials, STRATEGIES, PROFILES, NODE_STRATEGIES }, totalMs, profiles);
}
