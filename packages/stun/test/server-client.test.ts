import { createSocket } from "node:dgram";
import { connect } from "node:net";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
  ATTR,
  createUdpTransport,
  decodeMessage,
  encodeMessage,
  getMappedAddress,
  METHOD,
  StunClient,
  StunMessage,
  StunServer,
  stunRequest,
} from "../src/index.js";
import { rfc5780Loopback, udpSink } from "./helpers.js";

// A full RFC 5780 server on two loopback IPs and two ephemeral ports, shared by the tests below.
let server: StunServer;

beforeAll(async () => {
  server = await rfc5780Loopback();
});
afterAll(async () => {
  await server.close();
});

describe("StunServer + client over UDP", () => {
  test("listens on 2 IPs × 2 ports × 2 protocols", () => {
    const eps = server.endpoints();
    expect(eps).toHaveLength(8);
    expect(new Set(eps.map((e) => `${e.host}:${e.port}`)).size).toBe(4);
    expect(server.other?.host).toBe("127.0.0.2");
  });

  test("binding: mapped address equals our socket, RFC 5780 attributes present", async () => {
    const c = await StunClient.udp({ localAddress: "127.0.0.1" });
    try {
      const r = await c.binding(server.primary, { signal: AbortSignal.timeout(5000) });
      expect(r.mapped).toEqual(c.local());
      expect(r.responseOrigin).toEqual(server.primary);
      expect(r.otherAddress).toEqual(server.other);
      expect(r.protocol).toBe("udp");
      expect(r.rtt).toBeGreaterThanOrEqual(0);
    } finally {
      c.close();
    }
  });

  test("CHANGE-REQUEST: answers come from the other IP and/or port", async () => {
    const c = await StunClient.udp({ localAddress: "127.0.0.1" });
    try {
      const p = server.primary;
      const o = server.other as NonNullable<typeof server.other>;
      const both = await c.binding(p, { changeIp: true, changePort: true });
      expect(both.from).toEqual(o);
      const ipOnly = await c.binding(p, { changeIp: true });
      expect(ipOnly.from).toEqual({ ...o, port: p.port });
      const portOnly = await c.binding(p, { changePort: true });
      expect(portOnly.from).toEqual({ ...p, port: o.port });
      expect(portOnly.responseOrigin).toEqual(portOnly.from);
    } finally {
      c.close();
    }
  });

  test("one-shot helpers over UDP and TCP", async () => {
    const udp = await getMappedAddress(server.primary, { localAddress: "127.0.0.1" });
    expect(udp.mapped.host).toBe("127.0.0.1");
    const tcp = await getMappedAddress(`127.0.0.1:${server.primary.port}`, { protocol: "tcp" });
    expect(tcp.protocol).toBe("tcp");
    expect(tcp.mapped).toEqual(tcp.local);
    const raw = await stunRequest(server.primary, { protocol: "tcp", framing: "rfc4571" });
    expect(raw.message.cls).toBe("success");
  });

  test("CHANGE-REQUEST over TCP is refused with 400", async () => {
    await expect(
      getMappedAddress(server.primary, { protocol: "tcp", changePort: true }),
    ).rejects.toMatchObject({
      code: "ERR_STUN_ERROR_RESPONSE",
      status: 400,
    });
  });

  test("RFC 3489 request (no cookie) gets MAPPED/SOURCE/CHANGED-ADDRESS", async () => {
    const tid = new Uint8Array(16).fill(7);
    const req = new StunMessage({ method: METHOD.BINDING, cls: "request", transactionId: tid });
    const r = await stunRequest(server.primary, { message: req, localAddress: "127.0.0.1" });
    expect(r.message.legacy).toBe(true);
    expect(r.message.getAddress(ATTR.MAPPED_ADDRESS)?.host).toBe("127.0.0.1");
    expect(r.message.getAddress(ATTR.SOURCE_ADDRESS)).toEqual(server.primary);
    expect(r.message.getAddress(ATTR.CHANGED_ADDRESS)).toEqual(server.other);
  });

  test("a server without alternates answers change requests with 420", async () => {
    const single = await new StunServer({
      ips: ["127.0.0.1"],
      port: 0,
      protocols: ["udp"],
    }).listen();
    try {
      await expect(getMappedAddress(single.primary, { changeIp: true })).rejects.toMatchObject({
        status: 420,
      });
      const ok = await getMappedAddress(single.primary);
      expect(ok.otherAddress).toBeUndefined();
    } finally {
      await single.close();
    }
  });

  test("IPv6 on ::1 over UDP and TCP", async () => {
    const v6 = await new StunServer({ ips: ["::1"], port: 0 }).listen();
    try {
      const u = await getMappedAddress(v6.primary, { family: 6 });
      expect(u.mapped.host).toBe("::1");
      expect(u.mapped.family).toBe(6);
      const t = await getMappedAddress(`[::1]:${v6.primary.port}`, { protocol: "tcp" });
      expect(t.mapped.host).toBe("::1");
    } finally {
      await v6.close();
    }
  });
});

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
      const r = await getMappedAddress(server.primary, { transport });
      expect(r.mapped.port).toBe(sock.address().port);
      const again = await getMappedAddress(server.primary, { transport });
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
    const r = await getMappedAddress(server.primary, {
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

describe("server: bad input and amplification", () => {
  /** Sends one datagram; waits `silenceMs` for (unwanted) answers, or up to 3 s for a wanted one. */
  async function udpExchange(payload: Uint8Array, silenceMs?: number): Promise<Buffer[]> {
    const s = await udpSink();
    const got: Buffer[] = [];
    s.on("message", (m) => got.push(m));
    const first = new Promise((r) => s.once("message", r));
    s.send(payload, server.primary.port, server.primary.host);
    if (silenceMs !== undefined) await new Promise((r) => setTimeout(r, silenceMs));
    else await Promise.race([first, new Promise((r) => setTimeout(r, 3000))]);
    s.close();
    return got;
  }

  const valid = () => encodeMessage(new StunMessage({ method: METHOD.BINDING, cls: "request" }));

  test("malformed requests get no answer at all", async () => {
    const v = valid();
    const cases: Uint8Array[] = [
      v.subarray(0, 19), // truncated header
      Uint8Array.of(...v.subarray(0, 4), 0, 0, 0, 0, ...v.subarray(8)).map((b, i) =>
        i === 3 ? 4 : b,
      ), // length lies
      (() => {
        const b = v.slice();
        b[4] = 0x99; // wrong cookie, and not a plausible RFC 3489 message either: length lies
        b[3] = 8;
        return b;
      })(),
      (() => {
        const m = new StunMessage().addUint32(ATTR.LIFETIME, 1).addUint32(ATTR.LIFETIME, 2);
        return encodeMessage(m); // duplicate attribute
      })(),
      (() => {
        const m = new StunMessage().add(ATTR.CHANGE_REQUEST, Uint8Array.of(1, 2)); // bad CHANGE-REQUEST size
        return encodeMessage(m);
      })(),
      (() => {
        const b = encodeMessage(new StunMessage(), { fingerprint: true });
        b[b.length - 1] = (b[b.length - 1] ?? 0) ^ 1; // bad fingerprint
        return b;
      })(),
      encodeMessage(new StunMessage({ cls: "success" })), // not a request
      encodeMessage(new StunMessage({ cls: "indication" })),
      new Uint8Array(3000), // oversized
      Uint8Array.from(Buffer.from("GET / HTTP/1.1\r\n\r\n")),
    ];
    for (const c of cases) expect(await udpExchange(c, 60)).toHaveLength(0);
    expect(server.stats.dropped).toBeGreaterThanOrEqual(cases.length);
  });

  test("unknown comprehension-required attributes: 420 with UNKNOWN-ATTRIBUTES, within 5x", async () => {
    const m = new StunMessage().add(0x7777, new Uint8Array(4)).add(0x7778, new Uint8Array(0));
    const req = encodeMessage(m);
    const [ans = Buffer.alloc(0)] = await udpExchange(req);
    const d = decodeMessage(ans);
    expect(d.getErrorCode()?.code).toBe(420);
    expect(d.getUnknownAttributes()).toEqual([0x7777, 0x7778]);
    expect(ans.length).toBeLessThanOrEqual(5 * req.length);
  });

  test("no answer is more than 5x its request (IPv4, IPv6, PADDING, many unknowns, legacy)", async () => {
    const v6 = await new StunServer({
      ips: ["::1"],
      port: 0,
      altPort: 0,
      protocols: ["udp"],
      software: "a rather long software name for testing",
    }).listen();
    try {
      const requests: Uint8Array[] = [
        valid(),
        encodeMessage(new StunMessage(), { fingerprint: true }),
        encodeMessage(new StunMessage().addPadding(200)),
        encodeMessage(new StunMessage({ transactionId: new Uint8Array(16).fill(1) })),
        encodeMessage(
          (() => {
            const m = new StunMessage();
            for (let t = 0x4000; t < 0x4000 + 40; t++) m.add(t, new Uint8Array(0));
            return m;
          })(),
        ),
      ];
      for (const target of [server.primary, v6.primary]) {
        for (const req of requests) {
          const s = createSocket(target.family === 6 ? "udp6" : "udp4");
          await new Promise<void>((r) => s.bind(0, target.host, r));
          const got: Buffer[] = [];
          s.on("message", (m) => got.push(m));
          const answered = new Promise((r) => s.once("message", r));
          s.send(req, target.port, target.host);
          await Promise.race([answered, new Promise((r) => setTimeout(r, 3000))]);
          await new Promise((r) => setTimeout(r, 20)); // a second answer would be a bug: give it a moment
          s.close();
          expect(got.length).toBe(1);
          expect(got[0]?.length).toBeLessThanOrEqual(5 * req.length);
        }
      }
    } finally {
      await v6.close();
    }
  });

  test("TCP: garbage closes the connection without an answer; both framings answered", async () => {
    const port = server.primary.port;
    const talk = (bytes: Uint8Array) =>
      new Promise<{ data: Buffer; closed: boolean }>((resolve) => {
        const chunks: Buffer[] = [];
        const s = connect(port, "127.0.0.1", () => s.write(bytes));
        s.on("data", (d) => {
          chunks.push(d);
          s.end();
        });
        s.on("error", () => {});
        s.on("close", () => resolve({ data: Buffer.concat(chunks), closed: true }));
        setTimeout(() => s.destroy(), 1000);
      });
    const junk = await talk(
      Uint8Array.from(Buffer.from("\xff\xff garbage garbage garbage", "latin1")),
    );
    expect(junk.data.length).toBe(0);
    const plain = await talk(valid());
    expect(decodeMessage(plain.data).cls).toBe("success");
    const v = valid();
    const framed = await talk(Uint8Array.of(0, v.length, ...v));
    expect(framed.data.readUInt16BE(0)).toBe(framed.data.length - 2);
    expect(decodeMessage(framed.data.subarray(2)).cls).toBe("success");
  });
});

describe("RFC 5780 extras and integrity", () => {
  test("RESPONSE-PORT sends the answer to another port of the same IP; port 0 is dropped without harm", async () => {
    const other = await udpSink();
    const got = new Promise<Buffer>((r) => other.once("message", r));
    const c = await StunClient.udp({ localAddress: "127.0.0.1" });
    try {
      const req = new StunMessage().addResponsePort(other.address().port);
      c.transport.send(encodeMessage(req), server.primary);
      const ans = decodeMessage(await got);
      expect(ans.transactionId).toEqual(req.transactionId);
      expect(ans.getAddress(ATTR.XOR_MAPPED_ADDRESS)).toEqual(c.local());
      // RESPONSE-PORT 0: no answer, and the server keeps serving.
      await expect(
        c.request(server.primary, {
          message: new StunMessage().addResponsePort(0),
          timeoutMs: 200,
        }),
      ).rejects.toMatchObject({ code: "ERR_STUN_TIMEOUT" });
      expect((await c.binding(server.primary)).mapped).toEqual(c.local());
    } finally {
      c.close();
      other.close();
    }
  });

  test("PADDING is echoed when the size budget allows", async () => {
    const r = await stunRequest(server.primary, { padding: 64 });
    expect(r.message.get(ATTR.PADDING)?.length).toBe(64);
    const both = await stunRequest(server.primary, { padding: 8, responsePort: 9 });
    expect(both.message.getErrorCode()?.code).toBe(400);
  });

  test("MESSAGE-INTEGRITY: signed requests, answers with a bad signature are ignored", async () => {
    const { shortTermKey, verifyIntegrity } = await import("../src/index.js");
    const key = shortTermKey("s3cret");
    const auth = await udpSink();
    const seen: boolean[] = [];
    auth.on("message", (data, rinfo) => {
      const ok = verifyIntegrity(data, key);
      seen.push(ok);
      const req = decodeMessage(data);
      const res = new StunMessage({ cls: "success", transactionId: req.transactionId }).addAddress(
        ATTR.XOR_MAPPED_ADDRESS,
        { host: rinfo.address, port: rinfo.port },
      );
      // First a forged answer signed with the wrong key, then the genuine one.
      auth.send(
        encodeMessage(res, { integrity: shortTermKey("wrong") }),
        rinfo.port,
        rinfo.address,
      );
      setTimeout(
        () => auth.send(encodeMessage(res, { integrity: key }), rinfo.port, rinfo.address),
        20,
      );
    });
    try {
      for (const sha256 of [false, true]) {
        const r = await stunRequest(
          { host: "127.0.0.1", port: auth.address().port },
          { integrityKey: key, integritySha256: sha256 },
        );
        expect(verifyIntegrity(r.raw, key)).toBe(true);
      }
      expect(seen).toEqual([true, true]);
    } finally {
      auth.close();
    }
  });
});

describe("TCP details", () => {
  test("a client bound to a given local port over TCP sees that port mapped", async () => {
    const { createServer } = await import("node:net");
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, "127.0.0.1", r));
    const port = (probe.address() as { port: number }).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const r = await getMappedAddress(server.primary, {
      protocol: "tcp",
      localAddress: "127.0.0.1",
      localPort: port,
    });
    expect(r.mapped).toEqual({ host: "127.0.0.1", port, family: 4 });
  });

  test("pipelined requests in one write and a request split byte by byte are all answered", async () => {
    const reqs = [0, 1, 2].map(() => new StunMessage());
    const bytes = reqs.map((m) => encodeMessage(m));
    const sock = connect(server.primary.port, "127.0.0.1");
    await new Promise((r) => sock.once("connect", r));
    const { StunFramer } = await import("../src/index.js");
    const framer = new StunFramer("stun");
    const ids: string[] = [];
    const all = new Promise<void>((resolve) =>
      sock.on("data", (d) => {
        for (const m of framer.push(d)) ids.push(decodeMessage(m).id);
        if (ids.length === 3) resolve();
      }),
    );
    sock.write(Buffer.concat([bytes[0] as Uint8Array, bytes[1] as Uint8Array]));
    for (const b of bytes[2] as Uint8Array) {
      sock.write(Uint8Array.of(b));
      await new Promise((r) => setImmediate(r));
    }
    await all;
    sock.destroy();
    expect(ids.sort()).toEqual(reqs.map((m) => m.id).sort());
  });

  test("idle TCP connections are closed", async () => {
    const s = await new StunServer({
      ips: ["127.0.0.1"],
      port: 0,
      protocols: ["tcp"],
      tcpIdleMs: 100,
    }).listen();
    try {
      const sock = connect(s.primary.port, "127.0.0.1");
      sock.on("error", () => {});
      await new Promise<void>((r) => sock.once("close", () => r()));
      expect(sock.destroyed).toBe(true);
    } finally {
      await s.close();
    }
  });
});

describe("indications", () => {
  test("a socket the caller closed: indicate() and request() reject with ERR_STUN_CLOSED", async () => {
    const sock = await udpSink();
    const c = new StunClient(createUdpTransport(sock));
    await new Promise<void>((r) => sock.close(() => r()));
    const ind = new StunMessage({ cls: "indication" });
    await expect(c.indicate(server.primary, ind)).rejects.toMatchObject({
      name: "StunError",
      code: "ERR_STUN_CLOSED",
    });
    await expect(c.request(server.primary)).rejects.toMatchObject({
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
      await expect(c.indicate(server.primary, new StunMessage())).rejects.toMatchObject({
        code: "ERR_STUN_BAD_ARGUMENT",
      });
      const before = server.stats.answered;
      await c.indicate(server.primary, new StunMessage({ cls: "indication" }));
      expect((await c.binding(server.primary)).mapped).toEqual(c.local());
      expect(server.stats.answered).toBe(before + 1); // only the binding was answered
    } finally {
      c.close();
      sink.close();
    }
  });
});
