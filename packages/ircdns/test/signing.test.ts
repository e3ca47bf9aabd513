import { secp256k1 } from "@noble/curves/secp256k1.js";
import { describe, expect, test } from "vitest";
import { A92, baseDecode } from "../src/crypto/base-n.js";
import { asciiBytes, concat, otp, sha3 } from "../src/crypto/bytes.js";
import { deriveSigningKey } from "../src/derive.js";
import * as api from "../src/index.js";
import { packTopic, unpackTopic } from "../src/topic.js";

const lock = new Uint8Array(32).fill(5);
const { priv } = deriveSigningKey("sig", "tld", "", new Uint8Array(24).fill(2));

/** The plain r||s inside a topic (the mask removed). */
function signatureOf(topic: string): { r: bigint; s: bigint } {
  const sigx = baseDecode(topic.split(" ")[1] as string, A92) as Uint8Array;
  const sig = otp(sigx, sha3(concat(asciiBytes("sig "), lock)));
  return secp256k1.Signature.fromCompact(sig);
}

describe("topic signing", () => {
  test("the public API offers no way to fix the ECDSA nonce", () => {
    expect(api).not.toHaveProperty("sealTopic");
    const o = { value: "v", priv, timeLock: lock, time: 1_700_000_000 };
    // A `k` smuggled in (the former option) is ignored: the nonce stays RFC 6979's.
    const withK = packTopic({ ...o, k: 12345678901234567890n } as Parameters<typeof packTopic>[0]);
    expect(withK).toBe(packTopic(o));
    // Two messages, two nonces: the same r twice would give the key away.
    const a = signatureOf(packTopic(o));
    const b = signatureOf(packTopic({ ...o, value: "w" }));
    expect(a.r).not.toBe(b.r);
  });

  test("signatures are low-s and verify under the signer's key", () => {
    const n = secp256k1.CURVE.n;
    for (let i = 0; i < 20; i++) {
      const topic = packTopic({ value: `value ${i}`, priv, timeLock: lock, time: i });
      expect(signatureOf(topic).s <= n / 2n).toBe(true);
      expect(unpackTopic(topic, lock).ids).toContain(api.signerId(priv));
    }
  });
});
