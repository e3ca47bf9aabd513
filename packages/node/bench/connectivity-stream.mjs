// ReliableUdpStream throughput and round trip on loopback, against TCP measured in the same run.
//   node bench/connectivity-stream.mjs [messages=5000] [size=1000]
import dgram from "node:dgram";
import net from "node:net";
import { bundleTraversal } from "./connectivity-lib.mjs";

const T = await import(bundleTraversal());
const N = Number(process.argv[2] ?? 5000);
const SIZE = Number(process.argv[3] ?? 1000);
const RTTS = 300;

async function udpPair() {
  const mk = () =>
    new Promise((r) => {
      const s = dgram.createSocket("udp4");
      s.bind(0, "127.0.0.1", () => r(s));
    });
  const a = await mk();
  const b = await mk();
  const sa = new T.ReliableUdpStream(
    T.udpSocketLink(a, { host: "127.0.0.1", port: b.address().port }),
    { session: 1 },
  );
  const sb = new T.ReliableUdpStream(
    T.udpSocketLink(b, { host: "127.0.0.1", port: a.address().port }),
    { session: 1 },
  );
  return {
    send: (x) => sa.send(x),
    recv: () => sb.recv({ timeoutMs: 10_000 }),
    back: (x) => sb.send(x),
    recvBack: () => sa.recv({ timeoutMs: 10_000 }),
    close: async () => {
      await sa.close();
      await sb.close();
    },
    extra: () => `${sa.stats.retransmits} retransmits`,
  };
}

async function tcpPair() {
  // Length-prefixed messages over one loopback TCP connection.
  const srv = net.createServer();
  await new Promise((r) => srv.listen(0, "127.0.0.1", r));
  const client = net.connect(srv.address().port, "127.0.0.1");
  const [server] = await Promise.all([
    new Promise((r) => srv.once("connection", r)),
    new Promise((r) => client.once("connect", r)),
  ]);
  const reader = (sock) => {
    let buf = Buffer.alloc(0);
    const q = [];
    const w = [];
    sock.on("data", (d) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 4 && buf.length >= 4 + buf.readUInt32BE(0)) {
        const n = buf.readUInt32BE(0);
        const m = buf.subarray(4, 4 + n);
        buf = buf.subarray(4 + n);
        const waiter = w.shift();
        if (waiter) waiter(m);
        else q.push(m);
      }
    });
    return () => (q.length ? Promise.resolve(q.shift()) : new Promise((r) => w.push(r)));
  };
  const frame = (x) => {
    const b = Buffer.from(x);
    const h = Buffer.alloc(4);
    h.writeUInt32BE(b.length);
    return Buffer.concat([h, b]);
  };
  const write = (s, x) => new Promise((r) => (s.write(frame(x)) ? r() : s.once("drain", r)));
  const rs = reader(server);
  const rc = reader(client);
  return {
    send: (x) => write(client, x),
    recv: rs,
    back: (x) => write(server, x),
    recvBack: rc,
    close: async () => {
      client.destroy();
      server.destroy();
      srv.close();
    },
    extra: () => "",
  };
}

async function measure(name, make) {
  const p = await make();
  const payload = Buffer.alloc(SIZE, 7);
  const t0 = performance.now();
  const got = (async () => {
    for (let i = 0; i < N; i++) await p.recv();
  })();
  for (let i = 0; i < N; i++) await p.send(payload);
  await got;
  const ms = performance.now() - t0;
  const t1 = performance.now();
  for (let i = 0; i < RTTS; i++) {
    await p.send("p");
    await p.recv();
    await p.back("q");
    await p.recvBack();
  }
  const rtt = (performance.now() - t1) / RTTS;
  const extra = p.extra();
  await p.close();
  return { name, mbit: (N * SIZE * 8) / ms / 1000, rtt, extra };
}

const tcp = await measure("TCP (baseline)", tcpPair);
const udp = await measure("ReliableUdpStream", udpPair);
console.log(`\n${N} messages of ${SIZE} B, one process, loopback\n`);
console.log(
  "| transport | Mbit/s | vs TCP | round trip ms | vs TCP | notes |\n|---|---|---|---|---|---|",
);
for (const r of [tcp, udp]) {
  console.log(
    `| ${r.name} | ${r.mbit.toFixed(1)} | ${(r.mbit / tcp.mbit).toFixed(2)}x | ${r.rtt.toFixed(3)} | ${(r.rtt / tcp.rtt).toFixed(2)}x | ${r.extra} |`,
  );
}
process.exit(0);
