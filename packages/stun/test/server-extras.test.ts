import { connect } from "node:net";
import { describe, expect, test } from "vitest";
import {
  ATTR,
  decodeMessage,
  encodeMessage,
  getMappedAddress,
  StunClient,
  StunMessage,
  StunServer,
  stunRequest,
} from "../src/index.js";
import { loopbackServerForFile, udpSink } from "./helpers.js";

// RFC 5780 extras (RESPONSE-PORT, PADDING), MESSAGE-INTEGRITY and TCP framing details.
const server = loopbackServerForFile();

describe("RFC 5780 extras and integrity", () => {
  test("RESPONSE-PORT sends the answer to another port of the same IP; port 0 is dropped without harm", async () => {
    const other = await udpSink();
    const got = new Promise<Buffer>((r) => other.once("message", r));
    const c = await StunClient.udp({ localAddress: "127.0.0.1" });
    try {
      const req = new StunMessage().addResponsePort(other.address().port);
      c.transport.send(encodeMessage(req), server().primary);
      const ans = decodeMessage(await got);
      expect(ans.transactionId).toEqual(req.transactionId);
      expect(ans.getAddress(ATTR.XOR_MAPPED_ADDRESS)).toEqual(c.local());
      // RESPONSE-PORT 0: no answer, and the server keeps serving.
      await expect(
        c.request(server().primary, {
          message: new StunMessage().addResponsePort(0),
          timeoutMs: 200,
        }),
      ).rejects.toMatchObject({ code: "ERR_STUN_TIMEOUT" });
      expect((await c.binding(server().primary)).mapped).toEqual(c.local());
    } finally {
      c.close();
      other.close();
    }
  });

  test("PADDING is echoed when the size budget allows", async () => {
    const r = await stunRequest(server().primary, { padding: 64 });
    expect(r.message.get(ATTR.PADDING)?.length).toBe(64);
    const both = await stunRequest(server().primary, { padding: 8, responsePort: 9 });
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
    const r = await getMappedAddress(server().primary, {
      protocol: "tcp",
      localAddress: "127.0.0.1",
      localPort: port,
    });
    expect(r.mapped).toEqual({ host: "127.0.0.1", port, family: 4 });
  });

  test("pipelined requests in one write and a request split byte by byte are all answered", async () => {
    const reqs = [0, 1, 2].map(() => new StunMessage());
    const bytes = reqs.map((m) => encodeMessage(m));
    const sock = connect(server().primary.port, "127.0.0.1");
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
