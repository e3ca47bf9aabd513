// Node connect times in the NAT lab (labs/natlab, root only): per strategy, median of K connects
// (connect time as the node measures it, process start excluded) against a raw TCP connect over
// the same path in the same run. Run: pnpm --filter @p2pd/node bench:lab
import { execFile, spawn } from "node:child_process";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const run = promisify(execFile);
const here = dirname(fileURLToPath(import.meta.url));
const natlab = join(here, "../../../labs/natlab/natlab");
const peer = join(here, "../test/lab/peer.mjs");
const lib = join(here, "../dist/index.js");
const K = Number(process.env.P2PD_BENCH_K ?? 5);
const env = { ...process.env, NATLAB_PREFIX: "ndb-", NATLAB_STATE: "/tmp/natlab-ndb" };
const ns = (h) => `ndb-${h}`;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

if (process.getuid?.() !== 0) {
  console.log("bench:lab needs root (network namespaces); skipped");
  process.exit(0);
}
await run(
  natlab,
  [
    "up",
    "a=open",
    "b=port-restricted,hosts=2",
    "c=port-restricted",
    "d=symmetric",
    "e=full-cone",
    "f=full-cone",
  ],
  {
    env,
    timeout: 120_000,
  },
);
const children = [];
try {
  const info = Object.fromEntries(
    (await run(natlab, ["info"], { env })).stdout
      .split("\n")
      .map((l) => /^([A-Za-z0-9_]+)=(.*)$/.exec(l.trim()))
      .filter(Boolean)
      .map((m) => [m[1], m[2].replace(/^'(.*)'$/, "$1")]),
  );
  const common = [
    "--lib",
    lib,
    "--mqtt",
    info.MQTT_URL,
    "--stun",
    `${info.PUB_IP4}:${info.STUN_PORT}`,
    "--turn",
    `turn:${info.PUB_IP4}:${info.TURN_PORT}`,
    "--turn-user",
    info.TURN_USER,
    "--turn-pass",
    info.TURN_PASS,
  ];
  const serve = (host) =>
    new Promise((resolve, reject) => {
      const c = spawn(
        "ip",
        ["netns", "exec", ns(host), process.execPath, peer, "serve", ...common],
        {
          stdio: ["ignore", "pipe", "inherit"],
        },
      );
      children.push(c);
      c.once("exit", () => reject(new Error(`peer on ${host} exited`)));
      createInterface({ input: c.stdout }).once("line", (l) => resolve(JSON.parse(l).addr));
    });
  // Ready time on b2 (port-restricted NAT): NAT test cold, then with the per-network cache.
  const ready = async (extra) => {
    const c = spawn(
      "ip",
      ["netns", "exec", ns("b2"), process.execPath, peer, "serve", ...common, ...extra],
      {
        stdio: ["ignore", "pipe", "inherit"],
      },
    );
    const line = await new Promise((resolve) =>
      createInterface({ input: c.stdout }).once("line", resolve),
    );
    c.kill("SIGTERM");
    await new Promise((r) => c.once("exit", r));
    return JSON.parse(line);
  };
  const cache = `/tmp/natlab-ndb-cache-${process.pid}`;
  const coldRuns = [];
  const warmRuns = [];
  for (let i = 0; i < 3; i++) {
    await run("rm", ["-rf", cache]);
    coldRuns.push(await ready(["--nat-cache", cache, "--nat-wait", "5000"]));
    warmRuns.push(await ready(["--nat-cache", cache, "--nat-wait", "5000"]));
  }
  await run("rm", ["-rf", cache]);
  const natName = (r) => (r.nat?.type === 5 ? "port-restricted" : `type ${r.nat?.type}`);
  const [a1, b1, c1, f1] = await Promise.all(["a1", "b1", "c1", "f1"].map(serve));
  const winners = new Set();
  const connect = async (from, addr, strategy) => {
    const xs = [];
    for (let i = 0; i < K; i++) {
      const { stdout } = await run(
        "ip",
        [
          "netns",
          "exec",
          ns(from),
          process.execPath,
          peer,
          "connect",
          ...common,
          addr,
          "--family",
          "4",
          ...(strategy ? ["--strategies", strategy] : []),
        ],
        { timeout: 60_000 },
      );
      const r = JSON.parse(stdout.trim().split("\n").at(-1));
      if (!r.echo) throw new Error(`${strategy ?? "connect"} from ${from} failed: ${stdout}`);
      xs.push(r.ms);
      winners.add(r.strategy);
    }
    return median(xs);
  };
  // Baseline: raw TCP connects from b2 to a1's node port (the path `direct` takes).
  const port = Number(/\[\d+,\d+,[\d.]+,[\d.]+,(\d+),/.exec(a1)[1]);
  const script = `const net=require("net");const xs=[];(async()=>{for(let i=0;i<${K * 4};i++){const t=performance.now();await new Promise((r,j)=>{const s=net.connect(${port},"${info.a1_IP4}",()=>{s.destroy();r()});s.on("error",j)});xs.push(performance.now()-t)}xs.sort((a,b)=>a-b);console.log(xs[Math.floor(xs.length/2)])})()`;
  const base = Number(
    (await run("ip", ["netns", "exec", ns("b2"), process.execPath, "-e", script])).stdout,
  );
  const rows = [
    [
      `node ready on b2, NAT test cold (${natName(coldRuns[0])})`,
      median(coldRuns.map((r) => r.readyMs)),
    ],
    [
      `node ready on b2, NAT result cached (${natName(warmRuns[0])})`,
      median(warmRuns.map((r) => r.readyMs)),
    ],
    ["raw TCP connect b2 -> a1 (baseline)", base],
    ["direct: b2 (port-restricted) -> a1 (open)", await connect("b2", a1, "direct")],
    ["reverse: a1 (open) -> b1 (port-restricted)", await connect("a1", b1, "reverse")],
    ["direct, same LAN: b2 -> b1", await connect("b2", b1, "direct")],
    ["tcp-punch: b2 -> c1 (both port-restricted)", await connect("b2", c1, "tcp-punch")],
    ["udp-punch: b2 -> c1 (both port-restricted)", await connect("b2", c1, "udp-punch")],
    ["turn: d1 (symmetric) -> c1", await connect("d1", c1, "turn")],
    // Full cones: the node opened its listen port's mapping, so direct / reverse work at once.
    ["direct: e1 (full-cone) -> f1 (full-cone)", await connect("e1", f1, "direct")],
    ["reverse: e1 (full-cone) -> c1 (port-restricted)", await connect("e1", c1, "reverse")],
  ];
  winners.clear();
  const auto = await connect("e1", f1);
  rows.push([`default order e1 -> f1 (full cones): ${[...winners].join("/")} wins`, auto]);
  console.log(
    `\n@p2pd/node in natlab, median of ${K} connects (3 starts) per row (ms); ratio = median / raw TCP connect\n`,
  );
  console.log(`| ${"path".padEnd(56)} | median ms | x raw TCP |`);
  console.log(`| ${"-".repeat(56)} | --------: | --------: |`);
  for (const [label, ms] of rows)
    console.log(
      `| ${label.padEnd(56)} | ${ms.toFixed(2).padStart(9)} | ${(ms / base).toFixed(1).padStart(9)} |`,
    );
} finally {
  for (const c of children) c.kill("SIGTERM");
  await run(natlab, ["down"], { env, timeout: 60_000 });
}
