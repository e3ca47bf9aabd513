#!/usr/bin/env node
// Runs @p2pd/stun's RFC 5780 StunServer inside the lab's `pub` namespace (started by `natlab up`).
//   node p2pd-stun-server.mjs --ip A,A2 [--ip B,B2] --port 3490 --alt-port 3491
// One server per --ip pair (an IP family needs its own pair). Stops on SIGTERM/SIGINT.
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: {
    ip: { type: "string", multiple: true },
    port: { type: "string", default: "3490" },
    "alt-port": { type: "string", default: "3491" },
  },
});
const stunUrl = new URL("../../packages/stun/dist/index.js", import.meta.url);
const { StunServer } = await import(stunUrl.href);
const ac = new AbortController();
const servers = [];
for (const pair of values.ip ?? []) {
  const ips = pair.split(",").filter(Boolean);
  const server = new StunServer({
    ips,
    port: Number(values.port),
    altPort: Number(values["alt-port"]),
    protocols: ["udp", "tcp"],
    software: "p2pd natlab",
  });
  await server.listen({ signal: ac.signal });
  servers.push(server);
  console.log(
    `p2pd-stun: listening on ${ips.join(" + ")} ports ${values.port}/${values["alt-port"]}`,
  );
}
const stop = async () => {
  ac.abort();
  await Promise.allSettled(servers.map((s) => s.close()));
  process.exit(0);
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
