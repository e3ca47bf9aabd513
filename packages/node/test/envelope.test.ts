import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { deriveKeys, openEnvelope, ReplayGuard, SignalError, sealEnvelope } from "../src/index.js";

const alice = deriveKeys(Buffer.alloc(32, 1));
const bob = deriveKeys(Buffer.alloc(32, 2));
const eve = deriveKeys(Buffer.alloc(32, 3));

function codeOfThrow(f: () => unknown): string | undefined {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(SignalError);
    return (e as SignalError).code;
  }
  return undefined;
}

describe("signaling envelope", () => {
  test("seals to the recipient and names the signer", () => {
    const env = sealEnvelope(
      alice,
      bob.x25519.publicKey,
      Buffer.from("hello bob"),
      1_700_000_000_000,
    );
    const got = openEnvelope(bob, env);
    expect(got.plaintext.toString()).toBe("hello bob");
    expect(got.senderNodeId).toBe(alice.nodeId);
    expect(got.timestamp).toBe(1_700_000_000_000);
    // The plaintext is not visible on the wire.
    expect(env.includes(Buffer.from("hello bob"))).toBe(false);
  });

  test("another node cannot open it", () => {
    const env = sealEnvelope(alice, bob.x25519.publicKey, Buffer.from("x"));
    // Encrypted to Bob's key: Eve cannot even learn who sent it.
    expect(codeOfThrow(() => openEnvelope(eve, env))).toBe("ERR_SIGNAL_DECRYPT");
  });

  test("the sender's keys are not on the wire (a broker cannot tell who signals whom)", () => {
    const env = sealEnvelope(alice, bob.x25519.publicKey, Buffer.from("x"));
    expect(env.includes(Buffer.from(alice.ed25519.publicKey))).toBe(false);
    expect(env.includes(Buffer.from(alice.x25519.publicKey))).toBe(false);
    expect(env[0]).toBe(2);
    const got = openEnvelope(bob, env);
    expect(Buffer.from(got.senderEd25519)).toEqual(Buffer.from(alice.ed25519.publicKey));
    expect(Buffer.from(got.senderX25519)).toEqual(Buffer.from(alice.x25519.publicKey));
  });

  test("any flipped bit is detected", () => {
    const env = sealEnvelope(alice, bob.x25519.publicKey, Buffer.from("payload"));
    for (let i = 0; i < env.length; i += 7) {
      const bad = Buffer.from(env);
      bad[i] = (bad[i] ?? 0) ^ 0x01;
      const code = codeOfThrow(() => openEnvelope(bob, bad));
      expect(code).toMatch(/^ERR_SIGNAL_(AUTH|FORMAT|DECRYPT)$/);
    }
  });

  test("a forger who re-signs with its own key is identified as itself", () => {
    const env = sealEnvelope(eve, bob.x25519.publicKey, Buffer.from("I am alice"));
    expect(openEnvelope(bob, env).senderNodeId).toBe(eve.nodeId);
  });

  test("replay guard: duplicates and stale timestamps are refused", () => {
    const g = new ReplayGuard(1000);
    const env = openEnvelope(
      bob,
      sealEnvelope(alice, bob.x25519.publicKey, Buffer.from("a"), 5000),
    );
    g.check(env, 5100);
    expect(codeOfThrow(() => g.check(env, 5200))).toBe("ERR_SIGNAL_REPLAY");
    const old = openEnvelope(
      bob,
      sealEnvelope(alice, bob.x25519.publicKey, Buffer.from("b"), 1000),
    );
    expect(codeOfThrow(() => g.check(old, 5200))).toBe("ERR_SIGNAL_STALE");
  });

  test("replay guard: a flood cannot evict a live entry; it is refused instead", () => {
    const g = new ReplayGuard(60_000, 1000);
    const genuine = { senderNodeId: alice.nodeId, nonce: "genuine", timestamp: 10_000 };
    g.check(genuine, 10_000);
    let refused = 0;
    for (let i = 0; i < 5000; i++) {
      const code = codeOfThrow(() =>
        g.check({ senderNodeId: `k${i}`, nonce: `${i}`, timestamp: 10_001 }, 10_001),
      );
      if (code === "ERR_SIGNAL_RATE") refused++;
    }
    expect(refused).toBe(4001);
    // The genuine message is still remembered: its replay is refused.
    expect(codeOfThrow(() => g.check(genuine, 20_000))).toBe("ERR_SIGNAL_REPLAY");
    // Once the window has passed, entries expire and new messages are accepted again.
    expect(
      codeOfThrow(() => g.check({ ...genuine, nonce: "n2", timestamp: 200_000 }, 200_000)),
    ).toBe(undefined);
  });

  test("fuzz: openEnvelope throws only SignalError", () => {
    const valid = sealEnvelope(alice, bob.x25519.publicKey, Buffer.from("{}"));
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 400 }),
          fc.uint8Array({ minLength: 165, maxLength: 400 }).map((b) => {
            b[0] = 2;
            return b;
          }),
          fc.tuple(fc.nat(valid.length - 1), fc.integer({ min: 1, max: 255 })).map(([i, x]) => {
            const b = Buffer.from(valid);
            b[i] = (b[i] ?? 0) ^ x;
            return b;
          }),
        ),
        (data) => {
          codeOfThrow(() => openEnvelope(bob, data));
        },
      ),
      { numRuns: 2000 },
    );
  });

  test("fuzz: any payload round-trips", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 4000 }), (p) => {
        expect(openEnvelope(bob, sealEnvelope(alice, bob.x25519.publicKey, p)).plaintext).toEqual(
          Buffer.from(p),
        );
      }),
      { numRuns: 300 },
    );
  });
});
