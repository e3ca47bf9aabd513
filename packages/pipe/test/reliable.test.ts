import { createSocket, type Socket } from "node:dgram";
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { isPipeError, pipeOpen } from "../src/index.js";
import { decodeRudp, encodeRudp, RUDP_ACK, RUDP_DATA, randomSeq } from "../src/reliable.js";

function plainSocket(): Promise<Socket> {
  return new Promise((resolve) => {
    const s = createSocket("udp4");
    s.bind(0, "127.0.0.1", () => resolve(s));
  });
}

describe("ACK-UDP (reliable: true) and dedupe", () => {
  test("send resolves once ACKed; the receiver gets the bare payload; retransmissions are dropped", async () => {
    const server = await pipeOpen("udp", { host: "127.0.0.1" }, undefined, {
      reliable: true,
      autoSubscribe: true,
    });
    const client = await pipeOpen("udp", { host: "127.0.0.1" }, server.local, {
      reliable: true,
      ackTimeoutMs: 500,
    });
    expect(await client.send("reliable hello")).toBe(14);
    expect((await server.recv()).toString()).toBe("reliable hello");

    // A raw peer sends the same data packet twice: two ACKs come back, one message is delivered.
    const raw = await plainSocket();
    const acks: Buffer[] = [];
    raw.on("message", (m) => acks.push(m));
    const seq = randomSeq();
    const pkt = encodeRudp(seq, RUDP_DATA, Buffer.from("once"));
    const twoAcks = new Promise<void>((r) => raw.on("message", () => acks.length === 2 && r()));
    raw.send(pkt, server.local.port, "127.0.0.1");
    raw.send(pkt, server.local.port, "127.0.0.1");
    await twoAcks;
    expect(acks.map((a) => decodeRudp(a))).toEqual([
      { seq, flag: RUDP_ACK, payload: Buffer.alloc(0) },
      { seq, flag: RUDP_ACK, payload: Buffer.alloc(0) },
    ]);
    expect((await server.recv()).toString()).toBe("once");
    const none = await server.recv({ timeout: 30 }).catch((e) => e);
    expect(isPipeError(none, "ERR_RECV_TIMEOUT")).toBe(true);
    // Garbage is counted and dropped, never dispatched.
    raw.send(Buffer.from("short"), server.local.port, "127.0.0.1");
    await client.send("after garbage");
    expect((await server.recv()).toString()).toBe("after garbage");
    expect((server as unknown as { rudpDropped: number }).rudpDropped).toBe(1);
    raw.close();
    await Promise.all([server.close(), client.close()]);
  });

  test("a lost datagram is retransmitted (a loopback proxy drops the first one)", async () => {
    const server = await pipeOpen("udp", { host: "127.0.0.1" }, undefined, {
      reliable: true,
      autoSubscribe: true,
    });
    const proxy = await plainSocket();
    let dropped = 0;
    let clientPort = 0;
    proxy.on("message", (m, rinfo) => {
      if (rinfo.port === server.local.port) {
        proxy.send(m, clientPort, "127.0.0.1");
        return;
      }
      clientPort = rinfo.port;
      if (dropped++ === 0) return; // lose the first data packet
      proxy.send(m, server.local.port, "127.0.0.1");
    });
    const client = await pipeOpen(
      "udp",
      { host: "127.0.0.1" },
      { host: "127.0.0.1", port: proxy.address().port },
      { reliable: true, ackTimeoutMs: 50, ackTries: 4 },
    );
    expect(await client.send("survives loss")).toBe(13);
    expect((await server.recv()).toString()).toBe("survives loss");
    expect(dropped).toBeGreaterThanOrEqual(2);
    proxy.close();
    await Promise.all([server.close(), client.close()]);
  });

  test("no ACK is ERR_ACK_TIMEOUT after ackTries; close rejects pending sends with ERR_CLOSED", async () => {
    const silent = await plainSocket();
    let copies = 0;
    silent.on("message", () => copies++);
    const dest = { host: "127.0.0.1", port: silent.address().port };
    const p = await pipeOpen("udp", { host: "127.0.0.1" }, dest, {
      reliable: true,
      ackTimeoutMs: 20,
      ackTries: 3,
    });
    const err = await p.send("anyone?").catch((e) => e);
    expect(isPipeError(err, "ERR_ACK_TIMEOUT")).toBe(true);
    expect(copies).toBe(3);
    const pending = p.send("late").catch((e) => e);
    await p.close();
    expect(isPipeError(await pending, "ERR_CLOSED")).toBe(true);
    silent.close();
  });

  test("dedupe drops a repeated payload from the same IP", async () => {
    const server = await pipeOpen("udp", { host: "127.0.0.1" }, undefined, {
      dedupe: true,
      autoSubscribe: true,
    });
    const client = await pipeOpen("udp", { host: "127.0.0.1" }, server.local);
    for (const m of ["a", "a", "b", "a"]) await client.send(m);
    expect((await server.recv()).toString()).toBe("a");
    expect((await server.recv()).toString()).toBe("b");
    const none = await server.recv({ timeout: 30 }).catch((e) => e);
    expect(isPipeError(none, "ERR_RECV_TIMEOUT")).toBe(true);
    await Promise.all([server.close(), client.close()]);
  });

  test("the ACK-UDP decoder never throws and round-trips valid packets (fast-check)", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), (u) => {
        const p = decodeRudp(Buffer.from(u));
        if (p) expect(encodeRudp(p.seq, p.flag, p.payload).equals(Buffer.from(u))).toBe(true);
      }),
      { numRuns: 2000 },
    );
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 8, maxLength: 8 }),
        fc.uint8Array({ maxLength: 50 }),
        (s, body) => {
          const seq = Buffer.from(s).toString("hex");
          expect(decodeRudp(encodeRudp(seq, RUDP_DATA, Buffer.from(body)))).toEqual({
            seq,
            flag: RUDP_DATA,
            payload: Buffer.from(body),
          });
        },
      ),
    );
  });
});
