// REST vs pipe: an ECHO round trip (send + recv) through the REST API and through the node pipe
// directly, measured in the same run on loopback. Run: pnpm bench (after pnpm build).
import { startNode } from "@p2pd/node";
import { P2pdClient, rest } from "../dist/index.js";

const N = Number(process.env.BENCH_N ?? 500);

async function timeIt(label, fn) {
  for (let i = 0; i < 20; i++) await fn(i); // warm-up
  const lat = [];
  const t0 = performance.now();
  for (let i = 0; i < N; i++) {
    const s = performance.now();
    await fn(i);
    lat.push(performance.now() - s);
  }
  const total = performance.now() - t0;
  lat.sort((a, b) => a - b);
  return {
    label,
    rps: (N / total) * 1000,
    p50: lat[Math.floor(N / 2)],
    p99: lat[Math.floor(N * 0.99)],
  };
}

const node = await startNode({ interfaces: "loopback", seed: "bench-rest" });
const server = await rest.RestServer.start({ node, port: 0 });
const client = new P2pdClient({ url: server.url });
try {
  await client.open("b", "self", { strategies: ["direct"] });
  const viaRest = await timeIt("REST send+recv", async (i) => {
    await client.send("b", `ECHO m${i}`);
    await client.recv("b", { timeout: 5 });
  });
  const { pipe } = await node.connect(node.address, { strategies: ["direct"] });
  const viaPipe = await timeIt("pipe send+recv", async (i) => {
    await pipe.send(`ECHO m${i}`);
    await pipe.recv({ timeoutMs: 5000 });
  });
  await pipe.close();
  const f = (x) => x.toFixed(2);
  console.log(`\nREST vs pipe, ECHO round trips on loopback (N=${N}, node ${process.version})\n`);
  console.log("| path | round trips/s | p50 ms | p99 ms | ratio vs pipe (rps) |");
  console.log("|---|---|---|---|---|");
  for (const r of [viaPipe, viaRest]) {
    console.log(
      `| ${r.label} | ${r.rps.toFixed(0)} | ${f(r.p50)} | ${f(r.p99)} | ${(r.rps / viaPipe.rps).toFixed(3)}x |`,
    );
  }
} finally {
  await server.close();
  await node.close();
}
