import { createSocket } from "node:dgram";
import { once } from "node:events";
import net from "node:net";
import type { Pipe } from "@p2pd/pipe";
import { describe, expect, test } from "vitest";
import { type EmbeddedBroker, echo, type P2PNode, sealEnvelope, startNode } from "../src/index.js";
import { twoNodesForFile } from "./two-nodes.js";

// Issue 16: what a stranger who reaches the node's port or its broker can make it do.
let broker: EmbeddedBroker;
let a: P2PNode;
let b: P2PNode;

twoNodesForFile(
  (n) => {
    ({ broker, a, b } = n);
  },
  {
    // Plaintext nodes: the tests speak raw frames (the bounds sit below the Noise channel, and a
    // stranger can complete a Noise handshake with a throwaway key anyway).
    a: {
      insecure: true,
      limits: {
        maxConnections: 24,
        handshakeTimeoutMs: 400,
        maxQueueBytes: 2 * 1024 * 1024,
        queueBudgetBytes: 8 * 1024 * 1024,
      },
    },
    b: { insecure: true },
  },
);

const frame = (payload: Buffer) => {
  const h = Buffer.alloc(4);
  h.writeUInt32BE(payload.length);
  return Buffer.concat([h, payload]);
};

async function rawConnect(port: number): Promise<net.Socket> {
  const s = net.connect(port, "127.0.0.1");
  s.on("error", () => {});
  await once(s, "connect");
  return s;
}

describe("memory: unread messages are bounded by bytes", () => {
  test("an identified peer flooding 48 MiB nobody reads leaves at most the queue's byte budget", async () => {
    const adopted = new Promise<Pipe>((r) => a.once("pipe", ({ pipe }) => r(pipe)));
    const s = await rawConnect(a.port);
    s.write(frame(Buffer.from(`ID ${"7".repeat(32)}`)));
    const pipe = await adopted;
    const big = Buffer.alloc(1024 * 1024, 0x61);
    for (let i = 0; i < 48; i++) {
      if (!s.write(frame(big))) await once(s, "drain");
    }
    s.write(frame(Buffer.from("last")));
    const sub = pipe.subscribe();
    // Wait until the last message is in.
    for (let t = 0; t < 100 && (sub.dropped ?? 0) + sub.size < 49; t++)
      await new Promise((r) => setTimeout(r, 50));
    expect(sub.bytes).toBeLessThanOrEqual(2 * 1024 * 1024 + 4);
    expect(sub.dropped).toBeGreaterThanOrEqual(46);
    // The newest message is kept (drop-oldest), and a reader gets it.
    const got: Buffer[] = [];
    for (let m = sub.size; m > 0; m--) got.push(await pipe.recv());
    expect(got.at(-1)?.toString()).toBe("last");
    s.destroy();
  }, 30_000);
});

describe("connections: handshake timeout and cap", () => {
  test("an inbound socket that never sends ID is closed by the handshake timeout", async () => {
    const s = await rawConnect(a.port);
    const t0 = performance.now();
    await new Promise((r) => s.once("close", r));
    const ms = performance.now() - t0;
    expect(ms).toBeGreaterThan(300);
    expect(ms).toBeLessThan(3000);
  });

  test("a full listener evicts sockets that never identified; a real peer still connects", async () => {
    // A long handshake timeout: only the cap can close these.
    const c = await startNode({
      interfaces: "loopback",
      mqtt: broker.url,
      insecure: true,
      limits: { maxConnections: 24, handshakeTimeoutMs: 60_000 },
    });
    try {
      const idle = await Promise.all(Array.from({ length: 40 }, () => rawConnect(c.port)));
      let closed = 0;
      for (const s of idle) s.once("close", () => closed++);
      const r = await b.connect(c.address, { strategies: ["direct"] });
      expect((await echo(r.pipe, "still here")).toString()).toBe("still here");
      for (let t = 0; t < 40 && closed < 17; t++) await new Promise((r) => setTimeout(r, 50));
      // The 16 over the cap, and one per connection the real peer made (one per family tried).
      expect(closed).toBeGreaterThanOrEqual(17);
      expect(closed).toBeLessThanOrEqual(18);
      await r.pipe.close();
      for (const s of idle) s.destroy();
    } finally {
      await c.close();
    }
  }, 20_000);
});

describe("reflection: offers are acted on only towards the sender", () => {
  test("a UDP_OFFER naming a third-party target sends it nothing", async () => {
    const target = createSocket("udp4");
    await new Promise<void>((r) => target.bind(0, "127.0.0.2", r));
    let packets = 0;
    target.on("message", () => packets++);
    const mqtt = await import("mqtt");
    const c = await mqtt.default.connectAsync(broker.url, { protocolVersion: 4 });
    try {
      for (const [type, i] of [
        ["UDP_OFFER", 1],
        ["TCP_OFFER", 2],
      ] as const) {
        const body = {
          type,
          pipeId: `${i}`.repeat(32),
          from: b.address,
          host: "127.0.0.2",
          ports: [target.address().port],
          rttMs: 5,
          family: 4,
        };
        await c.publishAsync(
          a.nodeId,
          sealEnvelope(b.keys, a.keys.x25519.publicKey, Buffer.from(JSON.stringify(body))),
          { qos: 1 },
        );
      }
      await new Promise((r) => setTimeout(r, 2500));
      expect(packets).toBe(0);
    } finally {
      await c.endAsync();
      target.close();
    }
  }, 20_000);
});

describe("turns: URLs", () => {
  test("are refused with ERR_TURN_CONFIG, never used in plaintext", async () => {
    await expect(
      startNode({
        interfaces: "loopback",
        mqtt: broker.url,
        turn: [{ url: "turns:127.0.0.1:5349", username: "u", password: "p" }],
      }),
    ).rejects.toMatchObject({ code: "ERR_TURN_CONFIG" });
  });
});
