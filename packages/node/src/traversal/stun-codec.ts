import { createHash, createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { isIPv4, isIPv6 } from "node:net";
import { crc32 } from "node:zlib";
import { type HostPort, TraversalError } from "./errors.js";

// Minimal STUN (RFC 8489) codec with the TURN (RFC 8656) attributes: enough for the TURN client and
// TCP/UDP mapping probes. Kept local so traversal does not wait on @p2pd/stun.

export const MAGIC_COOKIE = 0x2112a442;
export const HEADER_LENGTH = 20;

export const StunClass = {
  request: 0x0000,
  indication: 0x0010,
  success: 0x0100,
  error: 0x0110,
} as const;
export const StunMethod = {
  binding: 0x001,
  allocate: 0x003,
  refresh: 0x004,
  send: 0x006,
  data: 0x007,
  createPermission: 0x008,
  channelBind: 0x009,
} as const;

export const Attr = {
  mappedAddress: 0x0001,
  username: 0x0006,
  messageIntegrity: 0x0008,
  errorCode: 0x0009,
  unknownAttributes: 0x000a,
  channelNumber: 0x000c,
  lifetime: 0x000d,
  xorPeerAddress: 0x0012,
  data: 0x0013,
  realm: 0x0014,
  nonce: 0x0015,
  xorRelayedAddress: 0x0016,
  requestedTransport: 0x0019,
  dontFragment: 0x001a,
  xorMappedAddress: 0x0020,
  software: 0x8022,
  fingerprint: 0x8028,
} as const;

export interface StunAttribute {
  type: number;
  value: Uint8Array;
}

export interface StunMessage {
  /** method | class bits (methods here are < 0x10, so no bit interleaving beyond a plain OR). */
  method: number;
  cls: number;
  transactionId: Uint8Array;
  attributes: StunAttribute[];
}

function methodOf(type: number): number {
  return (type & 0x000f) | ((type & 0x00e0) >> 1) | ((type & 0x3e00) >> 2);
}
function classOf(type: number): number {
  return type & 0x0110;
}
function typeOf(method: number, cls: number): number {
  return (method & 0x000f) | ((method & 0x0070) << 1) | ((method & 0x0f80) << 2) | cls;
}

export function newTransactionId(): Uint8Array {
  return new Uint8Array(randomBytes(12));
}

/** Long-term credential key (RFC 8489 §9.2.2): MD5(username ":" realm ":" password). */
export function longTermKey(username: string, realm: string, password: string): Buffer {
  return createHash("md5").update(`${username}:${realm}:${password}`, "utf8").digest();
}

export interface EncodeOptions {
  /** Adds MESSAGE-INTEGRITY (HMAC-SHA1) with this key. */
  integrityKey?: Uint8Array;
  fingerprint?: boolean;
}

export function encodeStun(msg: StunMessage, opts: EncodeOptions = {}): Buffer {
  if (msg.transactionId.length !== 12) {
    throw new TraversalError("ERR_INVALID_ARGUMENT", "transaction id must be 12 bytes");
  }
  const parts: Buffer[] = [];
  for (const a of msg.attributes) parts.push(attrBytes(a.type, a.value));
  let body = Buffer.concat(parts);
  const header = (len: number) => {
    const h = Buffer.alloc(HEADER_LENGTH);
    h.writeUInt16BE(typeOf(msg.method, msg.cls), 0);
    h.writeUInt16BE(len, 2);
    h.writeUInt32BE(MAGIC_COOKIE, 4);
    h.set(msg.transactionId, 8);
    return h;
  };
  if (opts.integrityKey) {
    // The length field covers MESSAGE-INTEGRITY itself while hashing.
    const mac = createHmac("sha1", opts.integrityKey)
      .update(Buffer.concat([header(body.length + 24), body]))
      .digest();
    body = Buffer.concat([body, attrBytes(Attr.messageIntegrity, mac)]);
  }
  if (opts.fingerprint) {
    const crc = (crc32(Buffer.concat([header(body.length + 8), body])) ^ 0x5354554e) >>> 0;
    const v = Buffer.alloc(4);
    v.writeUInt32BE(crc, 0);
    body = Buffer.concat([body, attrBytes(Attr.fingerprint, v)]);
  }
  return Buffer.concat([header(body.length), body]);
}

function attrBytes(type: number, value: Uint8Array): Buffer {
  const pad = (4 - (value.length % 4)) % 4;
  const b = Buffer.alloc(4 + value.length + pad);
  b.writeUInt16BE(type, 0);
  b.writeUInt16BE(value.length, 2);
  b.set(value, 4);
  return b;
}

/** True when the first bytes look like a STUN message (top bits 00 and the magic cookie). */
export function looksLikeStun(buf: Uint8Array): boolean {
  if (buf.length < HEADER_LENGTH) return false;
  const b0 = buf[0] ?? 0xff;
  if ((b0 & 0xc0) !== 0) return false;
  return Buffer.from(buf.buffer, buf.byteOffset, buf.length).readUInt32BE(4) === MAGIC_COOKIE;
}

export interface DecodedStun extends StunMessage {
  /** Raw bytes, kept to check MESSAGE-INTEGRITY. */
  raw: Buffer;
  /** Offset of the MESSAGE-INTEGRITY attribute header, if present. */
  integrityOffset?: number;
}

/** Decodes one STUN message; throws ERR_STUN_DECODE on anything malformed. */
export function decodeStun(input: Uint8Array): DecodedStun {
  const buf = Buffer.from(input.buffer, input.byteOffset, input.length);
  if (!looksLikeStun(buf)) throw new TraversalError("ERR_STUN_DECODE", "not a STUN message");
  const len = buf.readUInt16BE(2);
  if (len % 4 !== 0) throw new TraversalError("ERR_STUN_DECODE", "length not a multiple of 4");
  if (HEADER_LENGTH + len !== buf.length) {
    throw new TraversalError("ERR_STUN_DECODE", `length ${len} does not match ${buf.length - 20}`);
  }
  const type = buf.readUInt16BE(0);
  const attributes: StunAttribute[] = [];
  let off = HEADER_LENGTH;
  let integrityOffset: number | undefined;
  while (off < buf.length) {
    if (off + 4 > buf.length) throw new TraversalError("ERR_STUN_DECODE", "truncated attribute");
    const t = buf.readUInt16BE(off);
    const l = buf.readUInt16BE(off + 2);
    const end = off + 4 + l;
    if (end > buf.length) throw new TraversalError("ERR_STUN_DECODE", "attribute overruns message");
    if (t === Attr.messageIntegrity && integrityOffset === undefined) integrityOffset = off;
    // Attributes after MESSAGE-INTEGRITY other than FINGERPRINT must be ignored (RFC 8489 §14.5).
    if (integrityOffset === undefined || t === Attr.messageIntegrity || t === Attr.fingerprint) {
      attributes.push({ type: t, value: new Uint8Array(buf.subarray(off + 4, end)) });
    }
    off = end + ((4 - (l % 4)) % 4);
  }
  const out: DecodedStun = {
    method: methodOf(type),
    cls: classOf(type),
    transactionId: new Uint8Array(buf.subarray(8, 20)),
    attributes,
    raw: Buffer.from(buf),
  };
  if (integrityOffset !== undefined) out.integrityOffset = integrityOffset;
  return out;
}

export function getAttr(msg: StunMessage, type: number): Uint8Array | undefined {
  return msg.attributes.find((a) => a.type === type)?.value;
}

/** Checks MESSAGE-INTEGRITY of a decoded message; false when missing or wrong. */
export function checkIntegrity(msg: DecodedStun, key: Uint8Array): boolean {
  const off = msg.integrityOffset;
  if (off === undefined || off + 24 > msg.raw.length) return false;
  const head = Buffer.from(msg.raw.subarray(0, off));
  head.writeUInt16BE(off + 24 - HEADER_LENGTH, 2);
  const mac = createHmac("sha1", key).update(head).digest();
  const got = msg.raw.subarray(off + 4, off + 24);
  return got.length === 20 && timingSafeEqual(mac, got);
}

export function sameTransaction(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(Buffer.from(a), Buffer.from(b)) === 0;
}

/** XOR-*-ADDRESS value for an endpoint. */
export function encodeXorAddress(ep: HostPort, transactionId: Uint8Array): Uint8Array {
  const v6 = isIPv6(ep.host);
  if (!v6 && !isIPv4(ep.host)) {
    throw new TraversalError("ERR_INVALID_ARGUMENT", `not an IP address: ${ep.host}`);
  }
  const ip = ipBytes(ep.host);
  const b = Buffer.alloc(4 + ip.length);
  b[1] = v6 ? 0x02 : 0x01;
  b.writeUInt16BE((ep.port ^ (MAGIC_COOKIE >>> 16)) & 0xffff, 2);
  const mask = Buffer.alloc(16);
  mask.writeUInt32BE(MAGIC_COOKIE, 0);
  mask.set(transactionId, 4);
  for (let i = 0; i < ip.length; i++) b[4 + i] = (ip[i] ?? 0) ^ (mask[i] ?? 0);
  return new Uint8Array(b);
}

/** Decodes XOR-*-ADDRESS (or plain MAPPED-ADDRESS with `xor` false); throws ERR_STUN_DECODE. */
export function decodeAddress(value: Uint8Array, transactionId: Uint8Array, xor = true): HostPort {
  const b = Buffer.from(value.buffer, value.byteOffset, value.length);
  if (b.length < 8) throw new TraversalError("ERR_STUN_DECODE", "address attribute too short");
  const fam = b[1];
  const n = fam === 0x01 ? 4 : fam === 0x02 ? 16 : 0;
  if (n === 0 || b.length !== 4 + n) {
    throw new TraversalError("ERR_STUN_DECODE", "bad address family/length");
  }
  const mask = Buffer.alloc(16);
  if (xor) {
    mask.writeUInt32BE(MAGIC_COOKIE, 0);
    mask.set(transactionId, 4);
  }
  const port = (b.readUInt16BE(2) ^ (xor ? MAGIC_COOKIE >>> 16 : 0)) & 0xffff;
  const ip = Buffer.alloc(n);
  for (let i = 0; i < n; i++) ip[i] = (b[4 + i] ?? 0) ^ (mask[i] ?? 0);
  return { host: ipString(ip), port };
}

function ipBytes(host: string): Buffer {
  if (isIPv4(host)) return Buffer.from(host.split(".").map((x) => Number(x)));
  const [headPart = "", tailPart] = host.split("::");
  const parse = (s: string) => (s === "" ? [] : s.split(":"));
  let head = parse(headPart);
  let tail = tailPart === undefined ? [] : parse(tailPart);
  // Embedded IPv4 in the last group.
  const fix = (groups: string[]) => {
    const last = groups[groups.length - 1];
    if (last?.includes(".")) {
      const v4 = last.split(".").map((x) => Number(x));
      groups.splice(-1, 1, (((v4[0] ?? 0) << 8) | (v4[1] ?? 0)).toString(16));
      groups.push((((v4[2] ?? 0) << 8) | (v4[3] ?? 0)).toString(16));
    }
    return groups;
  };
  head = fix(head);
  tail = fix(tail);
  const groups =
    tailPart === undefined
      ? head
      : [...head, ...new Array(8 - head.length - tail.length).fill("0"), ...tail];
  const b = Buffer.alloc(16);
  groups.forEach((g, i) => {
    b.writeUInt16BE(Number.parseInt(g, 16), i * 2);
  });
  return b;
}

function ipString(b: Buffer): string {
  if (b.length === 4) return [...b].join(".");
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(b.readUInt16BE(i).toString(16));
  // Compress the longest zero run (RFC 5952).
  let best = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== "0") {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === "0") j++;
    if (j - i > bestLen && j - i > 1) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (best < 0) return groups.join(":");
  return `${groups.slice(0, best).join(":")}::${groups.slice(best + bestLen).join(":")}`;
}

/** ERROR-CODE attribute -> {status, reason}. */
export function decodeErrorCode(value: Uint8Array): { status: number; reason: string } {
  if (value.length < 4) return { status: 0, reason: "malformed ERROR-CODE" };
  const status = ((value[2] ?? 0) & 0x07) * 100 + (value[3] ?? 0);
  return { status, reason: Buffer.from(value.subarray(4)).toString("utf8") };
}

export function u32(n: number): Uint8Array {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0, 0);
  return new Uint8Array(b);
}

export function readU32(v: Uint8Array | undefined): number | undefined {
  if (!v || v.length < 4) return undefined;
  return Buffer.from(v.buffer, v.byteOffset, v.length).readUInt32BE(0);
}

export function utf8(s: string): Uint8Array {
  return new Uint8Array(Buffer.from(s, "utf8"));
}
