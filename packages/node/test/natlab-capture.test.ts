import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { mkdirSync, readFileSync, rmSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { labUnavailable, type NodeLab, type Served, startNodeLab } from "./lab/harness.js";

// Issue 15's wiretap test: tcpdump in a namespace the traffic crosses (the internet router
// between two home networks, the TURN relay's host) records a node connection while a known
// message goes there and back; the capture must not contain it. Control: the same run with
// plaintext nodes (`insecure: true`) must contain it, so the capture method is proven to see it.
// Runs under the lab lock (flock -o /tmp/p2pd-lab.lock).

const why = labUnavailable() ?? (tcpdumpMissing() ? "needs tcpdump (.ci/apt-packages)" : undefined);
const STATE = "/tmp/natlab-ncap";
let nl: NodeLab;
let secureA1: Served;
let plainA1: Served;

function tcpdumpMissing(): boolean {
  try {
    readFileSync("/usr/bin/tcpdump");
    return false;
  } catch {
    try {
      readFileSync("/usr/sbin/tcpdump");
      return false;
    } catch {
      return true;
    }
  }
}

/** The packets of a pcap file (any link type), as captured. */
function pcapPackets(file: Buffer): Buffer[] {
  const le = file.readUInt32LE(0) === 0xa1b2c3d4;
  const out: Buffer[] = [];
  let o = 24; // global header
  while (o + 16 <= file.length) {
    const incl = le ? file.readUInt32LE(o + 8) : file.readUInt32BE(o + 8);
    out.push(file.subarray(o + 16, o + 16 + incl));
    o += 16 + incl;
  }
  return out;
}

/** Packets to or from an IPv4 address (its 4 bytes anywhere in the packet: headers included). */
function packetsOf(file: Buffer, ip4: string): Buffer[] {
  const ip = Buffer.from(ip4.split(".").map(Number));
  return pcapPackets(file).filter((p) => p.includes(ip));
}

/** Runs tcpdump on every interface of `ns` around `fn`; resolves with the raw capture. */
async function capture(ns: string, name: string, fn: () => Promise<void>): Promise<Buffer> {
  const file = `${STATE}-pcap/${name}.pcap`;
  const td = nl.lab.spawn(ns, "tcpdump", [
    "-i",
    "any",
    "-n",
    "--immediate-mode", // each packet reaches the file at once, not when a ring block fills
    "-U",
    "-s",
    "0",
    "-w",
    file,
  ]);
  let err = "";
  await new Promise<void>((resolve, reject) => {
    td.stderr?.on("data", (d: Buffer) => {
      err += d;
      if (err.includes("listening on")) resolve();
    });
    td.once("close", (code) => reject(new Error(`tcpdump exited (${code}): ${err}`)));
  });
  try {
    await fn();
  } finally {
    await new Promise((r) => setTimeout(r, 300)); // the last packets' way into the file
    const closed = once(td, "close");
    td.kill("SIGINT"); // tcpdump flushes and closes the file
    await closed;
  }
  return readFileSync(file);
}

describe.skipIf(why !== undefined)("a wiretap between two nodes (natlab, prefix nx-)", () => {
  beforeAll(async () => {
    rmSync(`${STATE}-pcap`, { recursive: true, force: true });
    mkdirSync(`${STATE}-pcap`, { recursive: true });
    nl = await startNodeLab({
      scenarios: ["a=open", "b=port-restricted"],
      prefix: "nx-",
      state: STATE,
      outDir: "capture",
    });
    [secureA1, plainA1] = await Promise.all([nl.serve("a1"), nl.serve("a1", ["--insecure"])]);
  }, 180_000);

  afterAll(async () => {
    await nl?.stop();
    rmSync(`${STATE}-pcap`, { recursive: true, force: true });
  }, 60_000);

  // direct: b1 (behind its NAT) dials a1; the internet router between them records.
  // turn: the same connection through the TURN relay on `pub`; the relay's host records.
  const paths = [
    { strategy: "direct", ns: "inet" },
    { strategy: "turn", ns: "pub" },
  ] as const;

  for (const { strategy, ns } of paths) {
    test(`${strategy}: the capture in ${ns} holds the connection but not the message; with plaintext nodes it does`, async () => {
      const runs: Record<string, { pcap: Buffer; marker: Buffer }> = {};
      for (const mode of ["secure", "insecure"] as const) {
        const marker = Buffer.from(`p2pd wiretap marker ${randomBytes(12).toString("hex")}`);
        const to = mode === "secure" ? secureA1 : plainA1;
        const pcap = await capture(ns, `${strategy}-${mode}`, async () => {
          const r = await nl.connectFrom("b1", to.addr, [
            "--family",
            "4",
            "--strategies",
            strategy,
            "--send",
            marker.toString(),
            ...(mode === "insecure" ? ["--insecure"] : []),
          ]);
          expect(r).toMatchObject({ strategy, echo: true, sent: true });
        });
        runs[mode] = { pcap, marker };
      }
      const sec = runs.secure as { pcap: Buffer; marker: Buffer };
      const plain = runs.insecure as { pcap: Buffer; marker: Buffer };
      // The encrypted run's capture saw a1's side of the connection (handshake, ID, two ECHOs)...
      const seen = packetsOf(sec.pcap, nl.lab.host("a1").ip4);
      expect(seen.length).toBeGreaterThan(10);
      expect(seen.reduce((n, p) => n + p.length, 0)).toBeGreaterThan(4 * sec.marker.length);
      // ...and holds no copy of the message, nor of its longest half.
      expect(sec.pcap.includes(sec.marker)).toBe(false);
      expect(sec.pcap.includes(sec.marker.subarray(sec.marker.length / 2))).toBe(false);
      // Control: the same capture of plaintext nodes has it, both ways (sent and echoed).
      const first = plain.pcap.indexOf(plain.marker);
      expect(first).toBeGreaterThan(0);
      expect(plain.pcap.indexOf(plain.marker, first + 1)).toBeGreaterThan(first);
    }, 120_000);
  }
});
