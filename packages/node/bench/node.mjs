// Node benchmark: ready time (cold and with a cached NAT result) and time to connect on loopback
// (direct, reverse) against a raw TCP connect measured in the same run. Offline: an in-process
// STUN server (@p2pd/stun) and MQTT broker (aedes). Run: pnpm --filter @p2pd/node bench
import { mkdtempSync, rmSync } from "node:fs";
import { connect, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { StunServer } from "@p2pd/stun";
import { echo as echoOn, startBroker, startNode, stunNatTest } from "../dist/index.js";

const N = Number(process.env.P2PD_BENCH_N ?? 30);
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};
const p90 = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.9)];
const time = async (f) => {
  const t = performance.now();
  await f();
  return performance.now() - t;
};

const stun = await new StunServer({
  ips: ["127.0.0.1", "127.0.0.2"],
  port: 0,
  altPort: 0,
}).listen();
const stunAt = `${stun.primary.host}:${stun.primary.port}`;
const broker = await startBroker();
const cacheDir = mkdtempSync(join(tmpdir(), "p2pd-bench-nat-"));
const rows = [];

// Baseline 1: raw TCP connect to a loopback listener.
const srv = createServer((s) => s.on("data", (d) => s.write(d)));
await new Promise((r) => srv.listen(0, "127.0.0.1", r));
const tcp = [];
for (let i = 0; i < N; i++) {
  tcp.push(
    await time(
      () =>
        new Promise((resolve, reject) => {
          const s = connect(srv.address().port, "127.0.0.1", () => {
            s.destroy();
            resolve();
          });
          s.on("error", reject);
        }),
    ),
  );
}
const base = median(tcp);
rows.push(["raw TCP connect (baseline)", base, p90(tcp)]);

// Ready times: no NAT test; NAT test cold (cache emptied each time); NAT test cached.
const opts = (extra) => ({ interfaces: "loopback", mqtt: broker.url, ...extra });
const ready = async (label, mk, before) => {
  const xs = [];
  for (let i = 0; i < Math.min(N, 10); i++) {
    before?.();
    let node;
    xs.push(await time(async () => (node = await startNode(mk()))));
    await node.close();
  }
  rows.push([label, median(xs), p90(xs)]);
};
// Warm-up (module loading, JIT) outside the measured runs.
await (await startNode(opts({}))).close();
await ready("node ready, no NAT test", () => opts({}));
const nat = () =>
  opts({
    natTest: stunNatTest({ stun: [stunAt], includeLoopback: true, cacheDir }),
    natWaitMs: 5000,
  });
await ready("node ready, NAT test cold", nat, () =>
  rmSync(cacheDir, { recursive: true, force: true }),
);
await ready("node ready, NAT result cached", nat);

// Connect times on loopback (same LAN, so direct is possible).
const a = await startNode(opts({}));
const b = await startNode(opts({}));
for (const s of ["direct", "reverse"]) {
  const xs = [];
  const echo = [];
  for (let i = 0; i < N; i++) {
    let r;
    xs.push(await time(async () => (r = await b.connect(a.address, { strategies: [s] }))));
    echo.push(await time(() => echoOn(r.pipe, "bench")));
    await r.pipe.close();
  }
  rows.push([`connect ${s}`, median(xs), p90(xs)]);
  rows.push([`  ECHO round trip on the ${s} pipe`, median(echo), p90(echo)]);
}
// Binary-safe framing: a 64 KiB message of every byte value (newlines included), echoed.
{
  const blob = Buffer.alloc(64 * 1024);
  for (let i = 0; i < blob.length; i++) blob[i] = i & 0xff;
  const r = await b.connect(a.address, { strategies: ["direct"] });
  const xs = [];
  for (let i = 0; i < N; i++) xs.push(await time(() => echoOn(r.pipe, blob)));
  await r.pipe.close();
  rows.push(["  ECHO 64 KiB binary on the direct pipe", median(xs), p90(xs)]);
}
// Punching waits for a meeting time (>= 250 ms ahead, see strategies/punch-common.ts): fewer runs.
for (const s of ["tcp-punch", "udp-punch"]) {
  const xs = [];
  for (let i = 0; i < Math.min(N, 5); i++) {
    let r;
    xs.push(await time(async () => (r = await b.connect(a.address, { strategies: [s] }))));
    await r.pipe.close();
  }
  rows.push([`connect ${s} (same LAN, ${Math.min(N, 5)} runs)`, median(xs), p90(xs)]);
}
const ping = [];
for (let i = 0; i < N; i++) ping.push(await b.ping(a.address));
rows.push(["signaling round trip (MQTT, encrypted)", median(ping), p90(ping)]);

await a.close();
await b.close();
await broker.close();
await stun.close();
await new Promise((r) => srv.close(r));
rmSync(cacheDir, { recursive: true, force: true });

console.log(
  `\n@p2pd/node on loopback, ${N} runs each (ready: ${Math.min(N, 10)}); median / p90 in ms; ratio = median / raw TCP connect\n`,
);
console.log(`| ${"measure".padEnd(40)} | median ms | p90 ms | x raw TCP |`);
console.log(`| ${"-".repeat(40)} | --------: | -----: | --------: |`);
for (const [label, med, p] of rows) {
  console.log(
    `| ${label.padEnd(40)} | ${med.toFixed(2).padStart(9)} | ${p.toFixed(2).padStart(6)} | ${(med / base).toFixed(1).padStart(9)} |`,
  );
}
