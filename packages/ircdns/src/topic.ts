import { A92, baseDecode, baseEncode } from "./crypto/base-n.js";
import { asciiBytes, concat, otp, sha3, toHex, utf8Lossy } from "./crypto/bytes.js";
import { compress, publicKey, recover, sign, verify } from "./crypto/secp256k1.js";
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
  /** Fixed ECDSA nonce, only for reproducing reference vectors. */
  k?: bigint;
}

/** Build `p2pd.net/irc <b92(sig xor mask)> <b92(enc(ts||value))>`. */
export function packTopic(o: PackOptions): string {
  const plain = new Uint8Array(8);
  new DataView(plain.buffer).setBigUint64(0, BigInt(Math.floor(o.time)), true);
  const enc = otp(concat(plain, asciiBytes(o.value)), msgKey(o.timeLock));
  const sig = sign(o.priv, sha3(enc), o.k);
  const sigx = otp(sig, sigKey(o.timeLock));
  return `${TOPIC_TAG} ${baseEncode(sigx, A92)} ${baseEncode(enc, A92)}`;
}

/** Compressed public key (hex) of a private scalar: the id a verified topic must carry. */
export function signerId(priv: bigint): string {
  return toHex(compress(publicKey(priv)));
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
  for (const q of recover(digest, sig)) {
    // Recovery already implies validity; verifying again guards against a recovery bug.
    if (verify(q, digest, sig)) ids.push(toHex(compress(q)));
  }
  if (ids.length === 0) throw new BadTopicError("signature does not verify");
  const plain = otp(enc, msgKey(timeLock));
  const ts = new DataView(plain.buffer, plain.byteOffset, 8).getBigUint64(0, true);
  if (ts > BigInt(Number.MAX_SAFE_INTEGER)) throw new BadTopicError("timestamp out of range");
  return { value: utf8Lossy(plain.subarray(8)), time: Number(ts), ids };
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
