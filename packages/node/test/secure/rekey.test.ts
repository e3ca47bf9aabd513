import { randomBytes } from "node:crypto";
import type { Pipe } from "@p2pd/pipe";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type EmbeddedBroker, type P2PNode, startBroker, startNode } from "../../src/index.js";
import { REKEY_BYTES, REKEY_FRAMES } from "../../src/secure/rekey.js";
import { alice, bob, CIPHERS, failure, readN, secure, tcpPair } from "./helpers.js";

// Implicit rekey (Noise REKEY) over real connections: thresholds forced small through the
// internal `rekey` / `secureRekey` option so that a test crosses many key changes.

const expectBob = { nodeId: bob.nodeId, x25519: bob.x25519.publicKey };

it("rekey defaults: every 10,000 frames or 256 MiB", () => {
  expect(REKEY_FRAMES).toBe(10_000);
  expect(REKEY_BYTES).toBe(256 * 1024 * 1024);
});

describe.each(CIPHERS)("rekey on a SecureStream over TCP (%s)", (cipher) => {
  it("both ends replace each direction's key in step: 1.5 MB each way arrive intact across many rekeys", async () => {
    const [ra, rb] = await tcpPair();
    const rekey = { frames: 3, bytes: 20_000 };
    const a = secure(ra, alice, true, expectBob, { rekey, cipher });
    const b = secure(rb, bob, false, undefined, { rekey });
    await Promise.all([a.ready, b.ready]);
    // Writes of every size, some far above a frame, some tiny, so frames and bytes both trigger.
    const chunks = (seed: number) =>
      Array.from({ length: 300 }, (_, i) => randomBytes(((i * 7919 + seed) % 10_000) + 1));
    const ab = chunks(1);
    const ba = chunks(2);
    const total = (cs: Buffer[]) => cs.reduce((n, c) => n + c.length, 0);
    const gotB = readN(b, total(ab));
    const gotA = readN(a, total(ba));
    for (let i = 0; i < ab.length; i++) {
      a.write(ab[i] as Buffer);
      b.write(ba[i] as Buffer);
      if (i % 50 === 0) await new Promise((r) => setImmediate(r));
    }
    expect((await gotB).equals(Buffer.concat(ab))).toBe(true);
    expect((await gotA).equals(Buffer.concat(ba))).toBe(true);
    expect(a.rekeys.tx).toBeGreaterThan(20);
    expect(b.rekeys.tx).toBeGreaterThan(20);
    // Each receiver switched exactly as often as its sender.
    expect(b.rekeys.rx).toBe(a.rekeys.tx);
    expect(a.rekeys.rx).toBe(b.rekeys.tx);
    a.destroy();
    b.destroy();
  });

  it("a frame under the old key after the receiver's rekey: ERR_DECRYPT, its data never delivered", async () => {
    const [ra, rb] = await tcpPair();
    // The sender never rekeys; the receiver rekeys after 2 frames, so frame 3 is under the old key.
    const a = secure(ra, alice, true, expectBob, { rekey: { frames: 1e9 }, cipher });
    const b = secure(rb, bob, false, undefined, { rekey: { frames: 2 } });
    await Promise.all([a.ready, b.ready]);
    const got: Buffer[] = [];
    b.on("data", (c: Buffer) => got.push(c));
    const failed = failure(b);
    for (const m of ["frame one", "frame two"]) {
      const seen = got.length;
      a.write(m);
      while (got.length === seen) await new Promise((r) => setImmediate(r));
    }
    expect(b.rekeys.rx).toBe(1);
    expect(a.rekeys.tx).toBe(0);
    a.write("frame three, old key");
    const err = await failed;
    expect(err.code).toBe("ERR_DECRYPT");
    expect(Buffer.concat(got).toString()).toBe("frame oneframe two");
    a.destroy();
  });

  it("a frame recorded before a rekey and replayed after it: ERR_DECRYPT", async () => {
    const [ra, rb] = await tcpPair();
    const rekey = { frames: 2 };
    const a = secure(ra, alice, true, expectBob, { rekey, cipher });
    const b = secure(rb, bob, false, undefined, { rekey });
    await Promise.all([a.ready, b.ready]);
    // Record a's frames as they leave its socket.
    const frames: Buffer[] = [];
    const write = ra.write.bind(ra);
    ra.write = ((c: Buffer, ...rest: never[]) => {
      frames.push(Buffer.from(c));
      return write(c, ...rest);
    }) as typeof ra.write;
    for (const m of ["one", "two", "three"]) {
      a.write(m);
      const got = readN(b, m.length);
      b.resume(); // readN pauses the stream when it has its bytes
      expect((await got).toString()).toBe(m);
    }
    expect(b.rekeys.rx).toBe(1);
    const failed = failure(b);
    // Frame one went under the first key; b now reads frame four under the second.
    write(frames[0] as Buffer);
    expect((await failed).code).toBe("ERR_DECRYPT");
    a.destroy();
  });
});

let broker: EmbeddedBroker;
const nodes: P2PNode[] = [];
beforeAll(async () => {
  broker = await startBroker();
});
afterAll(async () => {
  for (const n of nodes) await n.close();
  await broker?.close();
});

async function node(secureRekey?: { frames?: number; bytes?: number }): Promise<P2PNode> {
  const n = await startNode({
    interfaces: "loopback",
    mqtt: broker.url,
    ...(secureRekey ? { secureRekey } : {}),
  });
  nodes.push(n);
  return n;
}

function inboundPipe(n: P2PNode): Promise<Pipe> {
  return new Promise((r) => n.once("pipe", (e: { pipe: Pipe }) => r(e.pipe)));
}

function codesOf(err: unknown): string[] {
  const out: string[] = [];
  for (let e = err as { code?: string; cause?: unknown } | undefined; e; e = e.cause as never)
    if (e.code) out.push(e.code);
  return out;
}

describe("rekey on node connections", () => {
  it("two nodes rekeying every 4 frames exchange 400 messages both ways intact", async () => {
    const x = await node({ frames: 4 });
    const y = await node({ frames: 4 });
    const inbound = inboundPipe(x);
    const r = await y.connect(x.address, { strategies: ["direct"] });
    const at = await inbound;
    const gotAtX: string[] = [];
    const gotAtY: string[] = [];
    at.onMessage((m) => {
      gotAtX.push(m.data.toString());
    });
    r.pipe.onMessage((m) => {
      gotAtY.push(m.data.toString());
    });
    const sent = Array.from({ length: 400 }, (_, i) => `message ${i} ${"x".repeat(i)}`);
    for (const m of sent) {
      await r.pipe.send(m);
      await at.send(m);
      // One frame per message: every few messages cross a key change.
      await new Promise((res) => setImmediate(res));
    }
    const deadline = Date.now() + 10_000;
    while ((gotAtX.length < 400 || gotAtY.length < 400) && Date.now() < deadline)
      await new Promise((res) => setTimeout(res, 10));
    expect(gotAtX).toEqual(sent);
    expect(gotAtY).toEqual(sent);
    expect(r.pipe.isOpen && at.isOpen).toBe(true);
    await r.pipe.close();
  });

  it("a node that rekeys against one that does not: the connection fails ERR_DECRYPT, no wrong data", async () => {
    const x = await node(); // defaults: no rekey within this test
    const y = await node({ frames: 4 });
    const inbound = inboundPipe(x);
    const r = await y.connect(x.address, { strategies: ["direct"] });
    const at = await inbound;
    const got: string[] = [];
    at.onMessage((m) => {
      got.push(m.data.toString());
    });
    const ended = new Promise<void>((res) => at.onEnd(() => res()));
    const sent: string[] = [];
    for (let i = 0; i < 20 && r.pipe.isOpen; i++) {
      const m = `message ${i}`;
      sent.push(m);
      await r.pipe.send(m).catch(() => {});
      await new Promise((res) => setTimeout(res, 2));
    }
    await ended;
    expect(codesOf(at.lastError)).toContain("ERR_DECRYPT");
    expect(got.length).toBeLessThan(sent.length);
    expect(got).toEqual(sent.slice(0, got.length));
    await r.pipe.close().catch(() => {});
  });
});
