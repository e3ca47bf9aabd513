// Runs inside a natlab host namespace (spawned by classify.mjs): classifies N times with detectNat ("ours")
// or with a re-implementation of the reference's fixed-timeout algorithm ("reference"), one JSON line each.
//   node in-ns.mjs '{"mode":"ours"|"reference","servers":["ip:port",...],"reps":3}'
import { createSocket } from "node:dgram";
import { mkdtempSync, rmSync } from "node:fs";
import { networkInterfaces, tmpdir } from "node:os";
import { join } from "node:path";
import { classifyDelta, detectNat, NatCache, probeDelta } from "@p2pd/nat";
import { createUdpTransport, StunClient } from "@p2pd/stun";

const { mode, servers, reps = 3 } = JSON.parse(process.argv[2] ?? "{}");

// "rtt": the median round trip of 9 plain bindings to the first server (the impaired paths' RTT).
if (mode === "rtt") {
  const [host, port] = split(servers[0]);
  const sock = createSocket("udp4");
  await new Promise((r) => sock.bind(0, r));
  const client = new StunClient(createUdpTransport(sock, { owned: true }), { rto: 2000, rc: 1 });
  const rtts = [];
  for (let i = 0; i < 9; i++) {
    try {
      rtts.push((await client.binding({ host, port }, { timeoutMs: 2000 })).rtt);
    } catch {
      // lost: not a sample
    }
  }
  client.close();
  rtts.sort((a, b) => a - b);
  process.stdout.write(`${JSON.stringify({ rtt: rtts[Math.floor(rtts.length / 2)] ?? 0 })}\n`);
  process.exit(0);
}

// "cached": a restart on a known network (the cache file was written by a first run, not timed).
const cacheDir = mode === "cached" ? mkdtempSync(join(tmpdir(), "nat-bench-")) : undefined;
if (cacheDir) await detectNat({ servers, cache: cacheDir });
for (let i = 0; i < reps; i++) {
  const t0 = performance.now();
  const r =
    mode === "reference"
      ? await reference(servers)
      : await detectNat({
          servers,
          ...(cacheDir ? { cache: new NatCache({ dir: cacheDir }) } : {}),
        });
  const ms = performance.now() - t0;
  process.stdout.write(
    `${JSON.stringify({ type: r.type, delta: r.delta, ms, cached: !!r.cached })}\n`,
  );
}
if (cacheDir) rmSync(cacheDir, { recursive: true, force: true });

// P2PD's fast_nat_test (0.5 s per phase, one socket for all tests) run concurrently with its delta test,
// as load_nat does. Same servers and STUN client as ours, so only the algorithm differs.
async function reference(list) {
  const [nat, delta] = await Promise.all([refNatTest(list), refDelta(list[0])]);
  return { type: nat, delta };
}

async function refDelta(server) {
  const [host, port] = split(server);
  const r = await probeDelta({ host, port, family: 4 }, { family: 4, timeoutMs: 2000 });
  return classifyDelta(r.spread, r.consecutive);
}

async function refNatTest(list) {
  const sock = createSocket("udp4");
  await new Promise((r) => sock.bind(0, r));
  const client = new StunClient(createUdpTransport(sock, { owned: true }), {
    rto: 500,
    rc: 2,
    rm: 1,
  });
  const local = new Set(
    Object.values(networkInterfaces())
      .flat()
      .map((a) => a?.address),
  );
  const ask = async (to, opts, ms) => {
    try {
      return await client.binding(to, { ...opts, timeoutMs: ms });
    } catch {
      return undefined;
    }
  };
  try {
    // The reference knows each server's primary and secondary address up front.
    const infos = await Promise.all(
      list.map(async (s) => {
        const [host, port] = split(s);
        const r = await ask({ host, port }, {}, 2000);
        return r?.otherAddress ? { p: { host, port }, s: r.otherAddress } : undefined;
      }),
    );
    const srv = infos.filter(Boolean);
    if (!srv.length) return "blocked";
    const T = 500;
    // Phase 1: test 1 (plain) and test 2 (change ip+port); first decisive answer wins, else 0.5 s.
    const q1 = [];
    const phase1 = await firstOf(
      srv.flatMap((x) => [
        ask(x.p, {}, T).then((r) => {
          if (!r) return undefined;
          q1.push(r);
          return local.has(r.mapped.host) && r.mapped.port === sock.address().port
            ? "open-internet"
            : undefined;
        }),
        ask(x.p, { changeIp: true, changePort: true, expectFrom: x.s }, T).then((r) =>
          r ? "full-cone" : undefined,
        ),
      ]),
      T,
    );
    if (phase1) return phase1;
    // Phase 2: test 3 (plain to the secondary IP) and test 4 (change port, sent to the secondary IP).
    let verdict = "symmetric";
    const phase2 = await firstOf(
      srv.flatMap((x) => [
        ask({ host: x.s.host, port: x.p.port }, {}, T).then((r) => {
          if (
            r &&
            q1[0] &&
            r.mapped.host === q1[0].mapped.host &&
            r.mapped.port === q1[0].mapped.port
          ) {
            verdict = "port-restricted-cone";
          }
          return undefined;
        }),
        ask(
          { host: x.s.host, port: x.p.port },
          { changePort: true, expectFrom: { host: x.s.host, port: x.s.port } },
          T,
        ).then((r) => (r ? "restricted-cone" : undefined)),
      ]),
      T,
    );
    if (phase2) return phase2;
    if (!q1.length) return "blocked";
    return verdict;
  } finally {
    client.close();
  }
}

/** First non-undefined result, or undefined after `ms` (asyncio.as_completed with a timeout). */
function firstOf(promises, ms) {
  return new Promise((resolve) => {
    let left = promises.length;
    const timer = setTimeout(() => resolve(undefined), ms);
    for (const p of promises) {
      p.then((v) => {
        if (v !== undefined) {
          clearTimeout(timer);
          resolve(v);
        } else if (--left === 0) {
          // all answered without a verdict: the reference still waits for its timeout
        }
      });
    }
  });
}

function split(s) {
  const i = s.lastIndexOf(":");
  return [s.slice(0, i).replace(/^\[|\]$/g, ""), Number(s.slice(i + 1))];
}
