import dgram from "node:dgram";
import fc from "fast-check";
import { afterEach, describe, expect, test } from "vitest";
import {
  decodeFrame,
  encodeFrame,
  FrameType,
  ReliableUdpStream,
  sessionFromToken,
  TraversalError,
  udpPunch,
  udpSocketLink,
} from "../../src/traversal/index.js";

const open: Array<{ close(): unknown }> = [];
afterEach(async () => {
  for (const o of open.splice(0).reverse()) {
    try {
      await o.close();
    } catch {}
  }
});

async function sock(): Promise<dgram.Socket> {
  const s = dgram.createSocket("udp4");
  await new Promise<void>((r) => s.bind(0, "127.0.0.1", () => r()));
  open.push(s);
  return s;
}
const port = (s: dgram.Socket) => s.address().port;

/** A real UDP forwarder on loopback that drops and reorders datagrams in both directions. */
async function lossyProxy(a: dgram.Socket, b: dgram.Socket, loss: number) {
  const pa = await sock(); // what b talks to
  const pb = await sock(); // what a talks to
  let alive = true;
  let n = 0;
  const fwd = (from: dgram.Socket, to: number) => (msg: Buffer) => {
    n++;
    if (!alive || Math.random() < loss) return;
    // Every 7th datagram is delayed: reordering.
    const go = () => {
      // A delayed datagram may fire after the test closed the socket: drop it like a lost one.
      try {
        from.send(msg, to, "127.0.0.1");
      } catch {}
    };
    if (n % 7 === 0) setTimeout(go, 15);
    else go();
  };
  pb.on("message", fwd(pa, port(b)));
  pa.on("message", fwd(pb, port(a)));
  return {
    aSide: { host: "127.0.0.1", port: port(pb) },
    bSide: { host: "127.0.0.1", port: port(pa) },
    cut: () => {
      alive = false;
    },
  };
}

async function pair(loss = 0.2, opts: { deadAfterMs?: number } = {}) {
  const a = await sock();
  const b = await sock();
  const px = await lossyProxy(a, b, loss);
  const session = sessionFromToken("pair");
  const sa = new ReliableUdpStream(udpSocketLink(a, px.aSide, { closeSocket: false }), {
    session,
    mtu: 500,
    ...opts,
  });
  const sb = new ReliableUdpStream(udpSocketLink(b, px.bSide, { closeSocket: false }), {
    session,
    mtu: 500,
    ...opts,
  });
  open.push(sa, sb);
  return { a, b, sa, sb, px };
}

describe("reliable UDP frames under fuzzing", () => {
  test("decodeFrame: typed errors only, and encode/decode round-trips", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), (bytes) => {
        try {
          const f = decodeFrame(bytes);
          expect(Buffer.from(encodeFrame(f)).equals(Buffer.from(bytes))).toBe(true);
        } catch (e) {
          expect(e).toBeInstanceOf(TraversalError);
          expect((e as TraversalError).code).toBe("ERR_BAD_FRAME");
        }
      }),
      { numRuns: 5000 },
    );
    fc.assert(
      fc.property(
        fc.nat(),
        fc.nat(),
        fc.boolean(),
        fc.uint8Array({ maxLength: 64 }),
        (session, seq, last, p) => {
          const f = decodeFrame(
            encodeFrame({ type: FrameType.data, session, seq, last, payload: Buffer.from(p) }),
          );
          expect(f).toEqual({ type: FrameType.data, session, seq, last, payload: Buffer.from(p) });
        },
      ),
    );
  });
});

describe("ReliableUdpStream over a lossy, reordering loopback path", () => {
  test("delivers every message once and in order, large ones fragmented", async () => {
    const { sa, sb } = await pair(0.2);
    const msgs = Array.from({ length: 200 }, (_, i) =>
      i % 50 === 0 ? Buffer.alloc(5000 + i, i & 0xff) : Buffer.from(`message ${i}`),
    );
    const sending = (async () => {
      for (const m of msgs) await sa.send(m);
    })();
    const got: Buffer[] = [];
    for (let i = 0; i < msgs.length; i++) got.push(await sb.recv({ timeoutMs: 10_000 }));
    await sending;
    expect(got.map((g) => g.toString("hex"))).toEqual(msgs.map((m) => m.toString("hex")));
    expect(sa.stats.retransmits).toBeGreaterThan(0);
    // And the other way.
    await sb.send("pong");
    expect((await sa.recv({ timeoutMs: 5000 })).toString()).toBe("pong");
  }, 30_000);

  test("close() sends FIN: the peer ends cleanly after draining", async () => {
    const { sa, sb } = await pair(0.1);
    const ended = new Promise<Error | undefined>((r) => sb.onEnd(r));
    await sa.send("last words");
    await sa.close();
    expect(sa.closed).toBe(true);
    expect((await sb.recv({ timeoutMs: 5000 })).toString()).toBe("last words");
    expect(await ended).toBeUndefined();
    await expect(sb.recv()).rejects.toMatchObject({ code: "ERR_CLOSED" });
    await expect(sa.send("x")).rejects.toMatchObject({ code: "ERR_CLOSED" });
    // 10% loss: the FIN may need retransmissions, slow on a loaded 2-core CI machine.
  }, 30_000);

  test("a vanished peer ends the stream with ERR_PEER_VANISHED", async () => {
    const { sa, px } = await pair(0, { deadAfterMs: 400 });
    await sa.send("hello");
    px.cut();
    const err = await new Promise<Error | undefined>((r) => sa.onEnd(r));
    expect((err as TraversalError).code).toBe("ERR_PEER_VANISHED");
    await expect(sa.recv()).rejects.toMatchObject({ code: "ERR_PEER_VANISHED" });
  });

  test("garbage and frames of another session are dropped", async () => {
    const { a, b, sa, sb } = await pair(0);
    const intruder = await sock();
    // Straight to b's socket from a stranger: the link filters by source; from the proxy path we
    // cannot inject, so inject through a's own socket towards the proxy-less b port instead.
    intruder.send(Buffer.from("junk"), port(b), "127.0.0.1");
    a.send(
      encodeFrame({
        type: FrameType.data,
        session: 1,
        seq: 0,
        last: true,
        payload: Buffer.from("evil"),
      }),
      port(b),
      "127.0.0.1",
    );
    await sa.send("good");
    expect((await sb.recv({ timeoutMs: 3000 })).toString()).toBe("good");
    expect(sb.stats.received).toBeGreaterThan(0);
  });
});

describe("udpPunch", () => {
  test("two sides meet on loopback and get reliable streams", async () => {
    const a = await sock();
    const b = await sock();
    const session = sessionFromToken("meet");
    const at = Date.now() + 50;
    const [sa, sb] = await Promise.all([
      udpPunch({ socket: a, remote: { host: "127.0.0.1", ports: [port(b)] }, session, at }),
      udpPunch({ socket: b, remote: { host: "127.0.0.1", ports: [port(a)] }, session, at }),
    ]);
    open.push(sa, sb);
    await sa.send("ping");
    expect((await sb.recv({ timeoutMs: 3000 })).toString()).toBe("ping");
    await sb.send("pong");
    expect((await sa.recv({ timeoutMs: 3000 })).toString()).toBe("pong");
  });

  test("works over IPv6 (::1)", async () => {
    const mk = async () => {
      const s = dgram.createSocket("udp6");
      await new Promise<void>((r) => s.bind(0, "::1", () => r()));
      open.push(s);
      return s;
    };
    const a = await mk();
    const b = await mk();
    const at = Date.now();
    const [sa, sb] = await Promise.all([
      udpPunch({ socket: a, remote: { host: "::1", ports: [port(b)] }, session: 6, at }),
      udpPunch({ socket: b, remote: { host: "::1", ports: [port(a)] }, session: 6, at }),
    ]);
    open.push(sa, sb);
    await sa.send("v6");
    expect((await sb.recv({ timeoutMs: 3000 })).toString()).toBe("v6");
    expect(sb.remote).toEqual({ host: "::1", port: port(a) });
  });

  test("birthday 'many' side closes every losing socket", async () => {
    const udpHandles = () => process.getActiveResourcesInfo().filter((r) => r === "UDPWrap").length;
    await new Promise((r) => setTimeout(r, 50)); // earlier tests' sockets finish closing
    const a = await sock();
    const b = await sock();
    const before = udpHandles();
    const at = Date.now();
    const [sa, sb] = await Promise.all([
      udpPunch({
        socket: a,
        remote: { host: "127.0.0.1", ports: [port(b)] },
        session: 9,
        at,
        birthday: { role: "many", sockets: 16 },
      }),
      udpPunch({ socket: b, remote: { host: "127.0.0.1", ports: [port(a)] }, session: 9, at }),
    ]);
    open.push(sa, sb);
    expect(sb.remote.port).toBe(port(a));
    // The 15 extra sockets are gone (handles go once libuv's close callbacks ran).
    await new Promise((r) => setTimeout(r, 50));
    expect(udpHandles()).toBeLessThanOrEqual(before);
    await sa.close();
    await sb.close();
  });

  test("predicted port lists: the hole is found among candidates", async () => {
    const a = await sock();
    const b = await sock();
    const session = 77;
    const at = Date.now();
    const [sa, sb] = await Promise.all([
      udpPunch({
        socket: a,
        remote: { host: "127.0.0.1", ports: [port(b) + 1, port(b) + 2, port(b)] },
        session,
        at,
      }),
      udpPunch({ socket: b, remote: { host: "127.0.0.1", ports: [port(a)] }, session, at }),
    ]);
    open.push(sa, sb);
    expect(sa.remote.port).toBe(port(b));
    expect(sb.remote.port).toBe(port(a));
  });

  test("a peer with the wrong session never opens the hole: ERR_PUNCH_TIMEOUT, sockets closed", async () => {
    const a = await sock();
    const b = await sock();
    const at = Date.now();
    const [ra, rb] = await Promise.allSettled([
      udpPunch({
        socket: a,
        remote: { host: "127.0.0.1", ports: [port(b)] },
        session: 1,
        at,
        timeoutMs: 300,
      }),
      udpPunch({
        socket: b,
        remote: { host: "127.0.0.1", ports: [port(a)] },
        session: 2,
        at,
        timeoutMs: 300,
      }),
    ]);
    expect(ra.status === "rejected" && (ra.reason as TraversalError).code).toBe(
      "ERR_PUNCH_TIMEOUT",
    );
    expect(rb.status === "rejected" && (rb.reason as TraversalError).code).toBe(
      "ERR_PUNCH_TIMEOUT",
    );
    expect(() => a.address()).toThrow(); // closed
  });

  test("abort and bad timing are typed errors", async () => {
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 50);
    await expect(
      udpPunch({
        localAddress: "127.0.0.1",
        remote: { host: "127.0.0.1", ports: [9] },
        session: 1,
        at: Date.now(),
        signal: ac.signal,
      }),
    ).rejects.toMatchObject({ code: "ERR_ABORTED" });
    await expect(
      udpPunch({
        remote: { host: "127.0.0.1", ports: [9] },
        session: 1,
        at: Date.now() + 86_400_000,
      }),
    ).rejects.toMatchObject({ code: "ERR_PUNCH_TIMING" });
    const many = Array.from({ length: 300 }, (_, i) => 2000 + i);
    await expect(
      udpPunch({ remote: { host: "127.0.0.1", ports: many }, session: 1, at: Date.now() }),
    ).rejects.toMatchObject({ code: "ERR_BAD_ARGUMENT" });
  });
});

describe("ReliableUdpStream state machine under hostile frames", () => {
  test("random authenticated frames never throw, get well-formed replies, and close cleanly", async () => {
    const frameArb = fc.oneof(
      fc.record({
        type: fc.constant(FrameType.data),
        seq: fc.nat(40),
        last: fc.boolean(),
        payload: fc.uint8Array({ maxLength: 8 }).map((u) => Buffer.from(u)),
      }),
      fc.record({ type: fc.constant(FrameType.ack), ack: fc.nat(2 ** 31), sack: fc.nat() }),
      fc.record({ type: fc.constant(FrameType.fin), seq: fc.nat(50) }),
      fc.record({ type: fc.constantFrom(FrameType.probe, FrameType.probeAck), nonce: fc.nat() }),
      fc.record({ type: fc.constant(FrameType.ping) }),
      fc.uint8Array({ maxLength: 20 }).map((u) => ({ raw: Buffer.from(u) })),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(frameArb, { maxLength: 60 }), async (frames) => {
        let deliver: (b: Buffer) => void = () => {};
        const sent: Buffer[] = [];
        const link = {
          local: { host: "127.0.0.1", port: 1 },
          remote: { host: "127.0.0.1", port: 2 },
          send: (b: Buffer) => sent.push(b),
          onDatagram: (cb: (b: Buffer) => void) => {
            deliver = cb;
            return () => {};
          },
          close: () => {},
        };
        const s = new ReliableUdpStream(link, { session: 5, closeTimeoutMs: 20 });
        const got: Buffer[] = [];
        s.onMessage((m) => got.push(m));
        for (const f of frames) {
          if ("raw" in f) deliver(f.raw);
          else deliver(encodeFrame({ ...f, session: 5 } as Parameters<typeof encodeFrame>[0]));
        }
        // Every reply is a well-formed frame of our session.
        for (const b of sent) expect(decodeFrame(b).session).toBe(5);
        await s.send("still usable?").catch((e) => expect(e).toBeInstanceOf(TraversalError));
        await s.close();
        expect(s.closed).toBe(true);
        expect(got.length).toBeLessThanOrEqual(frames.length);
      }),
      { numRuns: 100 },
    );
  }, 60_000);
});
