import { once } from "node:events";
import { connect, createServer, type Server, type Socket } from "node:net";
import { wrapStream } from "@p2pd/pipe";
import { afterEach, describe, expect, it } from "vitest";
import { SecureStream } from "../../src/secure/channel.js";
import type { NoiseCipher } from "../../src/secure/cipher-state.js";
import { alice, bob, CIPHERS, carol } from "./helpers.js";

// Real adversaries on loopback TCP: a relay in the middle that reads or changes bytes, a proxy
// that terminates the handshake with its own key, a node listening where another one was.

const closers: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0)) await c();
});

async function listen(onSocket: (s: Socket) => void, port = 0): Promise<Server> {
  const srv = createServer(onSocket);
  srv.listen(port, "127.0.0.1");
  await once(srv, "listening");
  closers.push(() => new Promise((r) => srv.close(r)));
  return srv;
}
const portOf = (s: Server) => (s.address() as { port: number }).port;

async function dial(port: number): Promise<Socket> {
  const s = connect(port, "127.0.0.1");
  await once(s, "connect");
  closers.push(() => s.destroy());
  return s;
}

/** Bob: a responder whose pipes collect what they receive. */
async function bobServer() {
  const got: Buffer[] = [];
  const errors: (Error & { code?: string })[] = [];
  const peers: string[] = [];
  const srv = await listen((sock) => {
    const sec = new SecureStream(sock, { identity: bob, initiator: false });
    sec.ready.then(
      (p) => peers.push(p.nodeId),
      () => {},
    );
    sec.on("error", (e) => errors.push(e));
    const pipe = wrapStream(sec);
    pipe.onMessage((m) => {
      got.push(Buffer.from(m.data));
      void pipe.send(Buffer.concat([Buffer.from("re:"), m.data]));
    });
    closers.push(() => pipe.close());
  });
  return { srv, got, errors, peers };
}

/** A TCP relay to `port` that passes each direction's bytes through `tap`. */
async function relay(port: number, tap: (dir: "ab" | "ba", c: Buffer) => Buffer = (_d, c) => c) {
  return listen((a) => {
    const b = connect(port, "127.0.0.1");
    a.on("data", (c: Buffer) => b.write(tap("ab", c)));
    b.on("data", (c: Buffer) => a.write(tap("ba", c)));
    a.on("close", () => b.destroy());
    b.on("close", () => a.destroy());
    a.on("error", () => {});
    b.on("error", () => {});
    closers.push(() => {
      a.destroy();
      b.destroy();
    });
  });
}

function aliceTo(sock: Socket, cipher: NoiseCipher, who = bob) {
  const sec = new SecureStream(sock, {
    identity: alice,
    initiator: true,
    cipher,
    expect: { nodeId: who.nodeId, x25519: who.x25519.publicKey },
  });
  return { sec, pipe: wrapStream(sec) };
}

describe.each(CIPHERS)("adversaries in the middle (%s)", (cipher) => {
  it("a relay that records every byte sees no payload", async () => {
    const b = await bobServer();
    const captured: Buffer[] = [];
    const r = await relay(portOf(b.srv), (_d, c) => {
      captured.push(Buffer.from(c));
      return c;
    });
    const { pipe } = aliceTo(await dial(portOf(r)), cipher);
    const secret = "the treasure is under the third palm tree";
    await pipe.send(secret);
    const reply = await pipe.recv({ timeout: 5000 });
    expect(reply.toString()).toBe(`re:${secret}`);
    expect(b.peers).toEqual([alice.nodeId]);
    const wire = Buffer.concat(captured);
    expect(wire.length).toBeGreaterThan(secret.length);
    expect(wire.includes(secret)).toBe(false);
    expect(wire.includes("treasure")).toBe(false);
    await pipe.close();
  });

  it("a relay that flips one bit after the handshake: the connection fails, no wrong data", async () => {
    const b = await bobServer();
    let seen = 0;
    const r = await relay(portOf(b.srv), (d, c) => {
      if (d !== "ab") return c;
      const out = Buffer.from(c);
      // Byte 400 of Alice's stream: well past the handshake (~200 bytes), inside a data frame.
      const i = 400 - seen;
      if (i >= 0 && i < out.length) out[i] = (out[i] as number) ^ 0x10;
      seen += c.length;
      return out;
    });
    const { pipe } = aliceTo(await dial(portOf(r)), cipher);
    const sent: string[] = [];
    for (let i = 0; i < 20; i++) {
      const m = `message number ${i} `.repeat(4);
      sent.push(m);
      await pipe.send(m).catch(() => {});
    }
    await new Promise((res) => pipe.onEnd(() => res(undefined)));
    expect(b.errors.map((e) => e.code)).toContain("ERR_DECRYPT");
    // Bob delivered only what Alice sent, in order, up to the damaged frame.
    expect(b.got.length).toBeLessThan(sent.length);
    expect(b.got.map(String)).toEqual(sent.slice(0, b.got.length));
  });

  it("a proxy that answers with its own key: the dialer fails ERR_PEER_AUTH", async () => {
    // Mallory terminates Alice's handshake (as herself) and would relay to Bob.
    const mallory = await listen((sock) => {
      const sec = new SecureStream(sock, { identity: carol, initiator: false });
      sec.on("error", () => {});
      closers.push(() => sec.destroy());
    });
    for (const expect_ of [
      { nodeId: bob.nodeId, x25519: bob.x25519.publicKey }, // IK: the address has Bob's key
      { nodeId: bob.nodeId }, // XX: only Bob's node id
    ]) {
      const sec = new SecureStream(await dial(portOf(mallory)), {
        identity: alice,
        initiator: true,
        cipher,
        expect: expect_,
      });
      const pipe = wrapStream(sec);
      await pipe.send("for bob's eyes only").catch(() => {});
      await expect(sec.ready).rejects.toMatchObject({ code: "ERR_PEER_AUTH" });
      expect(pipe.isOpen).toBe(false);
    }
  });

  it("a node listening at another node's IP:port cannot complete the handshake", async () => {
    const b = await bobServer();
    const port = portOf(b.srv);
    await new Promise((r) => b.srv.close(r));
    // Carol takes Bob's port (same IP, same port, her own keys).
    const imp = await listen((sock) => {
      const sec = new SecureStream(sock, { identity: carol, initiator: false });
      sec.on("error", () => {});
      closers.push(() => sec.destroy());
    }, port);
    expect(portOf(imp)).toBe(port);
    const { sec } = aliceTo(await dial(port), cipher);
    await expect(sec.ready).rejects.toMatchObject({ code: "ERR_PEER_AUTH" });
  });
});
