// Benchmarks: (1) Binding requests/s of our server vs coturn on loopback, same load generator, same run;
// (2) client-side parse cost per message (ns/op) against JSON.parse of the same information.
// Loopback only. Usage: pnpm bench  (env BENCH_SECONDS=2, BENCH_SOCKETS=4, BENCH_WINDOW=32, BENCH_ROUNDS=3,
// BENCH_BASE=<other build dist/index.js> adds that build as a row, BENCH_DEBUG=1 prints every round)
// Each server also gets its CPU time per answered request (its processes' user+system time from /proc),
// which a busy machine disturbs far less than requests/s.
import { execFileSync, fork, spawn } from "node:child_process";
import { createSocket } from "node:dgram";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import {
  ATTR,
  decodeMessage,
  encodeMessage,
  getMappedAddress,
  METHOD,
  StunMessage,
} from "../dist/index.js";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 2);
const SOCKETS = Number(process.env.BENCH_SOCKETS ?? 4);
const WINDOW = Number(process.env.BENCH_WINDOW ?? 32);

/** CPU ticks (user + system) of a process and its descendants (Linux /proc); 0 elsewhere. */
function cpuTicks(pid) {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
    let t = Number(f[11]) + Number(f[12]);
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const kids = readFileSync(`/proc/${pid}/task/${tid}/children`, "utf8").trim();
      for (const k of kids ? kids.split(" ") : []) t += cpuTicks(Number(k));
    }
    return t;
  } catch {
    return 0;
  }
}
/** The kernel's count of UDP datagrams dropped for a full receive buffer (all sockets), or 0. */
function rcvbufErrors() {
  try {
    const lines = readFileSync("/proc/net/snmp", "utf8")
      .split("\n")
      .filter((l) => l.startsWith("Udp:"));
    const names = lines[0].split(/\s+/);
    return Number(lines[1].split(/\s+/)[names.indexOf("RcvbufErrors")]);
  } catch {
    return 0;
  }
}
const TICK_US = 1e6 / Number(execFileSync("getconf", ["CLK_TCK"]).toString().trim() || 100);

/** Keeps WINDOW requests in flight on each of SOCKETS sockets for SECONDS; answers/s and CPU µs/answer. */
async function load(port, pid) {
  const req = encodeMessage(new StunMessage({ method: METHOD.BINDING }), { fingerprint: true });
  const socks = [];
  let answers = 0;
  for (let i = 0; i < SOCKETS; i++) {
    const s = createSocket("udp4");
    await new Promise((r) => s.bind(0, "127.0.0.1", r));
    let heard = 0;
    s.on("message", () => {
      answers++;
      heard++;
      s.send(req, port, "127.0.0.1");
    });
    const fill = () => {
      for (let k = 0; k < WINDOW; k++) s.send(req, port, "127.0.0.1");
    };
    fill();
    // Losses shrink the window; refill when a socket went quiet.
    const t = setInterval(() => {
      if (heard === 0) fill();
      heard = 0;
    }, 20);
    socks.push({ s, t });
  }
  // Warm up, then measure.
  await new Promise((r) => setTimeout(r, 300));
  const start = answers;
  const c0 = cpuTicks(pid);
  const d0 = rcvbufErrors();
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, SECONDS * 1000));
  const rate = ((answers - start) * 1000) / (performance.now() - t0);
  const cpu = ((cpuTicks(pid) - c0) * TICK_US) / Math.max(1, answers - start);
  const drops = rcvbufErrors() - d0;
  for (const { s, t } of socks) {
    clearInterval(t);
    s.close();
  }
  await new Promise((r) => setTimeout(r, 100));
  return { rate, cpu, drops };
}

async function freePort() {
  const s = createSocket("udp4");
  await new Promise((r) => s.bind(0, "127.0.0.1", r));
  const p = s.address().port;
  s.close();
  return p;
}

async function waitUp(port) {
  for (let i = 0; i < 100; i++) {
    try {
      await getMappedAddress({ host: "127.0.0.1", port }, { rto: 100, rc: 2, rm: 2 });
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error("server did not come up");
}

async function benchOurs(workers, dist) {
  const args = dist ? [String(workers), dist] : [String(workers)];
  const child = fork(new URL("./server-proc.mjs", import.meta.url), args, {
    stdio: "inherit",
  });
  const port = await new Promise((r) => child.once("message", (m) => r(m.port)));
  await waitUp(port);
  const rate = await load(port, child.pid);
  child.send("stop");
  await new Promise((r) => child.once("exit", r));
  return rate;
}

async function benchCoturn() {
  try {
    execFileSync("sh", ["-c", "command -v turnserver"], { stdio: "ignore" });
  } catch {
    return undefined;
  }
  const dir = mkdtempSync(join(tmpdir(), "stun-bench-"));
  const port = await freePort();
  const proc = spawn(
    "turnserver",
    [
      "-n",
      "--listening-ip=127.0.0.1",
      `--listening-port=${port}`,
      "--no-tls",
      "--no-dtls",
      "--stun-only",
      "--no-cli",
      "--log-file=/dev/null",
      "--simple-log",
      `--pidfile=${dir}/pid`,
      `--userdb=${dir}/db`,
    ],
    { stdio: "ignore" },
  );
  try {
    await waitUp(port);
    return await load(port, proc.pid);
  } finally {
    proc.kill("SIGTERM");
    await new Promise((r) => proc.once("exit", r));
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Median of 7 timed rounds after a JIT warm-up (the machine may be busy; the median resists that). */
function nsPerOp(fn, iterations = 50_000) {
  for (let i = 0; i < 20_000; i++) fn();
  const rounds = [];
  for (let r = 0; r < 7; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < iterations; i++) fn();
    rounds.push(Number(process.hrtime.bigint() - t0) / iterations);
  }
  return rounds.sort((a, b) => a - b)[3];
}

function parseBench() {
  const m = new StunMessage({ method: METHOD.BINDING, cls: "success" });
  m.addAddress(ATTR.XOR_MAPPED_ADDRESS, { host: "203.0.113.7", port: 40123 });
  m.addAddress(ATTR.RESPONSE_ORIGIN, { host: "198.51.100.1", port: 3478 });
  m.addAddress(ATTR.OTHER_ADDRESS, { host: "198.51.100.2", port: 3479 });
  m.addString(ATTR.SOFTWARE, "p2pd-stun");
  const wire = encodeMessage(m, { fingerprint: true });
  const json = JSON.stringify({
    cls: "success",
    id: m.id,
    mapped: { ip: "203.0.113.7", port: 40123 },
    origin: { ip: "198.51.100.1", port: 3478 },
    other: { ip: "198.51.100.2", port: 3479 },
    software: "p2pd-stun",
  });
  let sink = 0;
  const base = nsPerOp(() => {
    sink += JSON.parse(json).mapped.port;
  });
  const decode = nsPerOp(() => {
    sink += decodeMessage(wire).attributes.length;
  });
  const decodeRead = nsPerOp(() => {
    sink += decodeMessage(wire).getAddress(ATTR.XOR_MAPPED_ADDRESS)?.port ?? 0;
  });
  const encode = nsPerOp(() => {
    sink += encodeMessage(m, { fingerprint: true }).length;
  });
  if (sink === 42) console.log("");
  return { bytes: wire.length, base, decode, decodeRead, encode };
}

const pad = (s, n) => String(s).padEnd(n);
const padl = (s, n) => String(s).padStart(n);

const WORKERS = Number(process.env.BENCH_WORKERS ?? availableParallelism());
console.log(
  `@p2pd/stun benchmarks (node ${process.version}, ${availableParallelism()} cores, ${SECONDS}s per server per round, ${SOCKETS} sockets × ${WINDOW} in flight)\n`,
);
// Rotate the servers over ROUNDS rounds (each round in a new order), so all see similar machine load;
// report each one's best round and the median of its per-round ratios to coturn of the same round.
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const servers = [
  { name: "coturn 4.6.1 (baseline)", run: benchCoturn },
  { name: "StunServer", run: () => benchOurs(0) },
  { name: `StunServer, workers: ${WORKERS}`, run: () => benchOurs(WORKERS) },
];
// BENCH_BASE=<another build's dist/index.js>: that build's StunServer too, in the same rounds.
if (process.env.BENCH_BASE) {
  servers.push({
    name: "StunServer (BENCH_BASE build)",
    run: () => benchOurs(0, process.env.BENCH_BASE),
  });
}
const results = servers.map(() => []);
for (let r = 0; r < ROUNDS; r++) {
  const order = servers.map((_, i) => (i + r) % servers.length);
  for (const i of order) {
    const res = await servers[i].run();
    results[i].push(res);
    if (process.env.BENCH_DEBUG && res)
      console.log(
        servers[i].name,
        Math.round(res.rate),
        "req/s,",
        res.drops,
        "receive-buffer drops",
      );
  }
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const haveCoturn = results[0].every((x) => x !== undefined);
console.log("Server throughput, UDP Binding requests on loopback");
console.log(
  `${pad("server", 30)}${padl("best req/s", 12)}${padl("ratio", 8)}${padl("median ratio", 14)}${padl("CPU µs/req", 12)}${padl("ratio", 8)}`,
);
const best = (i) => Math.max(...results[i].map((x) => x?.rate ?? 0));
const cpu = (i) => median(results[i].map((x) => x?.cpu ?? 0));
for (let i = 0; i < servers.length; i++) {
  if (i === 0 && !haveCoturn) continue;
  const ratio = haveCoturn ? (best(i) / best(0)).toFixed(2) : "n/a";
  const med = haveCoturn
    ? median(results[i].map((x, r) => x.rate / results[0][r].rate)).toFixed(2)
    : "n/a";
  const cpuRatio = haveCoturn ? (cpu(i) / cpu(0)).toFixed(2) : "n/a";
  console.log(
    `${pad(servers[i].name, 30)}${padl(Math.round(best(i)), 12)}${padl(ratio, 8)}${padl(med, 14)}${padl(cpu(i).toFixed(1), 12)}${padl(cpuRatio, 8)}`,
  );
}
const p = parseBench();
console.log(
  `\nClient parse cost per message (${p.bytes}-byte Binding success with 3 addresses, SOFTWARE, FINGERPRINT)`,
);
console.log(`${pad("operation", 40)}${padl("ns/op", 10)}${padl("ratio", 10)}`);
const row = (name, v) =>
  console.log(`${pad(name, 40)}${padl(v.toFixed(0), 10)}${padl((v / p.base).toFixed(2), 10)}`);
row("JSON.parse of the same facts (baseline)", p.base);
row("decodeMessage (checks FINGERPRINT)", p.decode);
row("decodeMessage + getAddress(XOR-MAPPED)", p.decodeRead);
row("encodeMessage (with FINGERPRINT)", p.encode);
