import dgram from "node:dgram";
import net from "node:net";
import { ATTR, decodeMessage, encodeMessage, METHOD, StunMessage } from "@p2pd/stun";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
  ReliableUdpStream,
  TraversalError,
  TurnClient,
  turnLink,
  turnRelayPipe,
} from "../../src/traversal/index.js";
import { type Coturn, hasTurnserver, startCoturn } from "./coturn.js";

function udpPeer(): Promise<dgram.Socket> {
  const s = dgram.createSocket("udp4");
  return new Promise((r) => s.bind(0, "127.0.0.1", () => r(s)));
}
function nextMessage(s: dgram.Socket): Promise<{ msg: Buffer; port: number; address: string }> {
  return new Promise((r) =>
    s.once("message", (msg, ri) => r({ msg, port: ri.port, address: ri.address })),
  );
}

describe.skipIf(!hasTurnserver)("TurnClient against coturn", () => {
  let turn: Coturn;
  beforeAll(async () => {
    turn = await startCoturn();
  }, 20_000);
  afterAll(async () => {
    await turn?.stop();
  });

  const creds = () => ({
    server: { host: turn.host, port: turn.port },
    username: turn.username,
    password: turn.password,
  });

  for (const transport of ["udp", "tcp"] as const) {
    test(`allocates over ${transport} and relays both ways with indications and channels`, async () => {
      const c = await TurnClient.allocate({ ...creds(), transport });
      const peer = await udpPeer();
      try {
        expect(c.relayed.host).toBe("127.0.0.1");
        expect(c.relayed.port).toBeGreaterThan(0);
        expect(c.mapped?.port).toBe(c.local.port);
        const pa = { host: "127.0.0.1", port: peer.address().port };
        await c.createPermission(pa.host);
        // Send indication path.
        const got1 = nextMessage(peer);
        c.send(pa, Buffer.from("via-indication"));
        const m1 = await got1;
        expect(m1.msg.toString()).toBe("via-indication");
        expect(m1.port).toBe(c.relayed.port);
        // Data indication back.
        const back1 = new Promise<string>((r) => {
          const off = c.onData((d, from) => {
            expect(from).toEqual(pa);
            off();
            r(d.toString());
          });
        });
        peer.send("reply-1", c.relayed.port, c.relayed.host);
        expect(await back1).toBe("reply-1");
        // Channel path both ways.
        const ch = await c.bindChannel(pa);
        expect(ch).toBeGreaterThanOrEqual(0x4000);
        const got2 = nextMessage(peer);
        c.send(pa, Buffer.from("odd-len-via-channel"));
        expect((await got2).msg.toString()).toBe("odd-len-via-channel");
        const back2 = new Promise<string>((r) => c.onData((d) => r(d.toString())));
        peer.send("reply-2x", c.relayed.port, c.relayed.host);
        expect(await back2).toBe("reply-2x");
        await c.refresh(900);
        expect(c.lifetimeSec).toBe(900);
      } finally {
        await c.close();
        peer.close();
      }
      expect(c.closed).toBe(true);
      expect(() => c.send({ host: "127.0.0.1", port: 1 }, Buffer.from("x"))).toThrow(
        TraversalError,
      );
    });
  }

  test("two TURN clients talk through the relay with relay pipes", async () => {
    const a = await TurnClient.allocate({ ...creds(), transport: "udp" });
    const b = await TurnClient.allocate({ ...creds(), transport: "tcp" });
    const [pa, pb] = await Promise.all([turnRelayPipe(a, b.relayed), turnRelayPipe(b, a.relayed)]);
    try {
      await pa.send("hello from a");
      expect((await pb.recv({ timeoutMs: 3000 })).toString()).toBe("hello from a");
      await pb.send(new Uint8Array([0, 1, 2, 255]));
      expect([...(await pa.recv({ timeoutMs: 3000 }))]).toEqual([0, 1, 2, 255]);
      const seen: string[] = [];
      pb.onMessage((d) => seen.push(d.toString()));
      for (let i = 0; i < 20; i++) await pa.send(`m${i}`);
      const got: string[] = [];
      for (let i = 0; i < 20; i++) got.push((await pb.recv({ timeoutMs: 3000 })).toString());
      expect(got.sort()).toEqual(Array.from({ length: 20 }, (_, i) => `m${i}`).sort());
      expect(seen.length).toBe(20);
    } finally {
      await pa.close();
      await pb.close();
    }
    expect(a.closed && b.closed).toBe(true);
    await expect(pa.recv()).rejects.toMatchObject({ code: "ERR_CLOSED" });
  });

  test("a reliable ordered stream runs over two TURN allocations", async () => {
    const a = await TurnClient.allocate(creds());
    const b = await TurnClient.allocate(creds());
    await Promise.all([a.createPermission(b.relayed.host), b.createPermission(a.relayed.host)]);
    await Promise.all([a.bindChannel(b.relayed), b.bindChannel(a.relayed)]);
    const sa = new ReliableUdpStream(turnLink(a, b.relayed), { session: 42 });
    const sb = new ReliableUdpStream(turnLink(b, a.relayed), { session: 42 });
    try {
      for (let i = 0; i < 50; i++) await sa.send(i % 10 === 0 ? Buffer.alloc(4000, i) : `n${i}`);
      for (let i = 0; i < 50; i++) {
        const m = await sb.recv({ timeoutMs: 5000 });
        expect(i % 10 === 0 ? m.length === 4000 && m[0] === i : m.toString() === `n${i}`).toBe(
          true,
        );
      }
    } finally {
      await sa.close();
      await sb.close();
    }
    // The links release their allocations (Refresh 0) in the background.
    await Promise.all([a, b].map((c) => new Promise<void>((r) => c.onClose(() => r()))));
    expect(a.closed && b.closed).toBe(true);
  });

  test("datagrams from anyone but the server are dropped, even well-formed Data indications", async () => {
    const c = await TurnClient.allocate(creds());
    const stranger = await udpPeer();
    try {
      const got: string[] = [];
      c.onData((d) => got.push(d.toString()));
      const forged = encodeMessage(
        new StunMessage({ method: METHOD.DATA, cls: "indication" })
          .addAddress(ATTR.XOR_PEER_ADDRESS, { host: "127.0.0.1", port: 9 })
          .addString(ATTR.DATA, "forged"),
      );
      const before = c.dropped;
      stranger.send(forged, c.local.port, "127.0.0.1");
      stranger.send(Buffer.from([0x40, 0x00, 0x00, 0x01, 0x41]), c.local.port, "127.0.0.1");
      await new Promise((r) => setTimeout(r, 100));
      expect(got).toEqual([]);
      expect(c.dropped).toBe(before + 2);
    } finally {
      stranger.close();
      await c.close();
    }
  });

  test("close() leaves no socket or timer behind (refresh, permission and channel timers)", async () => {
    const handles = () =>
      process
        .getActiveResourcesInfo()
        .filter((r) => r === "Timeout" || r === "UDPWrap" || r === "TCPSocketWrap");
    await new Promise((r) => setTimeout(r, 50)); // earlier tests' handles finish closing
    const before = handles().length;
    const c = await TurnClient.allocate({ ...creds(), transport: "tcp" });
    const u = await TurnClient.allocate(creds());
    await c.createPermission("127.0.0.1");
    await c.bindChannel({ host: "127.0.0.1", port: 9 });
    await u.bindChannel({ host: "127.0.0.1", port: 9 });
    expect(handles().length).toBeGreaterThan(before);
    await c.close();
    await u.close();
    await new Promise((r) => setTimeout(r, 50)); // handles go once libuv's close callbacks ran
    expect(handles().length).toBeLessThanOrEqual(before);
  });

  test("wrong password fails with ERR_TURN_AUTH and closes the socket", async () => {
    const err = await TurnClient.allocate({ ...creds(), password: "wrong" }).catch((e) => e);
    expect(err).toBeInstanceOf(TraversalError);
    expect(err.code).toBe("ERR_TURN_AUTH");
    expect(err.status).toBe(401);
  });

  test("abort during allocate rejects with ERR_ABORTED", async () => {
    const ac = new AbortController();
    ac.abort();
    await expect(TurnClient.allocate({ ...creds(), signal: ac.signal })).rejects.toMatchObject({
      code: "ERR_ABORTED",
    });
  });

  test("permission for a peer that is not allowed surfaces the server's error", async () => {
    const c = await TurnClient.allocate(creds());
    try {
      // coturn forbids relaying to 0.0.0.0 peers: a 403.
      const err = await c.createPermission("0.0.0.0").catch((e) => e);
      expect(err).toBeInstanceOf(TraversalError);
      expect(err.code).toBe("ERR_TURN_REQUEST");
      expect(err.status).toBeGreaterThanOrEqual(400);
    } finally {
      await c.close();
    }
  });
});

describe("TurnClient against a hostile server", () => {
  async function fakeServer(
    reply: (req: StunMessage, send: (b: Uint8Array) => void) => void,
  ): Promise<dgram.Socket> {
    const s = await udpPeer();
    s.on("message", (msg, ri) => {
      try {
        reply(decodeMessage(msg), (b) => s.send(b, ri.port, ri.address));
      } catch {}
    });
    return s;
  }

  /** The error of an allocation against a fake server (UDP) or a raw TCP listener; closes it. */
  async function allocateError(
    server: dgram.Socket | net.Server,
    opts: { transport?: "tcp"; requestTimeoutMs?: number } = {},
  ): Promise<TraversalError & { code: string }> {
    const a = server.address() as net.AddressInfo;
    try {
      return await TurnClient.allocate({
        server: { host: "127.0.0.1", port: a.port },
        username: "u",
        password: "p",
        ...opts,
      }).then(
        () => expect.fail("allocation should have failed"),
        (e) => e,
      );
    } finally {
      server.close();
    }
  }

  async function tcpServer(onConn: (s: net.Socket) => void): Promise<net.Server> {
    const srv = net.createServer(onConn);
    await new Promise<void>((r) => srv.listen(0, "127.0.0.1", () => r()));
    return srv;
  }

  test("responses with a wrong transaction id are ignored: ERR_TURN_TIMEOUT", async () => {
    const s = await fakeServer((req, send) => {
      const tid = Buffer.from(req.transactionId);
      tid[0] = (tid[0] ?? 0) ^ 0xff;
      send(
        encodeMessage(new StunMessage({ method: req.method, cls: "success", transactionId: tid })),
      );
    });
    const err = await allocateError(s, { requestTimeoutMs: 400 });
    expect(err.code).toBe("ERR_TURN_TIMEOUT");
  });

  test("a success without valid MESSAGE-INTEGRITY after the challenge is dropped", async () => {
    const s = await fakeServer((req, send) => {
      const authed = req.has(ATTR.MESSAGE_INTEGRITY);
      const res = new StunMessage({
        method: req.method,
        cls: authed ? "success" : "error",
        transactionId: req.transactionId,
      });
      if (authed) res.addUint32(ATTR.LIFETIME, 600);
      else res.addErrorCode(401).addString(ATTR.REALM, "r").addString(ATTR.NONCE, "n");
      // Forged: integrity computed with a key that is not ours.
      send(encodeMessage(res, authed ? { integrity: Buffer.from("not-the-key") } : {}));
    });
    const err = await allocateError(s, { requestTimeoutMs: 400 });
    expect(err.code).toBe("ERR_TURN_TIMEOUT");
  });

  test("a TCP server that hangs up mid-request fails the allocation with ERR_TURN_CLOSED", async () => {
    const srv = await tcpServer((s) => s.once("data", () => s.destroy()));
    const err = await allocateError(srv, { transport: "tcp" });
    expect(err).toBeInstanceOf(TraversalError);
    expect(err.code).toBe("ERR_TURN_CLOSED");
  });

  test("a TCP stream that is not TURN (an SSH banner) is rejected with ERR_TURN_DECODE", async () => {
    const srv = await tcpServer((s) => s.once("data", () => s.write("SSH-2.0-OpenSSH_9.2\r\n")));
    const err = await allocateError(srv, { transport: "tcp" });
    expect(err.code).toBe("ERR_TURN_DECODE");
  });

  test("endless 401 challenges end with ERR_TURN_AUTH", async () => {
    let n = 0;
    const s = await fakeServer((req, send) => {
      n++;
      send(
        encodeMessage(
          new StunMessage({
            method: METHOD.ALLOCATE,
            cls: "error",
            transactionId: req.transactionId,
          })
            .addErrorCode(401)
            .addString(ATTR.REALM, "r")
            .addString(ATTR.NONCE, `n${n}`),
        ),
      );
    });
    const err = await allocateError(s, { requestTimeoutMs: 1000 });
    expect(err.code).toBe("ERR_TURN_AUTH");
    expect(n).toBeLessThanOrEqual(3);
  });
});
