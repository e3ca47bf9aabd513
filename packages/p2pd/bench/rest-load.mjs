// REST under load, each figure beside its baseline in the same run (loopback):
//  - /tunnel throughput vs the node connection underneath: the same 64 KiB chunks sent one way,
//    counted by the receiving node (node.onMessage), through the REST relay and then through
//    `node.connect()`'s pipe directly.
//  - request/response routes (GET /version, GET /send/{name}/{text}) with keep-alive and
//    CONCURRENCY requests in flight, vs a bare node:http server answering the same bytes.
// Run: pnpm bench (after pnpm build). BENCH_ROUNDS (default 5) paired rounds, medians.
import { once } from "node:events";
import * as http from "node:http";
import * as net from "node:net";
import { Worker } from "node:worker_threads";
import { startNode } from "@p2pd/node";
import { rest } from "../dist/index.js";

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const MB = Number(process.env.BENCH_TUNNEL_MB ?? 64);
const REQS = Number(process.env.BENCH_REQS ?? 4000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 8);
const CHUNK = 64 * 1024;

const median = (xs) => {
  const a = [...xs].sort((x, y) => x - y);
  const m = a.length >> 1;
  return a.length % 2 ? a[m] : (a[m - 1] + a[m]) / 2;
};

const a = await startNode({ interfaces: "loopback", seed: "bench-rest-a" });
const b = await startNode({ interfaces: "loopback", seed: "bench-rest-b" });
const server = await rest.RestServer.start({ node: a, port: 0 });
let received = 0;
let want = Number.POSITIVE_INFINITY;
let reached;
b.onMessage((data) => {
  received += data.length;
  if (received >= want) reached?.();
});
const target = () => {
  received = 0;
  want = MB * 1024 * 1024;
  return new Promise((r) => (reached = r));
};

async function get(path, agent) {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: "127.0.0.1", port: server.port, path, agent }, (res) => {
      const parts = [];
      res.on("data", (d) => parts.push(d));
      res.on("end", () => resolve({ status: res.statusCode, body: Buffer.concat(parts) }));
    });
    req.on("error", reject);
  });
}

// The REST connection "b" (what the tunnel relays) and a direct pipe to b (the baseline).
const opened = await get(`/open/b/${encodeURIComponent(b.address)}?strategies=direct`);
if (opened.status !== 200) throw new Error(`open failed: ${opened.status} ${opened.body}`);
const { pipe } = await a.connect(b.address, { strategies: ["direct"] });
const chunk = Buffer.alloc(CHUNK, 0x41);

async function viaPipe() {
  const done = target();
  const t0 = performance.now();
  for (let sent = 0; sent < want; sent += CHUNK) await pipe.send(chunk);
  await done;
  return want / ((performance.now() - t0) / 1000) / 1e6;
}

async function viaTunnel() {
  const s = net.connect(server.port, "127.0.0.1");
  await once(s, "connect");
  s.write(
    "GET /tunnel/b HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: p2pd-relay\r\nConnection: Upgrade\r\n\r\n",
  );
  let head = "";
  while (!head.includes("\r\n\r\n")) head += (await once(s, "data"))[0].toString("latin1");
  if (!head.startsWith("HTTP/1.1 101")) throw new Error(`tunnel refused: ${head}`);
  const done = target();
  const t0 = performance.now();
  for (let sent = 0; sent < want; sent += CHUNK) if (!s.write(chunk)) await once(s, "drain");
  await done;
  const mbps = want / ((performance.now() - t0) / 1000) / 1e6;
  s.destroy();
  // The relay lets go of the connection once its socket closed.
  await new Promise((r) => setTimeout(r, 50));
  return mbps;
}

/** REQS requests with CONCURRENCY in flight over keep-alive connections (a worker); requests/s. */
async function load(port, path) {
  const w = new Worker(new URL("./http-load.mjs", import.meta.url), {
    workerData: { port, path, requests: REQS, concurrency: CONCURRENCY },
  });
  const [r] = await once(w, "message");
  await w.terminate();
  if (r.bad) throw new Error(`${r.bad} requests failed on ${path}`);
  return r.rps;
}

// The baseline HTTP server: node:http answering the same JSON body as GET /version.
const version = (await get("/version")).body;
const bare = http.createServer((_req, res) => {
  res.writeHead(200, { "Content-Type": "application/json", "Content-Length": version.length });
  res.end(version);
});
bare.keepAliveTimeout = 10_000;
await new Promise((r) => bare.listen(0, "127.0.0.1", r));

const rows = {
  pipe: [],
  tunnel: [],
  tunnelRatio: [],
  bare: [],
  version: [],
  send: [],
  vRatio: [],
  sRatio: [],
};
await viaPipe(); // warm-up
for (let round = 0; round < ROUNDS; round++) {
  const order = round % 2 === 0;
  const p1 = order ? await viaPipe() : undefined;
  const t = await viaTunnel();
  const p = order ? p1 : await viaPipe();
  rows.pipe.push(p);
  rows.tunnel.push(t);
  rows.tunnelRatio.push(t / p);
  const bb = await load(bare.address().port, "/version");
  const v = await load(server.port, "/version");
  const s = await load(server.port, "/send/b/hello");
  rows.bare.push(bb);
  rows.version.push(v);
  rows.send.push(s);
  rows.vRatio.push(v / bb);
  rows.sRatio.push(s / bb);
}
const f0 = (x) => Math.round(x).toLocaleString("en-US");
const f1 = (x) => x.toFixed(1);
const load1 = (await import("node:os")).loadavg()[0].toFixed(1);
console.log(
  `\nREST under load: Node ${process.version}, loopback, ${ROUNDS} paired rounds, medians; load average ${load1}\n`,
);
console.log("| path | throughput | ratio (median of pairs) |");
console.log("|---|---|---|");
console.log(
  `| node pipe a→b, ${CHUNK / 1024} KiB sends (baseline) | ${f1(median(rows.pipe))} MB/s | 1.00x |`,
);
console.log(
  `| /tunnel/b relay a→b | ${f1(median(rows.tunnel))} MB/s | ${median(rows.tunnelRatio).toFixed(2)}x |`,
);
console.log(`| bare node:http, same body (baseline) | ${f0(median(rows.bare))} req/s | 1.00x |`);
console.log(
  `| GET /version, keep-alive, ${CONCURRENCY} in flight | ${f0(median(rows.version))} req/s | ${median(rows.vRatio).toFixed(2)}x |`,
);
console.log(
  `| GET /send/b/hello, keep-alive, ${CONCURRENCY} in flight | ${f0(median(rows.send))} req/s | ${median(rows.sRatio).toFixed(2)}x |`,
);
bare.close();
await pipe.close();
await server.close();
await a.close();
await b.close();
