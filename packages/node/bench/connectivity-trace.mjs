// One node trial in the NAT lab with both sides' verbose logs merged on one clock: where a
// connect's time goes (a diagnosis aid for bench/connectivity.mjs).
//   node bench/connectivity-trace.mjs [--profiles none,40ms:5ms:1%] [--pairs e1:f1,g1:k1] [--n 1]
// Lab hosts by network letter as in connectivity.mjs (e/f restricted-cone, g/h port-restricted,
// i/j symmetric, k/l symmetric-sequential, m/n cgnat, a/b open, c/d full-cone).
import { spawn } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { canRunLab, Lab, runChild } from "./connectivity-lib.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const { values } = parseArgs({
  options: {
    profiles: { type: "string", default: "none" },
    pairs: { type: "string", default: "e1:f1" },
    n: { type: "string", default: "1" },
    strategies: { type: "string", default: "direct,reverse,tcp-punch,udp-punch,turn" },
    lib: { type: "string", default: join(here, "..", "dist", "index.js") },
    quiet: { type: "boolean" },
  },
});
const why = canRunLab();
if (why) {
  console.error(`trace skipped: ${why}`);
  process.exit(0);
}
const NET = {
  a: "open",
  b: "open",
  c: "full-cone",
  d: "full-cone",
  e: "restricted-cone",
  f: "restricted-cone",
  g: "port-restricted",
  h: "port-restricted,hosts=2",
  i: "symmetric",
  j: "symmetric",
  k: "symmetric-sequential",
  l: "symmetric-sequential",
  m: "cgnat",
  n: "cgnat",
};
const pairs = values.pairs.split(",").map((p) => p.split(":"));
const nets = [...new Set(pairs.flat().map((h) => h[0]))];
const lab = new Lab("trt-", "/tmp/natlab-trt");
const peer = join(here, "..", "test", "lab", "peer.mjs");
try {
  lab.up(nets.map((x) => `${x}=${NET[x]}`));
  const common = [
    "--lib",
    values.lib,
    "--mqtt",
    `mqtt://${lab.info.PUB_IP4}:${lab.info.MQTT_PORT ?? 1883}`,
    "--stun",
    `${lab.info.PUB_IP4}:${lab.info.STUN_PORT}`,
    "--turn",
    `turn:${lab.info.PUB_IP4}:${lab.info.TURN_PORT}`,
    "--turn-user",
    lab.info.TURN_USER,
    "--turn-pass",
    lab.info.TURN_PASS,
    "--nat-wait",
    "15000",
    "--verbose",
  ];
  for (const profile of values.profiles.split(",")) {
    lab.impair(profile);
    for (const [a, b] of pairs)
      for (let k = 0; k < Number(values.n); k++) {
        const lines = [];
        const server = spawn("ip", lab.nodeIn(b, peer, "serve", ...common), {
          stdio: ["ignore", "pipe", "pipe"],
        });
        server.stderr.on("data", (d) => {
          for (const l of String(d).split("\n")) if (l) lines.push(`B ${l}`);
        });
        const addr = await new Promise((resolve, reject) => {
          let buf = "";
          server.stdout.on("data", (d) => {
            buf += d;
            for (let i = buf.indexOf("\n"); i >= 0; i = buf.indexOf("\n")) {
              const o = JSON.parse(buf.slice(0, i));
              buf = buf.slice(i + 1);
              if (o.nat && o.nat.type !== 0) {
                console.log(`B nat ${JSON.stringify(o.nat)}`);
                resolve(o.addr);
              }
            }
          });
          setTimeout(() => reject(new Error("no tested address")), 20_000);
        });
        lines.length = 0;
        const out = await runChild(
          "ip",
          lab.nodeIn(a, peer, "connect", ...common, addr, "--strategies", values.strategies),
          45_000,
        );
        for (const l of out.err.split("\n")) if (l) lines.push(`A ${l}`);
        server.kill("SIGTERM");
        const parse = (l) => Number(l.slice(2).split(" ")[0]);
        const start = lines.filter((l) => l.includes("connect start")).map(parse)[0] ?? 0;
        const r = out.out.trim().split("\n").pop();
        console.log(`\n## ${profile} ${a}(${NET[a[0]]}) -> ${b}(${NET[b[0]]}): ${r}`);
        if (!values.quiet)
          for (const l of lines
            .filter((l) => Number.isFinite(parse(l)) && parse(l) >= start)
            .sort((x, y) => parse(x) - parse(y)))
            console.log(
              `${String(parse(l) - start).padStart(6)} ${l[0]} ${l.slice(2).split(" ").slice(1).join(" ")}`,
            );
        await new Promise((r) => setTimeout(r, 300));
      }
  }
} finally {
  lab.down();
}
