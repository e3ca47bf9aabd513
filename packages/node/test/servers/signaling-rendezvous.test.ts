import { describe, expect, it } from "vitest";
import { RendezvousError } from "../../src/servers/errors.js";
import { bundledBrokerUrls, peerBrokerUrls, rendezvousOf } from "../../src/servers/rendezvous.js";
import { MqttSignaling } from "../../src/signaling.js";
import { closedAfterEach, realBroker, silentBroker } from "./fakes.js";

// Loopback brokers this file starts (aedes, and a TCP listener that never answers).
const track = closedAfterEach();

describe("rendezvous in addresses", () => {
  it("bundled brokers go by index, others by URL, and back", () => {
    const bundled = bundledBrokerUrls();
    const r = rendezvousOf([bundled[4] as string, "mqtt://127.0.0.1:1883", bundled[0] as string]);
    expect(r).toEqual({ signal: [4, 0], brokers: ["mqtt://127.0.0.1:1883"] });
    expect(peerBrokerUrls({ ...r, signal: [...r.signal, 999] })).toEqual([
      bundled[4],
      bundled[0],
      "mqtt://127.0.0.1:1883",
    ]);
  });
});

describe("MqttSignaling publishes where the peer listens", () => {
  it("reaches a peer on a broker the sender does not listen on", async () => {
    const x = track(await realBroker());
    const y = track(await realBroker("127.0.0.2"));
    const alice = track(new MqttSignaling({ brokers: [x.entry.url], nodeId: "alice" }));
    const bob = track(new MqttSignaling({ brokers: [y.entry.url], nodeId: "bob" }));
    await Promise.all([alice.start(), bob.start()]);
    const got = new Promise<string>((resolve) => alice.onMessage((d) => resolve(d.toString())));
    await bob.publish("alice", Buffer.from("hi"), [], { urls: alice.rendezvous().brokers });
    expect(await got).toBe("hi");
    expect(alice.rendezvous()).toEqual({ signal: [], brokers: [x.entry.url] });
  });

  it("an address naming only unreachable brokers fails with ERR_NO_RENDEZVOUS listing what was tried", async () => {
    const y = track(await realBroker());
    const dead = track(await silentBroker());
    const closed = await silentBroker();
    await closed.close();
    const bob = track(
      new MqttSignaling({ brokers: [y.entry.url], nodeId: "bob", connectTimeoutMs: 500 }),
    );
    await bob.start();
    const err = await bob
      .publish("alice", Buffer.from("hi"), [], { urls: [dead.entry.url, closed.entry.url] })
      .catch((e) => e);
    expect(err).toBeInstanceOf(RendezvousError);
    expect(err.code).toBe("ERR_NO_RENDEZVOUS");
    expect(err.tried.map((t: { url: string }) => t.url).sort()).toEqual(
      [dead.entry.url, closed.entry.url].sort(),
    );
    expect(err.tried.find((t: { url: string }) => t.url === dead.entry.url).code).toBe(
      "ERR_TIMEOUT",
    );
    expect(err.tried.find((t: { url: string }) => t.url === closed.entry.url).code).toBe(
      "ECONNREFUSED",
    );
    expect(err.message).toContain(dead.entry.url);
  });
});
