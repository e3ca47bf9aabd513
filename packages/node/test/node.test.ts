import { connect as netConnect } from "node:net";
import type { Message } from "@p2pd/pipe";
import { describe, expect, test } from "vitest";
import {
  ConnectError,
  deriveKeys,
  type EmbeddedBroker,
  echo,
  MemoryNaming,
  type P2PNode,
  parseAddress,
  sealEnvelope,
  secureStream,
  startNode,
} from "../src/index.js";
import { twoNodesForFile } from "./two-nodes.js";

let broker: EmbeddedBroker;
let a: P2PNode;
let b: P2PNode;
const naming = new MemoryNaming();

twoNodesForFile(
  (n) => {
    ({ broker, a, b } = n);
  },
  { a: { seed: "node-a", naming }, b: { naming } },
);

describe("P2P node on loopback with an in-process aedes broker", () => {
  test("address lists IPv4 and IPv6 loopback, its port, and its keys", () => {
    const p = parseAddress(a.address);
    expect(p.ipv4[0]?.internal).toBe("127.0.0.1");
    expect(p.ipv6[0]?.internal).toBe("::1");
    expect(p.ipv4[0]?.port).toBe(a.port);
    expect(p.nodeId).toBe(a.nodeId);
    // A broker outside the bundled list goes in the address as its URL (issue 14).
    expect(p.signal).toEqual([]);
    expect(p.brokers).toEqual([broker.url]);
  });

  test("the same seed gives the same node id", async () => {
    const again = await startNode({ interfaces: "loopback", mqtt: broker.url, seed: "node-a" });
    try {
      expect(again.nodeId).toBe(a.nodeId);
    } finally {
      await again.close();
    }
  });

  test("encrypted signaling round trip (PING/PONG)", async () => {
    const ms = await b.ping(a.address);
    expect(ms).toBeGreaterThan(0);
  });

  test.each(["direct", "reverse"])("%s connect + ECHO round trip", async (s) => {
    const seen: string[] = [];
    const off = a.onMessage((d) => seen.push(d.toString()));
    const r = await b.connect(a.address, { strategies: [s] });
    expect(r.strategy).toBe(s);
    expect(r.timings.strategies).toEqual([expect.objectContaining({ strategy: s, ok: true })]);
    expect((await echo(r.pipe, "hello node")).toString()).toBe("hello node");
    expect(seen).toContain("ECHO hello node");
    off();
    await r.pipe.close();
  });

  test("direct over IPv6 only", async () => {
    const p = parseAddress(a.address);
    const v6only = { ...p, ipv4: [] };
    const r = await b.connect(v6only, { strategies: ["direct"] });
    expect(r.pipe.remote?.host).toBe("::1");
    expect((await echo(r.pipe, "six")).toString()).toBe("six");
    await r.pipe.close();
  });

  test("user messages reach the other node's onMessage and the pipe it adopted", async () => {
    const got = new Promise<{ id: string; text: string }>((resolve) => {
      a.once("pipe", ({ id, pipe }) => {
        pipe.onMessage((m: Message) => resolve({ id, text: m.data.toString() }));
      });
    });
    const r = await b.connect(a.address, { strategies: ["direct"] });
    await r.pipe.send("custom protocol line");
    const m = await got;
    expect(m.text).toBe("custom protocol line");
    expect(m.id).toBe(r.id);
    expect(b.pipeId(r.pipe)).toBe(r.id);
    expect(a.pipes.get(r.id)).toBeDefined();
    await r.pipe.close();
  });

  test("connect by name through the naming provider", async () => {
    await a.register("alice");
    const r = await b.connect("alice", { strategies: ["direct"] });
    expect(r.timings.lookupMs).toBeGreaterThanOrEqual(0);
    expect((await echo(r.pipe, "by name")).toString()).toBe("by name");
    await r.pipe.close();
  });

  test("a P2PD snapshot 4-part address (no keys): plaintext direct with P2PD's protocol; signaling strategies are skipped", async () => {
    // The far end is a node's P2PD listener: a 4-part address is Python P2PD's snapshot format.
    const c = await startNode({ interfaces: "loopback", mqtt: broker.url, p2pdCompat: true });
    try {
      const port = parseAddress(c.p2pdAddress as string).ipv4[0]?.port;
      const legacy = `0-[0,127.0.0.1,127.0.0.1,${port},1,1,0]-0-legacy_peer`;
      const inbound = new Promise<{ id: string }>((res) => c.once("pipe", res));
      const r = await b.connect(legacy, { strategies: ["reverse", "direct"] });
      expect(r.strategy).toBe("direct");
      expect(r.plaintext).toBe(true);
      expect(r.timings.strategies[0]).toMatchObject({ strategy: "reverse", skipped: true });
      // The snapshot's `ID <pipe id>` named the connection on the far end.
      expect((await inbound).id).toBe(r.id);
      expect((await echo(r.pipe, "old style")).toString()).toBe("old style");
      await r.pipe.close();
    } finally {
      await c.close();
    }
  });

  test("a name may hold a plain address instead of a record", async () => {
    await naming.register("plain", a.address);
    expect(await b.lookup("plain")).toBe(a.address);
  });

  test("failure is a ConnectError with one entry per strategy", async () => {
    // A node that is gone: its port refuses, its signaling goes nowhere.
    const gone = await startNode({ interfaces: "loopback", mqtt: broker.url });
    const addr = gone.address;
    await gone.close();
    const err = await b
      .connect(addr, { strategies: ["direct", "reverse"], timeoutMs: 1500 })
      .catch((e) => e);
    expect(err).toBeInstanceOf(ConnectError);
    expect(err.code).toBe("ERR_CONNECT");
    expect(err.failures.map((f: { strategy: string }) => f.strategy)).toEqual([
      "direct",
      "reverse",
    ]);
    expect(err.failures[0].code).toBe("ERR_CONNECT_REFUSED");
  });

  test("unknown strategy and bad address are typed errors", async () => {
    await expect(b.connect(a.address, { strategies: ["nope"] })).rejects.toMatchObject({
      code: "ERR_UNKNOWN_STRATEGY",
    });
    await expect(b.connect("0-[bad]-0-x-y")).rejects.toMatchObject({ code: "ERR_BAD_ADDRESS" });
  });

  test("forged and garbage signals are dropped; the node keeps working", async () => {
    const mqtt = await import("mqtt");
    const c = await mqtt.default.connectAsync(broker.url, { protocolVersion: 4 });
    // Garbage, and a message signed by a stranger claiming b's address.
    await c.publishAsync(a.nodeId, Buffer.from("not an envelope"), { qos: 1 });
    const { deriveKeys } = await import("../src/index.js");
    const stranger = deriveKeys();
    const body = JSON.stringify({ type: "CONNECT", pipeId: "ab".repeat(16), from: b.address });
    await c.publishAsync(
      a.nodeId,
      sealEnvelope(stranger, a.keys.x25519.publicKey, Buffer.from(body)),
      { qos: 1 },
    );
    await c.endAsync();
    expect(await b.ping(a.address)).toBeGreaterThan(0);
  });

  test("raw TCP clients get ECHO from the node port (Noise IK to its key, then 4-byte big-endian length frames)", async () => {
    const sock = netConnect({ host: "127.0.0.1", port: a.port });
    await new Promise((r) => sock.once("connect", r));
    const sec = secureStream(sock, {
      identity: deriveKeys(Buffer.alloc(32, 7)),
      initiator: true,
      expect: { nodeId: a.nodeId, x25519: a.keys.x25519.publicKey },
    });
    const payload = Buffer.from("ECHO raw\n\r\0");
    const frame = Buffer.alloc(4 + payload.length);
    frame.writeUInt32BE(payload.length, 0);
    payload.copy(frame, 4);
    const reply = await new Promise<Buffer>((resolve, reject) => {
      let got = Buffer.alloc(0);
      sec.on("data", (d: Buffer) => {
        got = Buffer.concat([got, d]);
        if (got.length >= 4 && got.length >= 4 + got.readUInt32BE(0)) resolve(got);
      });
      sec.on("error", reject);
      sec.write(frame);
    });
    sec.destroy();
    expect(reply.readUInt32BE(0)).toBe(payload.length - 5);
    expect(reply.subarray(4)).toEqual(payload.subarray(5));
  });

  test("a plaintext client gets nothing from the node port: the connection is closed", async () => {
    const sock = netConnect({ host: "127.0.0.1", port: a.port });
    const got: Buffer[] = [];
    sock.on("data", (d: Buffer) => got.push(d));
    sock.on("error", () => {});
    const frame = Buffer.from("\0\0\0\x08ECHO raw");
    sock.write(frame);
    await new Promise((r) => sock.once("close", r));
    expect(Buffer.concat(got).includes("raw")).toBe(false);
  });

  test("close() is idempotent and frees the port", async () => {
    const n = await startNode({ interfaces: "loopback", mqtt: broker.url });
    const port = n.port;
    await Promise.all([n.close(), n.close()]);
    const err = await new Promise<NodeJS.ErrnoException>((resolve) => {
      const s = netConnect({ host: "127.0.0.1", port });
      s.on("error", resolve);
      s.on("connect", () => {
        s.destroy();
        resolve(Object.assign(new Error("connected"), { code: "CONNECTED" }));
      });
    });
    expect(err.code).toBe("ECONNREFUSED");
  });

  test("an embedded broker is started when no mqtt URL is given", async () => {
    const n = await startNode({ interfaces: "loopback" });
    try {
      expect(n.brokerUrl).toMatch(/^mqtt:\/\/127\.0\.0\.1:\d+$/);
      const m = await startNode({ interfaces: "loopback", mqtt: n.brokerUrl });
      try {
        const r = await m.connect(n.address, { strategies: ["reverse"] });
        expect((await echo(r.pipe, "embedded")).toString()).toBe("embedded");
      } finally {
        await m.close();
      }
    } finally {
      await n.close();
    }
  });

  test("no reachable broker: start fails with ERR_NO_BROKER", async () => {
    const { createServer } = await import("node:net");
    // A port that refuses: bind one, note it, close it.
    const s = createServer().listen(0, "127.0.0.1");
    await new Promise((r) => s.once("listening", r));
    const port = (s.address() as { port: number }).port;
    await new Promise((r) => s.close(r));
    const err = await startNode({
      interfaces: "loopback",
      mqtt: `mqtt://127.0.0.1:${port}`,
      mqttTimeoutMs: 500,
      port: 0,
    }).catch((e) => e);
    expect(err.code).toBe("ERR_NO_BROKER");
  });

  test("start is abortable", async () => {
    const ac = new AbortController();
    ac.abort();
    await expect(startNode({ interfaces: "loopback", signal: ac.signal })).rejects.toThrow();
  });
});
