import { secp256k1 } from "@noble/curves/secp256k1.js";
import { A92, baseDecode, baseEncode } from "./crypto/base-n.js";
import { asciiBytes, bigIntToBytes, concat, otp, sha3, toHex, utf8Lossy } from "./crypto/bytes.js";
import { TOPIC_TAG } from "./derive.js";
import { BadTopicError } from "./errors.js";

/** A verified topic: the value, its timestamp and the candidate signer ids (compressed keys, hex). */
export interface TopicRecord {
  value: string;
  time: number;
  ids: string[];
}

const msgKey = (timeLock: Uint8Array) => sha3(concat(asciiBytes("msg "), timeLock));
const sigKey = (timeLock: Uint8Array) => sha3(concat(asciiBytes("sig "), timeLock));

export interface PackOptions {
  value: string;
  priv: bigint;
  timeLock: Uint8Array;
  /** Unix seconds. */
  time: number;
}

/** Signs a 32-byte digest, returning r||s (64 bytes). */
export type DigestSigner = (digest: Uint8Array) => Uint8Array;

/**
 * Build `p2pd.net/irc <b92(sig xor mask)> <b92(enc(ts||value))>` with ECDSA over secp256k1
 * (@noble/curves: constant-time, RFC 6979 nonce, low-s).
 */
export function packTopic(o: PackOptions): string {
  const key = bigIntToBytes(o.priv, 32);
  return sealTopic(o, (digest) => secp256k1.sign(digest, key, { lowS: true }).toCompactRawBytes());
}

/** packTopic with the signature made by `sign`. Internal (not exported by the package): the tests
 * reproduce the reference's fixed-nonce vectors with it. */
export function sealTopic(o: Omit<PackOptions, "priv">, sign: DigestSigner): string {
  const plain = new Uint8Array(8);
  new DataView(plain.buffer).setBigUint64(0, BigInt(Math.floor(o.time)), true);
  const enc = otp(concat(plain, asciiBytes(o.value)), msgKey(o.timeLock));
  const sigx = otp(sign(sha3(enc)), sigKey(o.timeLock));
  return `${TOPIC_TAG} ${baseEncode(sigx, A92)} ${baseEncode(enc, A92)}`;
}

/** Compressed public key (hex) of a private scalar: the id a verified topic must carry. */
export function signerId(priv: bigint): string {
  return toHex(secp256k1.getPublicKey(bigIntToBytes(priv, 32), true));
}

/** Parse and verify a topic; throws BadTopicError on anything malformed or unverifiable. */
export function unpackTopic(topic: string, timeLock: Uint8Array): TopicRecord {
  if (typeof topic !== "string" || topic.length > 4096) throw new BadTopicError("topic too long");
  const parts = topic.trim().split(/\s+/);
  if (parts.length !== 3) throw new BadTopicError(`expected 3 fields, got ${parts.length}`);
  if (parts[0] !== TOPIC_TAG) throw new BadTopicError("missing p2pd.net/irc tag");
  const sigx = baseDecode(parts[1] as string, A92);
  const enc = baseDecode(parts[2] as string, A92);
  if (!sigx || !enc) throw new BadTopicError("invalid base92 field");
  if (sigx.length !== 64) throw new BadTopicError("signature must be 64 bytes");
  if (enc.length < 8) throw new BadTopicError("payload shorter than its timestamp");
  const sig = otp(sigx, sigKey(timeLock));
  const digest = sha3(enc);
  const ids: string[] = [];
  for (const pub of recoverKeys(digest, sig)) {
    // Recovery already implies validity; verifying again guards against a recovery bug. High s is
    // accepted: the reference signs without normalising it.
    if (secp256k1.verify(sig, digest, pub, { lowS: false, format: "compact" }))
      ids.push(toHex(pub));
  }
  if (ids.length === 0) throw new BadTopicError("signature does not verify");
  const plain = otp(enc, msgKey(timeLock));
  const ts = new DataView(plain.buffer, plain.byteOffset, 8).getBigUint64(0, true);
  if (ts > BigInt(Number.MAX_SAFE_INTEGER)) throw new BadTopicError("timestamp out of range");
  return { value: utf8Lossy(plain.subarray(8)), time: Number(ts), ids };
}

/** Compressed keys that could have made `sig` over `digest`: recovery ids 0 and 1 (x = r only). */
function recoverKeys(digest: Uint8Array, sig: Uint8Array): Uint8Array[] {
  let parsed: InstanceType<typeof secp256k1.Signature>;
  try {
    parsed = secp256k1.Signature.fromCompact(sig);
  } catch {
    return []; // r or s out of 1..n-1
  }
  const out: Uint8Array[] = [];
  for (const bit of [0, 1]) {
    try {
      out.push(parsed.addRecoveryBit(bit).recoverPublicKey(digest).toRawBytes(true));
    } catch {
      // r is no curve point's x, or the key would be the point at infinity
    }
  }
  return out;
}

/** Worst-case topic length for a value of `valueBytes` ASCII bytes (leading-zero pairs included). */
export function maxTopicLength(valueBytes: number): number {
  const b92 = (bytes: number) => 2 + Math.ceil((bytes * 8) / Math.log2(92));
  return TOPIC_TAG.length + 1 + b92(64) + 1 + b92(8 + valueBytes);
}

/** Largest value (bytes) whose worst-case topic fits `topicLimit` characters. */
export function maxValueBytes(topicLimit: number): number {
  let n = 0;
  while (maxTopicLength(n + 1) <= topicLimit) n++;
  return maxTopicLength(n) <= topicLimit ? n : -1;
}
