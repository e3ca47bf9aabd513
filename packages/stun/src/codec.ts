import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import { ATTR, FINGERPRINT_XOR, HEADER_SIZE, MAGIC_COOKIE, REPEATABLE_ATTRS } from "./constants.js";
import { crc32 } from "./crc32.js";
import { StunError } from "./errors.js";
import { type StunAttribute, StunMessage, splitType } from "./message.js";

export interface EncodeOptions {
  /** Key for MESSAGE-INTEGRITY (HMAC-SHA1); see shortTermKey/longTermKey. */
  integrity?: Uint8Array;
  /** Key for MESSAGE-INTEGRITY-SHA256 (RFC 8489). */
  integritySha256?: Uint8Array;
  /** Append FINGERPRINT (CRC-32). */
  fingerprint?: boolean;
}

export interface DecodeOptions {
  /** Accept RFC 3489 messages without magic cookie (16-byte transaction id). Default false. */
  legacy?: boolean;
  /** Accept repeated attributes of any type. Default false (only XOR-PEER-ADDRESS may repeat). */
  allowDuplicates?: boolean;
}

const MAX_MESSAGE = HEADER_SIZE + 0xffff;

function plain(b: Uint8Array): Uint8Array {
  return Object.getPrototypeOf(b) === Uint8Array.prototype
    ? b
    : new Uint8Array(b.buffer, b.byteOffset, b.length);
}

function pad4(n: number): number {
  return (n + 3) & ~3;
}

/** Serialises a message; integrity and fingerprint attributes are computed and appended. */
export function encodeMessage(msg: StunMessage, opts: EncodeOptions = {}): Uint8Array {
  let body = 0;
  for (const a of msg.attributes) body += 4 + pad4(a.value.length);
  const total =
    HEADER_SIZE +
    body +
    (opts.integrity ? 24 : 0) +
    (opts.integritySha256 ? 36 : 0) +
    (opts.fingerprint ? 8 : 0);
  if (total > MAX_MESSAGE)
    throw new StunError("ERR_STUN_TOO_LARGE", `message of ${total} bytes exceeds 65555`);
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  view.setUint16(0, msg.type);
  if (msg.transactionId.length === 16) out.set(msg.transactionId, 4);
  else {
    view.setUint32(4, MAGIC_COOKIE);
    out.set(msg.transactionId, 8);
  }
  let off = HEADER_SIZE;
  for (const a of msg.attributes) {
    view.setUint16(off, a.type);
    view.setUint16(off + 2, a.value.length);
    out.set(a.value, off + 4);
    off += 4 + pad4(a.value.length);
  }
  const hmac = (alg: "sha1" | "sha256", key: Uint8Array, type: number, size: number) => {
    view.setUint16(2, off + 4 + size - HEADER_SIZE); // length covers the integrity attribute itself
    const mac = createHmac(alg, key).update(out.subarray(0, off)).digest();
    view.setUint16(off, type);
    view.setUint16(off + 2, size);
    out.set(mac.subarray(0, size), off + 4);
    off += 4 + size;
  };
  if (opts.integrity) hmac("sha1", opts.integrity, ATTR.MESSAGE_INTEGRITY, 20);
  if (opts.integritySha256) hmac("sha256", opts.integritySha256, ATTR.MESSAGE_INTEGRITY_SHA256, 32);
  view.setUint16(2, total - HEADER_SIZE);
  if (opts.fingerprint) {
    view.setUint16(off, ATTR.FINGERPRINT);
    view.setUint16(off + 2, 4);
    view.setUint32(off + 4, (crc32(out, off) ^ FINGERPRINT_XOR) >>> 0);
  }
  return out;
}

/** Cheap check used to demultiplex STUN from other traffic on a shared socket. */
export function isStunMessage(data: Uint8Array, legacy = false): boolean {
  if (data.length < HEADER_SIZE || ((data[0] ?? 0) & 0xc0) !== 0) return false;
  const len = ((data[2] ?? 0) << 8) | (data[3] ?? 0);
  if (len % 4 !== 0 || len + HEADER_SIZE !== data.length) return false;
  if (legacy) return true;
  return data[4] === 0x21 && data[5] === 0x12 && data[6] === 0xa4 && data[7] === 0x42;
}

/**
 * Parses one whole message (a datagram or one framed TCP message). Throws StunError only.
 * Attribute values are copied out, so the message never aliases the input buffer.
 */
export function decodeMessage(input: Uint8Array, opts: DecodeOptions = {}): StunMessage {
  if (!(input instanceof Uint8Array))
    throw new StunError("ERR_STUN_BAD_ARGUMENT", "expected a Uint8Array");
  // A plain view, so that .slice() copies into a Uint8Array even for a Buffer (Buffer#slice aliases).
  const data = plain(input);
  if (data.length < HEADER_SIZE)
    throw new StunError("ERR_STUN_TRUNCATED", `${data.length} bytes is shorter than a STUN header`);
  const view = new DataView(data.buffer, data.byteOffset, data.length);
  const type = view.getUint16(0);
  if ((type & 0xc000) !== 0)
    throw new StunError("ERR_STUN_NOT_STUN", "first two bits are not zero");
  const length = view.getUint16(2);
  if (length % 4 !== 0)
    throw new StunError("ERR_STUN_BAD_LENGTH", `message length ${length} is not a multiple of 4`);
  if (HEADER_SIZE + length > data.length)
    throw new StunError(
      "ERR_STUN_TRUNCATED",
      `header announces ${length} bytes, ${data.length - HEADER_SIZE} present`,
    );
  if (HEADER_SIZE + length < data.length)
    throw new StunError(
      "ERR_STUN_BAD_LENGTH",
      `${data.length - HEADER_SIZE - length} trailing bytes after the message`,
    );
  const cookie = view.getUint32(4);
  if (cookie !== MAGIC_COOKIE && !opts.legacy)
    throw new StunError("ERR_STUN_BAD_COOKIE", `bad magic cookie 0x${cookie.toString(16)}`);
  const transactionId = data.slice(cookie === MAGIC_COOKIE ? 8 : 4, HEADER_SIZE);
  const attributes: StunAttribute[] = [];
  // A Set keeps the duplicate check linear (an array scan made a crafted 64 KiB datagram quadratic).
  const seen = new Set<number>();
  // What MESSAGE-INTEGRITY(-SHA256) does not cover is not trusted: after MESSAGE-INTEGRITY only
  // MESSAGE-INTEGRITY-SHA256 and FINGERPRINT count, after MESSAGE-INTEGRITY-SHA256 only FINGERPRINT
  // (RFC 5389 §15.4, RFC 8489 §14.5-14.6). Later attributes are parsed for framing, then ignored.
  let sealed: 0 | 1 | 2 = 0;
  let off = HEADER_SIZE;
  const end = HEADER_SIZE + length;
  while (off < end) {
    if (off + 4 > end)
      throw new StunError("ERR_STUN_TRUNCATED", "attribute header runs past the message");
    const atype = view.getUint16(off);
    const alen = view.getUint16(off + 2);
    if (off + 4 + pad4(alen) > end)
      throw new StunError(
        "ERR_STUN_TRUNCATED",
        `attribute 0x${atype.toString(16)} runs past the message`,
      );
    const next = off + 4 + pad4(alen);
    if (atype === ATTR.FINGERPRINT) {
      if (alen !== 4 || off + 8 !== end)
        throw new StunError("ERR_STUN_BAD_ATTR", "FINGERPRINT must be the last attribute, 4 bytes");
      const want = (crc32(data, off) ^ FINGERPRINT_XOR) >>> 0;
      if (view.getUint32(off + 4) !== want)
        throw new StunError("ERR_STUN_BAD_FINGERPRINT", "FINGERPRINT does not match");
    } else if (sealed === 2 || (sealed === 1 && atype !== ATTR.MESSAGE_INTEGRITY_SHA256)) {
      off = next;
      continue;
    }
    if (!opts.allowDuplicates && seen.has(atype) && !REPEATABLE_ATTRS.has(atype)) {
      throw new StunError(
        "ERR_STUN_DUPLICATE_ATTR",
        `attribute 0x${atype.toString(16)} appears twice`,
      );
    }
    seen.add(atype);
    if (atype === ATTR.MESSAGE_INTEGRITY) sealed = 1;
    else if (atype === ATTR.MESSAGE_INTEGRITY_SHA256) sealed = 2;
    attributes.push({ type: atype, value: data.slice(off + 4, off + 4 + alen) });
    off = next;
  }
  const { method, cls } = splitType(type);
  return new StunMessage({ method, cls, transactionId, attributes });
}

/**
 * Checks MESSAGE-INTEGRITY-SHA256 if present, else MESSAGE-INTEGRITY, over the raw bytes as received
 * (the attribute's position matters, so this works on bytes, not on a decoded message).
 */
export function verifyIntegrity(raw: Uint8Array, key: Uint8Array): boolean {
  if (raw.length < HEADER_SIZE) return false;
  const view = new DataView(raw.buffer, raw.byteOffset, raw.length);
  const end = Math.min(raw.length, HEADER_SIZE + view.getUint16(2));
  let off = HEADER_SIZE;
  let sha1At = -1;
  let sha256At = -1;
  while (off + 4 <= end) {
    const t = view.getUint16(off);
    const l = view.getUint16(off + 2);
    if (off + 4 + l > end) return false;
    if (t === ATTR.MESSAGE_INTEGRITY && sha1At < 0) sha1At = off;
    if (t === ATTR.MESSAGE_INTEGRITY_SHA256 && sha256At < 0) sha256At = off;
    off += 4 + pad4(l);
  }
  const check = (at: number, alg: "sha1" | "sha256"): boolean => {
    const size = view.getUint16(at + 2);
    if (alg === "sha1" ? size !== 20 : size < 16 || size > 32 || size % 4 !== 0) return false;
    const head = plain(raw).slice(0, at); // a copy: its length field is rewritten below
    new DataView(head.buffer).setUint16(2, at + 4 + size - HEADER_SIZE);
    const mac = createHmac(alg, key).update(head).digest().subarray(0, size);
    return timingSafeEqual(mac, raw.subarray(at + 4, at + 4 + size));
  };
  if (sha256At >= 0) return check(sha256At, "sha256");
  if (sha1At >= 0) return check(sha1At, "sha1");
  return false;
}

// SASLprep (RFC 4013) without its prohibition checks: drop "mapped to nothing" code points, map
// non-ASCII spaces to U+0020, then NFKC. RFC 5389 keys and the RFC 5769 vectors use it.
const MAPPED_TO_NOTHING = new Set([
  0x00ad, 0x034f, 0x1806, 0x180b, 0x180c, 0x180d, 0x200b, 0x200c, 0x200d, 0x2060, 0xfeff,
]);
const NON_ASCII_SPACE = /[\u00a0\u1680\u2000-\u200b\u202f\u205f\u3000]/g;

export function saslPrep(s: string): string {
  let out = "";
  for (const ch of s) {
    const cp = ch.codePointAt(0) ?? 0;
    if (MAPPED_TO_NOTHING.has(cp) || (cp >= 0xfe00 && cp <= 0xfe0f)) continue;
    out += ch;
  }
  return out.replace(NON_ASCII_SPACE, " ").normalize("NFKC");
}

/** Short-term credential key: the SASLprep'ed password (RFC 5389 §15.4). */
export function shortTermKey(password: string): Uint8Array {
  return new Uint8Array(Buffer.from(saslPrep(password), "utf8"));
}

/** Long-term credential key: MD5 or SHA-256 of "username:realm:SASLprep(password)" (RFC 8489 §9.2.2). */
export function longTermKey(
  username: string,
  realm: string,
  password: string,
  algorithm: "md5" | "sha256" = "md5",
): Uint8Array {
  const s = `${username}:${realm}:${saslPrep(password)}`;
  return new Uint8Array(createHash(algorithm).update(s, "utf8").digest());
}
