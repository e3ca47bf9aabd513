import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { chooseServers } from "../../src/servers/choose.js";
import type { ServerLists } from "../../src/servers/list.js";
import {
  closedAfterEach,
  type FakeBroker,
  fakeStun,
  honestStun,
  realBroker,
  silentBroker,
} from "./fakes.js";

// Every server here is one the test starts on loopback (127.0.0.0/8): nothing leaves the machine.
const track = closedAfterEach();
const lists = (stun: ServerLists["stun"], mqtt: ServerLists["mqtt"] = []): ServerLists => ({
  stun,
  mqtt,
  turn: [],
});
const key = (e: { ip: string; port: number }) => `${e.ip}:${e.port}`;

describe("chooseServers: STUN", () => {
  it("keeps two honest RFC 5780 servers that agree; a liar about our IP is outvoted", async () => {
    const a = await track(honestStun("127.0.0.1", "127.0.0.2"));
    const b = await track(honestStun("127.0.0.3", "127.0.0.4"));
    const liar = await track(fakeStun("127.0.0.5", { mappedIp: "203.0.113.66" }));
    for (let run = 0; run < 3; run++) {
      const r = await chooseServers({
        lists: lists([liar.entry, a.entry, b.entry]),
        localAddress: "127.0.0.1",
        stunWave: 3,
        mqtt: false,
      });
      expect(r.agreed).toBe(true);
      expect(r.mappedIp).toBe("127.0.0.1");
      expect(r.stun.map(key).sort()).toEqual([key(a.entry), key(b.entry)].sort());
      expect(r.stun.map(key)).not.toContain(key(liar.entry));
    }
  });

  it("never trusts one server alone: a liar and one honest server do not agree", async () => {
    const a = await track(honestStun("127.0.0.1", "127.0.0.2"));
    const liar = await track(fakeStun("127.0.0.5", { mappedIp: "203.0.113.66" }));
    const r = await chooseServers({
      lists: lists([a.entry, liar.entry]),
      localAddress: "127.0.0.1",
      mqtt: false,
    });
    expect(r.agreed).toBe(false);
    expect(r.mappedIp).toBeUndefined();
    expect(r.rejected.some((x) => x.why.startsWith("outvoted"))).toBe(true);
  });

  it("rejects a server whose OTHER-ADDRESS is not its listed alternate", async () => {
    const a = await track(honestStun("127.0.0.1", "127.0.0.2"));
    const b = await track(honestStun("127.0.0.3", "127.0.0.4"));
    const wrongAlt = await track(fakeStun("127.0.0.6", { other: { host: "127.0.0.7", port: 9 } }));
    const r = await chooseServers({
      lists: lists([wrongAlt.entry, a.entry, b.entry]),
      localAddress: "127.0.0.1",
      random: () => 0.999, // keeps the list order: the liar is asked first
      stunWave: 1,
      waveMs: 50,
      mqtt: false,
    });
    expect(r.agreed).toBe(true);
    expect(r.stun.map(key)).not.toContain(key(wrongAlt.entry));
    expect(r.rejected).toContainEqual({
      server: key(wrongAlt.entry),
      why: expect.stringMatching(/^wrong alternate 127\.0\.0\.7:9/),
    });
  });

  it("does not wait on dead or slow servers: 90 % silent, ready well inside the budget", async () => {
    const silent = await Promise.all(
      Array.from({ length: 18 }, (_, i) => track(fakeStun(`127.0.1.${i + 1}`, { silent: true }))),
    );
    const slow = await track(fakeStun("127.0.2.1", { delayMs: 1200 }));
    const a = await track(honestStun("127.0.0.1", "127.0.0.2"));
    const b = await track(honestStun("127.0.0.3", "127.0.0.4"));
    const entries = [...silent.map((s) => s.entry), slow.entry, a.entry, b.entry];
    const r = await chooseServers({
      lists: lists(entries),
      localAddress: "127.0.0.1",
      budgetMs: 1500,
      mqtt: false,
    });
    expect(r.agreed).toBe(true);
    expect(r.stun.map(key).sort()).toEqual([key(a.entry), key(b.entry)].sort());
    // Waves of 8 every 100 ms: 21 servers are all asked within ~300 ms; the honest answer at once.
    expect(r.ms).toBeLessThan(800);
    // Bounded: at most two datagrams per server asked.
    expect(r.packets.udp).toBeLessThanOrEqual(2 * entries.length);
  });

  it("gives up at the budget when nobody answers, with what it has", async () => {
    const silent = await Promise.all(
      Array.from({ length: 4 }, (_, i) => track(fakeStun(`127.0.1.${i + 1}`, { silent: true }))),
    );
    const t0 = performance.now();
    const r = await chooseServers({
      lists: lists(silent.map((s) => s.entry)),
      localAddress: "127.0.0.1",
      budgetMs: 400,
      mqtt: false,
    });
    expect(performance.now() - t0).toBeLessThan(700);
    expect(r).toMatchObject({ stun: [], agreed: false });
    expect(silent.every((s) => s.received >= 1)).toBe(true);
  });

  it("remembers per network what worked: the next start asks only those and is ready at once", async () => {
    const dir = await mkdtemp(join(tmpdir(), "p2pd-srv-cache-"));
    const silent = await Promise.all(
      Array.from({ length: 18 }, (_, i) => track(fakeStun(`127.0.1.${i + 1}`, { silent: true }))),
    );
    const a = await track(honestStun("127.0.0.1", "127.0.0.2"));
    const b = await track(honestStun("127.0.0.3", "127.0.0.4"));
    const brokers = [await track(realBroker()), await track(realBroker("127.0.0.2"))];
    const dead = await Promise.all(Array.from({ length: 8 }, () => track(silentBroker())));
    const l = lists(
      [...silent.map((s) => s.entry), a.entry, b.entry],
      [...dead.map((d) => d.entry), ...brokers.map((x) => x.entry)],
    );
    const choose = (networkKey: string) =>
      chooseServers({ lists: l, localAddress: "127.0.0.1", cache: dir, networkKey });
    const cold = await choose("net-1");
    expect(cold).toMatchObject({ agreed: true, cached: false });
    expect(cold.mqtt).toHaveLength(2);
    const warm = await choose("net-1");
    expect(warm).toMatchObject({ agreed: true, cached: true });
    expect(warm.packets).toEqual({ udp: 2, tcp: 2 });
    expect(warm.ms).toBeLessThan(300);
    // Another network starts cold.
    const other = await choose("net-2");
    expect(other.cached).toBe(false);
  });
});

describe("chooseServers: brokers", () => {
  it("keeps two brokers that accept MQTT; silent and closed ones cost nothing", async () => {
    const brokers = [await track(realBroker()), await track(realBroker("127.0.0.2"))];
    const dead: FakeBroker[] = await Promise.all(
      Array.from({ length: 6 }, () => track(silentBroker())),
    );
    const closed = await track(silentBroker());
    const closedEntry = closed.entry;
    await closed.close();
    const r = await chooseServers({
      lists: lists([], [...dead.map((d) => d.entry), closedEntry, ...brokers.map((b) => b.entry)]),
      budgetMs: 1500,
    });
    expect(r.mqtt.map((m) => m.url).sort()).toEqual(brokers.map((b) => b.entry.url).sort());
    expect(r.ms).toBeLessThan(1000);
    expect(r.packets.tcp).toBeLessThanOrEqual(9);
  });
});
