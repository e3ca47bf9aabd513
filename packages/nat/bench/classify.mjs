#!/usr/bin/env node
// Benchmark: classification time per lab NAT type, ours (detectNat) against the reference's algorithm
// (P2PD fast_nat_test: fixed 0.5 s phases, with its delta test alongside) measured in the same run and lab.
// Needs root (network namespaces); run `pnpm bench` from packages/nat (builds first via turbo).
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";

const here = (p) => fileURLToPath(new URL(p, import.meta.url));
const reps = Number(process.env.BENCH_REPS ?? 5);
if (process.getuid?.() !== 0) {
  console.log("bench/classify.mjs: skipped (needs root for the NAT lab)");
  process.exit(0);
}
const env = { ...process.env, NATLAB_PREFIX: "ncb-", NATLAB_STATE: "/tmp/natlab-ncb" };
const natlab = here("../../../labs/natlab/natlab");
const sh = (cmd, args, opts = {}) =>
  new Promise((resolve, reject) =>
    execFile(
      cmd,
      args,
      { env, maxBuffer: 1 << 24, timeout: 180_000, ...opts },
      (err, stdout, stderr) =>
        err
          ? reject(new Error(`${cmd} ${args.join(" ")}: ${stderr || err.message}`))
          : resolve(stdout),
    ),
  );

const NETS = {
  a1: ["open", "open-internet"],
  b1: ["full-cone", "full-cone"],
  c1: ["restricted-cone", "restricted-cone"],
  d1: ["port-restricted", "port-restricted-cone"],
  e1: ["symmetric", "symmetric"],
  f1: ["symmetric-sequential", "symmetric"],
  g1: ["cgnat", "port-restricted-cone"],
};
// The reference's published behaviour in a NAT lab (spec nat.md §3): fixed timeouts decide its time.
const PUBLISHED = { a1: 8, b1: 8, c1: 500, d1: 1000, e1: 1000, f1: 1000, g1: 1000 };

await sh(natlab, ["up", ...Object.entries(NETS).map(([h, [t]]) => `${h[0]}=${t}`)]);
try {
  const info = Object.fromEntries(
    (await sh(natlab, ["info"]))
      .split("\n")
      .map((l) => l.split("="))
      .filter((x) => x.length === 2),
  );
  const servers = [`${info.PUB_IP4}:${info.STUN_PORT}`];
  if (info.P2PD_STUN_PORT) servers.push(`${info.PUB_IP4}:${info.P2PD_STUN_PORT}`);
  const runIn = async (host, mode) => {
    const out = await sh("ip", [
      "netns",
      "exec",
      `ncb-${host}`,
      process.execPath,
      here("./in-ns.mjs"),
      JSON.stringify({ mode, servers, reps }),
    ]);
    return out
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
  };
  const rows = [];
  for (const host of Object.keys(NETS)) {
    const ours = await runIn(host, "ours");
    const ref = await runIn(host, "reference");
    rows.push({ host, ours, ref });
  }
  // The lab's impaired paths (natlab profiles on every home uplink): target 2 RTT + 100 ms, where RTT is
  // the median STUN round trip measured from the host just before.
  const impaired = [];
  for (const profile of (process.env.BENCH_PROFILES ?? "typical,bad").split(",").filter(Boolean)) {
    await sh(natlab, ["impair", profile]);
    for (const host of Object.keys(NETS)) {
      const [{ rtt }] = await runIn(host, "rtt");
      const ours = await runIn(host, "ours");
      const ref = await runIn(host, "reference");
      impaired.push({ profile, host, rtt, ours, ref });
    }
  }
  await sh(natlab, ["impair", "none"]);
  const med = (xs) => {
    const s = [...xs].sort((a, b) => a - b);
    return s[Math.floor(s.length / 2)];
  };
  const fmt = (ms) => (ms >= 100 ? ms.toFixed(0) : ms.toFixed(1));
  const lines = [
    `servers: ${servers.join(", ")}; ${reps} runs per type; times in ms (median, min-max)`,
    "",
    "| lab NAT | expected | ours: type / delta | ours ms | reference-algorithm: type | reference ms | ratio | published reference |",
    "|---|---|---|---|---|---|---|---|",
  ];
  for (const { host, ours, ref } of rows) {
    const [natName, want] = NETS[host];
    const o = ours.map((r) => r.ms);
    const f = ref.map((r) => r.ms);
    const ok = ours.every((r) => r.type === want) ? "" : " (WRONG)";
    const d = ours[0].delta.value
      ? `${ours[0].delta.kind} ${ours[0].delta.value}`
      : ours[0].delta.kind;
    lines.push(
      `| ${natName} | ${want} | ${ours[0].type}${ok} / ${d} | ${fmt(med(o))} (${fmt(Math.min(...o))}-${fmt(Math.max(...o))}) | ${ref[0].type} | ${fmt(med(f))} (${fmt(Math.min(...f))}-${fmt(Math.max(...f))}) | ${(med(f) / med(o)).toFixed(1)}x | ~${PUBLISHED[host]} ms (+ up to 15 s interface start per family) |`,
    );
  }
  // A restart on a known network: the per-network cache answers after one agreeing STUN round trip.
  const cached = await runIn("d1", "cached");
  const c = cached.map((r) => r.ms);
  const fresh = rows.find((r) => r.host === "d1")?.ours.map((r) => r.ms) ?? [0];
  lines.push(
    `| port-restricted, restart (cache hit) | port-restricted-cone | ${cached[0].type}${cached.every((r) => r.cached) ? " (cached)" : " (NOT cached)"} | ${fmt(med(c))} (${fmt(Math.min(...c))}-${fmt(Math.max(...c))}) | - | ${fmt(med(fresh))} (fresh run) | ${(med(fresh) / med(c)).toFixed(1)}x vs fresh | re-tests every start |`,
  );
  lines.push(
    "",
    "| profile | lab NAT | RTT ms | bound 2 RTT + 100 | ours: type / delta | ours ms | within | reference: type | reference ms | ratio |",
    "|---|---|---|---|---|---|---|---|---|---|",
  );
  for (const { profile, host, rtt, ours, ref } of impaired) {
    const [natName, want] = NETS[host];
    const o = ours.map((r) => r.ms);
    const f = ref.map((r) => r.ms);
    const bound = 2 * rtt + 100;
    const wrong = ours.filter((r) => r.type !== want).map((r) => r.type);
    const kinds = [
      ...new Set(ours.map((r) => `${r.delta.kind}${r.delta.value ? ` ${r.delta.value}` : ""}`)),
    ];
    const within = o.filter((ms) => ms <= bound).length;
    lines.push(
      `| ${profile} | ${natName} | ${fmt(rtt)} | ${fmt(bound)} | ${want}${wrong.length ? ` (WRONG: ${wrong.join(", ")})` : ""} / ${kinds.join(", ")} | ${fmt(med(o))} (${fmt(Math.min(...o))}-${fmt(Math.max(...o))}) | ${within}/${o.length} | ${ref[0].type}${ref.every((r) => r.type === want) ? "" : " (wrong)"} | ${fmt(med(f))} | ${(med(f) / med(o)).toFixed(1)}x |`,
    );
  }
  console.log(lines.join("\n"));
} finally {
  await sh(natlab, ["down"]).catch(() => {});
}
