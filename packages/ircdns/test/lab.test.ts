// Integration against real IRC networks (labs/irc-lab: InspIRCd+Anope, InspIRCd+Atheme, ngIRCd+Anope),
// plus a down network and a lying one. Runs only on loopback.
import { randomBytes, X509Certificate } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { type Socket, connect as tcpConnect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { type Lab, labMissing, startLab } from "../../../labs/irc-lab/lab.js";
import { deriveAccount, deriveChannel, deriveSigningKey } from "../src/derive.js";
import {
  AbortedError,
  NameTakenError,
  NoQuorumError,
  NotFoundError,
  ValueTooLargeError,
} from "../src/errors.js";
import { IRCDNS } from "../src/ircdns.js";
import { packTopic, signerId } from "../src/topic.js";
import { deadPort, type FakeIrcd, startFakeIrcd } from "./helpers/fake-ircd.js";

/** A plain client that sits on `nick` (registered with the server, never identified). */
function squat(port: number, nick: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const sock = tcpConnect(port, "127.0.0.1");
    let buf = "";
    sock.on("connect", () => sock.write(`NICK ${nick}\r\nUSER squat 0 * :squatter\r\n`));
    sock.on("data", (d) => {
      buf += d;
      const ping = /^PING (.*)$/m.exec(buf);
      if (ping) sock.write(`PONG ${ping[1]}\r\n`);
      if (/ 001 /.test(buf)) resolve(sock);
      if (/ 433 /.test(buf)) reject(new Error("squat failed: nick in use"));
    });
    sock.on("error", reject);
  });
}

const skip = labMissing();
/** Ports 6167-26500: see labs/irc-lab/README.md for the offsets other suites use. */
const LAB_OFFSET = -10500;
let lab: Lab;
const cacheDir = mkdtempSync(join(tmpdir(), "ircdns-cache-"));
const tag = randomBytes(3).toString("hex");
const seedA = randomBytes(32);

beforeAll(async () => {
  if (skip) return;
  lab = await startLab({
    dir: join(tmpdir(), `ircdns-lab-test-${process.pid}`),
    portOffset: LAB_OFFSET,
  });
}, 120_000);
afterAll(async () => {
  await lab?.stop();
}, 60_000);

describe.skipIf(skip)("IRCDNS on the three-network lab", () => {
  const name = ["alice", `t${tag}`, ""] as const;

  test("starting the running lab again keeps its daemons (idempotent start)", async () => {
    const pids = () =>
      readdirSync(join(lab.dir, "run"))
        .sort()
        .map((f) => `${f}=${readFileSync(join(lab.dir, "run", f), "utf8").trim()}`);
    const before = pids();
    expect(before).toHaveLength(6);
    const again = await startLab({ dir: lab.dir, portOffset: LAB_OFFSET, fresh: false });
    expect(again.serverList).toBe(lab.serverList);
    expect(pids()).toEqual(before);
  }, 60_000);

  test("register, store, lookup round trip; a second reader agrees", async () => {
    // Trace what is sent: modern services must get the modern ChanServ forms, never a password.
    const sent: string[] = [];
    const traced = process.env.IRCDNS_TRACE;
    process.env.IRCDNS_TRACE = "1";
    const dns = await IRCDNS.start({
      seed: seedA,
      servers: lab.serverList,
      cacheDir,
      log: (m) => {
        if (m.includes(" >> ")) sent.push(m.slice(m.indexOf(" >> ") + 4));
      },
    });
    try {
      const reg = await dns.register(name);
      expect(reg.succeeded, JSON.stringify(reg.servers)).toBe(3);
      // Services packages are told apart from ChanServ's wording.
      expect(reg.servers.map((s) => s.services)).toEqual(lab.networks.map((n) => n.services));
      expect(reg.servers.every((s) => s.ok && /^#[0-9a-z]{1,31}$/.test(s.chan))).toBe(true);
      const st = await dns.store("1.2.3.4:5000 v1", name);
      expect(st.succeeded).toBe(3);
      const chanServ = sent.filter((l) => l.startsWith("PRIVMSG ChanServ :"));
      const registers = chanServ.filter((l) => / :REGISTER /.test(l));
      expect(registers).toHaveLength(3);
      for (const l of registers) expect(l).toMatch(/^PRIVMSG ChanServ :REGISTER #[0-9a-z]+$/);
      expect(chanServ.filter((l) => / :TOPIC #\S+ p2pd\.net\/irc /.test(l))).toHaveLength(3);
      expect(chanServ.filter((l) => /:SET \S+ TOPIC /.test(l))).toEqual([]);
    } finally {
      if (traced === undefined) delete process.env.IRCDNS_TRACE;
      else process.env.IRCDNS_TRACE = traced;
      await dns.close();
    }
    const reader = await IRCDNS.start({ servers: lab.serverList });
    try {
      // Two lookups of one name at once on one instance, on the same connections.
      const [got, twin] = await Promise.all([reader.lookup(name), reader.lookup(name)]);
      expect(twin.value).toBe("1.2.3.4:5000 v1");
      expect(twin.agreeing.length).toBe(3);
      expect(got.value).toBe("1.2.3.4:5000 v1");
      expect(got.agreeing.length).toBe(3);
      expect(got.signer).toBe(signerId(deriveSigningKey(name[0], name[1], name[2], seedA).priv));
    } finally {
      await reader.close();
    }
    // The JSON cache records the channels but never the seed or passwords.
    const file = readdirSync(cacheDir).find((f) => f.endsWith(".json")) as string;
    const text = readFileSync(join(cacheDir, file), "utf8");
    expect(JSON.parse(text).channels).toBeTypeOf("object");
    expect(text).not.toContain(seedA.toString("hex"));
  }, 90_000);

  test("another seed cannot take the name; unknown names are not found", async () => {
    const other = await IRCDNS.start({
      seed: randomBytes(24),
      servers: lab.serverList,
      cacheDir: false,
    });
    try {
      // Both at once on the same sessions: Anope's "Founder:" line does not name the channel, so INFO
      // replies must not be attributed to the other request (reference bug, spec 12.1 item 8).
      const free = ["free", `t${tag}`, ""] as const;
      const [taken, won] = await Promise.allSettled([other.register(name), other.register(free)]);
      expect(taken.status === "rejected" && taken.reason).toBeInstanceOf(NameTakenError);
      expect(won.status === "fulfilled" && won.value.succeeded).toBe(3);
      await expect(other.lookup(["nobody", `t${tag}`])).rejects.toBeInstanceOf(NotFoundError);
    } finally {
      await other.close();
    }
  }, 90_000);

  test("topic limits: too large for every server, and too large for alpha only", async () => {
    const dns = await IRCDNS.start({ seed: seedA, servers: lab.serverList, cacheDir });
    try {
      await expect(dns.store("x".repeat(400), name)).rejects.toMatchObject({
        code: "ERR_IRCDNS_VALUE_TOO_LARGE",
      });
      // 200 bytes fit beta (TOPICLEN 390) and gamma (490, capped at 376) but not alpha (307): 2 of 3 suffice.
      const big = "y".repeat(200);
      const st = await dns.store(big, name);
      expect(st.succeeded).toBe(2);
      const alpha = st.servers.find((s) => !s.ok);
      expect(alpha?.error?.code).toBe("ERR_IRCDNS_VALUE_TOO_LARGE");
      // Alpha still has the older value; the newest signed value wins.
      const got = await dns.lookup(name);
      expect(got.value).toBe(big);
      expect(got.agreeing.length).toBeGreaterThanOrEqual(2);
    } finally {
      await dns.close();
    }
    await expect(
      (async () => {
        const d = await IRCDNS.start({ seed: seedA, servers: lab.serverList, cacheDir: false });
        try {
          await d.store("z".repeat(300), name);
        } finally {
          await d.close();
        }
      })(),
    ).rejects.toBeInstanceOf(ValueTooLargeError);
  }, 90_000);

  test("cached account: SASL on InspIRCd, IDENTIFY on ngIRCd; refresh re-joins channels", async () => {
    const logs: string[] = [];
    const dns = await IRCDNS.start({
      seed: seedA,
      servers: lab.serverList,
      cacheDir,
      log: (m) => logs.push(m),
    });
    try {
      // Registering again with the same seed is a no-op success ("mine" everywhere); the cached account
      // logs in with SASL on InspIRCd and falls back to NickServ IDENTIFY on ngIRCd.
      const again = await dns.register(name);
      expect(again.succeeded).toBe(3);
      const how = lab.networks.map((n) =>
        logs.find((l) => l.startsWith(`127.0.0.1:${n.port}: logged in`)),
      );
      expect(how).toEqual(
        lab.networks.map(
          (n) => `127.0.0.1:${n.port}: logged in (${n.ircd === "ngircd" ? "identified" : "sasl"})`,
        ),
      );
      expect(await dns.refresh()).toEqual({ refreshed: 0, failed: 0 }); // all refreshed less than a week ago
      const r = await dns.refresh({ maxAgeMs: 0 });
      expect(r.failed).toBe(0);
      expect(r.refreshed).toBeGreaterThanOrEqual(3);
    } finally {
      await dns.close();
    }
  }, 60_000);

  test("someone squatting our nick: log in to the account from another nick", async () => {
    // alpha (InspIRCd: SASL) and gamma (ngIRCd: NickServ IDENTIFY <account> <password>)
    const targets = lab.networks.filter((n) => n.name !== "beta");
    const squatters = await Promise.all(
      targets.map((n) => squat(n.port, deriveAccount(seedA, `127.0.0.1:${n.port}`).nick)),
    );
    const dns = await IRCDNS.start({ seed: seedA, servers: lab.serverList, cacheDir });
    try {
      const st = await dns.store("still mine", name);
      expect(st.succeeded, JSON.stringify(st.servers)).toBe(3);
      expect((await dns.lookup(name)).value).toBe("still mine");
    } finally {
      await dns.close();
      for (const s of squatters) s.destroy();
    }
  }, 60_000);

  test("won on too few servers: the won channels are dropped again (Anope and Atheme)", async () => {
    const refusers = await Promise.all(
      [0, 1, 2].map(() => startFakeIrcd({ refuseRegister: true })),
    );
    const real = lab.networks.filter((n) => n.name !== "gamma").map((n) => `127.0.0.1:${n.port}`);
    const nm = ["minority", `t${tag}`, ""] as const;
    try {
      const dns = await IRCDNS.start({
        seed: randomBytes(32),
        servers: [...real, ...refusers.map((f) => `127.0.0.1:${f.port}`)],
        cacheDir: false,
      });
      try {
        const err = await dns.register(nm).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(NoQuorumError);
        expect((err as NoQuorumError).message).toContain("ERR_IRCDNS_RELEASED");
      } finally {
        await dns.close();
      }
      // Released: someone else can now register the name on those two networks.
      const other = await IRCDNS.start({ seed: randomBytes(32), servers: real, cacheDir: false });
      try {
        expect((await other.register(nm)).succeeded).toBe(2);
      } finally {
        await other.close();
      }
    } finally {
      await Promise.all(refusers.map((f) => f.close()));
    }
  }, 90_000);

  test("an aborted signal stops an operation with AbortedError", async () => {
    const dns = await IRCDNS.start({ servers: lab.serverList });
    try {
      await expect(dns.lookup(name, { signal: AbortSignal.abort() })).rejects.toBeInstanceOf(
        AbortedError,
      );
    } finally {
      await dns.close();
    }
  });

  test("one network, three addresses: plain v4, TLS, IPv6 share a #domain", async () => {
    const list = (fmt: (n: (typeof lab.networks)[0]) => string) =>
      lab.networks.map((n) => `${fmt(n)}#irc.${n.name}.lab`).join(",");
    const plain = list((n) => `127.0.0.1:${n.port}`);
    const tls = list((n) => `ircs://127.0.0.1:${n.tlsPort}`);
    const v6 = list((n) => `[::1]:${n.port}`);
    // The lab's certificate is self-signed: trusted as a CA here, pinned by fingerprint below.
    const labCert = readFileSync(join(lab.dir, "tls", "cert.pem"), "utf8");
    const pin = new X509Certificate(labCert).fingerprint256;
    const tlsPinned = list((n) => `ircs://[::1]:${n.tlsPort}?sha256=${pin}`);
    const nm = ["pinned", `t${tag}`, ""] as const;
    const dns = await IRCDNS.start({ seed: seedA, servers: tls, cacheDir: false, tlsCa: labCert });
    try {
      expect((await dns.register(nm)).succeeded).toBe(3);
      expect((await dns.store("same network", nm)).succeeded).toBe(3);
    } finally {
      await dns.close();
    }
    // Without the CA or a pin, the lab's self-signed certificate is refused on every network.
    const unverified = await IRCDNS.start({ servers: tls, connectTimeoutMs: 5000 });
    try {
      const err = await unverified.lookup(nm).catch((e: Error) => e);
      expect(err).toMatchObject({ code: "ERR_IRCDNS_NO_QUORUM" });
      expect((err as Error).message.match(/ERR_IRCDNS_TLS/g)).toHaveLength(3);
    } finally {
      await unverified.close();
    }
    for (const servers of [plain, v6, tlsPinned]) {
      const reader = await IRCDNS.start({ servers });
      try {
        expect((await reader.lookup(nm)).value).toBe("same network");
      } finally {
        await reader.close();
      }
    }
  }, 90_000);

  describe("one network down, one lying, one vanishing", () => {
    let liar: FakeIrcd;
    let vanisher: FakeIrcd;
    let servers: string;
    const seedB = randomBytes(32);
    const bob = ["bob", `t${tag}`, "pw with spaces"] as const;
    beforeAll(async () => {
      liar = await startFakeIrcd();
      vanisher = await startFakeIrcd({ vanishOnJoin: true });
      servers = `${lab.serverList},127.0.0.1:${await deadPort()},127.0.0.1:${liar.port},127.0.0.1:${vanisher.port}`;
    });
    afterAll(async () => {
      await liar?.close();
      await vanisher?.close();
    });

    test("N=6: register/store succeed on 4, lookup ignores the forged topic", async () => {
      const dns = await IRCDNS.start({
        seed: seedB,
        servers,
        cacheDir: false,
        connectTimeoutMs: 3000,
      });
      try {
        expect(dns.quorum).toMatchObject({
          servers: 6,
          registerSuccessMin: 4,
          lookupSuccessMin: 3,
        });
        const reg = await dns.register(bob);
        expect(reg.succeeded).toBe(4);
        expect(reg.servers[3]?.error?.code).toBe("ERR_IRCDNS_CONNECT");
        expect(reg.servers[5]?.error?.code).toBe("ERR_IRCDNS_DISCONNECTED");
        const st = await dns.store("honest", bob);
        expect(st.succeeded).toBe(4);
      } finally {
        await dns.close();
      }
      // The liar now serves a topic signed by an attacker key, newer than the real one.
      const { chan, timeLock } = deriveChannel(bob[0], bob[1], bob[2], `127.0.0.1:${liar.port}`);
      const evil = deriveSigningKey(bob[0], bob[1], bob[2], randomBytes(32)).priv;
      liar.plant(
        chan,
        packTopic({
          value: "evil",
          priv: evil,
          timeLock,
          time: Math.floor(Date.now() / 1000) + 3600,
        }),
      );
      const reader = await IRCDNS.start({ servers, connectTimeoutMs: 3000 });
      try {
        const got = await reader.lookup(bob);
        expect(got.value).toBe("honest");
        expect(got.agreeing).not.toContain(`127.0.0.1:${liar.port}`);
        expect(got.servers[4]?.error?.code).toBe("ERR_IRCDNS_DISAGREE");
      } finally {
        await reader.close();
      }
    }, 120_000);

    test("with a second network down the forged value is still never returned", async () => {
      await lab.stopNets(["gamma"]);
      await lab.stopNets(["gamma"]); // stopping what is stopped is harmless
      const reader = await IRCDNS.start({ servers, connectTimeoutMs: 3000 });
      try {
        // 2 honest + 1 liar answer (one down, one vanishing): no key reaches F+1 = 3, so no answer at all.
        const err = await reader.lookup(bob).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(NoQuorumError);
      } finally {
        await reader.close();
      }
    }, 60_000);
  });
});
