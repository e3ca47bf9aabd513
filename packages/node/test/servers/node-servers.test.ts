import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ConnectError, echo, type P2PNode, parseAddress, startNode } from "../../src/index.js";
import type { ServerLists } from "../../src/servers/list.js";
import { closedAfterEach, honestStun, realBroker, silentBroker } from "./fakes.js";

// Every server is one this file starts on loopback; the lists stand in for the bundled ones.
const track = closedAfterEach();

describe("a node started with server lists (no mqtt/stun flags)", () => {
  it("probes the lists, listens on the brokers that answer, and names them in its address", async () => {
    const x = track(await realBroker());
    const dead = track(await silentBroker());
    const s1 = track(await honestStun("127.0.0.1", "127.0.0.2"));
    const s2 = track(await honestStun("127.0.0.3", "127.0.0.4"));
    const lists: ServerLists = {
      stun: [s1.entry, s2.entry],
      mqtt: [dead.entry, x.entry],
      turn: [
        {
          url: "turn:127.0.0.9:3478",
          ip: "127.0.0.9",
          port: 3478,
          family: 4,
          user: null,
          pass: null,
        },
      ],
    };
    const cache = await mkdtemp(join(tmpdir(), "p2pd-node-servers-"));
    const t0 = performance.now();
    const node: P2PNode = track(
      await startNode({
        interfaces: "loopback",
        servers: lists,
        serverCache: cache,
        serverBudgetMs: 800,
      }),
    );
    expect(performance.now() - t0).toBeLessThan(2000);
    expect(node.options.mqtt).toEqual([x.entry.url]);
    expect(node.options.stun?.sort()).toEqual(
      [`127.0.0.1:${s1.entry.port}`, `127.0.0.3:${s2.entry.port}`].sort(),
    );
    const a = parseAddress(node.address);
    expect(a.brokers).toEqual([x.entry.url]);
    expect(a.turn).toEqual(["turn:127.0.0.9:3478"]);
  });

  it("a dialer with different brokers reaches the node through the brokers its address names", async () => {
    const x = track(await realBroker());
    const y = track(await realBroker("127.0.0.2"));
    const only = (b: typeof x): ServerLists => ({ stun: [], mqtt: [b.entry], turn: [] });
    const alice = track(await startNode({ interfaces: "loopback", servers: only(x), stun: [] }));
    const bob = track(await startNode({ interfaces: "loopback", servers: only(y), stun: [] }));
    expect(alice.options.mqtt).toEqual([x.entry.url]);
    expect(bob.options.mqtt).toEqual([y.entry.url]);
    // Reverse needs signaling both ways: Bob -> Alice on X, Alice -> Bob on Y.
    const { pipe, strategy } = await bob.connect(alice.address, { strategies: ["reverse"] });
    expect(strategy).toBe("reverse");
    expect((await echo(pipe, "hi")).toString()).toBe("hi");
    await pipe.close();
  }, 20_000);

  it("an address naming only unreachable brokers fails, listing what was tried", async () => {
    const y = track(await realBroker());
    const dead = track(await silentBroker());
    const bob = track(
      await startNode({ interfaces: "loopback", mqtt: y.entry.url, stun: [], mqttTimeoutMs: 600 }),
    );
    // An address whose only broker never answers: take Bob's own and swap the broker.
    const addr = { ...parseAddress(bob.address), brokers: [dead.entry.url] };
    const err = await bob.ping(addr, { timeoutMs: 3000 }).catch((e) => e);
    expect(err.code).toBe("ERR_NO_RENDEZVOUS");
    expect(err.tried).toEqual([
      { url: dead.entry.url, code: "ERR_TIMEOUT", message: expect.any(String) },
    ]);
    const c = await bob.connect(addr, { strategies: ["reverse"], timeoutMs: 4000 }).catch((e) => e);
    expect(c).toBeInstanceOf(ConnectError);
    expect(JSON.stringify(c.failures)).toContain(dead.entry.url);
  }, 20_000);

  it("no listed broker answering is ERR_NO_BROKER at start, within the budget", async () => {
    const dead = track(await silentBroker());
    const t0 = performance.now();
    const err = await startNode({
      interfaces: "loopback",
      servers: { stun: [], mqtt: [dead.entry], turn: [] },
      stun: [],
      serverBudgetMs: 500,
    }).catch((e) => e);
    expect(err.code).toBe("ERR_NO_BROKER");
    expect(performance.now() - t0).toBeLessThan(1500);
  });
});
