import { once } from "node:events";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { NoiseCipher } from "../../src/secure/cipher-state.js";
import { CipherState, MAX_NONCE } from "../../src/secure/cipher-state.js";
import { bob, CIPHERS, failure, ik, readN, secure, Wire } from "./helpers.js";

/**
 * An active attacker on the wire after the handshake: whatever it does to Alice's frames, Bob
 * either gets exactly what Alice sent or closes with a typed error, and never delivers a byte
 * that Alice did not send.
 */
async function session(cipher: NoiseCipher) {
  const w = new Wire();
  const [a, b] = ik(w.a, w.b, cipher);
  await Promise.all([a.ready, b.ready]);
  const got: Buffer[] = [];
  b.on("data", (c: Buffer) => got.push(c));
  const err = failure(b);
  return { w, a, b, got, err };
}

/** The raw frames Alice writes for `msgs` (the wire holds them back). */
async function capture(s: Awaited<ReturnType<typeof session>>, msgs: string[]): Promise<Buffer[]> {
  const frames: Buffer[] = [];
  s.w.ab = (c) => frames.push(Buffer.from(c));
  for (const m of msgs) {
    await new Promise<void>((r) => s.a.write(m, () => r()));
  }
  return frames;
}

const deliver = (s: Awaited<ReturnType<typeof session>>, c: Buffer) => s.w.b.push(c);
const codes = ["ERR_DECRYPT", "ERR_TRUNCATED"];

describe.each(CIPHERS)("%s", (cipher) => {
  describe("tampering with transport frames", () => {
    it("flipping any bit of a frame (fast-check over every byte): typed error, no data", async () => {
      const msg = "attack at dawn, bring snacks";
      const frameLen = 2 + msg.length + 16;
      await fc.assert(
        fc.asyncProperty(
          fc.integer({ min: 0, max: frameLen - 1 }),
          fc.integer({ min: 1, max: 255 }),
          async (i, mask) => {
            const s = await session(cipher);
            const [frame] = await capture(s, [msg]);
            expect(frame?.length).toBe(frameLen);
            const bad = Buffer.from(frame as Buffer);
            bad[i] = (bad[i] as number) ^ mask;
            deliver(s, bad);
            s.w.b.push(null); // then the attacker hangs up
            const e = await s.err;
            expect(codes).toContain(e.code);
            expect(Buffer.concat(s.got).length).toBe(0);
            s.a.destroy();
          },
        ),
        { numRuns: 120 },
      );
    });

    it("a replayed frame: ERR_DECRYPT after the original", async () => {
      const s = await session(cipher);
      const [f1] = await capture(s, ["once"]);
      deliver(s, f1 as Buffer);
      deliver(s, f1 as Buffer);
      expect((await s.err).code).toBe("ERR_DECRYPT");
      expect(Buffer.concat(s.got).toString()).toBe("once");
    });

    it("reordered frames: ERR_DECRYPT, nothing delivered", async () => {
      const s = await session(cipher);
      const [f1, f2] = await capture(s, ["first", "second"]);
      deliver(s, f2 as Buffer);
      deliver(s, f1 as Buffer);
      expect((await s.err).code).toBe("ERR_DECRYPT");
      expect(s.got.length).toBe(0);
    });

    it("a dropped frame: the next one fails ERR_DECRYPT", async () => {
      const s = await session(cipher);
      const [, f2] = await capture(s, ["first", "second"]);
      deliver(s, f2 as Buffer);
      expect((await s.err).code).toBe("ERR_DECRYPT");
    });

    it("a frame cut short then EOF: ERR_TRUNCATED; whole frames then EOF without the end frame: ERR_TRUNCATED", async () => {
      const s = await session(cipher);
      const [f1] = await capture(s, ["cut me"]);
      deliver(s, (f1 as Buffer).subarray(0, (f1 as Buffer).length - 1));
      s.w.b.push(null);
      expect((await s.err).code).toBe("ERR_TRUNCATED");
      expect(s.got.length).toBe(0);

      const t = await session(cipher);
      const [g1] = await capture(t, ["whole"]);
      deliver(t, g1 as Buffer);
      t.w.b.push(null);
      expect((await t.err).code).toBe("ERR_TRUNCATED");
      expect(Buffer.concat(t.got).toString()).toBe("whole");
    });

    it("random garbage frames after the handshake never deliver data", async () => {
      await fc.assert(
        fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 300 }), async (junk) => {
          const s = await session(cipher);
          deliver(s, Buffer.from(junk));
          s.w.b.push(null);
          expect([...codes, "ERR_DECRYPT"]).toContain((await s.err).code);
          expect(s.got.length).toBe(0);
          s.a.destroy();
        }),
        { numRuns: 60 },
      );
    });

    it("garbage instead of a handshake: typed error, never a crash or a hang", async () => {
      await fc.assert(
        fc.asyncProperty(fc.uint8Array({ minLength: 0, maxLength: 400 }), async (junk) => {
          const w = new Wire();
          const b = secure(w.b, bob, false); // no real initiator: the attacker speaks
          const err = failure(b);
          w.b.push(Buffer.from(junk));
          w.b.push(null);
          expect([
            "ERR_HANDSHAKE",
            "ERR_HANDSHAKE_CLOSED",
            "ERR_DECRYPT",
            "ERR_PEER_AUTH",
          ]).toContain((await err).code);
        }),
        { numRuns: 100 },
      );
    });

    it("a length prefix is at most 65535: a huge claimed length allocates nothing and waits", async () => {
      const s = await session(cipher);
      deliver(s, Buffer.from([0xff, 0xff, 1, 2, 3]));
      s.w.b.push(null);
      expect((await s.err).code).toBe("ERR_TRUNCATED");
    });
  });

  describe("framing", () => {
    it("any chunking of the byte stream decodes the same (fast-check)", async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.uint8Array({ minLength: 1, maxLength: 3000 }), {
            minLength: 1,
            maxLength: 5,
          }),
          fc.array(fc.integer({ min: 1, max: 700 }), { minLength: 1, maxLength: 20 }),
          async (msgs, cuts) => {
            const s = await session(cipher);
            const frames = await capture(
              s,
              msgs.map((m) => Buffer.from(m).toString("latin1")),
            );
            const all = Buffer.concat(frames);
            let o = 0;
            for (let i = 0; o < all.length; i++) {
              const n = cuts[i % cuts.length] as number;
              deliver(s, all.subarray(o, o + n));
              o += n;
            }
            const want = Buffer.concat(
              msgs.map((m) => Buffer.from(Buffer.from(m).toString("latin1"), "utf8")),
            );
            expect(Buffer.concat(s.got).equals(want)).toBe(true);
            s.a.destroy();
          },
        ),
        { numRuns: 60 },
      );
    });
  });

  describe("nonces", () => {
    it("the counter never passes its limit: ERR_NONCE_EXHAUSTED instead of a repeat", () => {
      const cs = new CipherState(cipher);
      cs.initializeKey(Buffer.alloc(32, 7));
      cs.setNonce(MAX_NONCE - 1);
      cs.encryptWithAd(Buffer.alloc(0), Buffer.from("last"));
      expect(() => cs.encryptWithAd(Buffer.alloc(0), Buffer.from("one too many"))).toThrow(
        expect.objectContaining({ code: "ERR_NONCE_EXHAUSTED" }),
      );
    });

    it("rekey on both sides keeps the channel; on one side breaks it", () => {
      const tx = new CipherState(cipher);
      const rx = new CipherState(cipher);
      tx.initializeKey(Buffer.alloc(32, 9));
      rx.initializeKey(Buffer.alloc(32, 9));
      tx.rekey();
      rx.rekey();
      const ct = tx.encryptWithAd(Buffer.alloc(0), Buffer.from("fresh"));
      expect(rx.decryptWithAd(Buffer.alloc(0), ct).toString()).toBe("fresh");
      tx.rekey();
      const ct2 = tx.encryptWithAd(Buffer.alloc(0), Buffer.from("x"));
      expect(() => rx.decryptWithAd(Buffer.alloc(0), ct2)).toThrow(
        expect.objectContaining({ code: "ERR_DECRYPT" }),
      );
    });

    it("a failed decrypt does not consume the nonce (the right frame still opens)", () => {
      const tx = new CipherState(cipher);
      const rx = new CipherState(cipher);
      tx.initializeKey(Buffer.alloc(32, 5));
      rx.initializeKey(Buffer.alloc(32, 5));
      const ct = tx.encryptWithAd(Buffer.alloc(0), Buffer.from("ok"));
      const bad = Buffer.from(ct);
      bad[0] = (bad[0] as number) ^ 1;
      expect(() => rx.decryptWithAd(Buffer.alloc(0), bad)).toThrow();
      expect(rx.decryptWithAd(Buffer.alloc(0), ct).toString()).toBe("ok");
    });
  });

  describe("a session survives heavy use", () => {
    it("10k small writes in a burst arrive in order", async () => {
      const s = await session(cipher);
      let all = "";
      for (let i = 0; i < 10_000; i++) {
        const m = `${i},`;
        all += m;
        s.a.write(m);
      }
      expect((await readN(s.b, all.length)).toString()).toBe(all);
      s.a.end();
      s.b.resume();
      await once(s.b, "end");
    });
  });
});
