// A node serving 1,000 concurrent connections on loopback. The serving node runs in a child
// process (node --expose-gc), so its memory per idle connection is its own; the connecting node
// runs here. Measured beside a baseline in the same run: connect + ECHO latency (a fresh
// connection, ECHO answered, closed) and the ECHO round trip on an open connection, first with no
// other connection open, then with CONNS open.
// Run: pnpm bench:connections. BENCH_CONNS (1000), BENCH_PROBES (200).
import { fork } from "node:child_process";
import { once } from "node:events";
import { loadavg } from "node:os";
import { fileURLToPath } from "node:url";

const CONNS = Number(process.env.BENCH_CONNS ?? 1000);
const PROBES = Number(process.env.BENCH_PROBES ?? 200);

if (process.argv[2] === "serve") {
  // The serving node: reports its memory (after full collections) when asked.
  const { startNode } = await import("../dist/index.js");
  const node = await startNode({
    interfaces: "loopback",
    seed: "bench-conns-a",
    limits: { maxConnections: CONNS + PROBES + 16 },
  });
  process.on("message", async (m) => {
    if (m === "mem") {
      for (let i = 0; i < 3; i++) {
        globalThis.gc();
        await new Promise((r) => setTimeout(r, 20));
      }
      const u = process.memoryUsage();
      process.send({ js: u.heapUsed + u.external, rss: u.rss, pipes: node.pipes.size });
    } else if (m === "close") {
      await node.close();
      process.exit(0);
    }
  });
  process.send({ address: node.address });
} else {
  const { echo, startNode } = await import("../dist/index.js");
  const child = fork(fileURLToPath(import.meta.url), ["serve"], { execArgv: ["--expose-gc"] });
  const [{ address }] = await once(child, "message");
  const ask = async (m) => {
    child.send(m);
    return (await once(child, "message"))[0];
  };
  const b = await startNode({ interfaces: "loopback", seed: "bench-conns-b" });
  const pct = (xs, p) => {
    const s = [...xs].sort((x, y) => x - y);
    return s[Math.min(s.length - 1, Math.floor(s.length * p))];
  };
  /** connect + ECHO on a fresh connection, then closed; and ECHO on one open connection: ms. */
  async function probe(n) {
    const connect = [];
    const rtt = [];
    const { pipe: kept } = await b.connect(address, { strategies: ["direct"] });
    for (let i = 0; i < n; i++) {
      const t0 = performance.now();
      const { pipe } = await b.connect(address, { strategies: ["direct"] });
      await echo(pipe, "probe", { timeoutMs: 5000 });
      connect.push(performance.now() - t0);
      await pipe.close();
      const t1 = performance.now();
      await echo(kept, "probe", { timeoutMs: 5000 });
      rtt.push(performance.now() - t1);
    }
    await kept.close();
    return { connect, rtt };
  }
  await probe(20); // warm-up: JIT, first handshakes
  const idle = await probe(PROBES);
  const before = await ask("mem");
  const held = [];
  const t0 = performance.now();
  for (let i = 0; i < CONNS; i++) {
    const { pipe } = await b.connect(address, { strategies: ["direct"] });
    await echo(pipe, "hello", { timeoutMs: 5000 });
    held.push(pipe);
  }
  const openMs = performance.now() - t0;
  const after = await ask("mem");
  const loaded = await probe(PROBES);
  // Every held connection still answers.
  await Promise.all(held.map((p) => echo(p, "still", { timeoutMs: 10_000 })));
  const f = (x) => x.toFixed(2);
  const kib = (x) => (x / 1024).toFixed(1);
  console.log(
    `\n@p2pd/node serving ${CONNS} connections on loopback (Node ${process.version}, load average ${loadavg()[0].toFixed(1)}); ${PROBES} probes each\n`,
  );
  console.log(`| measure | no other connection | ${CONNS} open | ratio |`);
  console.log("|---|---|---|---|");
  const row = (label, xs0, xs1) =>
    console.log(
      `| ${label} | ${f(pct(xs0, 0.5))} / ${f(pct(xs0, 0.99))} ms | ${f(pct(xs1, 0.5))} / ${f(pct(xs1, 0.99))} ms | ${(pct(xs1, 0.99) / pct(xs0, 0.99)).toFixed(2)}x |`,
    );
  row("connect + ECHO (fresh connection), p50 / p99", idle.connect, loaded.connect);
  row("ECHO round trip on an open connection, p50 / p99", idle.rtt, loaded.rtt);
  console.log(
    `\nServing node: ${after.pipes - before.pipes} more pipes; memory per idle connection ${kib((after.js - before.js) / CONNS)} KiB (JS heap + external), RSS ${kib((after.rss - before.rss) / CONNS)} KiB; opening ${CONNS} took ${Math.round(openMs)} ms.`,
  );
  await Promise.all(held.map((p) => p.close()));
  await b.close();
  await ask("close").catch(() => {});
}
