import { createHash } from "node:crypto";
import { TraversalError } from "./errors.js";

// Wire format of the reliable UDP stream and the UDP punch probes (one datagram = one frame):
//   0: magic 0xD9 | 1: type | 2..5: session (u32, agreed over signaling) | rest: per type
//   PROBE/PROBE_ACK: nonce u32        DATA: seq u32, flags u8 (bit0 = last fragment), payload
//   ACK: next expected seq u32, SACK bitmap u32 (bit i = seq ack+1+i received)
//   FIN: seq u32                      PING, RST: nothing
export const FRAME_MAGIC = 0xd9;
export const FrameType = {
  probe: 1,
  probeAck: 2,
  data: 3,
  ack: 4,
  fin: 5,
  ping: 6,
  rst: 7,
} as const;

export type Frame =
  | { type: typeof FrameType.probe | typeof FrameType.probeAck; session: number; nonce: number }
  | { type: typeof FrameType.data; session: number; seq: number; last: boolean; payload: Buffer }
  | { type: typeof FrameType.ack; session: number; ack: number; sack: number }
  | { type: typeof FrameType.fin; session: number; seq: number }
  | { type: typeof FrameType.ping | typeof FrameType.rst; session: number };

export const DATA_HEADER = 11;

export function encodeFrame(f: Frame): Buffer {
  const head = (len: number) => {
    const b = Buffer.alloc(len);
    b[0] = FRAME_MAGIC;
    b[1] = f.type;
    b.writeUInt32BE(f.session >>> 0, 2);
    return b;
  };
  switch (f.type) {
    case FrameType.probe:
    case FrameType.probeAck: {
      const b = head(10);
      b.writeUInt32BE(f.nonce >>> 0, 6);
      return b;
    }
    case FrameType.data: {
      const b = head(DATA_HEADER + f.payload.length);
      b.writeUInt32BE(f.seq >>> 0, 6);
      b[10] = f.last ? 1 : 0;
      f.payload.copy(b, DATA_HEADER);
      return b;
    }
    case FrameType.ack: {
      const b = head(14);
      b.writeUInt32BE(f.ack >>> 0, 6);
      b.writeUInt32BE(f.sack >>> 0, 10);
      return b;
    }
    case FrameType.fin: {
      const b = head(10);
      b.writeUInt32BE(f.seq >>> 0, 6);
      return b;
    }
    default:
      return head(6);
  }
}

/** Decodes one frame; throws ERR_BAD_FRAME for anything that is not exactly a frame. */
export function decodeFrame(input: Uint8Array): Frame {
  const b = Buffer.from(input.buffer, input.byteOffset, input.length);
  if (b.length < 6 || b[0] !== FRAME_MAGIC)
    throw new TraversalError("ERR_BAD_FRAME", "not a frame");
  const type = b[1];
  const session = b.readUInt32BE(2);
  const need = (n: number, exact = true) => {
    if (exact ? b.length !== n : b.length < n) {
      throw new TraversalError("ERR_BAD_FRAME", `frame type ${type}: bad length ${b.length}`);
    }
  };
  switch (type) {
    case FrameType.probe:
    case FrameType.probeAck:
      need(10);
      return { type, session, nonce: b.readUInt32BE(6) };
    case FrameType.data: {
      need(DATA_HEADER, false);
      const flags = b[10] ?? 0;
      if (flags > 1) throw new TraversalError("ERR_BAD_FRAME", "unknown DATA flags");
      return {
        type,
        session,
        seq: b.readUInt32BE(6),
        last: flags === 1,
        payload: Buffer.from(b.subarray(DATA_HEADER)),
      };
    }
    case FrameType.ack:
      need(14);
      return { type, session, ack: b.readUInt32BE(6), sack: b.readUInt32BE(10) };
    case FrameType.fin:
      need(10);
      return { type, session, seq: b.readUInt32BE(6) };
    case FrameType.ping:
    case FrameType.rst:
      need(6);
      return { type, session };
    default:
      throw new TraversalError("ERR_BAD_FRAME", `unknown frame type ${type}`);
  }
}

/** Session id from a token both peers got over signaling (first 4 bytes of its SHA-256). */
export function sessionFromToken(token: string | Uint8Array): number {
  return createHash("sha256").update(token).digest().readUInt32BE(0);
}
