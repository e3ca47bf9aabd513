// The common case without allocations beyond the answer itself: an RFC 5389 Binding request over
// UDP/IPv4 with no attribute or only FINGERPRINT. Anything else goes to the general path
// (server-answer.ts), which decides it exactly as before; for every request the fast path takes,
// its bytes equal the general path's (test/server-fast.test.ts checks this against random input).
import { ATTR, FINGERPRINT_XOR, HEADER_SIZE } from "./constants.js";
import { crc32 } from "./crc32.js";
import { encodeAddress } from "./message.js";
import { type AnswerContext, concreteHost, type ListenerIndex } from "./server-answer.js";

/** The attributes of one listener's answers that do not depend on the client, as wire bytes. */
export interface FastTail {
  /** RESPONSE-ORIGIN TLV, or empty when the listener's IP is unspecified. */
  origin: Uint8Array;
  /** OTHER-ADDRESS TLV, or empty without an alternate IP and port. */
  other: Uint8Array;
  /** SOFTWARE TLV, or empty. */
  software: Uint8Array;
}

const NO_TID = new Uint8Array(12);
const EMPTY = new Uint8Array(0);

function tlv(type: number, value: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + ((value.length + 3) & ~3));
  out[0] = type >> 8;
  out[1] = type & 0xff;
  out[2] = value.length >> 8;
  out[3] = value.length & 0xff;
  out.set(value, 4);
  return out;
}

/** The fixed part of a listener's answers, or undefined when the fast path does not apply (IPv6). */
export function fastTail(ctx: AnswerContext, l: ListenerIndex): FastTail | undefined {
  const host = ctx.ips[l.ipIndex];
  const port = ctx.ports[l.portIndex];
  if (host === undefined || port === undefined || host.includes(":")) return undefined;
  const otherIp = ctx.ips[1 - l.ipIndex];
  const otherPort = ctx.ports[1 - l.portIndex];
  return {
    origin: concreteHost(host)
      ? tlv(ATTR.RESPONSE_ORIGIN, encodeAddress(ATTR.RESPONSE_ORIGIN, { host, port }, NO_TID))
      : EMPTY,
    other:
      otherIp !== undefined && otherPort !== undefined
        ? tlv(
            ATTR.OTHER_ADDRESS,
            encodeAddress(ATTR.OTHER_ADDRESS, { host: otherIp, port: otherPort }, NO_TID),
          )
        : EMPTY,
    software: ctx.software ? tlv(ATTR.SOFTWARE, ctx.software) : EMPTY,
  };
}

/** A dotted quad as an unsigned 32-bit number, or -1 (then the general path decides). */
export function ipv4Number(s: string): number {
  let n = 0;
  let part = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 46) {
      if (digits === 0 || ++dots > 3) return -1;
      n = n * 256 + part;
      part = 0;
      digits = 0;
    } else if (c >= 48 && c <= 57 && digits < 3) {
      part = part * 10 + (c - 48);
      if (part > 255) return -1;
      digits++;
    } else return -1;
  }
  if (dots !== 3 || digits === 0) return -1;
  return n * 256 + part;
}

/**
 * The answer to `data` from `host:port` (IPv4) when it is a plain Binding request, else undefined:
 * the caller then asks answerRequest(), which also decides every drop (malformed, amplification).
 */
export function fastAnswer(
  ctx: AnswerContext,
  tail: FastTail,
  data: Uint8Array,
  host: string,
  port: number,
): Buffer | undefined {
  const n = data.length;
  // Binding request (0x0001), length field matching the datagram, RFC 5389 magic cookie.
  if (n !== HEADER_SIZE && n !== HEADER_SIZE + 8) return undefined;
  if (n > ctx.maxRequestSize || data[0] !== 0 || data[1] !== 1 || data[2] !== 0) return undefined;
  if (data[3] !== n - HEADER_SIZE) return undefined;
  if (data[4] !== 0x21 || data[5] !== 0x12 || data[6] !== 0xa4 || data[7] !== 0x42)
    return undefined;
  const fingerprint = n === HEADER_SIZE + 8;
  if (fingerprint) {
    // The one attribute must be a valid FINGERPRINT; anything else is the general path's business.
    if (data[20] !== 0x80 || data[21] !== 0x28 || data[22] !== 0 || data[23] !== 4)
      return undefined;
    const got =
      (((data[24] ?? 0) << 24) |
        ((data[25] ?? 0) << 16) |
        ((data[26] ?? 0) << 8) |
        (data[27] ?? 0)) >>>
      0;
    if (got !== (crc32(data, HEADER_SIZE) ^ FINGERPRINT_XOR) >>> 0) return undefined;
  }
  const ip = ipv4Number(host);
  if (ip < 0) return undefined;
  // Sizes in the order the general path adds them; optional attributes only within the budget.
  const budget = Math.floor(ctx.maxAmplification * n);
  let size = HEADER_SIZE + (fingerprint ? 8 : 0) + 12;
  const o = tail.origin.length > 0 && size + 12 <= budget ? 12 : 0;
  size += o;
  const a = tail.other.length > 0 && size + 12 <= budget ? 12 : 0;
  size += a;
  const m = size + 12 <= budget ? 12 : 0;
  size += m;
  const sw = tail.software.length;
  const s = sw > 0 && size + sw <= budget ? sw : 0;
  size += s;
  if (size > budget) return undefined;
  const out = Buffer.allocUnsafe(size);
  out[0] = 0x01; // Binding success
  out[1] = 0x01;
  out[2] = (size - HEADER_SIZE) >> 8;
  out[3] = (size - HEADER_SIZE) & 0xff;
  out.set(data.subarray(4, HEADER_SIZE), 4); // cookie and transaction id
  let off = address(
    out,
    HEADER_SIZE,
    ATTR.XOR_MAPPED_ADDRESS,
    port ^ 0x2112,
    (ip ^ 0x2112a442) >>> 0,
  );
  if (o) {
    out.set(tail.origin, off);
    off += 12;
  }
  if (a) {
    out.set(tail.other, off);
    off += 12;
  }
  if (m) off = address(out, off, ATTR.MAPPED_ADDRESS, port, ip);
  if (s) {
    out.set(tail.software, off);
    off += s;
  }
  if (fingerprint) {
    out[off] = 0x80;
    out[off + 1] = 0x28;
    out[off + 2] = 0;
    out[off + 3] = 4;
    out.writeUInt32BE((crc32(out, off) ^ FINGERPRINT_XOR) >>> 0, off + 4);
  }
  return out;
}

function address(out: Buffer, off: number, type: number, port: number, ip: number): number {
  out[off] = type >> 8;
  out[off + 1] = type & 0xff;
  out[off + 2] = 0;
  out[off + 3] = 8;
  out[off + 4] = 0;
  out[off + 5] = 0x01; // IPv4
  out[off + 6] = port >> 8;
  out[off + 7] = port & 0xff;
  out.writeUInt32BE(ip, off + 8);
  return off + 12;
}
