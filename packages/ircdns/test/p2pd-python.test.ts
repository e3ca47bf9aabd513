// Names resolve both ways between P2PD's own IRCDNS (the Python reference, irc_dns.py) and ours, on
// the three-network IRC lab on loopback. P2PD's sessions, channels and quorum code run unchanged
// (helpers/py/ref_ircdns.py swaps only the transport: plain loopback instead of TLS on 6697).
import { execFile, execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { type Lab, labMissing, startLab } from "../../../labs/irc-lab/lab.js";
import { deriveSigningKey } from "../src/derive.js";
import { IRCDNS } from "../src/ircdns.js";
import { signerId } from "../src/topic.js";

const REF = "/work/shared/reference/p2pd-python";
const PY = "/usr/bin/python3";
const HELPERS = join(import.meta.dirname, "helpers", "py");
/** Ports 5867-26200: see labs/irc-lab/README.md for the offsets other suites use. */
const LAB_OFFSET = -10800;

/**
 * P2PD deleted IRCDNS upstream (adf8339, 2024-06-22), so the pinned reference (430a323) has no
 * irc_dns.py: P2PD_IRCDNS_REF names a folder holding `p2pd/irc_dns.py` from a P2PD with IRCDNS
 * (65b0100, its last version). The vendored MQTT client it imports comes from the pinned reference.
 */
function findReference(): { path?: string; skip?: string } {
  const vendor = join(REF, "src", "p2pd", "vendor");
  if (!existsSync(vendor)) return { skip: `${REF} (the Python P2PD reference) is missing` };
  for (const dir of [process.env.P2PD_IRCDNS_REF, join(REF, "src")]) {
    if (dir && existsSync(join(dir, "p2pd", "irc_dns.py"))) return { path: dir };
  }
  return {
    skip:
      `${REF} has no p2pd/irc_dns.py (P2PD removed IRCDNS in adf8339; the pinned commit is later): ` +
      "set P2PD_IRCDNS_REF to a folder with p2pd/ from P2PD 65b0100",
  };
}

const ref = findReference();
const env = () => ({
  ...process.env,
  PYTHONPATH: [HELPERS, ref.path, join(REF, "src", "p2pd", "vendor")].join(":"),
  HOME: mkdtempSync(join(tmpdir(), "p2pd-ref-home-")), // the reference's SQLite file goes to ~
});
function pythonMissing(): string | undefined {
  if (ref.skip) return ref.skip;
  try {
    execFileSync(PY, ["-c", "import p2pd.irc_dns"], { env: env(), stdio: "pipe" });
    return undefined;
  } catch (e) {
    const err = String((e as { stderr?: Buffer }).stderr ?? e)
      .trim()
      .split("\n")
      .at(-1);
    return `P2PD's irc_dns.py does not import (${err}); Debian packages in .ci/apt-packages`;
  }
}
const skip = labMissing() ?? pythonMissing();
if (skip) console.warn(`skipping P2PD IRCDNS interop: ${skip}`);

function reference(req: Record<string, unknown>): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      PY,
      [join(HELPERS, "ref_ircdns.py")],
      { env: env(), timeout: 150_000 },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`ref_ircdns.py: ${err.message}\n${stderr.slice(-2000)}`));
        else resolve(JSON.parse(stdout));
      },
    );
    child.stdin?.end(JSON.stringify(req));
  });
}

let lab: Lab;
const tag = randomBytes(3).toString("hex");

beforeAll(async () => {
  if (skip) return;
  lab = await startLab({
    dir: join(tmpdir(), `ircdns-p2pd-py-${process.pid}`),
    portOffset: LAB_OFFSET,
    profile: "relaxed", // P2PD sends its service commands 0.1 s apart, past Atheme's stock flood limit
  });
}, 120_000);
afterAll(async () => {
  await lab?.stop();
}, 60_000);

describe.skipIf(skip)("P2PD's IRCDNS (Python) and ours on the lab", () => {
  // Both name each network by its server name, so both derive the same channels.
  const ours = () => lab.networks.map((n) => `127.0.0.1:${n.port}#${n.serverName}`);
  const theirs = () =>
    lab.networks.map((n) => ({ domain: n.serverName, host: "127.0.0.1", port: n.port }));

  test("a name registered by P2PD's IRCDNS is looked up by ours", async () => {
    const seed = randomBytes(32);
    const name = ["my awesome name", `cats${tag}`, ""] as const;
    const out = await reference({
      op: "register",
      servers: theirs(),
      seed_hex: seed.toString("hex"),
      name: name[0],
      tld: name[1],
      pw: name[2],
      value: "203.0.113.9:7000",
    });
    expect(out.error).toBeUndefined();
    const records = out.records as { domain: string; status: number }[];
    expect(records.map((r) => r.status)).toEqual([0, 0, 0]); // IRC_REGISTER_SUCCESS everywhere
    // P2PD has left: every channel is empty, the topic is restored by services on our JOIN.
    const dns = await IRCDNS.start({ servers: ours(), cacheDir: false });
    try {
      const r = await dns.lookup(name);
      expect(r.value).toBe("203.0.113.9:7000");
      expect(r.agreeing.length).toBe(3);
      expect(r.signer).toBe(signerId(deriveSigningKey(name[0], name[1], name[2], seed).priv));
    } finally {
      await dns.close();
    }
  }, 180_000);

  test("a name registered by ours (UTF-8, spaces, a password) is looked up by P2PD's", async () => {
    const seed = randomBytes(32);
    const name = ["café crème", `node${tag}`, "pw with spaces"] as const;
    const dns = await IRCDNS.start({ seed, servers: ours(), cacheDir: false });
    try {
      expect((await dns.register(name)).succeeded).toBe(3);
      expect((await dns.store("198.51.100.4:4242", name)).succeeded).toBe(3);
      // P2PD's lookup waits for 332 only (spec 12.1.5), which servers send while someone is in the
      // channel: our sessions still are, until close().
      const out = await reference({
        op: "lookup",
        servers: theirs(),
        seed_hex: randomBytes(32).toString("hex"),
        name: name[0],
        tld: name[1],
        pw: name[2],
      });
      expect(out.error).toBeUndefined();
      expect(out.msg).toBe("198.51.100.4:4242");
      expect(out.ids).toContain(signerId(deriveSigningKey(name[0], name[1], name[2], seed).priv));
    } finally {
      await dns.close();
    }
  }, 180_000);
});
