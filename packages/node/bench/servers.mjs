// Server-choice benchmark (issue 14): start-to-ready of the choice a node makes at start when 90 %
// of the listed servers are dead, cold and with the per-network cache, and how many packets that
// start sends. Offline: every server is on loopback (127.0.0.0/8), started here. The list has the
// bundled list's shape: 85 RFC 5780 STUN servers and 15 MQTT brokers, of which 9 and 2 answer;
// the others accept nothing (STUN: a bound socket that never answers; MQTT: a TCP listener that
// never sends CONNACK, as a dead host looks to a probe). A second run gives the live servers a
// 40 ms answer delay, as a continent away would.
// Run: pnpm --filter @p2pd/node bench:servers
import { createSocket } from "node:dgram";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ATTR, decodeMessage, encodeMessage, StunMessage } from "@p2pd/stun";
import { chooseServers, startBroker, startNode } from "../dist/index.js";

const RUNS = Number(process.env.P2PD_BENCH_N ?? 9);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const max = (xs) => Math.max(...xs);
const closers = [];

/** A STUN responder on ip (RFC 5780 claim with a listed alternate), or silent. */
async function stunAt(ip, { silent = false, delayMs = 0 } = {}) {
  const sock = createSocket("udp4");
  await new Promise((r) => sock.bind(0, ip, r));
  const port = sock.address().port;
  const alt = { host: `${ip.split(".").slice(0, 3).join(".")}.250`, port: port + 1 };
  sock.on("message", (buf, rinfo) => {
    if (silent) return;
    const req = decodeMessage(new Uint8Array(buf));
    const res = new StunMessage({
      method: req.method,
      cls: "success",
      transactionId: req.transactionId,
    });
    res.addAddress(ATTR.XOR_MAPPED_ADDRESS, { host: rinfo.address, port: rinfo.port });
    res.addAddress(ATTR.OTHER_ADDRESS, alt);
    const send = () =>
      sock.send(encodeMessage(res, { fingerprint: true }), rinfo.port, rinfo.address);
    if (delayMs) setTimeout(send, delayMs);
    else send();
  });
  closers.push(() => sock.close());
  return { ip, port, altIp: alt.host, altPort: alt.port, family: 4, transport: "udp" };
}

async function deadBroker(ip) {
  const socks = new Set();
  const srv = createServer((s) => {
    socks.add(s);
    s.on("error", () => {});
  });
  await new Promise((r) => srv.listen(0, ip, r));
  closers.push(() => {
    for (const s of socks) s.destroy();
    srv.close();
  });
  const port = srv.address().port;
  return { url: `mqtt://${ip}:${port}`, ip, port, family: 4, tls: false };
}

async function liveBroker(ip) {
  const b = await startBroker({ host: ip });
  closers.push(() => b.close());
  return { url: b.url, ip, port: b.port, family: 4, tls: false };
}

async function scenario(delayMs) {
  const stun = [];
  for (let i = 0; i < 85; i++)
    stun.push(
      await stunAt(`127.1.${Math.floor(i / 200)}.${(i % 200) + 1}`, {
        silent: i % 10 !== 0 || i >= 90,
        delayMs,
      }),
    );
  const mqtt = [];
  for (let i = 0; i < 15; i++)
    mqtt.push(
      i === 4 || i === 11
        ? await liveBroker(`127.2.0.${i + 1}`)
        : await deadBroker(`127.2.0.${i + 1}`),
    );
  return { stun, mqtt, turn: [] };
}

const rows = [];
for (const delayMs of [0, 40]) {
  const lists = await scenario(delayMs);

  const cold = [];
  const warm = [];
  for (let run = 0; run < RUNS; run++) {
    const dir = mkdtempSync(join(tmpdir(), "p2pd-bench-servers-"));
    const opts = { lists, localAddress: "127.0.0.1", cache: dir, networkKey: "bench" };
    cold.push(await chooseServers(opts));
    warm.push(await chooseServers(opts));
    rmSync(dir, { recursive: true, force: true });
  }
  for (const [name, rs] of [
    ["cold", cold],
    ["cached", warm],
  ]) {
    for (const r of rs)
      if (!r.agreed || r.mqtt.length !== 2)
        console.error(`${name}: not ready`, { ...r, stun: r.stun.length, mqtt: r.mqtt.length });
    rows.push({
      case: `${name}, live servers answer in ${delayMs} ms`,
      "median ms": median(rs.map((r) => r.ms)),
      "max ms": max(rs.map((r) => r.ms)),
      "UDP datagrams (median/max)": `${median(rs.map((r) => r.packets.udp))}/${max(rs.map((r) => r.packets.udp))}`,
      "TCP connects (median/max)": `${median(rs.map((r) => r.packets.tcp))}/${max(rs.map((r) => r.packets.tcp))}`,
      alive: "9/85 STUN, 2/15 MQTT",
    });
  }
  // The whole start: choice, then listening and subscribing on the chosen brokers.
  const nodeCold = [];
  const nodeWarm = [];
  for (let run = 0; run < Math.min(RUNS, 5); run++) {
    const dir = mkdtempSync(join(tmpdir(), "p2pd-bench-servers-"));
    for (const into of [nodeCold, nodeWarm]) {
      const t = performance.now();
      const node = await startNode({ interfaces: "loopback", servers: lists, serverCache: dir });
      into.push(performance.now() - t);
      await node.close();
    }
    rmSync(dir, { recursive: true, force: true });
  }
  rows.push({
    case: `startNode to ready, cold / cached, live servers answer in ${delayMs} ms`,
    "median ms": `${Math.round(median(nodeCold))} / ${Math.round(median(nodeWarm))}`,
    "max ms": `${Math.round(max(nodeCold))} / ${Math.round(max(nodeWarm))}`,
  });
  for (const c of closers.splice(0)) c();
}
console.table(rows);
