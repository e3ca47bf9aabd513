import { createSocket } from "node:dgram";
import { describe, expect, test } from "vitest";
import {
  ATTR,
  createUdpTransport,
  decodeMessage,
  encodeMessage,
  getMappedAddress,
  METHOD,
  StunClient,
  StunMessage,
} from "../src/index.js";
import { loopbackServerForFile, udpSink } from "./helpers.js";

// The client against forged, late, garbage and missing answers, on sockets it owns or borrows.
const server = loopbackServerForFile();

describe("client robustness", () => {
  test("ignores spoofed answers (wrong source, wrong transaction id) and keeps waiting", async () => {
    // A fake "server" that first sends forged answers from another socket and a wrong id, then the real one.
    const fake = createSocket("udp4");
    const forger = createSocket("udp4");
    await new Promise<void>((r) => fake.bind(0, "127.0.0.1", r));
    await new Promise<void>((r) => forger.bind(0, "127.0.0.1", r));
    fake.on("message", (data, rinfo) => {
      const req = decodeMessage(data);
      const answer = (tid: Uint8Array, host: string) =>
        encodeMessage(
          new StunMessage({
            method: METHOD.BINDING,
            cls: "success",
            transactionId: tid,
          }).addAddress(ATTR.XOR_MAPPED_ADDRESS, { host, port: 1 }),
        );
      forger.send(answer(req.transactionId, "6.6.6.6"), rinfo.port, rinfo.address);
      fake.send(answer(new Uint8Array(12).fill(9), "7.7.7.7"), rinfo.port, rinfo.address);
      fake.send(Buffer.from("garbage that is not stun"), rinfo.port, rinfo.address);
      setTimeout(
        () => fake.send(answer(req.transactionId, "1.2.3.4"), rinfo.port, rinfo.address),
        20,
      );
    });
    try {
      const { port } = fake.address();
      const r = await getMappedAddress(
        { host: "127.0.0.1", port },
        { signal: AbortSignal.timeout(5000) },
      );
      expect(r.mapped.host).toBe("1.2.3.4");
    } finally {
      fake.close();
      forger.close();
    }
  });

  test("retransmits on the RFC schedule and times out with ERR_STUN_TIMEOUT", async () => {
    const sink = await udpSink();
    const arrivals: number[] = [];
    sink.on("message", () => arrivals.push(performance.now()));
    try {
      const { port } = sink.address();
      const t0 = performance.now();
      await expect(
        getMappedAddress({ host: "127.0.0.1", port }, { rto: 20, rc: 4, rm: 2 }),
      ).rejects.toMatchObject({ code: "ERR_STUN_TIMEOUT" });
      const elapsed = performance.now() - t0;
      expect(arrivals).toHaveLength(4);
      // Sends at 0, 20, 60, 140 ms (RTO doubling), give-up at 140 + 2 × 20. Timers never fire early, so only
      // lower bounds are asserted: they hold on a busy machine too.
      const at = arrivals.map((t) => t - t0);
      expect(at[1]).toBeGreaterThanOrEqual(20 - 1);
      expect(at[2]).toBeGreaterThanOrEqual(60 - 1);
      expect(at[3]).toBeGreaterThanOrEqual(140 - 1);
      expect(elapsed).toBeGreaterThanOrEqual(180 - 1);
    } finally {
      sink.close();
    }
  });

  test("shares a socket the caller owns and leaves it open", async () => {
    const sock = await udpSink();
    const other: Buffer[] = [];
    sock.on("message", (m) => other.push(m));
    try {
      const transport = createUdpTransport(sock);
      const r = await getMappedAddress(server().primary, { transport });
      expect(r.mapped.port).toBe(sock.address().port);
      const again = await getMappedAddress(server().primary, { transport });
      expect(again.mapped).toEqual(r.mapped);
      expect(other.length).toBe(2); // the caller's own listener still saw the traffic
      transport.close();
      expect(() => sock.address()).not.toThrow();
    } finally {
      sock.close();
    }
  });

  test("binds to a given local port", async () => {
    const probe = await udpSink();
    const port = probe.address().port;
    probe.close();
    const r = await getMappedAddress(server().primary, {
      localAddress: "127.0.0.1",
      localPort: port,
    });
    expect(r.mapped.port).toBe(port);
  });

  test("TCP: garbage from a server closes the transaction with a typed error", async () => {
    const { createServer } = await import("node:net");
    const bad = createServer((s) => s.end(Buffer.from("HTTP/1.1 400 Bad Request\r\n\r\n")));
    await new Promise<void>((r) => bad.listen(0, "127.0.0.1", r));
    try {
      const addr = bad.address() as { port: number };
      await expect(
        getMappedAddress({ host: "127.0.0.1", port: addr.port }, { protocol: "tcp" }),
      ).rejects.toMatchObject({
        code: "ERR_STUN_CLOSED",
      });
    } finally {
      bad.close();
    }
  });

  test("TCP connect failure is ERR_STUN_CONNECT", async () => {
    const { createServer } = await import("node:net");
    const tmp = createServer();
    await new Promise<void>((r) => tmp.listen(0, "127.0.0.1", r));
    const port = (tmp.address() as { port: number }).port;
    await new Promise<void>((r) => tmp.close(() => r()));
    await expect(
      getMappedAddress({ host: "127.0.0.1", port }, { protocol: "tcp" }),
    ).rejects.toMatchObject({
      code: "ERR_STUN_CONNECT",
    });
  });
});

describe("indications", () => {
  test("a socket the caller closed: indicate() and request() reject with ERR_STUN_CLOSED", async () => {
    const sock = await udpSink();
    const c = new StunClient(createUdpTransport(sock));
    await new Promise<void>((r) => sock.close(() => r()));
    const ind = new StunMessage({ cls: "indication" });
    await expect(c.indicate(server().primary, ind)).rejects.toMatchObject({
      name: "StunError",
      code: "ERR_STUN_CLOSED",
    });
    await expect(c.request(server().primary)).rejects.toMatchObject({
      name: "StunError",
      code: "ERR_STUN_CLOSED",
    });
    c.detach();
  });

  test("indicate() sends an indication; the server ignores it (no answer)", async () => {
    const sink = await udpSink();
    const got = new Promise<Buffer>((r) => sink.once("message", r));
    const c = await StunClient.udp({ localAddress: "127.0.0.1" });
    try {
      const ind = new StunMessage({ method: METHOD.SEND, cls: "indication" })
        .addAddress(ATTR.XOR_PEER_ADDRESS, { host: "192.0.2.1", port: 9 })
        .add(ATTR.DATA, Uint8Array.of(1, 2, 3));
      await c.indicate({ host: "127.0.0.1", port: sink.address().port }, ind);
      const d = decodeMessage(await got);
      expect(d.cls).toBe("indication");
      expect(d.get(ATTR.DATA)).toEqual(Uint8Array.of(1, 2, 3));
      await expect(c.indicate(server().primary, new StunMessage())).rejects.toMatchObject({
        code: "ERR_STUN_BAD_ARGUMENT",
      });
      const before = server().stats.answered;
      await c.indicate(server().primary, new StunMessage({ cls: "indication" }));
      expect((await c.binding(server().primary)).mapped).toEqual(c.local());
      expect(server().stats.answered).toBe(before + 1); // only the binding was answered
    } finally {
      c.close();
      sink.close();
    }
  });
});
