// IRCDNS benchmark on the three-network lab (loopback only): time to register, store and look up a
// name, against (a) a bare IRC connect measured in the same run and (b) the reference's timeouts.
import { randomBytes } from "node:crypto";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { labMissing, startLab } from "../../../labs/irc-lab/lab.js";
import { IRCDNS } from "../src/index.js";

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
    portOffset: -7000,
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
    }
    const b = median(bare);
    rows.push(["bare IRC connect (baseline)", bare, Number.NaN]);
    rows.push(["register (new nick + channel)", reg, REF.register]);
    rows.push(["store value", store, REF.store]);
    rows.push(["lookup, cold (connect + read)", cold, REF.lookupCold]);
    rows.push(["lookup, warm (session reused)", warm, REF.lookupWarm]);
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
  } finally {
    await lab.stop();
  }
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
