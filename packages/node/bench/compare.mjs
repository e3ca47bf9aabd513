// Before/after in one run: node.connect time on loopback (two nodes, direct) and one-way message
// throughput through a node connection, for a baseline build of @p2pd/node (BASE=/path/to/its
// dist/index.js, e.g. /work/main/packages/node/dist/index.js) and this one, against @p2pd/pipe's
// pipeOpen (TCP) measured in the same run. Loopback only. Run: node bench/compare.mjs
import { pipeOpen } from "@p2pd/pipe";

const here = await import("../dist/index.js");
const base = process.env.BASE ? await import(process.env.BASE) : undefined;
const N = Number(process.env.N ?? 40);
const ROUNDS = Number(process.env.ROUNDS ?? 5);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function nodes(lib) {
  const broker = await lib.startBroker();
  const a = await lib.startNode({ interfaces: "loopback", mqtt: broker.url });
  const b = await lib.startNode({ interfaces: "loopback", mqtt: broker.url });
  return {
    a,
    b,
    close: async () => {
      await a.close();
      await b.close();
      await broker.close();
    },
  };
}

async function connectTimes(lib, strategy) {
  const n = await nodes(lib);
  const xs = [];
  try {
    for (let i = 0; i < N; i++) {
      const t0 = performance.now();
      const r = await n.b.connect(n.a.address, { strategies: [strategy] });
      xs.push(performance.now() - t0);
      await r.pipe.close();
    }
  } finally {
    await n.close();
  }
  return median(xs);
}

/** One-way stream b -> a over a node connection; a counts messages in its node.onMessage. */
async function nodeThroughput(lib, strategy, size, count) {
  const n = await nodes(lib);
  try {
    const r = await n.b.connect(n.a.address, { strategies: [strategy] });
    const buf = Buffer.alloc(size, 7);
    let got = 0;
    let doneRes;
    const done = new Promise((res) => (doneRes = res));
    n.a.onMessage((d) => {
      if (d.length === size && ++got === count) doneRes();
    });
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < count; i++) await r.pipe.send(buf);
    await done;
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    await r.pipe.close();
    return (size * count) / s / 1e6;
  } finally {
    await n.close();
  }
}

async function pipeThroughput(size, count) {
  const server = await pipeOpen("tcp", { host: "127.0.0.1" });
  const client = await pipeOpen("tcp", undefined, server.local);
  const child = await server.accept();
  let got = 0;
  let doneRes;
  const done = new Promise((res) => (doneRes = res));
  child.onMessage(() => {
    if (++got === count) doneRes();
  });
  const buf = Buffer.alloc(size, 7);
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < count; i++) await client.send(buf);
  await done;
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  await client.close();
  await server.close();
  return (size * count) / s / 1e6;
}

const libs = [...(base ? [["baseline", base]] : []), ["this", here]];
const rows = [];
const med = async (f) => {
  const xs = [];
  for (let i = 0; i < ROUNDS; i++) xs.push(await f());
  return median(xs);
};
for (const s of ["direct", "reverse"])
  for (const [name, lib] of libs)
    rows.push([`connect ${s} (ms, median of ${N})`, name, await connectTimes(lib, s)]);
for (const [size, count] of [
  [1024, 20_000],
  [65536, 1_000],
]) {
  rows.push([
    `pipeOpen tcp ${size} B (MB/s)`,
    "pipe",
    await med(() => pipeThroughput(size, count)),
  ]);
  for (const [name, lib] of libs)
    rows.push([
      `node direct ${size} B (MB/s)`,
      name,
      await med(() => nodeThroughput(lib, "direct", size, count)),
    ]);
}
for (const [name, lib] of libs)
  rows.push([
    "node udp-punch 1024 B (MB/s)",
    name,
    await med(() => nodeThroughput(lib, "udp-punch", 1024, 2_000)),
  ]);
for (const [what, who, v] of rows)
  console.log(`${what.padEnd(40)} ${who.padEnd(9)} ${v.toFixed(2)}`);
