import { randomBytes } from "node:crypto";

/** P2PD's ACK-UDP header: u64 big-endian sequence, then a flag byte (0 = data, 1 = ack). */
export const RUDP_HEADER = 9;
export const RUDP_DATA = 0;
export const RUDP_ACK = 1;

export interface RudpPacket {
  /** The sequence as 16 hex digits (a Map key without bigint maths). */
  seq: string;
  flag: typeof RUDP_DATA | typeof RUDP_ACK;
  payload: Buffer;
}

/** A random non-zero sequence (P2PD draws from 1..2^64). */
export function randomSeq(): string {
  for (;;) {
    const s = randomBytes(8).toString("hex");
    if (s !== "0000000000000000") return s;
  }
}

export function encodeRudp(seq: string, flag: 0 | 1, payload?: Buffer): Buffer {
  const out = Buffer.allocUnsafe(RUDP_HEADER + (payload?.length ?? 0));
  out.write(seq, 0, 8, "hex");
  out[8] = flag;
  payload?.copy(out, RUDP_HEADER);
  return out;
}

/** Parses one datagram; undefined for anything that is not a valid ACK-UDP packet (never throws). */
export function decodeRudp(buf: Buffer): RudpPacket | undefined {
  if (buf.length < RUDP_HEADER) return undefined;
  const flag = buf[8];
  if (flag !== RUDP_DATA && flag !== RUDP_ACK) return undefined;
  if (flag === RUDP_ACK && buf.length !== RUDP_HEADER) return undefined;
  return { seq: buf.toString("hex", 0, 8), flag, payload: buf.subarray(RUDP_HEADER) };
}
