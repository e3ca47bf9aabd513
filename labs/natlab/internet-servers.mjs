#!/usr/bin/env node
// Plays some of p2pd's bundled public servers inside the lab's `pub` namespace, at their real IPs
// (which `internet.ts` adds to pub and routes to it in `inet`; nothing here leaves the lab):
//   node internet-servers.mjs '<json plan>'
// plan: { honest: [{ip, port, altIp, altPort}], liar: [...], wrongAlt: [...], slow: [{..., delayMs}] }
// honest = @p2pd/stun's RFC 5780 StunServer on ip+altIp; liar = says the client's IP is 192.0.2.66;
// wrongAlt = right mapped address, OTHER-ADDRESS not the listed alternate; slow = right but late.
// irc = [{ip, port, host, target, cert, key}]: TLS with the test CA's certificate for `host` at ip:port,
// passed on in plain text to 127.0.0.1:target (an ircd of labs/irc-lab running in pub's loopback).
// Prints "ready" once every socket is bound; stops on SIGTERM/SIGINT.
import { readFileSync } from "node:fs";
import { connect as tcpConnect } from "node:net";
import { createServer as tlsServer } from "node:tls";

const plan = JSON.parse(process.argv[2] ?? "{}");
const stun = await import(new URL("../../packages/stun/dist/index.js", import.meta.url).href);
const { StunServer } = stun;
const { fakeStun } = await import(
  new URL("../../packages/nat/test/fixtures/fake-stun.mjs", import.meta.url).href
);
const closers = [];

for (const s of plan.honest ?? []) {
  const srv = new StunServer({
    ips: [s.ip, s.altIp],
    port: s.port,
    altPort: s.altPort,
    protocols: ["udp"],
    software: "natlab internet",
  });
  await srv.listen();
  closers.push(() => srv.close());
}

/** A responder at s.ip:s.port: right or lying mapped address, any OTHER-ADDRESS, on time or late. */
async function responder(s, { mappedIp, other, delayMs = 0 }) {
  const srv = await fakeStun(stun, {
    address: s.ip,
    port: s.port,
    ...(mappedIp ? { lie: (truth) => ({ host: mappedIp, port: truth.port }) } : {}),
    other: other ?? { host: s.altIp, port: s.altPort },
    delayMs,
  });
  closers.push(() => srv.close());
}

for (const s of plan.liar ?? []) await responder(s, { mappedIp: "192.0.2.66" });
for (const s of plan.wrongAlt ?? [])
  await responder(s, { other: { host: s.ip, port: s.port === 65535 ? 1 : s.port + 1 } });
for (const s of plan.slow ?? []) await responder(s, { delayMs: s.delayMs ?? 1500 });

for (const n of plan.irc ?? []) {
  const conns = new Set();
  const srv = tlsServer({ cert: readFileSync(n.cert), key: readFileSync(n.key) }, (sock) => {
    const up = tcpConnect(n.target, "127.0.0.1");
    conns.add(sock);
    conns.add(up);
    const end = () => {
      sock.destroy();
      up.destroy();
      conns.delete(sock);
      conns.delete(up);
    };
    sock.on("error", end).on("close", end);
    up.on("error", end).on("close", end);
    sock.pipe(up);
    up.pipe(sock);
  });
  // A client that refuses our certificate is its business; keep serving.
  srv.on("tlsClientError", () => {});
  await new Promise((resolve, reject) => {
    srv.once("error", reject);
    srv.listen(n.port, n.ip, resolve);
  });
  closers.push(
    () =>
      new Promise((resolve) => {
        for (const c of conns) c.destroy();
        srv.close(() => resolve());
      }),
  );
}
console.log("ready");

const stop = async () => {
  await Promise.allSettled(closers.map((c) => c()));
  process.exit(0);
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
