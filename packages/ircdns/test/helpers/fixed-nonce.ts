import { invert, mod } from "@noble/curves/abstract/modular.js";
import { secp256k1 } from "@noble/curves/secp256k1.js";
import { bigIntToBytes, bytesToBigInt, concat } from "../../src/crypto/bytes.js";
import type { DigestSigner } from "../../src/topic.js";

/**
 * ECDSA with a given nonce and s left as computed, as python-ecdsa did for the reference vectors.
 * Test-only: a fixed nonce leaks the key (two signatures give it away), so the package never offers it.
 */
export function fixedNonceSigner(priv: bigint, k: bigint): DigestSigner {
  const n = secp256k1.CURVE.n;
  return (digest) => {
    const r = mod(secp256k1.Point.BASE.multiply(k).toAffine().x, n);
    const s = mod(invert(k, n) * (bytesToBigInt(digest) + r * priv), n);
    if (r === 0n || s === 0n) throw new RangeError("bad nonce");
    return concat(bigIntToBytes(r, 32), bigIntToBytes(s, 32));
  };
}
