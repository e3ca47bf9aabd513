import { createHash, randomBytes } from "node:crypto";
import { once } from "node:events";
import { describe, expect, it } from "vitest";
import { SecureStream } from "../../src/secure/channel.js";
import { secureIdentity } from "../../src/secure/identity.js";
import { handshakeTimeoutMs } from "../../src/secure/timeout.js";
import { alice, bob, carol, failure, ik, readN, secure, tcpPair, Wire } from "./helpers.js";

describe("SecureStream over TCP", () => {
  it("IK: both ends learn the other's verified node id; bytes cross both ways intact", async () => {
    const [ra, rb] = await tcpPair();
    const [a, b] = ik(ra, rb);
    const [pa, pb] = await Promise.all([a.ready, b.ready]);
    expect(pa).toMatchObject({ nodeId: bob.nodeId, pattern: "IK" });
    expect(pb).toMatchObject({ nodeId: alice.nodeId, pattern: "IK" });
    expect(Buffer.from(pb.x25519)).toEqual(Buffer.from(alice.x25519.publicKey));
    const big = randomBytes(300_000); // several 64 KiB frames
    a.write(big);
    b.write("pong");
    expect((await readN(b, big.length)).equals(big)).toBe(true);
    expect((await readN(a, 4)).toString()).toBe("pong");
    a.end();
    b.resume();
    await once(b, "end");
    b.destroy();
    a.destroy();
  });

  it("writes made before the handshake completes are held, then sent encrypted", async () => {
    const [ra, rb] = await tcpPair();
    const seen: Buffer[] = [];
    rb.on("data", (c: Buffer) => seen.push(c));
    const [a, b] = ik(ra, rb);
    a.write("early secret");
    expect((await readN(b, 12)).toString()).toBe("early secret");
    expect(Buffer.concat(seen).includes("early secret")).toBe(false);
    a.destroy();
    b.destroy();
  });

  it("XX when only the node id is known, and XX with no expectation (responder still verified)", async () => {
    for (const expectId of [bob.nodeId, undefined]) {
      const [ra, rb] = await tcpPair();
      const a = secure(ra, alice, true, expectId ? { nodeId: expectId } : undefined);
      const b = secure(rb, bob, false);
      const [pa, pb] = await Promise.all([a.ready, b.ready]);
      expect(pa).toMatchObject({ nodeId: bob.nodeId, pattern: "XX" });
      expect(pb).toMatchObject({ nodeId: alice.nodeId, pattern: "XX" });
      b.write("x");
      expect((await readN(a, 1)).toString()).toBe("x");
      a.destroy();
      b.destroy();
    }
  });

  it("IK to a node that does not hold the address's key: ERR_PEER_AUTH", async () => {
    const [ra, rb] = await tcpPair();
    // Alice dials "bob" but carol answers (her own keys, same socket).
    const a = secure(ra, alice, true, { nodeId: bob.nodeId, x25519: bob.x25519.publicKey });
    const c = secure(rb, carol, false);
    a.write("for bob only");
    const [ea, ec] = await Promise.all([failure(a), failure(c)]);
    expect(ea.code).toBe("ERR_PEER_AUTH");
    expect(ec.code).toBe("ERR_HANDSHAKE");
    await expect(a.ready).rejects.toMatchObject({ code: "ERR_PEER_AUTH" });
  });

  it("XX to another node than the one dialed: ERR_PEER_AUTH", async () => {
    const [ra, rb] = await tcpPair();
    const a = secure(ra, alice, true, { nodeId: bob.nodeId });
    const c = secure(rb, carol, false);
    expect((await failure(a)).code).toBe("ERR_PEER_AUTH");
    c.destroy();
  });

  it("the right x25519 key with another node's id: ERR_PEER_AUTH", async () => {
    const [ra, rb] = await tcpPair();
    const a = secure(ra, alice, true, { nodeId: carol.nodeId, x25519: bob.x25519.publicKey });
    const b = secure(rb, bob, false);
    expect((await failure(a)).code).toBe("ERR_PEER_AUTH");
    b.destroy();
  });

  it("a far end that never answers: ERR_HANDSHAKE_TIMEOUT, nothing left behind", async () => {
    const [ra, rb] = await tcpPair();
    const a = secure(ra, alice, true, { x25519: bob.x25519.publicKey }, { timeoutMs: 150 });
    expect((await failure(a)).code).toBe("ERR_HANDSHAKE_TIMEOUT");
    expect(ra.destroyed).toBe(true);
    rb.destroy();
  });

  it("the far end closing mid-handshake: ERR_HANDSHAKE_CLOSED", async () => {
    const [ra, rb] = await tcpPair();
    const a = secure(ra, alice, true, { x25519: bob.x25519.publicKey });
    rb.end();
    expect((await failure(a)).code).toBe("ERR_HANDSHAKE_CLOSED");
  });

  it("an aborted signal ends the handshake with ERR_ABORTED", async () => {
    const [ra, rb] = await tcpPair();
    const ac = new AbortController();
    const a = secure(ra, alice, true, { x25519: bob.x25519.publicKey }, { signal: ac.signal });
    ac.abort();
    expect((await failure(a)).code).toBe("ERR_ABORTED");
    rb.destroy();
  });

  it("a precomputed identity works like the keys", async () => {
    const [ra, rb] = await tcpPair();
    const id = secureIdentity(alice);
    const a = new SecureStream(ra, {
      identity: id,
      initiator: true,
      expect: { x25519: bob.x25519.publicKey },
    });
    const b = secure(rb, bob, false);
    expect((await b.ready).nodeId).toBe(alice.nodeId);
    a.destroy();
    b.destroy();
  });

  it("a reader slower than the peer's FIN still answers with its authenticated end (no ERR_TRUNCATED)", async () => {
    const [ra, rb] = await tcpPair();
    const [a, b] = ik(ra, rb);
    await Promise.all([a.ready, b.ready]);
    const errors: string[] = [];
    a.on("error", (e: Error & { code?: string }) => errors.push(`a ${e.code ?? e.message}`));
    b.on("error", (e: Error & { code?: string }) => errors.push(`b ${e.code ?? e.message}`));
    const aEnded = once(a, "end");
    a.resume();
    // Small enough to sit in b's buffers: the raw socket sees the FIN long before b is read.
    a.end(Buffer.alloc(10_000, 1));
    await once(rb, "end");
    await new Promise((r) => setTimeout(r, 50));
    const bEnded = once(b, "end");
    expect((await readN(b, 10_000)).equals(Buffer.alloc(10_000, 1))).toBe(true);
    b.resume();
    await bEnded;
    await aEnded; // b's authenticated end reached a
    await new Promise((r) => setTimeout(r, 20));
    expect(errors).toEqual([]);
    a.destroy();
    b.destroy();
  });
});

const hello = (s: string) => createHash("sha256").update(s).digest().subarray(0, 16);

describe("reverse connect: the accepting end initiates", () => {
  const accept = (raw: import("node:net").Socket, who: typeof bob | undefined) =>
    secure(raw, alice, false, undefined, {
      onHello: (h) =>
        h.equals(hello("attempt-1")) && who
          ? { nodeId: who.nodeId, x25519: who.x25519.publicKey }
          : undefined,
    });

  it("a hello naming our attempt turns the acceptor into the IK initiator", async () => {
    const [opener, acceptor] = await tcpPair();
    const b = secure(opener, bob, false, undefined, { hello: hello("attempt-1") });
    const a = accept(acceptor, bob);
    const [pa, pb] = await Promise.all([a.ready, b.ready]);
    expect(a.initiator).toBe(true);
    expect(b.initiator).toBe(false);
    expect(pa).toMatchObject({ nodeId: bob.nodeId, pattern: "IK" });
    expect(pb.nodeId).toBe(alice.nodeId);
    b.write("ID x");
    expect((await readN(a, 4)).toString()).toBe("ID x");
    a.destroy();
    b.destroy();
  });

  it("an initiator skips a hello from a responder that opened the transport (punch, relay)", async () => {
    const [ra, rb] = await tcpPair();
    const b = secure(rb, bob, false, undefined, { hello: hello("attempt-1") });
    const a = secure(ra, alice, true, { nodeId: bob.nodeId, x25519: bob.x25519.publicKey });
    const [pa, pb] = await Promise.all([a.ready, b.ready]);
    expect(pa.nodeId).toBe(bob.nodeId);
    expect(pb.nodeId).toBe(alice.nodeId);
    a.destroy();
    b.destroy();
  });

  it("a hello for no pending attempt: ERR_HANDSHAKE", async () => {
    const [opener, acceptor] = await tcpPair();
    const b = secure(opener, bob, false, undefined, { hello: hello("attempt-2") });
    const a = accept(acceptor, bob);
    failure(b);
    expect((await failure(a)).code).toBe("ERR_HANDSHAKE");
    b.destroy();
  });

  it("the wrong node dialing back: ERR_PEER_AUTH at the logical dialer", async () => {
    const [opener, acceptor] = await tcpPair();
    const c = secure(opener, carol, false, undefined, { hello: hello("attempt-1") });
    const a = accept(acceptor, bob);
    const ec = failure(c);
    expect((await failure(a)).code).toBe("ERR_PEER_AUTH");
    expect((await ec).code).toBe("ERR_HANDSHAKE");
  });
});

describe("handshake timeout", () => {
  it("is derived from the RTT, between a floor and a ceiling", () => {
    expect(handshakeTimeoutMs(0.05)).toBe(3000);
    expect(handshakeTimeoutMs(500)).toBe(5000);
    expect(handshakeTimeoutMs(60_000)).toBe(15_000);
    expect(handshakeTimeoutMs(undefined)).toBe(15_000);
    expect(handshakeTimeoutMs(Number.NaN)).toBe(15_000);
  });
});

describe("SecureStream over an in-memory wire", () => {
  it("a clean end arrives as 'end' (the authenticated end frame)", async () => {
    const w = new Wire();
    const [a, b] = ik(w.a, w.b);
    await b.ready;
    const ended = once(b, "end");
    a.end("bye");
    expect((await readN(b, 3)).toString()).toBe("bye");
    b.resume();
    await ended;
  });
});
