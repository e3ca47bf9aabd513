import { once } from "node:events";
import { Worker } from "node:worker_threads";
import { startNode } from "@p2pd/node";
import { rest } from "/work/wt/perfpipe/packages/p2pd/dist/index.js";

const a = await startNode({ interfaces: "loopback", seed: "prof-rest" });
const server = await rest.RestServer.start({ node: a, port: 0 });
const path = process.env.P ?? "/version";
for (let i = 0; i < 2; i++) {
  const w = new Worker(
    new URL("/work/wt/perfpipe/packages/p2pd/bench/http-load.mjs", import.meta.url),
    { workerData: { port: server.port, path, requests: 20000, concurrency: 8 } },
  );
  const [r] = await once(w, "message");
  await w.terminate();
  console.log(path, Math.round(r.rps), "req/s", r.bad, "bad");
}
await server.close();
await a.close();
