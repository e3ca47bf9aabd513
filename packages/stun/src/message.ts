import { randomBytes } from "node:crypto";
import {
  ATTR,
  CHANGE_IP,
  CHANGE_PORT,
  MAGIC_COOKIE,
  METHOD,
  type StunClass,
  XOR_ADDRESS_ATTRS,
} from "./constants.js";
import { formatIp, parseIp, type StunEndpoint } from "./endpoint.js";
import { StunError } from "./errors.js";

/** One attribute as on the wire (value without padding). */
export interface StunAttribute {
  type: number;
  value: Uint8Array;
}

export interface StunMessageInit {
  method?: number;
  cls?: StunClass;
  /** 12 bytes (RFC 5389), or 16 bytes for an RFC 3489 message without magic cookie. */
  transactionId?: Uint8Array;
  attributes?: StunAttribute[];
}

const enc = new TextEncoder();
const dec = new TextDecoder("utf-8", { fatal: false });

function badAttr(type: number, why: string): StunError {
  return new StunError(
    "ERR_STUN_BAD_ATTR",
    `attribute 0x${type.toString(16).padStart(4, "0")}: ${why}`,
  );
}

/** A STUN message: header fields plus raw attributes in wire order, with typed accessors. */
export class StunMessage {
  method: number;
  cls: StunClass;
  transactionId: Uint8Array;
  attributes: StunAttribute[];

  constructor(init: StunMessageInit = {}) {
    this.method = init.method ?? METHOD.BINDING;
    this.cls = init.cls ?? "request";
    this.transactionId = init.transactionId ?? newTransactionId();
    if (this.transactionId.length !== 12 && this.transactionId.length !== 16) {
      throw new StunError("ERR_STUN_BAD_ARGUMENT", "transaction id must be 12 or 16 bytes");
    }
    if (!Number.isInteger(this.method) || this.method < 0 || this.method > 0xfff) {
      throw new StunError("ERR_STUN_BAD_ARGUMENT", "method must be a 12-bit integer");
    }
    this.attributes = init.attributes ?? [];
  }

  /** True for an RFC 3489 message (16-byte transaction id, no magic cookie). */
  get legacy(): boolean {
    return this.transactionId.length === 16;
  }

  /** The 14-bit message type: method bits interleaved with the two class bits. */
  get type(): number {
    return messageType(this.method, this.cls);
  }

  /** Transaction id as hex (a convenient map key). */
  get id(): string {
    return Buffer.from(
      this.transactionId.buffer,
      this.transactionId.byteOffset,
      this.transactionId.length,
    ).toString("hex");
  }

  get(type: number): Uint8Array | undefined {
    for (const a of this.attributes) if (a.type === type) return a.value;
    return undefined;
  }

  getAll(type: number): Uint8Array[] {
    return this.attributes.filter((a) => a.type === type).map((a) => a.value);
  }

  has(type: number): boolean {
    return this.attributes.some((a) => a.type === type);
  }

  add(type: number, value: Uint8Array): this {
    if (!Number.isInteger(type) || type < 0 || type > 0xffff) {
      throw new StunError("ERR_STUN_BAD_ARGUMENT", "attribute type must be a 16-bit integer");
    }
    if (value.length > 0xffff)
      throw new StunError("ERR_STUN_TOO_LARGE", "attribute value over 65535 bytes");
    this.attributes.push({ type, value });
    return this;
  }

  /** Reads an address attribute; XOR types are un-XORed with the cookie and transaction id. */
  getAddress(type: number): StunEndpoint | undefined {
    const v = this.get(type);
    return v === undefined ? undefined : decodeAddress(type, v, this.transactionId);
  }

  getAllAddresses(type: number): StunEndpoint[] {
    return this.getAll(type).map((v) => decodeAddress(type, v, this.transactionId));
  }

  addAddress(type: number, ep: { host: string; port: number }): this {
    return this.add(type, encodeAddress(type, ep, this.transactionId));
  }

  getString(type: number): string | undefined {
    const v = this.get(type);
    return v === undefined ? undefined : dec.decode(v);
  }

  addString(type: number, s: string): this {
    return this.add(type, enc.encode(s));
  }

  getUint32(type: number): number | undefined {
    const v = this.get(type);
    if (v === undefined) return undefined;
    if (v.length !== 4) throw badAttr(type, "expected 4 bytes");
    return new DataView(v.buffer, v.byteOffset, 4).getUint32(0);
  }

  addUint32(type: number, n: number): this {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, n >>> 0);
    return this.add(type, b);
  }

  /** ERROR-CODE: class*100 + number, and the reason phrase. */
  getErrorCode(): { code: number; reason: string } | undefined {
    const v = this.get(ATTR.ERROR_CODE);
    if (v === undefined) return undefined;
    if (v.length < 4) throw badAttr(ATTR.ERROR_CODE, "shorter than 4 bytes");
    const cls = (v[2] ?? 0) & 0x07;
    const num = v[3] ?? 0;
    if (cls < 3 || cls > 6 || num > 99) throw badAttr(ATTR.ERROR_CODE, "code out of range");
    return { code: cls * 100 + num, reason: dec.decode(v.subarray(4)) };
  }

  addErrorCode(code: number, reason = ""): this {
    if (!Number.isInteger(code) || code < 300 || code > 699) {
      throw new StunError("ERR_STUN_BAD_ARGUMENT", "error code must be 300..699");
    }
    const r = enc.encode(reason);
    const b = new Uint8Array(4 + r.length);
    b[2] = Math.floor(code / 100);
    b[3] = code % 100;
    b.set(r, 4);
    return this.add(ATTR.ERROR_CODE, b);
  }

  getUnknownAttributes(): number[] | undefined {
    const v = this.get(ATTR.UNKNOWN_ATTRIBUTES);
    if (v === undefined) return undefined;
    if (v.length % 2 !== 0) throw badAttr(ATTR.UNKNOWN_ATTRIBUTES, "odd length");
    const out: number[] = [];
    for (let i = 0; i < v.length; i += 2) out.push(((v[i] ?? 0) << 8) | (v[i + 1] ?? 0));
    return out;
  }

  addUnknownAttributes(types: number[]): this {
    const b = new Uint8Array(types.length * 2);
    types.forEach((t, i) => {
      b[i * 2] = t >> 8;
      b[i * 2 + 1] = t & 0xff;
    });
    return this.add(ATTR.UNKNOWN_ATTRIBUTES, b);
  }

  /** CHANGE-REQUEST flags (RFC 3489/5780). */
  getChangeRequest(): { changeIp: boolean; changePort: boolean } | undefined {
    const n = this.getUint32(ATTR.CHANGE_REQUEST);
    return n === undefined
      ? undefined
      : { changeIp: (n & CHANGE_IP) !== 0, changePort: (n & CHANGE_PORT) !== 0 };
  }

  addChangeRequest(flags: { changeIp?: boolean; changePort?: boolean }): this {
    return this.addUint32(
      ATTR.CHANGE_REQUEST,
      (flags.changeIp ? CHANGE_IP : 0) | (flags.changePort ? CHANGE_PORT : 0),
    );
  }

  /** RESPONSE-PORT (RFC 5780): the port the client wants the answer sent to. */
  getResponsePort(): number | undefined {
    return this.getHigh(ATTR.RESPONSE_PORT, 16);
  }

  addResponsePort(port: number): this {
    return this.addHigh(ATTR.RESPONSE_PORT, port, 16);
  }

  /** CHANNEL-NUMBER (TURN): the 16-bit channel. */
  getChannelNumber(): number | undefined {
    return this.getHigh(ATTR.CHANNEL_NUMBER, 16);
  }

  addChannelNumber(channel: number): this {
    return this.addHigh(ATTR.CHANNEL_NUMBER, channel, 16);
  }

  /** REQUESTED-TRANSPORT (TURN): IANA protocol number, 17 = UDP. */
  getRequestedTransport(): number | undefined {
    return this.getHigh(ATTR.REQUESTED_TRANSPORT, 8);
  }

  addRequestedTransport(protocol = 17): this {
    return this.addHigh(ATTR.REQUESTED_TRANSPORT, protocol, 8);
  }

  // RESPONSE-PORT, CHANNEL-NUMBER and REQUESTED-TRANSPORT: a value in the top `bits` of a 4-byte attribute,
  // the rest reserved (zero on send, ignored on receipt).
  private getHigh(type: number, bits: 8 | 16): number | undefined {
    const n = this.getUint32(type);
    return n === undefined ? undefined : n >>> (32 - bits);
  }

  private addHigh(type: number, value: number, bits: 8 | 16): this {
    return this.addUint32(type, (value & (2 ** bits - 1)) * 2 ** (32 - bits));
  }

  /** PADDING (RFC 5780): `size` zero bytes, used to probe fragmentation. */
  addPadding(size: number): this {
    return this.add(ATTR.PADDING, new Uint8Array(size));
  }
}

export function newTransactionId(): Uint8Array {
  return new Uint8Array(randomBytes(12));
}

const CLASS_BITS: Record<StunClass, number> = {
  request: 0x000,
  indication: 0x010,
  success: 0x100,
  error: 0x110,
};

export function messageType(method: number, cls: StunClass): number {
  return ((method & 0xf80) << 2) | ((method & 0x070) << 1) | (method & 0x00f) | CLASS_BITS[cls];
}

export function splitType(type: number): { method: number; cls: StunClass } {
  const method = ((type & 0x3e00) >> 2) | ((type & 0x00e0) >> 1) | (type & 0x000f);
  const c = type & 0x110;
  const cls: StunClass =
    c === 0 ? "request" : c === 0x010 ? "indication" : c === 0x100 ? "success" : "error";
  return { method, cls };
}

/** The 16 bytes addresses are XORed with: cookie then transaction id (RFC 5389 §15.2). */
function xorPad(transactionId: Uint8Array): Uint8Array {
  const pad = new Uint8Array(16);
  new DataView(pad.buffer).setUint32(0, MAGIC_COOKIE);
  // A 16-byte (RFC 3489) id has no cookie; XOR addresses there use its first 4 bytes as the "cookie".
  if (transactionId.length === 16) pad.set(transactionId);
  else pad.set(transactionId, 4);
  return pad;
}

export function decodeAddress(
  type: number,
  v: Uint8Array,
  transactionId: Uint8Array,
): StunEndpoint {
  if (v.length < 4) throw badAttr(type, "address shorter than 4 bytes");
  const fam = v[1];
  const len = fam === 0x01 ? 4 : fam === 0x02 ? 16 : 0;
  if (len === 0) throw badAttr(type, `unknown address family ${fam}`);
  if (v.length !== 4 + len) throw badAttr(type, "address length does not match its family");
  let port = ((v[2] ?? 0) << 8) | (v[3] ?? 0);
  // A fresh copy (XORed in place below), also when `v` is a Buffer whose slice() would alias.
  const ip = new Uint8Array(len);
  ip.set(v.subarray(4, 4 + len));
  if (XOR_ADDRESS_ATTRS.has(type)) {
    const pad = xorPad(transactionId);
    port ^= ((pad[0] ?? 0) << 8) | (pad[1] ?? 0);
    for (let i = 0; i < len; i++) ip[i] = (ip[i] ?? 0) ^ (pad[i] ?? 0);
  }
  return { host: formatIp(ip), port, family: len === 4 ? 4 : 6 };
}

export function encodeAddress(
  type: number,
  ep: { host: string; port: number },
  transactionId: Uint8Array,
): Uint8Array {
  if (!Number.isInteger(ep.port) || ep.port < 0 || ep.port > 65535) {
    throw new StunError("ERR_STUN_BAD_ARGUMENT", `bad port ${ep.port}`);
  }
  const ip = parseIp(ep.host);
  const out = new Uint8Array(4 + ip.length);
  out[1] = ip.length === 4 ? 0x01 : 0x02;
  let port = ep.port;
  if (XOR_ADDRESS_ATTRS.has(type)) {
    const pad = xorPad(transactionId);
    port ^= ((pad[0] ?? 0) << 8) | (pad[1] ?? 0);
    for (let i = 0; i < ip.length; i++) ip[i] = (ip[i] ?? 0) ^ (pad[i] ?? 0);
  }
  out[2] = port >> 8;
  out[3] = port & 0xff;
  out.set(ip, 4);
  return out;
}
