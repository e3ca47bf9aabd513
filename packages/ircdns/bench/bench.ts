// IRCDNS benchmark on the three-network lab (loopback only): time to register, store and look up a
// name, against (a) a bare IRC connect measured in the same run and (b) the reference's timeouts.
import { randomBytes } from "node:crypto";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { labMissing, startLab } from "../../../labs/irc-lab/lab.js";
import { deriveChannel, IRCDNS } from "../src/index.js";

const RUNS = Number(process.env.IRCDNS_BENCH_RUNS ?? 3);

/** Reference budgets (spec 7.4): start 60 s (4 s TCP + 30 s MOTD + 15 s login), INFO 10 s, set topic 10 s,
 *  read topic 5 s; its lookup of an empty channel always waits the full 5 s (it ignores 331 + TOPIC). */
const REF = {
  register: 60_000 + 10_000 + 10_000,
  store: 60_000 + 10_000,
  lookupCold: 4_000 + 30_000 + 5_000,
  lookupWarm: 5_000,
};

/** Bare IRC: TCP connect, NICK/USER, wait for 001, QUIT. The floor under every operation. */
function bareConnect(port: number): Promise<number> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const s = connect(port, "127.0.0.1");
    const nick = `b${randomBytes(4).toString("hex")}`;
    let buf = "";
    s.on("connect", () => s.write(`NICK ${nick}\r\nUSER ${nick} 0 * :b\r\n`));
    s.on("data", (d) => {
      buf += d;
      if (/ 001 /.test(buf)) {
        const ms = performance.now() - t0;
        s.end("QUIT :bench\r\n");
        resolve(ms);
      }
      if (/^PING (.*)$/m.test(buf)) s.write(`PONG ${/^PING (.*)$/m.exec(buf)?.[1]}\r\n`);
    });
    s.on("error", reject);
    setTimeout(() => reject(new Error("bare connect timeout")), 20_000).unref();
  });
}

/**
 * The reference's read path replayed on raw sockets (spec 7.1/7.3): register, wait for the end of the
 * MOTD, JOIN, TOPIC, then accept only 332 within 5 s. On an empty registered channel the server answers
 * 331 and services restore the topic with a TOPIC message, which the reference ignores.
 * Resolves with the time until F+1 = 2 servers gave a 332 (or all gave up) and how many did.
 */
async function referenceLookup(
  ports: number[],
  name: readonly [string, string, string],
): Promise<{ ms: number; found: number }> {
  const t0 = performance.now();
  let found = 0;
  let settled = 0;
  return new Promise((resolve) => {
    const finish = () => resolve({ ms: performance.now() - t0, found });
    for (const port of ports) {
      const chan = deriveChannel(name[0], name[1], name[2], `127.0.0.1:${port}`).chan;
      const s = connect(port, "127.0.0.1");
      const nick = `r${randomBytes(4).toString("hex")}`;
      let buf = "";
      let timer: NodeJS.Timeout | undefined;
      let over = false;
      const done = (ok: boolean) => {
        if (over) return;
        over = true;
        clearTimeout(timer);
        s.end("QUIT :bench\r\n");
        if (ok) found++;
        settled++;
        if (found >= 2 || settled === ports.length) finish();
      };
      s.on("connect", () => s.write(`NICK ${nick}\r\nUSER ${nick} 0 * :r\r\n`));
      s.on("data", (d) => {
        buf += d;
        let i = buf.indexOf("\n");
        while (i >= 0) {
          const line = buf.slice(0, i);
          buf = buf.slice(i + 1);
          i = buf.indexOf("\n");
          if (line.startsWith("PING ")) s.write(`PONG ${line.slice(5)}\r\n`);
          else if (/ 376 | 422 /.test(line) && timer === undefined) {
            s.write(`JOIN ${chan}\r\nTOPIC ${chan}\r\n`);
            timer = setTimeout(() => done(false), 5000);
          } else if (new RegExp(` 332 \\S+ ${chan} `).test(line) && timer !== undefined) done(true);
        }
      });
      s.on("error", () => done(false));
    }
  });
}

const median = (xs: number[]) =>
  [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;

async function main(): Promise<void> {
  const missing = labMissing();
  if (missing) {
    console.log(`skipped: ${missing}`);
    return;
  }
  const lab = await startLab({
    dir: join(tmpdir(), `ircdns-lab-bench-${process.pid}`),
    portOffset: -11500,
  });
  const rows: Array<[string, number[], number]> = [];
  try {
    const bare: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const all = await Promise.all(lab.networks.map((n) => bareConnect(n.port)));
      bare.push(Math.max(...all));
    }
    const reg: number[] = [];
    const store: number[] = [];
    const cold: number[] = [];
    const warm: number[] = [];
    const ref: number[] = [];
    let refFound = 0;
    for (let i = 0; i < RUNS; i++) {
      // A fresh seed each run: NickServ registration is part of the cost, as for a new user.
      const seed = randomBytes(32);
      const name = [`bench${i}`, `b${randomBytes(3).toString("hex")}`, ""] as const;
      const dns = await IRCDNS.start({ seed, servers: lab.serverList, cacheDir: false });
      let t = performance.now();
      await dns.register(name);
      reg.push(performance.now() - t);
      t = performance.now();
      await dns.store(`198.51.100.${i}:4000`, name);
      store.push(performance.now() - t);
      await dns.close();
      const reader = await IRCDNS.start({ servers: lab.serverList });
      t = performance.now();
      await reader.lookup(name);
      cold.push(performance.now() - t);
      t = performance.now();
      await reader.lookup(name);
      warm.push(performance.now() - t);
      await reader.close();
      const r = await referenceLookup(
        lab.networks.map((n) => n.port),
        name,
      );
      ref.push(r.ms);
      refFound += r.found;
    }
    const b = median(bare);
    rows.push(["bare IRC connect (baseline)", bare, Number.NaN]);
    rows.push(["register (new nick + channel)", reg, REF.register]);
    rows.push(["store value", store, REF.store]);
    rows.push(["lookup, cold (connect + read)", cold, REF.lookupCold]);
    rows.push(["lookup, warm (session reused)", warm, REF.lookupWarm]);
    rows.push([`reference read path (332 only)`, ref, Number.NaN]);
    const pad = (s: string, n: number) => s.padEnd(n);
    console.log(
      `\nIRCDNS on 3 lab networks (InspIRCd+Anope, InspIRCd+Atheme, ngIRCd+Anope), ${RUNS} runs, median`,
    );
    console.log(
      `${pad("operation", 32)}${pad("median ms", 11)}${pad("x baseline", 12)}${pad("ref budget ms", 15)}ref/ours`,
    );
    for (const [op, xs, ref] of rows) {
      const m = median(xs);
      console.log(
        `${pad(op, 32)}${pad(m.toFixed(0), 11)}${pad((m / b).toFixed(1), 12)}${pad(Number.isNaN(ref) ? "-" : String(ref), 15)}${
          Number.isNaN(ref) ? "-" : (ref / m).toFixed(1)
        }`,
      );
    }
    const refMs = median(ref);
    console.log(
      `\nreference read path replayed on the same channels: ${refFound} of ${RUNS * lab.networks.length} reads got a 332 ` +
        `(it ignores 331 + the services' TOPIC), median ${refMs.toFixed(0)} ms = ${(refMs / median(cold)).toFixed(1)}x our cold lookup`,
    );
  } finally {
    await lab.stop();
  }
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
