import {
  ATTR,
  decodeMessage,
  encodeMessage,
  type StunClass as StunClassName,
  StunMessage as StunWireMessage,
  longTermKey as stunLongTermKey,
  newTransactionId as stunTransactionId,
  verifyIntegrity,
} from "@p2pd/stun";
import { type HostPort, TraversalError } from "./errors.js";

// The TURN client's view of STUN: numeric classes, raw attributes, typed TraversalErrors. The wire
// work (encoding, XOR addresses, MESSAGE-INTEGRITY, FINGERPRINT) is @p2pd/stun's codec.

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
  mappedAddress: ATTR.MAPPED_ADDRESS,
  username: ATTR.USERNAME,
  messageIntegrity: ATTR.MESSAGE_INTEGRITY,
  errorCode: ATTR.ERROR_CODE,
  unknownAttributes: ATTR.UNKNOWN_ATTRIBUTES,
  channelNumber: ATTR.CHANNEL_NUMBER,
  lifetime: ATTR.LIFETIME,
  xorPeerAddress: ATTR.XOR_PEER_ADDRESS,
  data: ATTR.DATA,
  realm: ATTR.REALM,
  nonce: ATTR.NONCE,
  xorRelayedAddress: ATTR.XOR_RELAYED_ADDRESS,
  requestedTransport: ATTR.REQUESTED_TRANSPORT,
  dontFragment: ATTR.DONT_FRAGMENT,
  xorMappedAddress: ATTR.XOR_MAPPED_ADDRESS,
  software: ATTR.SOFTWARE,
  fingerprint: ATTR.FINGERPRINT,
} as const;

export interface StunAttribute {
  type: number;
  value: Uint8Array;
}

export interface StunMessage {
  method: number;
  /** One of `StunClass` (the class bits of the message type). */
  cls: number;
  transactionId: Uint8Array;
  attributes: StunAttribute[];
}

const CLASS_NAME: Record<number, StunClassName> = {
  [StunClass.request]: "request",
  [StunClass.indication]: "indication",
  [StunClass.success]: "success",
  [StunClass.error]: "error",
};
const CLASS_BITS: Record<StunClassName, number> = {
  request: StunClass.request,
  indication: StunClass.indication,
  success: StunClass.success,
  error: StunClass.error,
};

export function newTransactionId(): Uint8Array {
  return stunTransactionId();
}

/** Long-term credential key (RFC 8489 §9.2.2): MD5(username ":" realm ":" SASLprep(password)). */
export function longTermKey(username: string, realm: string, password: string): Buffer {
  return Buffer.from(stunLongTermKey(username, realm, password));
}

export interface EncodeOptions {
  /** Adds MESSAGE-INTEGRITY (HMAC-SHA1) with this key. */
  integrityKey?: Uint8Array;
  fingerprint?: boolean;
}

function wrapError(err: unknown, what: string): TraversalError {
  const msg = err instanceof Error ? err.message : String(err);
  return new TraversalError("ERR_STUN_DECODE", `${what}: ${msg}`, { cause: err });
}

export function encodeStun(msg: StunMessage, opts: EncodeOptions = {}): Buffer {
  const cls = CLASS_NAME[msg.cls];
  if (!cls || msg.transactionId.length !== 12) {
    throw new TraversalError("ERR_INVALID_ARGUMENT", "bad STUN class or transaction id");
  }
  try {
    const m = new StunWireMessage({
      method: msg.method,
      cls,
      transactionId: msg.transactionId,
      attributes: msg.attributes,
    });
    return Buffer.from(
      encodeMessage(m, {
        ...(opts.integrityKey ? { integrity: opts.integrityKey } : {}),
        fingerprint: opts.fingerprint === true,
      }),
    );
  } catch (err) {
    throw new TraversalError("ERR_INVALID_ARGUMENT", `cannot encode STUN: ${String(err)}`, {
      cause: err,
    });
  }
}

export interface DecodedStun extends StunMessage {
  /** Raw bytes, kept to check MESSAGE-INTEGRITY. */
  raw: Buffer;
  hasIntegrity: boolean;
}

/** Decodes one STUN message (FINGERPRINT checked when present); throws ERR_STUN_DECODE. */
export function decodeStun(input: Uint8Array): DecodedStun {
  let m: StunWireMessage;
  try {
    m = decodeMessage(input);
  } catch (err) {
    throw wrapError(err, "malformed STUN");
  }
  return {
    method: m.method,
    cls: CLASS_BITS[m.cls],
    transactionId: m.transactionId,
    attributes: m.attributes,
    raw: Buffer.from(input.buffer, input.byteOffset, input.length),
    hasIntegrity: m.has(ATTR.MESSAGE_INTEGRITY),
  };
}

export function getAttr(msg: StunMessage, type: number): Uint8Array | undefined {
  return msg.attributes.find((a) => a.type === type)?.value;
}

/** Checks MESSAGE-INTEGRITY of a decoded message; false when missing or wrong. */
export function checkIntegrity(msg: DecodedStun, key: Uint8Array): boolean {
  return msg.hasIntegrity && verifyIntegrity(msg.raw, key);
}

export function sameTransaction(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(Buffer.from(a), Buffer.from(b)) === 0;
}

/** XOR-*-ADDRESS value for an endpoint. */
export function encodeXorAddress(ep: HostPort, transactionId: Uint8Array): Uint8Array {
  try {
    const m = new StunWireMessage({ transactionId }).addAddress(ATTR.XOR_PEER_ADDRESS, ep);
    return (m.attributes[0] as StunAttribute).value;
  } catch (err) {
    throw new TraversalError("ERR_INVALID_ARGUMENT", `not an IP endpoint: ${ep.host}`, {
      cause: err,
    });
  }
}

/** Decodes XOR-*-ADDRESS (or plain MAPPED-ADDRESS with `xor` false); throws ERR_STUN_DECODE. */
export function decodeAddress(value: Uint8Array, transactionId: Uint8Array, xor = true): HostPort {
  const type = xor ? ATTR.XOR_PEER_ADDRESS : ATTR.MAPPED_ADDRESS;
  try {
    const ep = new StunWireMessage({ transactionId, attributes: [{ type, value }] }).getAddress(
      type,
    );
    if (!ep) throw new Error("missing address");
    return { host: ep.host, port: ep.port };
  } catch (err) {
    throw wrapError(err, "bad address attribute");
  }
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
