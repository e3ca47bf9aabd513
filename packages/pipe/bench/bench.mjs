// Pipes vs raw node:net / node:dgram, same run, loopback only.
// TCP: one-way stream, sender honours backpressure, receiver counts messages.
// UDP: echo round trips with a small window in flight (client -> server -> client).
// WRAP: wrapStream() over a loopback socket pair vs TcpPipe (pipeOpen), same stream test.

import * as dgram from "node:dgram";
import { once } from "node:events";
import * as net from "node:net";
import { pipeOpen, wrapStream } from "../dist/index.js";

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 9);
const ONLY = process.env.BENCH_ONLY; // e.g. "tcp", "wrap" or "udp"
const UDP_BIG = 65000; // largest round number under the 65507 B IPv4 datagram limit
const BUF = 4 * 1024 * 1024;

const cases = [
  { proto: "tcp", size: 64, count: 200_000 },
  { proto: "tcp", size: 65536, count: 3_000 },
  { proto: "wrap", size: 64, count: 200_000 },
  { proto: "wrap", size: 65536, count: 3_000 },
  { proto: "udp", size: 64, count: 20_000 },
  { proto: "udp", size: UDP_BIG, count: 3_000 },
];

// --- TCP --------------------------------------------------------------------------------------

async function rawTcp(size, count) {
  const total = size * count;
  const server = net.createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  let got = 0;
  let doneRes;
  const done = new Promise((r) => (doneRes = r));
  server.on("connection", (s) => {
    s.setNoDelay(true);
    s.on("data", (c) => {
      got += c.length;
      if (got >= total) doneRes();
    });
  });
  const c = net.connect({ host: "127.0.0.1", port: server.address().port, noDelay: true });
  await once(c, "connect");
  const buf = Buffer.alloc(size, 7);
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < count; i++) {
    if (!c.write(buf)) await once(c, "drain");
  }
  await done;
  const ns = Number(process.hrtime.bigint() - t0);
  c.destroy();
  server.close();
  return { ns, msgs: count };
}

/** ns to send `count` messages of `size` B from `client` and receive them all on `child`. */
async function timeStream(client, child, size, count) {
  const buf = Buffer.alloc(size, 7);
  const t0 = process.hrtime.bigint();
  const recv = (async () => {
    for (let i = 0; i < count; i++) await child.recv({ timeout: 0 });
  })();
  for (let i = 0; i < count; i++) await client.send(buf);
  await recv;
  return Number(process.hrtime.bigint() - t0);
}

async function pipeTcp(size, count) {
  const server = await pipeOpen("tcp", { host: "127.0.0.1" });
  const client = await pipeOpen("tcp", undefined, server.local);
  const child = await server.accept();
  const ns = await timeStream(client, child, size, count);
  await client.close();
  await server.close();
  return { ns, msgs: count };
}

/** The same one-way stream between two wrapStream() pipes over a raw loopback socket pair. */
async function wrapTcp(size, count) {
  const server = net.createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const accepted = once(server, "connection");
  const sock = net.connect({ host: "127.0.0.1", port: server.address().port });
  await once(sock, "connect");
  const [peer] = await accepted;
  const client = wrapStream(sock);
  const child = wrapStream(peer);
  const ns = await timeStream(client, child, size, count);
  await client.close();
  await child.close();
  server.close();
  return { ns, msgs: count };
}

// --- UDP --------------------------------------------------------------------------------------
// Echo with a window: the client keeps `win` datagrams in flight and sends one more per echo, so
// the receiver is never flooded. A lost datagram is replaced after 20 ms of silence.

function windowFor(size) {
  return size > 1024 ? 2 : 32;
}

/** Drives the client side: send(), then call got() per echo; resolves after `count` echoes. */
let refills = 0;
function echoLoop(count, win, send, onEcho) {
  return new Promise((resolve) => {
    let sent = 0;
    let done = 0;
    let timer;
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        // Loss: refill the window.
        refills++;
        for (let i = 0; i < win && sent < count; i++, sent++) send();
        arm();
      }, 20);
    };
    onEcho(() => {
      done++;
      if (done >= count) {
        clearTimeout(timer);
        resolve();
        return;
      }
      if (sent < count) {
        sent++;
        send();
      }
      arm();
    });
    for (; sent < Math.min(win, count); sent++) send();
    arm();
  });
}

async function rawUdp(size, count) {
  const server = dgram.createSocket({ type: "udp4", recvBufferSize: BUF, sendBufferSize: BUF });
  const client = dgram.createSocket({ type: "udp4", recvBufferSize: BUF, sendBufferSize: BUF });
  await new Promise((r) => server.bind(0, "127.0.0.1", r));
  await new Promise((r) => client.bind(0, "127.0.0.1", r));
  server.on("message", (m, rinfo) => server.send(m, rinfo.port, rinfo.address));
  const port = server.address().port;
  const buf = Buffer.alloc(size, 7);
  const t0 = process.hrtime.bigint();
  await echoLoop(
    count,
    windowFor(size),
    () => client.send(buf, port, "127.0.0.1"),
    (cb) => client.on("message", cb),
  );
  const ns = Number(process.hrtime.bigint() - t0);
  server.close();
  client.close();
  return { ns, msgs: count };
}

async function pipeUdp(size, count) {
  const opts = { recvBufferSize: BUF, sendBufferSize: BUF };
  // Server: push API (message callback); client: pull API (awaited recv).
  const server = await pipeOpen("udp", { host: "127.0.0.1" }, undefined, {
    ...opts,
    onMessage: (m) => m.pipe.send(m.data, m.from),
  });
  const client = await pipeOpen("udp", { host: "127.0.0.1" }, server.local, opts);
  const buf = Buffer.alloc(size, 7);
  const t0 = process.hrtime.bigint();
  await echoLoop(
    count,
    windowFor(size),
    () => client.send(buf).catch(() => {}),
    (cb) => {
      (async () => {
        try {
          for (;;) {
            await client.recv({ timeout: 0 });
            cb();
          }
        } catch {
          // closed
        }
      })();
    },
  );
  const ns = Number(process.hrtime.bigint() - t0);
  await server.close();
  await client.close();
  return { ns, msgs: count };
}

// --- run --------------------------------------------------------------------------------------

// For "wrap", "raw" is the TcpPipe (pipeOpen) run and "pipe" the wrapStream run: ratio = wrap/TcpPipe.
const impl = {
  tcp: { raw: rawTcp, pipe: pipeTcp },
  wrap: { raw: pipeTcp, pipe: wrapTcp },
  udp: { raw: rawUdp, pipe: pipeUdp },
};

function rate(r, size) {
  const s = r.ns / 1e9;
  return { mps: r.msgs / s, mbps: (r.msgs * size) / s / 1e6 };
}

const median = (xs) => {
  const a = [...xs].sort((x, y) => x - y);
  const m = a.length >> 1;
  return a.length % 2 ? a[m] : (a[m - 1] + a[m]) / 2;
};

// Each round runs raw and pipe back to back (alternating which goes first) and keeps their ratio:
// on a busy machine the median of paired ratios is far steadier than comparing separate bests.
const rows = [];
for (const c of cases.filter((x) => !ONLY || x.proto === ONLY)) {
  const runs = { raw: [], pipe: [] };
  const ratios = [];
  for (let round = 0; round < ROUNDS; round++) {
    const pair = {};
    for (const kind of round % 2 === 0 ? ["raw", "pipe"] : ["pipe", "raw"]) {
      refills = 0;
      const r = await impl[c.proto][kind](c.size, c.count);
      pair[kind] = rate(r, c.size);
      runs[kind].push(pair[kind]);
      if (process.env.BENCH_DEBUG)
        console.log(c.proto, c.size, kind, Math.round(pair[kind].mps), "refills", refills);
    }
    ratios.push(pair.pipe.mps / pair.raw.mps);
  }
  const med = (k, f) => median(runs[k].map((x) => x[f]));
  rows.push({
    case: `${c.proto.toUpperCase()} ${c.size === 65536 ? "64 KiB" : c.size === UDP_BIG ? `${UDP_BIG} B` : `${c.size} B`}`,
    rawMps: med("raw", "mps"),
    rawMBps: med("raw", "mbps"),
    pipeMps: med("pipe", "mps"),
    pipeMBps: med("pipe", "mbps"),
    ratio: median(ratios),
  });
}

const fmt = (n) => (n >= 1000 ? Math.round(n).toLocaleString("en-US") : n.toFixed(1));
const header = [
  "case",
  "raw msg/s",
  "raw MB/s",
  "pipe msg/s",
  "pipe MB/s",
  "pipe/raw (median of pairs)",
];
const table = [
  header,
  ...rows.map((r) => [
    r.case,
    fmt(r.rawMps),
    fmt(r.rawMBps),
    fmt(r.pipeMps),
    fmt(r.pipeMBps),
    `${r.ratio.toFixed(2)}x`,
  ]),
];
const widths = header.map((_, i) => Math.max(...table.map((row) => row[i].length)));
const line = (row) => `| ${row.map((v, i) => v.padEnd(widths[i])).join(" | ")} |`;
console.log(
  `@p2pd/pipe benchmark: Node ${process.version}, loopback, ${ROUNDS} paired rounds, medians`,
);
console.log(line(header));
console.log(`|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`);
for (const row of table.slice(1)) console.log(line(row));
console.log(
  "WRAP rows: raw = TcpPipe from pipeOpen, pipe = wrapStream over a connected net.Socket (ratio wrapStream/TcpPipe).",
);
console.log(
  `UDP large = ${UDP_BIG} B datagrams (64 KiB does not fit in one IPv4 datagram; max 65507 B).`,
);
