// Where the UDP echo gap goes: raw node:dgram, then raw with each piece of the pipe contract added
// (a synchronous literal lookup, a promise + completion callback per send on the client, then on the
// server), then the pipe; one process, same run, rounds rotate. Run: node bench/udp-steps.mjs (R, N).
import * as dgram from "node:dgram";
import { isIP } from "node:net";

const { pipeOpen } = await import("../dist/index.js");
const BUF = 4 * 1024 * 1024,
  N = Number(process.env.N ?? 30000),
  WIN = 32;
const buf = Buffer.alloc(64, 7);
const lit = (h, _family, cb) => cb(null, h, isIP(h));
async function loop(send, recvOne) {
  let sent = 0,
    got = 0;
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  for (; sent < WIN; sent++) send();
  while (got < N) {
    await recvOne();
    got++;
    if (sent < N) {
      sent++;
      send();
    }
  }
  const ms = performance.now() - t0;
  const c = process.cpuUsage(c0);
  return { rps: (N / ms) * 1000, cpu: (c.user + c.system) / N };
}
const sendP = (s, b, port, host) =>
  new Promise((res, rej) => s.send(b, port, host, (e) => (e ? rej(e) : res(b.length))));
async function raw({ lookup, clientCb, serverCb }) {
  const o = {
    type: "udp4",
    recvBufferSize: BUF,
    sendBufferSize: BUF,
    ...(lookup ? { lookup: lit } : {}),
  };
  const server = dgram.createSocket(o),
    client = dgram.createSocket(o);
  await new Promise((r) => server.bind(0, "127.0.0.1", r));
  await new Promise((r) => client.bind(0, "127.0.0.1", r));
  server.on("message", (m, ri) => {
    if (serverCb) sendP(server, m, ri.port, ri.address).catch(() => {});
    else server.send(m, ri.port, ri.address);
  });
  const port = server.address().port;
  let wake,
    q = 0;
  client.on("message", () => {
    q++;
    if (wake) {
      const w = wake;
      wake = undefined;
      w();
    }
  });
  const r = await loop(
    () =>
      clientCb
        ? sendP(client, buf, port, "127.0.0.1").catch(() => {})
        : client.send(buf, port, "127.0.0.1"),
    async () => {
      if (q === 0) await new Promise((r) => (wake = r));
      q--;
    },
  );
  server.close();
  client.close();
  return r;
}
async function pipe() {
  const opts = { recvBufferSize: BUF, sendBufferSize: BUF };
  const server = await pipeOpen("udp", { host: "127.0.0.1" }, undefined, {
    ...opts,
    onMessage: (m) => m.pipe.send(m.data, m.from),
  });
  const client = await pipeOpen("udp", { host: "127.0.0.1" }, server.local, opts);
  const r = await loop(
    () => client.send(buf).catch(() => {}),
    () => client.recv({ timeout: 0 }),
  );
  await client.close();
  await server.close();
  return r;
}
const V = {
  raw: () => raw({}),
  "raw+literal lookup": () => raw({ lookup: true }),
  "raw+lit+client send promise": () => raw({ lookup: true, clientCb: true }),
  "raw+lit+both send promise": () => raw({ lookup: true, clientCb: true, serverCb: true }),
  pipe: pipe,
};
const names = Object.keys(V);
const res = Object.fromEntries(names.map((k) => [k, []]));
for (let i = 0; i < Number(process.env.R ?? 8); i++)
  for (let j = 0; j < names.length; j++) {
    const k = names[(i + j) % names.length];
    res[k].push(await V[k]());
  }
const med = (a) => {
  const s = [...a].sort((x, y) => x - y);
  return s[s.length >> 1];
};
for (const k of names)
  console.log(
    k.padEnd(30),
    "rt/s",
    String(Math.round(med(res[k].map((x) => x.rps)))).padStart(6),
    "cpu us/rt",
    med(res[k].map((x) => x.cpu)).toFixed(1),
    "cpu ratio to raw (median of rounds)",
    med(res.raw.map((r, i) => res[k][i].cpu / r.cpu)).toFixed(2),
    "rt/s ratio",
    med(res.raw.map((r, i) => res[k][i].rps / r.rps)).toFixed(2),
  );
