import { createCipheriv, createHash, randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { SecureStream } from "../../src/secure/channel.js";
import { CipherState } from "../../src/secure/cipher-state.js";
import { secureIdentity } from "../../src/secure/identity.js";
import { alice, bob, CIPHERS, carol, failure, readN, secure, tcpPair, Wire } from "./helpers.js";

// The cipher is the initiator's choice, named in its first message's header byte (mixed into the
// prologue): AESGCM by default, ChaChaPoly on request; a responder accepts both.

const bobKeys = { nodeId: bob.nodeId, x25519: bob.x25519.publicKey };
const HEADER = { AESGCM: { IK: 0x11, XX: 0x12 }, ChaChaPoly: { IK: 0x01, XX: 0x02 } } as const;

describe("both ciphers end to end", () => {
  for (const cipher of CIPHERS)
    for (const pattern of ["IK", "XX"] as const)
      it(`${cipher} ${pattern} over TCP: both ends run it and say so; 300 KB each way intact`, async () => {
        const [ra, rb] = await tcpPair();
        const a = secure(ra, alice, true, pattern === "IK" ? bobKeys : { nodeId: bob.nodeId }, {
          cipher,
        });
        const b = secure(rb, bob, false);
        const [pa, pb] = await Promise.all([a.ready, b.ready]);
        expect(pa).toMatchObject({ nodeId: bob.nodeId, pattern, cipher });
        expect(pb).toMatchObject({ nodeId: alice.nodeId, pattern, cipher });
        const ab = randomBytes(300_000);
        const ba = randomBytes(300_000);
        a.write(ab);
        b.write(ba);
        expect((await readN(b, ab.length)).equals(ab)).toBe(true);
        expect((await readN(a, ba.length)).equals(ba)).toBe(true);
        a.destroy();
        b.destroy();
      });

  it("AESGCM unless told; an identity's cipher is what that node asks for as initiator", async () => {
    const w1 = new Wire();
    const [d1, r1] = [secure(w1.a, alice, true, bobKeys), secure(w1.b, bob, false)];
    expect((await d1.ready).cipher).toBe("AESGCM");
    expect((await r1.ready).cipher).toBe("AESGCM");
    const w2 = new Wire();
    const chachaAlice = secureIdentity(alice, { cipher: "ChaChaPoly" });
    const d2 = new SecureStream(w2.a, { identity: chachaAlice, initiator: true, expect: bobKeys });
    // The responder's own preference does not matter: it runs what the initiator asked for.
    const r2 = new SecureStream(w2.b, {
      identity: secureIdentity(bob, { cipher: "AESGCM" }),
      initiator: false,
    });
    expect((await d2.ready).cipher).toBe("ChaChaPoly");
    expect((await r2.ready).cipher).toBe("ChaChaPoly");
    for (const s of [d1, r1, d2, r2]) s.destroy();
  });

  it("the first message's header byte names the pattern (low nibble) and the cipher (high nibble)", async () => {
    for (const cipher of CIPHERS)
      for (const pattern of ["IK", "XX"] as const) {
        const w = new Wire();
        const first: Buffer[] = [];
        w.ab = (c, deliver) => {
          first.push(Buffer.from(c));
          deliver(c);
        };
        const a = secure(w.a, alice, true, pattern === "IK" ? bobKeys : undefined, { cipher });
        const b = secure(w.b, bob, false);
        await Promise.all([a.ready, b.ready]);
        expect(first[0]?.[2]).toBe(HEADER[cipher][pattern]);
        a.destroy();
        b.destroy();
      }
  });

  it("a reverse connect: the acceptor that turns initiator asks for its own cipher", async () => {
    const [opener, acceptor] = await tcpPair();
    const hello = createHash("sha256").update("attempt").digest().subarray(0, 16);
    const b = secure(opener, bob, false, undefined, { hello });
    const a = new SecureStream(acceptor, {
      identity: secureIdentity(alice, { cipher: "ChaChaPoly" }),
      initiator: false,
      onHello: (h) => (h.equals(hello) ? bobKeys : undefined),
    });
    const [pa, pb] = await Promise.all([a.ready, b.ready]);
    expect(pa).toMatchObject({ nodeId: bob.nodeId, pattern: "IK", cipher: "ChaChaPoly" });
    expect(pb.cipher).toBe("ChaChaPoly");
    a.destroy();
    b.destroy();
  });
});

describe("the cipher cannot be changed on the way", () => {
  // Every rewrite of the header byte a middlebox could make between the two valid ciphers.
  const swaps = [
    ["AESGCM", "IK", 0x01],
    ["ChaChaPoly", "IK", 0x11],
    ["AESGCM", "XX", 0x02],
    ["ChaChaPoly", "XX", 0x12],
  ] as const;
  for (const [cipher, pattern, forged] of swaps)
    it(`${cipher} ${pattern} rewritten to header 0x${forged.toString(16).padStart(2, "0")}: typed errors at both ends, no data`, async () => {
      const w = new Wire();
      let first = true;
      w.ab = (c, deliver) => {
        if (first) {
          first = false;
          const forgedFrame = Buffer.from(c);
          forgedFrame[2] = forged;
          deliver(forgedFrame);
        } else deliver(c);
      };
      const a = secure(w.a, alice, true, pattern === "IK" ? bobKeys : { nodeId: bob.nodeId }, {
        cipher,
      });
      const b = secure(w.b, bob, false);
      // The dialer hanging up reaches the responder as the end of its stream (as TCP would).
      a.once("error", () => w.b.push(null));
      const got: Buffer[] = [];
      b.on("data", (d: Buffer) => got.push(d));
      a.write("secret for bob");
      const [ea, eb] = await Promise.all([failure(a), failure(b)]);
      expect(ea.code).toBe("ERR_PEER_AUTH");
      expect(["ERR_HANDSHAKE", "ERR_HANDSHAKE_CLOSED"]).toContain(eb.code);
      expect(got.length).toBe(0);
      expect(b.peer).toBeUndefined();
    });

  it("an unknown cipher code: ERR_HANDSHAKE that says so", async () => {
    const w = new Wire();
    const b = secure(w.b, bob, false);
    const err = failure(b);
    const msg = Buffer.concat([Buffer.of(0x21), randomBytes(96)]);
    const len = Buffer.alloc(2);
    len.writeUInt16BE(msg.length);
    w.b.push(Buffer.concat([len, msg]));
    const e = await err;
    expect(e.code).toBe("ERR_HANDSHAKE");
    expect(e.message).toMatch(/unknown cipher/);
  });

  it("an unknown cipher option: ERR_BAD_ARGUMENT", async () => {
    const [ra, rb] = await tcpPair();
    expect(() => secure(ra, alice, true, bobKeys, { cipher: "AES128" as never })).toThrow(
      expect.objectContaining({ code: "ERR_BAD_ARGUMENT" }),
    );
    ra.destroy();
    rb.destroy();
  });

  it("not the address's key (carol answers for bob): ERR_PEER_AUTH with either cipher", async () => {
    for (const cipher of CIPHERS) {
      const [ra, rb] = await tcpPair();
      const a = secure(ra, alice, true, bobKeys, { cipher });
      const c = secure(rb, carol, false);
      const [ea, ec] = await Promise.all([failure(a), failure(c)]);
      expect(ea.code).toBe("ERR_PEER_AUTH");
      expect(ec.code).toBe("ERR_HANDSHAKE");
    }
  });
});

describe("nonces as the spec lays them out (§12.1, §12.3)", () => {
  const key = Buffer.alloc(32, 3);
  const n = 0x0102030405; // above 32 bits, so both halves of the counter show
  const nonceBytes = {
    AESGCM: Buffer.from("000000000000000102030405", "hex"), // 32 zero bits, counter big-endian
    ChaChaPoly: Buffer.from("000000000504030201000000", "hex"), // 32 zero bits, little-endian
  };
  const alg = { AESGCM: "aes-256-gcm", ChaChaPoly: "chacha20-poly1305" } as const;
  for (const cipher of CIPHERS)
    it(`${cipher}: 32 zero bits then the 64-bit counter ${cipher === "AESGCM" ? "big" : "little"}-endian`, () => {
      const cs = new CipherState(cipher);
      cs.initializeKey(key);
      cs.setNonce(n);
      const pt = Buffer.from("nonce layout");
      const ct = cs.encryptWithAd(Buffer.alloc(0), pt);
      const ref = createCipheriv(alg[cipher] as "aes-256-gcm", key, nonceBytes[cipher], {
        authTagLength: 16,
      });
      const want = Buffer.concat([ref.update(pt), ref.final(), ref.getAuthTag()]);
      expect(ct.toString("hex")).toBe(want.toString("hex"));
      expect(cs.nonce).toBe(n + 1);
    });
});
