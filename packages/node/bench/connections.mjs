// A node serving 1,000 concurrent connections on loopback. The serving node runs in a child
// process (node --expose-gc), so its memory per idle connection is its own; the connecting node
// runs here. Measured beside a baseline in the same run: connect + ECHO latency (a fresh
// connection, ECHO answered, closed) and the ECHO round trip on an open connection, first with no
// other connection open, then with CONNS open.
// Run: pnpm bench:connections. BENCH_CONNS (1000), BENCH_PROBES (200).
import { fork } from "node:child_process";
import { once } from "node:events";
import { readFileSync } from "node:fs";
import { loadavg } from "node:os";
import { PerformanceObserver, performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";

const CONNS = Number(process.env.BENCH_CONNS ?? 1000);
const PROBES = Number(process.env.BENCH_PROBES ?? 200);

/** Absolute ms (shared by both processes: timeOrigin + now). */
const nowAbs = () => performance.timeOrigin + performance.now();

/** Garbage collections of this process: [start, end] in absolute ms. */
const gcs = [];
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    const t = performance.timeOrigin + e.startTime;
    gcs.push([t, t + e.duration]);
  }
}).observe({ entryTypes: ["gc"] });

/**
 * The main thread's scheduler counters in ns (Linux /proc schedstat): time on a CPU and time
 * runnable but waiting for one. Undefined where /proc has no schedstat.
 */
function sched(pid) {
  try {
    const [run, wait] = readFileSync(`/proc/${pid}/task/${pid}/schedstat`, "utf8").split(" ");
    return { run: Number(run), wait: Number(wait) };
  } catch {
    return undefined;
  }
}

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
    } else if (m === "gcs") {
      process.send({ gcs });
    } else if (m === "close") {
      await node.close();
      process.exit(0);
    }
  });
  process.send({ address: node.address });
} else {
  const { echo, startNode } = await import("../dist/index.js");
  const child = fork(fileURLToPath(import.meta.url), ["serve"], {
    execArgv: [
      "--expose-gc",
      ...(process.env.BENCH_CPU_PROF
        ? ["--cpu-prof", `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`]
        : []),
    ],
  });
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
  /** Per connect probe: wall ms, absolute window, scheduler counters of both main threads. */
  let connectInfo = [];
  /** connect + ECHO on a fresh connection, then closed; and ECHO on one open connection: ms. */
  async function probe(n) {
    const connect = [];
    const rtt = [];
    const { pipe: kept } = await b.connect(address, { strategies: ["direct"] });
    for (let i = 0; i < n; i++) {
      const s0 = [sched(process.pid), sched(child.pid)];
      const a0 = nowAbs();
      const t0 = performance.now();
      const { pipe } = await b.connect(address, { strategies: ["direct"] });
      await echo(pipe, "probe", { timeoutMs: 5000 });
      connect.push(performance.now() - t0);
      const s1 = [sched(process.pid), sched(child.pid)];
      connectInfo.push({ ms: performance.now() - t0, from: a0, to: nowAbs(), s0, s1 });
      await pipe.close();
      const t1 = performance.now();
      await echo(kept, "probe", { timeoutMs: 5000 });
      rtt.push(performance.now() - t1);
    }
    await kept.close();
    return { connect, rtt };
  }
  // Warm-up: JIT and first handshakes. 20 left the "no other connection" row running cold code
  // (twice the CPU per connect of the later row); 100 gets both rows onto optimised code.
  await probe(Number(process.env.BENCH_WARMUP ?? 100));
  connectInfo = [];
  const idle = await probe(PROBES);
  const idleInfo = connectInfo;
  connectInfo = [];
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
  const loadedInfo = connectInfo;
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
  const childGcs = (await ask("gcs")).gcs;
  console.log(
    "\nWhere the connect + ECHO time goes (both main threads, from /proc schedstat; GC from perf_hooks):\n",
  );
  console.log(
    "| probes | wall ms | on CPU ms (client + server) | runnable, waiting for a CPU ms (client + server) | GC in the window ms (client + server) |",
  );
  console.log("|---|---|---|---|---|");
  for (const [label, info] of [
    ["no other connection", idleInfo],
    [`${CONNS} open`, loadedInfo],
  ]) {
    const sorted = [...info].sort((x, y) => x.ms - y.ms);
    const k = Math.max(1, Math.ceil(sorted.length * 0.05));
    const median = sorted.slice((sorted.length >> 1) - 2, (sorted.length >> 1) + 3);
    for (const [name, group] of [
      [`${label}: 5 around the median`, median],
      [`${label}: slowest ${k} (p95+)`, sorted.slice(-k)],
      [`${label}: slowest 2 (p99+)`, sorted.slice(-2)],
    ]) {
      const avg = (f) => group.reduce((a, x) => a + f(x), 0) / group.length;
      const d = (x, i, f) => (x.s1[i] && x.s0[i] ? (x.s1[i][f] - x.s0[i][f]) / 1e6 : Number.NaN);
      const gcIn = (list, x) =>
        list.reduce((a, [g0, g1]) => a + Math.max(0, Math.min(g1, x.to) - Math.max(g0, x.from)), 0);
      console.log(
        `| ${name} | ${f(avg((x) => x.ms))} | ${f(avg((x) => d(x, 0, "run")))} + ${f(avg((x) => d(x, 1, "run")))} | ${f(avg((x) => d(x, 0, "wait")))} + ${f(avg((x) => d(x, 1, "wait")))} | ${f(avg((x) => gcIn(gcs, x)))} + ${f(avg((x) => gcIn(childGcs, x)))} |`,
      );
    }
  }
  // The work itself, without waiting for a CPU: client + server main-thread CPU per connect + ECHO.
  const cpu = (info) =>
    info.map((x) =>
      x.s0[0] && x.s0[1] ? (x.s1[0].run - x.s0[0].run + x.s1[1].run - x.s0[1].run) / 1e6 : 0,
    );
  row(
    "on-CPU time of both main threads per connect + ECHO, p50 / p99",
    cpu(idleInfo),
    cpu(loadedInfo),
  );
  await Promise.all(held.map((p) => p.close()));
  await b.close();
  await ask("close").catch(() => {});
}
