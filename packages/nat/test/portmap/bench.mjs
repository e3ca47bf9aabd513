// Benchmark: time to add a port mapping with PCP, NAT-PMP and UPnP against Debian's miniupnpd in
// the namespace lab (lab.sh), against a plain TCP connect to the gateway in the same run.
// Needs root, miniupnpd and a build of @p2pd/nat (pnpm exec tsup in packages/nat). Run:
//   node packages/nat/test/portmap/bench.mjs        (BENCH_N=100 for more rounds)
// The outer process builds the lab and runs itself again inside the LAN namespace (--inner).
import { execFileSync, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const N = Number(process.env.BENCH_N ?? 40);
const GATEWAY = "192.168.77.1";

if (process.argv[2] === "--inner") await inner();
else outer();

function outer() {
  const id = `b${randomBytes(2).toString("hex")}`;
  const state = mkdtempSync(join(tmpdir(), "pm-bench-"));
  const lab = join(here, "lab.sh");
  try {
    execFileSync(lab, ["up", id, state], { stdio: ["ignore", "ignore", "inherit"] });
    const r = spawnSync(
      "ip",
      [
        "netns",
        "exec",
        `pm-${id}-lan`,
        process.execPath,
        fileURLToPath(import.meta.url),
        "--inner",
      ],
      { stdio: "inherit", env: process.env },
    );
    process.exitCode = r.status ?? 1;
  } finally {
    spawnSync(lab, ["down", id, state], { stdio: "ignore" });
    rmSync(state, { recursive: true, force: true });
  }
}

async function inner() {
  const { createPortMapper } = await import(pathToFileURL(join(here, "../../dist/index.js")).href);
  const rows = [];
  // The connect is timed; closing it (and the gateway noticing) is not.
  let sock;
  rows.push([
    "TCP connect to the gateway (baseline)",
    await times(
      N,
      async () => {
        sock = await tcpConnect(GATEWAY, 5000);
      },
      () => new Promise((r) => sock.end().once("close", r)),
    ),
  ]);
  // One NAT-PMP round trip that writes no rule: what the protocol costs without the firewall.
  const probe = createPortMapper({ methods: ["natpmp"] });
  rows.push([
    "natpmp external address (no rule written)",
    await times(N, () => probe.externalAddress()),
  ]);
  await probe.close();
  let port = 20000;
  for (const method of ["pcp", "natpmp", "upnp"]) {
    const mapper = createPortMapper({ methods: [method], discoveryTimeoutMs: 3000 });
    // Warm-up: UPnP discovery and the description fetch happen once per mapper.
    const warm = ++port;
    await mapper.add({ port: warm, lifetime: 60 });
    await mapper.remove({ port: warm });
    rows.push([
      `${method} add (tcp, 60 s lease)`,
      await times(
        N,
        async () => {
          await mapper.add({ port: ++port, lifetime: 60 });
        },
        () => mapper.remove({ port }),
      ),
    ]);
    await mapper.close();
  }
  // UPnP from nothing: SSDP M-SEARCH, description XML, then the three SOAP calls.
  rows.push([
    "upnp add, cold (SSDP + description + SOAP)",
    await times(Math.min(N, 15), async () => {
      const mapper = createPortMapper({ methods: ["upnp"], discoveryTimeoutMs: 3000 });
      await mapper.add({ port: ++port, lifetime: 60 });
      await mapper.close();
    }),
  ]);
  const base = median(rows[0][1]);
  const w = Math.max(...rows.map((r) => r[0].length));
  console.log(
    `miniupnpd ${GATEWAY}, ${N} rounds each (median, p90, ratio of medians to the baseline)`,
  );
  console.log(`${"operation".padEnd(w)}  median ms     p90 ms   x baseline`);
  for (const [name, t] of rows)
    console.log(
      `${name.padEnd(w)}  ${median(t).toFixed(2).padStart(9)}  ${pct(t, 0.9).toFixed(2).padStart(9)}  ${(median(t) / base).toFixed(1).padStart(11)}`,
    );
}

async function times(n, fn, after) {
  const out = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await fn();
    out.push(performance.now() - t0);
    await after?.();
  }
  return out;
}

function tcpConnect(host, port) {
  return new Promise((resolve, reject) => {
    const s = connect(port, host, () => resolve(s));
    s.on("error", reject);
  });
}

function median(t) {
  return pct(t, 0.5);
}

function pct(t, p) {
  const s = [...t].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))];
}
