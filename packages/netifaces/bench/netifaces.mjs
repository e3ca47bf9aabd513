// Benchmarks for @p2pd/netifaces against baselines measured in the same run.
// Run: pnpm --filter @p2pd/netifaces bench (builds first through turbo).
import { execFileSync } from "node:child_process";
import { isIP } from "node:net";
import { networkInterfaces } from "node:os";
import { defaultRoutes, IPRange, listInterfaces, parseIp } from "../dist/index.js";

async function measure(fn, minMs = 400) {
  for (let i = 0; i < 3; i++) await fn(); // warm up
  let n = 0;
  const t0 = performance.now();
  let t = t0;
  while (t - t0 < minMs) {
    await fn();
    n++;
    t = performance.now();
  }
  return n / ((t - t0) / 1000);
}

const ips = [
  "192.168.1.20",
  "2001:db8::1",
  "fe80::1%eth0",
  "::ffff:1.2.3.4",
  "10.0.0.255",
  "2a00:1:2:3:4:5:6:7",
];
const rows = [];
async function pair(name, baselineName, baseline, mine) {
  const b = await measure(baseline);
  const m = await measure(mine);
  rows.push([name, baselineName, b, m]);
}

await pair(
  "parseIp (bigint)",
  "net.isIP",
  () => {
    for (const s of ips) isIP(s.split("%")[0]);
  },
  () => {
    for (const s of ips) parseIp(s);
  },
);
await pair(
  "IPRange /64 at(2^63)+contains",
  "new URL([v6]) parse",
  () => new URL("http://[2001:db8::8000:0:0:5]/"),
  () => {
    const r = IPRange.from("2001:db8::/64");
    r.contains(r.at(1n << 63n));
  },
);
await pair(
  "listInterfaces()",
  "os.networkInterfaces()",
  () => networkInterfaces(),
  () => listInterfaces(),
);
let hasIp = true;
try {
  execFileSync("ip", ["-V"], { stdio: "ignore" });
} catch {
  hasIp = false;
}
if (hasIp && process.platform === "linux") {
  await pair(
    "defaultRoutes() (procfs)",
    "spawn `ip -j route show default`",
    () => execFileSync("ip", ["-j", "route", "show", "default"]),
    () => defaultRoutes(),
  );
}

const fmt = (x) => (x >= 1000 ? `${(x / 1000).toFixed(1)}k` : x.toFixed(0));
console.log(`| benchmark | baseline | baseline ops/s | ops/s | ratio |`);
console.log(`|---|---|---:|---:|---:|`);
for (const [name, bname, b, m] of rows) {
  console.log(`| ${name} | ${bname} | ${fmt(b)} | ${fmt(m)} | ${(m / b).toFixed(2)}x |`);
}
