import { existsSync, readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { type Lab, labAvailable, startLab } from "../../../labs/natlab/lab.js";
import type { NatResult } from "../src/types.js";

// natlab's link impairment (labs/natlab: NFQUEUE + natlab-delay for delay/jitter, nft numgen for loss),
// measured from inside the lab: UDP echo round trips between two home hosts cross four impaired legs
// (a's uplink out, b's uplink in, and back), a home host to pub two. Tolerances allow for a loaded
// 2-core machine (scheduling delay only ever adds).
const why = labAvailable();
const STATE = "/tmp/natlab-li";
const ECHO_PORT = 7000;

interface Rtt {
  verdict: string;
  sent: number;
  recv: number;
  lossPct: number;
  min: number;
  median: number;
  max: number;
  reordered: number;
}

/** P(a round trip survives) = (1 - p)^legs -> expected loss in % and its binomial standard deviation. */
function expectedLoss(pct: number, legs: number, n: number): { mean: number; sd: number } {
  const q = 1 - (1 - pct / 100) ** legs;
  return { mean: q * 100, sd: (Math.sqrt(n * q * (1 - q)) / n) * 100 };
}

describe.skipIf(why)(`natlab link impairment${why ? ` (skipped: ${why})` : ""}`, () => {
  let lab: Lab;
  const helper = `${STATE}/natlab-helper.py`;

  const rtt = async (host: string, target: string, count: number, interval: number) => {
    const r = await lab.exec(
      host,
      "nice",
      [
        "-n",
        "-10",
        "python3",
        helper,
        "rtt",
        "--target",
        target,
        "--count",
        String(count),
        "--interval",
        String(interval),
        "--timeout",
        "3",
      ],
      { timeoutMs: count * interval * 1000 + 30_000 },
    );
    const line = r.stdout.trim();
    const f = (k: string) => Number(new RegExp(`${k}=([0-9.]+)`).exec(line)?.[1] ?? Number.NaN);
    const out: Rtt = {
      verdict: line.split(" ")[0] ?? "",
      sent: f("sent"),
      recv: f("recv"),
      lossPct: f("loss_pct"),
      min: f("min"),
      median: f("median"),
      max: f("max"),
      reordered: f("reordered"),
    };
    expect(out.verdict, `${line}${r.stderr}`).toBe("OK");
    return out;
  };

  beforeAll(async () => {
    lab = await startLab(["a=open", "b=open", "c=port-restricted", "d=symmetric"], {
      prefix: "li-",
      state: STATE,
      p2pdStun: false,
      profile: "40ms:5ms:1%",
    });
    lab.spawn("b1", "nice", ["-n", "-10", "python3", helper, "echo", "--port", String(ECHO_PORT)]);
    await new Promise((r) => setTimeout(r, 500));
  }, 180_000);
  afterAll(async () => {
    await lab?.stop();
  }, 60_000);

  test("the profile is applied to every home uplink and reported by info", () => {
    expect(lab.info.profiles).toEqual({
      a: { delayMs: 40, jitterMs: 5, lossPct: 1 },
      b: { delayMs: 40, jitterMs: 5, lossPct: 1 },
      c: { delayMs: 40, jitterMs: 5, lossPct: 1 },
      d: { delayMs: 40, jitterMs: 5, lossPct: 1 },
    });
    expect(lab.info.pubProfile).toEqual({ delayMs: 0, jitterMs: 0, lossPct: 0 });
  });

  test("40ms:5ms:1%: detectNat classifies right within 2 RTT + 100 ms (median of 3, hosts in parallel)", async () => {
    const dist = fileURLToPath(new URL("../dist/index.js", import.meta.url));
    if (!existsSync(dist)) throw new Error("packages/nat/dist is missing: build first");
    const script = fileURLToPath(new URL("./fixtures/detect-in-ns.mjs", import.meta.url));
    const servers = [`${lab.info.pub.ip4}:${lab.info.stun.port}`];
    const rttMs = (await rtt("c1", lab.info.echo, 20, 0.02)).median;
    const detect = async (host: string): Promise<NatResult> => {
      const r = await lab.exec(host, process.execPath, [script, JSON.stringify({ servers })], {
        timeoutMs: 20_000,
      });
      return JSON.parse(r.stdout.trim().split("\n").at(-1) ?? "{}") as NatResult;
    };
    const want: Record<string, string> = { c1: "port-restricted-cone", d1: "symmetric" };
    const runs: Record<string, NatResult[]> = { c1: [], d1: [] };
    for (let i = 0; i < 3; i++) {
      const [c, d] = await Promise.all([detect("c1"), detect("d1")]);
      runs.c1?.push(c);
      runs.d1?.push(d);
    }
    for (const [host, results] of Object.entries(runs)) {
      expect(results.map((r) => r.type)).toEqual([want[host], want[host], want[host]]);
      const ms = results.map((r) => r.ms).sort((a, b) => a - b);
      expect(ms[1], `${host}: ${ms.join(", ")} ms, RTT ${rttMs} ms`).toBeLessThanOrEqual(
        2 * rttMs + 100,
      );
    }
  }, 60_000);

  test("40ms:5ms:1%: home-to-home RTT is ~170 ms and loss ~1-(0.99)^4 over 500 round trips", async () => {
    const b1 = lab.host("b1").ip4;
    const r = await rtt("a1", `${b1}:${ECHO_PORT}`, 500, 0.01);
    expect(r.min).toBeGreaterThanOrEqual(4 * (40 - 5));
    expect(r.median).toBeGreaterThan(155);
    expect(r.median).toBeLessThan(200);
    const { mean, sd } = expectedLoss(1, 4, 500);
    expect(Math.abs(r.lossPct - mean), `loss ${r.lossPct}% vs ${mean.toFixed(2)}%`).toBeLessThan(
      4 * sd,
    );
  }, 60_000);

  test("40ms:5ms:1%: a home host behind a NAT reaches pub in ~80 ms (two legs)", async () => {
    const r = await rtt("c1", lab.info.echo, 200, 0.01);
    expect(r.min).toBeGreaterThanOrEqual(2 * (40 - 5));
    expect(r.median).toBeGreaterThan(75);
    expect(r.median).toBeLessThan(115);
  }, 60_000);

  test("jitter keeps one UDP flow in order: 300 packets 2 ms apart under +-5 ms arrive in order", async () => {
    const r = await rtt("a1", `[${lab.host("b1").ip6}]:${ECHO_PORT}`, 300, 0.002);
    expect(r.recv).toBeGreaterThan(250);
    expect(r.reordered).toBe(0);
  }, 60_000);

  test("packets are held before conntrack: a burst from one socket behind a symmetric NAT keeps one mapping", async () => {
    // 10 STUN binding requests back to back: all are queued in rd before the first is released. Were
    // they queued after conntrack, each would find no confirmed entry and get its own random port.
    const { pub, stun } = lab.info;
    const code = `
import os, socket, struct, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(3)
for i in range(10):
    s.sendto(struct.pack("!HHI", 1, 0, 0x2112A442) + os.urandom(12), (${JSON.stringify(pub.ip4)}, ${stun.port}))
ports = set()
try:
    for i in range(10):
        d = s.recv(2048); i = 20
        while i + 4 <= len(d):
            t, n = struct.unpack("!HH", d[i:i + 4])
            if t == 0x20: ports.add(struct.unpack("!H", d[i + 6:i + 8])[0] ^ 0x2112)
            i += 4 + ((n + 3) & ~3)
except socket.timeout:
    pass
print(" ".join(str(p) for p in sorted(ports)))
`;
    const r = await lab.exec("d1", "python3", ["-c", code], { timeoutMs: 20_000 });
    const ports = r.stdout.trim().split(" ").filter(Boolean);
    expect(ports.length, r.stdout + r.stderr).toBe(1);
  }, 30_000);

  test("jitter keeps one TCP connection in order: no out-of-order segment at either end", async () => {
    await lab.impair("40ms:5ms:0%"); // without loss, so any out-of-order segment is reordering
    const ofo = async (host: string) => {
      const r = await lab.exec(host, "cat", ["/proc/net/netstat"]);
      const [head, vals] = r.stdout.split("\n").filter((l) => l.startsWith("TcpExt:"));
      const i = (head ?? "").split(" ").indexOf("TCPOFOQueue");
      return Number((vals ?? "").split(" ")[i]);
    };
    const before = [await ofo("a1"), await ofo("b1")];
    const code = `
import socket, threading
c = socket.create_connection((${JSON.stringify(lab.host("b1").ip4)}, ${ECHO_PORT}), timeout=30)
data = bytes(range(256)) * 4096           # 1 MiB, sent while the echo comes back
threading.Thread(target=c.sendall, args=(data,), daemon=True).start()
got = bytearray()
while len(got) < len(data):
    chunk = c.recv(1 << 20)
    if not chunk:
        break
    got += chunk
print("OK" if bytes(got) == data else "MISMATCH", len(got))
`;
    const r = await lab.exec("a1", "python3", ["-c", code], { timeoutMs: 60_000 });
    expect(r.stdout.trim(), r.stderr).toBe(`OK ${1 << 20}`);
    const after = [await ofo("a1"), await ofo("b1")];
    expect(after).toEqual(before);
    // and the profile changed at run time: a and b lost no packet of 200 round trips
    const u = await rtt("a1", `${lab.host("b1").ip4}:${ECHO_PORT}`, 200, 0.01);
    expect(u.lossPct).toBe(0);
    expect(u.median).toBeGreaterThan(155);
  }, 90_000);

  test("impair(): 'bad' (150ms:20ms:3%) at run time: RTT ~600 ms, loss ~1-(0.97)^4", async () => {
    await lab.impair("bad");
    expect(lab.info.profiles.a).toEqual({ delayMs: 150, jitterMs: 20, lossPct: 3 });
    const r = await rtt("a1", `${lab.host("b1").ip4}:${ECHO_PORT}`, 300, 0.01);
    expect(r.min).toBeGreaterThanOrEqual(4 * (150 - 20));
    expect(r.median).toBeGreaterThan(580);
    expect(r.median).toBeLessThan(680);
    const { mean, sd } = expectedLoss(3, 4, 300);
    expect(Math.abs(r.lossPct - mean), `loss ${r.lossPct}% vs ${mean.toFixed(2)}%`).toBeLessThan(
      4 * sd,
    );
  }, 60_000);

  test("pub's own link: 20ms:0ms:10% adds ~40 ms and ~19% loss (its output loss too)", async () => {
    await lab.impair("none");
    await lab.impair("20ms:0ms:10%", ["pub"]);
    expect(lab.info.pubProfile).toEqual({ delayMs: 20, jitterMs: 0, lossPct: 10 });
    const r = await rtt("c1", lab.info.echo, 400, 0.01);
    expect(r.min).toBeGreaterThanOrEqual(40);
    expect(r.median).toBeLessThan(70);
    const { mean, sd } = expectedLoss(10, 2, 400);
    expect(Math.abs(r.lossPct - mean), `loss ${r.lossPct}% vs ${mean.toFixed(2)}%`).toBeLessThan(
      4 * sd,
    );
  }, 60_000);

  test("'none' removes every delay: RTT back under 20 ms, no loss", async () => {
    await lab.impair("none", ["pub"]);
    const r = await rtt("a1", `${lab.host("b1").ip4}:${ECHO_PORT}`, 100, 0.01);
    expect(r.lossPct).toBe(0);
    expect(r.median).toBeLessThan(20);
    const left = await lab.exec("ra", "iptables-save", ["-t", "raw"]);
    expect(left.stdout).not.toContain("NFQUEUE");
  }, 60_000);

  test("natlab down stops every natlab-delay of the lab", async () => {
    await lab.impair("10ms:0ms:0%");
    const delays = () =>
      readdirSync("/proc")
        .filter((p) => /^\d+$/.test(p))
        .filter((p) => {
          try {
            return readFileSync(`/proc/${p}/cmdline`, "utf8").startsWith(`${STATE}/natlab-delay`);
          } catch {
            return false;
          }
        });
    expect(delays().length).toBe(4); // ra, rb, rc, rd
    await lab.stop();
    expect(delays()).toEqual([]);
  }, 60_000);
});
