// Secure-channel benchmark (loopback, same run): what Noise adds to a node connection.
// - connect: TCP connect + Noise IK handshake vs TCP connect alone (wall clock), and the
//   handshake's CPU per side (initiator, responder) measured in-process.
// - throughput: a node pipe (wrapStream, u32-length framing) over a SecureStream (AESGCM, the
//   default, and ChaChaPoly) vs over the plain socket, 1 KiB and 64 KiB messages, one direction,
//   until the receiver has them all. Plain, AESGCM and ChaChaPoly runs alternate in each round.
// - memory per idle connection (both ends in this process), secure vs plain.
// Run: pnpm --filter @p2pd/node bench:secure

import { fork } from "node:child_process";
import { once } from "node:events";
import { connect, createServer } from "node:net";
import { loadavg } from "node:os";
import { fileURLToPath } from "node:url";
import { wrapSocket, wrapStream } from "@p2pd/pipe";
import { deriveKeys, SecureStream, secureIdentity, startBroker, startNode } from "../dist/index.js";

const pipeOpts = { framing: "u32-length", maxMessageBytes: 1 << 20, autoSubscribe: false };
if (process.argv[2] === "receiver") {
  const bobR = secureIdentity(deriveKeys(Buffer.alloc(32, 2)));
  let job;
  const srv = createServer({ noDelay: true }, (s) => {
    const { size, count, secure } = job;
    const rx = secure
      ? wrapStream(new SecureStream(s, { identity: bobR, initiator: false }), pipeOpts)
      : wrapSocket(s, pipeOpts);
    let n = 0;
    const cpu0 = process.cpuUsage();
    rx.onMessage((m) => {
      if (m.data.length !== size) throw new Error("bad size");
      if (++n === count) {
        const c = process.cpuUsage(cpu0);
        process.send({ ms: performance.timeOrigin + performance.now(), cpu: c.user + c.system });
      }
    });
  });
  srv.listen(0, "127.0.0.1", () => process.send({ port: srv.address().port }));
  process.on("message", (m) => {
    job = m;
    process.send({ armed: true });
  });
  process.on("disconnect", () => process.exit(0));
} else {
  const N = Number(process.env.P2PD_BENCH_N ?? 200);
  const load0 = loadavg()
    .map((x) => x.toFixed(2))
    .join(" ");
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const alice = secureIdentity(deriveKeys(Buffer.alloc(32, 1)));
  const bobKeys = deriveKeys(Buffer.alloc(32, 2));
  const bob = secureIdentity(bobKeys);
  const expect = { nodeId: bobKeys.nodeId, x25519: bobKeys.x25519.publicKey };

  const server = createServer({ noDelay: true });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const port = server.address().port;
  const accepted = [];
  server.on("connection", (s) => {
    const w = accepted.shift();
    if (w) w(s);
  });
  const pair = async () => {
    const got = new Promise((r) => accepted.push(r));
    const c = connect({ port, host: "127.0.0.1", noDelay: true });
    await once(c, "connect");
    return [c, await got];
  };
  const securePair = async (cipher) => {
    const [c, s] = await pair();
    const a = new SecureStream(c, { identity: alice, initiator: true, expect, cipher });
    const b = new SecureStream(s, { identity: bob, initiator: false });
    await Promise.all([a.ready, b.ready]);
    return [a, b];
  };

  // 0. Memory per idle connection (both ends in this process).
  async function memPer(secure, k = 300) {
    global.gc?.();
    const before = process.memoryUsage();
    const held = [];
    for (let i = 0; i < k; i++) {
      if (secure) {
        const [a, b] = await securePair();
        held.push(wrapStream(a, pipeOpts), wrapStream(b, pipeOpts));
      } else {
        const [c, s] = await pair();
        held.push(wrapSocket(c, pipeOpts), wrapSocket(s, pipeOpts));
      }
    }
    global.gc?.();
    const after = process.memoryUsage();
    const per =
      (after.heapUsed -
        before.heapUsed +
        after.external -
        before.external +
        after.arrayBuffers -
        before.arrayBuffers) /
      (2 * k);
    for (const p of held) await p.close({ reset: true });
    return per;
  }
  // P2PD_BENCH_ONLY=throughput skips memory and connect (for profiling the data path).
  const only = process.env.P2PD_BENCH_ONLY;
  const full = only !== "throughput";
  const memPlain = full ? await memPer(false) : Number.NaN;
  const memSecure = full ? await memPer(true) : Number.NaN;

  // 1. Connect time.
  const CIPHERS = ["AESGCM", "ChaChaPoly"];
  const plainMs = [];
  const secureMs = { AESGCM: [], ChaChaPoly: [] };
  for (let i = 0; i < (full ? N : 1); i++) {
    let t = performance.now();
    const [c, s] = await pair();
    plainMs.push(performance.now() - t);
    c.destroy();
    s.destroy();
    for (const cipher of CIPHERS) {
      t = performance.now();
      const [a, b] = await securePair(cipher);
      secureMs[cipher].push(performance.now() - t);
      a.destroy();
      b.destroy();
    }
  }
  // node.connect (direct, loopback): encrypted nodes vs plaintext (insecure: true) nodes.
  const broker = await startBroker();
  const nodeConnect = async (insecure) => {
    const o = { interfaces: "loopback", mqtt: broker.url, ...(insecure ? { insecure } : {}) };
    const x = await startNode(o);
    const y = await startNode(o);
    const xs = [];
    for (let i = 0; i < Math.min(N, 50); i++) {
      const t = performance.now();
      const r = await y.connect(x.address, { strategies: ["direct"] });
      xs.push(performance.now() - t);
      await r.pipe.close();
    }
    await y.close();
    await x.close();
    return median(xs);
  };
  const connectPlainNode = [];
  const connectSecureNode = [];
  for (let r = 0; r < (full ? 3 : 0); r++) {
    connectPlainNode.push(await nodeConnect(true));
    connectSecureNode.push(await nodeConnect(false));
  }
  await broker.close();
  // Handshake CPU per side: each side's synchronous work, timed around its own steps over an
  // in-memory wire (no I/O in the figure).
  const { Duplex } = await import("node:stream");
  const wire = () => {
    let a;
    let b;
    a = new Duplex({
      read() {},
      write(c, _e, cb) {
        b.push(c);
        cb();
      },
    });
    b = new Duplex({
      read() {},
      write(c, _e, cb) {
        a.push(c);
        cb();
      },
    });
    return [a, b];
  };
  const cpuOf = {
    AESGCM: { initiator: [], responder: [] },
    ChaChaPoly: { initiator: [], responder: [] },
  };
  for (let i = 0; i < (full ? 2 * N : 2); i++) {
    const cipher = CIPHERS[i % 2];
    const cpu = cpuOf[cipher];
    const k = i >> 1;
    const [ra, rb] = wire();
    const timed = (raw, side) => {
      const emit = raw.emit.bind(raw);
      raw.emit = (ev, ...args) => {
        if (ev !== "data") return emit(ev, ...args);
        const t = process.cpuUsage();
        const r = emit(ev, ...args);
        const d = process.cpuUsage(t);
        cpu[side][k] = (cpu[side][k] ?? 0) + (d.user + d.system) / 1000;
        return r;
      };
    };
    timed(ra, "initiator");
    timed(rb, "responder");
    const t = process.cpuUsage();
    const a = new SecureStream(ra, { identity: alice, initiator: true, expect, cipher });
    const d = process.cpuUsage(t);
    cpu.initiator[k] = (d.user + d.system) / 1000;
    const b = new SecureStream(rb, { identity: bob, initiator: false });
    await Promise.all([a.ready, b.ready]);
    a.destroy();
    b.destroy();
  }

  // 2. Throughput through node pipes: the receiving node is another process (as in real use, each
  // end encrypts or decrypts on its own CPU).
  const child = fork(fileURLToPath(import.meta.url), ["receiver"], { stdio: "inherit" });
  const childPort = await new Promise((r) => child.once("message", (m) => r(m.port)));
  // P2PD_BENCH_FRESH=1: messages cycle through 16 MiB of distinct buffers (more than the CPU's
  // caches), as an application's fresh data would; by default one buffer is sent again and again.
  const fresh = process.env.P2PD_BENCH_FRESH === "1";
  const ring = new Map();
  const messagesOf = (size) => {
    if (!ring.has(size)) {
      const k = fresh ? Math.ceil((16 << 20) / size) : 1;
      ring.set(
        size,
        Array.from({ length: k }, (_, i) => Buffer.alloc(size, 0x61 + (i % 26))),
      );
    }
    return ring.get(size);
  };
  async function throughput(size, count, cipher) {
    const msgs = messagesOf(size);
    const secure = cipher !== "plain";
    child.send({ size, count, secure });
    await new Promise((r) => child.once("message", r)); // armed
    const c = connect({ port: childPort, host: "127.0.0.1", noDelay: true });
    await once(c, "connect");
    let tx;
    if (secure) {
      const a = new SecureStream(c, { identity: alice, initiator: true, expect, cipher });
      await a.ready;
      tx = wrapStream(a, pipeOpts);
    } else {
      tx = wrapSocket(c, pipeOpts);
    }
    const done = new Promise((r) => child.once("message", r));
    const t = performance.now();
    const cpu0 = process.cpuUsage();
    for (let i = 0; i < count; i++) await tx.send(msgs[i % msgs.length]);
    const { ms, cpu } = await done;
    const used = process.cpuUsage(cpu0);
    const s = (ms - (performance.timeOrigin + t)) / 1000;
    await tx.close();
    const mb = (size * count) / 1e6;
    // CPU microseconds per MB on each side: a figure the machine's load barely moves.
    return { mbs: mb / s, txCpu: (used.user + used.system) / mb, rxCpu: cpu / mb };
  }
  const rounds = Number(process.env.P2PD_BENCH_ROUNDS ?? 5);
  // Warm-up (discarded): the first runs of a process pay for JIT compilation.
  for (const mode of ["plain", "AESGCM", "ChaChaPoly"]) {
    await throughput(1024, 20_000, mode);
    await throughput(65536, 500, mode);
  }
  const tput = {};
  for (const [size, count] of [
    [1024, 100_000],
    [65536, 4000],
  ]) {
    const p = [];
    const e = { AESGCM: [], ChaChaPoly: [] };
    for (let r = 0; r < rounds; r++) {
      p.push(await throughput(size, count, "plain"));
      for (const cipher of CIPHERS) e[cipher].push(await throughput(size, count, cipher));
    }
    const m = (xs, k) => median(xs.map((x) => x[k]));
    tput[size] = {};
    for (const cipher of CIPHERS)
      tput[size][cipher] = {
        plain: m(p, "mbs"),
        secure: m(e[cipher], "mbs"),
        // Each round's secure/plain ratio (adjacent runs), then the median of those.
        ratio: median(e[cipher].map((x, i) => x.mbs / p[i].mbs)),
        cpu: {
          ptx: m(p, "txCpu"),
          prx: m(p, "rxCpu"),
          stx: m(e[cipher], "txCpu"),
          srx: m(e[cipher], "rxCpu"),
        },
      };
  }
  child.kill();
  // The floor: node:crypto's AEAD alone on full frames (one cipher per frame, as the channel
  // does), CPU per MB, in this run; each side pays it once on top of the plaintext pipe.
  const { createCipheriv } = await import("node:crypto");
  const ALG = { AESGCM: "aes-256-gcm", ChaChaPoly: "chacha20-poly1305" };
  const cipherCpuPerMb = (cipher) => {
    const key = Buffer.alloc(32, 7);
    const iv = Buffer.alloc(12);
    const frame = Buffer.alloc(65519, 0x61);
    const frames = 2000;
    const t = process.cpuUsage();
    for (let i = 0; i < frames; i++) {
      iv.writeUInt32LE(i, 4);
      const c = createCipheriv(ALG[cipher], key, iv, { authTagLength: 16 });
      c.update(frame);
      c.final();
      c.getAuthTag();
    }
    const u = process.cpuUsage(t);
    return (u.user + u.system) / ((frame.length * frames) / 1e6);
  };

  const f = (x) => x.toFixed(2);
  const load = loadavg()
    .map((x) => x.toFixed(2))
    .join(" ");
  console.log(
    `secure-channel bench (loopback, N=${N}, ${rounds} rounds, ${fresh ? "fresh 16 MiB of messages" : "one message buffer"}, node ${process.version}; load average at start ${load0}, at end ${load})`,
  );
  if (full) {
    const tcp = median(plainMs);
    for (const cipher of CIPHERS) {
      const ms = median(secureMs[cipher]);
      console.log(
        `connect: TCP ${f(tcp)} ms, TCP + Noise IK ${cipher} ${f(ms)} ms (+${f(ms - tcp)} ms)`,
      );
    }
    console.log(
      `node.connect direct: plaintext nodes ${f(median(connectPlainNode))} ms, encrypted nodes ${f(median(connectSecureNode))} ms (+${f(median(connectSecureNode) - median(connectPlainNode))} ms)`,
    );
    for (const cipher of CIPHERS)
      console.log(
        `handshake CPU per side, IK ${cipher} (median of ${N}): initiator ${f(median(cpuOf[cipher].initiator))} ms, responder ${f(median(cpuOf[cipher].responder))} ms`,
      );
  }
  for (const size of Object.keys(tput))
    for (const cipher of CIPHERS) {
      const { plain, secure, ratio, cpu } = tput[size][cipher];
      console.log(
        `throughput ${size / 1024} KiB messages, ${cipher}: plain ${f(plain)} MB/s, secure ${f(secure)} MB/s (${f(secure / plain)}x; median of per-round ratios ${f(ratio)}x)`,
      );
      console.log(
        `  CPU per MB, sender / receiver: plain ${cpu.ptx.toFixed(0)} / ${cpu.prx.toFixed(0)} us, secure ${cpu.stx.toFixed(0)} / ${cpu.srx.toFixed(0)} us (${f(cpu.ptx / cpu.stx)}x / ${f(cpu.prx / cpu.srx)}x)`,
      );
    }
  for (const cipher of CIPHERS) {
    const perMb = cipherCpuPerMb(cipher);
    const c64 = tput[65536][cipher].cpu;
    console.log(
      `node:crypto ${ALG[cipher]} on 64 KiB frames: ${perMb.toFixed(0)} us CPU per MB (${(1e6 / perMb).toFixed(0)} MB/s); with it once per side, the best secure/plain CPU ratio at 64 KiB would be ${f(c64.ptx / (c64.ptx + perMb))}x / ${f(c64.prx / (c64.prx + perMb))}x`,
    );
  }
  if (full)
    console.log(
      `memory per idle connection end: plain ${(memPlain / 1024).toFixed(1)} KiB, secure ${(memSecure / 1024).toFixed(1)} KiB`,
    );
  server.close();
}
