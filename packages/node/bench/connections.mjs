// A node serving 1,000 concurrent connections on loopback: memory per idle connection, and the
// latency of a new connect + ECHO round trip while they are open, beside the same latency with
// no other connection (same run). Both nodes run in this process, so the memory figure counts
// both ends of each connection (an upper bound for the serving side alone).
// Run: node --expose-gc bench/connections.mjs (pnpm bench:connections). BENCH_CONNS, BENCH_PROBES.
import { loadavg } from "node:os";
import { echo, startNode } from "../dist/index.js";

const CONNS = Number(process.env.BENCH_CONNS ?? 1000);
const PROBES = Number(process.env.BENCH_PROBES ?? 200);
if (!globalThis.gc) throw new Error("run with node --expose-gc");

const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(s.length * p))];
};
/** Heap, external and array buffers after full collections (RSS as well, for reference). */
async function mem() {
  for (let i = 0; i < 3; i++) {
    globalThis.gc();
    await new Promise((r) => setTimeout(r, 20));
  }
  const m = process.memoryUsage();
  return { js: m.heapUsed + m.external, rss: m.rss };
}

const a = await startNode({
  interfaces: "loopback",
  seed: "bench-conns-a",
  limits: { maxConnections: CONNS + PROBES + 16 },
});
const b = await startNode({ interfaces: "loopback", seed: "bench-conns-b" });

/** connect + ECHO on a fresh connection, then closed: ms each. */
async function probe(n) {
  const xs = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const { pipe } = await b.connect(a.address, { strategies: ["direct"] });
    await echo(pipe, "probe", { timeoutMs: 5000 });
    xs.push(performance.now() - t0);
    await pipe.close();
  }
  return xs;
}

await probe(20); // warm-up: JIT, first handshakes
const idle = await probe(PROBES);
const before = await mem();
const held = [];
const t0 = performance.now();
for (let i = 0; i < CONNS; i++) {
  const { pipe } = await b.connect(a.address, { strategies: ["direct"] });
  await echo(pipe, "hello", { timeoutMs: 5000 });
  held.push(pipe);
}
const openMs = performance.now() - t0;
const after = await mem();
const loaded = await probe(PROBES);
// Every held connection still answers.
await Promise.all(held.map((p) => echo(p, "still", { timeoutMs: 10_000 })));
const perConn = (after.js - before.js) / CONNS;
const perConnRss = (after.rss - before.rss) / CONNS;
const f = (x) => x.toFixed(2);
console.log(
  `\n@p2pd/node with ${CONNS} open connections on loopback (Node ${process.version}, load average ${loadavg()[0].toFixed(1)}); ${PROBES} probes each\n`,
);
console.log("| measure | value |");
console.log("|---|---|");
console.log(
  `| open ${CONNS} connections (connect + ECHO each, sequential) | ${Math.round(openMs)} ms |`,
);
console.log(
  `| memory per idle connection, JS heap + external (both ends) | ${(perConn / 1024).toFixed(1)} KiB |`,
);
console.log(
  `| RSS growth per connection (both ends, for reference) | ${(perConnRss / 1024).toFixed(1)} KiB |`,
);
console.log(
  `| connect + ECHO, no other connection: p50 / p99 | ${f(pct(idle, 0.5))} / ${f(pct(idle, 0.99))} ms |`,
);
console.log(
  `| connect + ECHO, ${CONNS} open: p50 / p99 | ${f(pct(loaded, 0.5))} / ${f(pct(loaded, 0.99))} ms |`,
);
console.log(
  `| p99 ratio (${CONNS} open / none) | ${(pct(loaded, 0.99) / pct(idle, 0.99)).toFixed(2)}x |`,
);
await Promise.all(held.map((p) => p.close()));
await b.close();
await a.close();
