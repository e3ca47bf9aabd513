import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { StunServer } from "@p2pd/stun";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { NatCache } from "../src/cache.js";
import { detectNat } from "../src/detect.js";
import { type FakeStun, fakeStun } from "./helpers/fake-stun.js";

// Loopback is "no NAT, no filter": an RFC 5780 server on 127.0.0.1 + 127.0.0.2 must say open-internet.
describe("detectNat on loopback (real StunServer, hostile fakes)", () => {
  const servers: StunServer[] = [];
  const fakes: FakeStun[] = [];
  let honest: string[] = [];
  let dir: string;

  beforeAll(async () => {
    for (const ips of [
      ["127.0.0.1", "127.0.0.2"],
      ["127.0.0.3", "127.0.0.4"],
    ]) {
      const s = new StunServer({ ips, port: 0, altPort: 0, protocols: ["udp"] });
      await s.listen();
      servers.push(s);
    }
    honest = servers.map((s) => `${s.primary.host}:${s.primary.port}`);
    dir = await mkdtemp(join(tmpdir(), "nat-detect-"));
  });
  afterAll(async () => {
    await Promise.all([...servers.map((s) => s.close()), ...fakes.map((f) => f.close())]);
    await rm(dir, { recursive: true, force: true });
  });
  const fake = async (o: Parameters<typeof fakeStun>[0]) => {
    const f = await fakeStun(o);
    fakes.push(f);
    return `${f.address}:${f.port}`;
  };

  test("one RFC 5780 server: open-internet, equal delta, mapped = our own address", async () => {
    const r = await detectNat({ servers: [honest[0] as string] });
    expect(r).toMatchObject({
      type: "open-internet",
      delta: { kind: "equal", value: 0 },
      family: 4,
    });
    expect(r.reason).toBeUndefined();
    expect(r.mapped.length).toBeGreaterThan(0);
    for (const m of r.mapped) expect(m.host).toBe("127.0.0.1");
  }, 10_000);

  test("a server lying about the mapped address is outvoted", async () => {
    const liar = await fake({
      address: "127.0.0.5",
      lie: (t) => ({ host: "203.0.113.99", port: t.port }),
    });
    const r = await detectNat({ servers: [liar, ...honest] });
    expect(r.type).toBe("open-internet");
    expect(r.ignored?.map((i) => i.server)).toContain(liar);
    expect(r.mapped.map((m) => m.host)).not.toContain("203.0.113.99");
    // The delta went to the liar first: it is re-run against a trusted server.
    expect(r.delta.kind).toBe("equal");
  }, 10_000);

  test("one honest server against one liar: unknown with a reason, never a NAT type", async () => {
    const liar = await fake({
      address: "127.0.0.6",
      lie: (t) => ({ host: "198.51.100.77", port: t.port + 1 }),
    });
    const r = await detectNat({ servers: [honest[0] as string, liar] });
    expect(r.type).toBe("unknown");
    expect(r.reason).toMatch(/disagree/);
    expect(r).toMatchObject({ delta: { kind: "not-applicable" }, mapped: [] });
  }, 10_000);

  test("a server that ignores CHANGE-REQUEST cannot fake an open network", async () => {
    // It claims an alternate address but answers everything from its primary.
    const broken = await fake({ address: "127.0.0.7", other: { host: "127.0.0.8", port: 3479 } });
    const alone = await detectNat({ servers: [broken], minWaitMs: 100 });
    expect(alone.type).toBe("unknown");
    expect(alone.reason).toBeTruthy();
    const withHonest = await detectNat({ servers: [broken, honest[1] as string], minWaitMs: 100 });
    expect(withHonest.type).toBe("open-internet");
    expect(withHonest.ignored).toContainEqual({
      server: broken,
      why: "answers CHANGE-REQUEST from the wrong address",
    });
  }, 10_000);

  test("no RFC 5780 support (no OTHER-ADDRESS): unknown, says why", async () => {
    const plain = new StunServer({ ips: ["127.0.0.9"], port: 0, protocols: ["udp"] });
    await plain.listen();
    try {
      const r = await detectNat({ servers: [`127.0.0.9:${plain.primary.port}`] });
      expect(r.type).toBe("unknown");
      expect(r.reason).toMatch(/RFC 5780|compare/);
    } finally {
      await plain.close();
    }
  }, 10_000);

  test("servers that never answer: blocked, after the first-answer cap", async () => {
    const dead = await fake({ address: "127.0.0.10", silent: true });
    const r = await detectNat({ servers: [dead], firstAnswerMs: 300 });
    expect(r).toMatchObject({ type: "blocked", delta: { kind: "not-applicable" }, mapped: [] });
    // A short overall cap still ends in an answer, not an error.
    expect((await detectNat({ servers: [dead], timeoutMs: 600 })).type).toBe("blocked");
    // A dead server next to a live one is just ignored.
    const r2 = await detectNat({ servers: [dead, honest[0] as string], firstAnswerMs: 300 });
    expect(r2.type).toBe("open-internet");
    expect(r2.ignored).toEqual([{ server: dead, why: "no answer" }]);
    // With a cache (the CLI default) the network-id lookup must not eat the whole budget.
    const cached = await detectNat({ servers: [dead], cache: dir });
    expect(cached.type).toBe("blocked");
  }, 15_000);

  test("garbage answers (random bytes, truncated STUN, right id with bad body) are no answers", async () => {
    let n = 0;
    const junk = await fake({
      address: "127.0.0.12",
      garbage: (req) => {
        n++;
        const out = new Uint8Array(20 + (n % 3) * 8).map(() => (Math.random() * 256) | 0);
        if (n % 2 === 0) out.set(req.subarray(0, 20)); // echo the header: our transaction id, a bogus body
        out[0] = 0x01;
        out[1] = 0x01; // success class
        return n % 5 === 0 ? out.subarray(0, 7) : out;
      },
    });
    const alone = await detectNat({ servers: [junk], firstAnswerMs: 300 });
    expect(alone.type).toBe("blocked");
    const mixed = await detectNat({ servers: [junk, honest[0] as string], firstAnswerMs: 300 });
    expect(mixed.type).toBe("open-internet");
    expect(n).toBeGreaterThan(0);
  }, 10_000);

  test("per-network cache: a second run (new cache object = restart) is served from the file", async () => {
    const cache = () => new NatCache({ dir });
    const first = await detectNat({ servers: honest, cache: cache() });
    expect(first.cached).toBeUndefined();
    const second = await detectNat({ servers: honest, cache: cache() });
    expect(second).toMatchObject({ type: first.type, delta: first.delta, cached: true, ms: 0 });
    const fresh = await detectNat({ servers: honest, cache: dir, refresh: true });
    expect(fresh.cached).toBeUndefined();
  }, 10_000);

  test("an unwritable cache costs the cache, not the answer", async () => {
    const lines: string[] = [];
    const file = join(dir, "a-file");
    await writeFile(file, "");
    const r = await detectNat({
      servers: honest,
      cache: join(file, "sub"), // ENOTDIR: the cache dir cannot be created
      progress: (l) => lines.push(l),
    });
    expect(r.type).toBe("open-internet");
    expect(lines.some((l) => l.startsWith("cache not written"))).toBe(true);
  }, 10_000);

  test("abort and bad input give typed errors", async () => {
    const ac = new AbortController();
    ac.abort();
    await expect(detectNat({ servers: honest, signal: ac.signal })).rejects.toMatchObject({
      code: "ERR_NAT_ABORTED",
    });
    const ac2 = new AbortController();
    const p = detectNat({
      servers: [await fake({ address: "127.0.0.11", silent: true })],
      signal: ac2.signal,
    });
    setTimeout(() => ac2.abort(), 50);
    await expect(p).rejects.toMatchObject({ code: "ERR_NAT_ABORTED" });
    await expect(detectNat({ servers: [] })).rejects.toMatchObject({ code: "ERR_NAT_NO_SERVERS" });
    await expect(detectNat({ servers: ["not a server:x"] })).rejects.toMatchObject({
      code: "ERR_NAT_BAD_ARGUMENT",
    });
    await expect(detectNat({ servers: ["::1"], family: 4 })).rejects.toMatchObject({
      code: "ERR_NAT_BAD_ARGUMENT",
    });
  }, 10_000);
});
