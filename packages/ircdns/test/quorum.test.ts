// The lookup quorum against three scripted loopback networks (no lab needed): N=3, F=1, so F+1=2
// topics must agree on one signer. Forged, replayed, copied and tampered topics never win.
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { deriveChannel, deriveSigningKey } from "../src/derive.js";
import { NoQuorumError } from "../src/errors.js";
import { IRCDNS } from "../src/ircdns.js";
import { packTopic, signerId } from "../src/topic.js";
import { deadPort, type FakeIrcd, startFakeIrcd } from "./helpers/fake-ircd.js";

const name = ["carol", "quorum", "pw"] as const;
const owner = deriveSigningKey(name[0], name[1], name[2], randomBytes(32)).priv;
const attacker = deriveSigningKey(name[0], name[1], name[2], randomBytes(32)).priv;
const NOW = Math.floor(Date.now() / 1000);

let nets: FakeIrcd[] = [];
const domain = (f: FakeIrcd) => `127.0.0.1:${f.port}`;
/** The name's topic for network `f`, signed by `priv`. */
const topicFor = (f: FakeIrcd, value: string, priv: bigint, time: number) => {
  const { timeLock } = deriveChannel(name[0], name[1], name[2], domain(f));
  return packTopic({ value, priv, timeLock, time });
};
const plant = (f: FakeIrcd, topic: string) =>
  f.plant(deriveChannel(name[0], name[1], name[2], domain(f)).chan, topic);

async function lookup(servers: string[], signer?: string) {
  const dns = await IRCDNS.start({ servers, connectTimeoutMs: 2000, lookupGraceMs: 50 });
  try {
    return await dns.lookup(name, signer === undefined ? {} : { signer }).then(
      (r) => r,
      (e: unknown) => e,
    );
  } finally {
    await dns.close();
  }
}

beforeAll(async () => {
  nets = await Promise.all([0, 1, 2].map(() => startFakeIrcd()));
});
afterAll(async () => {
  await Promise.all(nets.map((f) => f.close()));
});

describe("lookup quorum (N=3, need 2 on one key)", () => {
  test("a newer forged topic on one network loses to the owner's two", async () => {
    const [a, b, c] = nets as [FakeIrcd, FakeIrcd, FakeIrcd];
    plant(a, topicFor(a, "honest", owner, NOW));
    plant(b, topicFor(b, "honest", owner, NOW));
    plant(c, topicFor(c, "evil", attacker, NOW + 3600));
    const r = await lookup(nets.map(domain));
    expect(r).toMatchObject({ value: "honest", signer: signerId(owner) });
    expect((r as { agreeing: string[] }).agreeing.sort()).toEqual([domain(a), domain(b)].sort());
    expect((r as { servers: Array<{ error?: { code: string } }> }).servers[2]?.error?.code).toBe(
      "ERR_IRCDNS_DISAGREE",
    );
  });

  test("the owner's own older topic replayed on one network: the newest value wins", async () => {
    const [a, b, c] = nets as [FakeIrcd, FakeIrcd, FakeIrcd];
    plant(a, topicFor(a, "new", owner, NOW));
    plant(b, topicFor(b, "new", owner, NOW));
    plant(c, topicFor(c, "old", owner, NOW - 86_400));
    const r = await lookup(nets.map(domain));
    expect(r).toMatchObject({ value: "new", time: NOW, signer: signerId(owner) });
  });

  test("a topic copied from another network does not verify there (per-network masks)", async () => {
    const [a, b, c] = nets as [FakeIrcd, FakeIrcd, FakeIrcd];
    const fromA = topicFor(a, "copied", owner, NOW + 60);
    plant(a, fromA);
    plant(b, topicFor(b, "real", owner, NOW));
    plant(c, fromA);
    // c's copy decodes to garbage keys under c's mask: the owner's group is {a, b}, newest is a's.
    const r = await lookup(nets.map(domain));
    expect(r).toMatchObject({ value: "copied", signer: signerId(owner) });
    expect((r as { agreeing: string[] }).agreeing).not.toContain(domain(c));
    // With b gone, the copy on c cannot stand in for a second owner vote.
    const alone = await lookup([domain(a), `127.0.0.1:${await deadPort()}`, domain(c)]);
    expect(alone).toBeInstanceOf(NoQuorumError);
  });

  test("a tampered owner topic is not a vote: one honest network is not enough", async () => {
    const [a, b, c] = nets as [FakeIrcd, FakeIrcd, FakeIrcd];
    const good = topicFor(a, "value-1", owner, NOW);
    // Flip one character of the payload: the signature no longer recovers the owner's key.
    const last = good.at(-1) === "a" ? "b" : "a";
    plant(a, `${good.slice(0, -1)}${last}`);
    plant(b, topicFor(b, "value-1", owner, NOW));
    plant(c, topicFor(c, "evil", attacker, NOW + 60));
    const r = await lookup(nets.map(domain));
    expect(r).toBeInstanceOf(NoQuorumError);
  });

  test("one network lies and one is down: no answer rather than a wrong one", async () => {
    const [a, , c] = nets as [FakeIrcd, FakeIrcd, FakeIrcd];
    plant(a, topicFor(a, "honest", owner, NOW));
    plant(c, topicFor(c, "evil", attacker, NOW + 60));
    const r = await lookup([domain(a), `127.0.0.1:${await deadPort()}`, domain(c)]);
    expect(r).toBeInstanceOf(NoQuorumError);
    expect((r as NoQuorumError).needed).toBe(2);
  });
});

describe("lookup pinned to the owner's key ({signer})", () => {
  test("beyond the quorum's assumption (2 of 3 lie) only a pinned lookup stays safe", async () => {
    const [a, b, c] = nets as [FakeIrcd, FakeIrcd, FakeIrcd];
    plant(a, topicFor(a, "honest", owner, NOW));
    plant(b, topicFor(b, "evil", attacker, NOW + 60));
    plant(c, topicFor(c, "evil", attacker, NOW + 60));
    // F+1 = 2 liars agree: the unpinned quorum is fooled, as it must be when more than F servers lie.
    expect(await lookup(nets.map(domain))).toMatchObject({ value: "evil" });
    const pinned = await lookup(nets.map(domain), signerId(owner));
    expect(pinned).toBeInstanceOf(NoQuorumError);
    expect((pinned as NoQuorumError).message).toContain("ERR_IRCDNS_DISAGREE");
  });

  test("pinned to the owner: the owner's value, liars marked; a malformed key is refused", async () => {
    const [a, b, c] = nets as [FakeIrcd, FakeIrcd, FakeIrcd];
    plant(a, topicFor(a, "honest", owner, NOW));
    plant(b, topicFor(b, "honest", owner, NOW));
    plant(c, topicFor(c, "evil", attacker, NOW + 60));
    const r = await lookup(nets.map(domain), signerId(owner).toUpperCase());
    expect(r).toMatchObject({ value: "honest", signer: signerId(owner) });
    expect(await lookup(nets.map(domain), "02abc")).toMatchObject({
      code: "ERR_IRCDNS_BAD_SIGNER",
    });
  });
});

describe("close()", () => {
  const count = () => {
    const n: Record<string, number> = {};
    for (const k of process.getActiveResourcesInfo()) n[k] = (n[k] ?? 0) + 1;
    return { sockets: n.TCPSocketWrap ?? 0, timers: n.Timeout ?? 0 };
  };

  test("releases every socket and timer, also with operations still running", async () => {
    const [a, b, c] = nets as [FakeIrcd, FakeIrcd, FakeIrcd];
    for (const f of [a, b, c]) plant(f, topicFor(f, "v", owner, NOW));
    // Sockets of earlier tests' closed sessions go away one tick after close(): let them.
    await new Promise((r) => setTimeout(r, 50));
    const before = count();
    const dns = await IRCDNS.start({ servers: nets.map(domain), lookupGraceMs: 50 });
    await dns.lookup(name);
    expect(count().sockets).toBeGreaterThan(before.sockets);
    const pending = dns.lookup(["other", "name"]).catch((e: unknown) => e);
    await dns.close();
    expect(await pending).toMatchObject({ code: expect.stringMatching(/^ERR_IRCDNS_/) });
    // Destroyed sockets leave the handle list a tick later; a leaked timer or socket would stay.
    for (let i = 0; i < 30 && JSON.stringify(count()) !== JSON.stringify(before); i++)
      await new Promise((r) => setTimeout(r, 10));
    expect(count()).toEqual(before);
  });
});
