import { MAGIC_COOKIE } from "@p2pd/stun";
import { TraversalError } from "./errors.js";

// TURN puts two kinds of frame on the client<->server path: STUN messages (top bits 00) and
// ChannelData (top bits 01, channel 0x4000-0x4FFF). Over TCP they are concatenated, and
// ChannelData is padded to 4 bytes there (RFC 8656 §12.5). @p2pd/stun has no ChannelData, and its
// StunFramer refuses non-STUN bytes, hence this file.

/** STUN header size (RFC 8489 §5); @p2pd/stun keeps its constant private. */
const STUN_HEADER = 20;
export const CHANNEL_MIN = 0x4000;
export const CHANNEL_MAX = 0x4fff;

export interface ChannelData {
  channel: number;
  data: Uint8Array;
}

export function encodeChannelData(channel: number, data: Uint8Array, pad = false): Buffer {
  if (channel < CHANNEL_MIN || channel > CHANNEL_MAX) {
    throw new TraversalError("ERR_BAD_ARGUMENT", `channel ${channel} out of range`);
  }
  if (data.length > 0xffff) throw new TraversalError("ERR_MSG_TOO_LARGE", "ChannelData > 65535");
  const padLen = pad ? (4 - (data.length % 4)) % 4 : 0;
  const b = Buffer.alloc(4 + data.length + padLen);
  b.writeUInt16BE(channel, 0);
  b.writeUInt16BE(data.length, 2);
  b.set(data, 4);
  return b;
}

/** Decodes one ChannelData datagram (trailing padding allowed); throws ERR_TURN_DECODE. */
export function decodeChannelData(input: Uint8Array): ChannelData {
  if (input.length < 4) throw new TraversalError("ERR_TURN_DECODE", "ChannelData too short");
  const b = Buffer.from(input.buffer, input.byteOffset, input.length);
  const channel = b.readUInt16BE(0);
  if (channel < CHANNEL_MIN || channel > CHANNEL_MAX) {
    throw new TraversalError("ERR_TURN_DECODE", `channel 0x${channel.toString(16)} out of range`);
  }
  const len = b.readUInt16BE(2);
  if (4 + len > b.length) throw new TraversalError("ERR_TURN_DECODE", "ChannelData truncated");
  if (b.length - (4 + len) > 3) throw new TraversalError("ERR_TURN_DECODE", "ChannelData overlong");
  return { channel, data: new Uint8Array(b.subarray(4, 4 + len)) };
}

export type TurnFrame = { kind: "stun"; bytes: Buffer } | { kind: "channel"; bytes: Buffer };

/**
 * Splits a TCP byte stream into STUN / ChannelData frames. Throws ERR_TURN_DECODE when the stream
 * is not TURN (the connection must then be dropped: there is no way to resynchronise).
 */
export class TurnStreamDecoder {
  private buf: Buffer = Buffer.alloc(0);
  /** Bytes held while waiting for the rest of a frame. */
  static readonly MAX_BUFFER = 0x10000 + 64;

  push(chunk: Uint8Array): TurnFrame[] {
    this.buf = this.buf.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.buf, chunk]);
    const out: TurnFrame[] = [];
    for (;;) {
      if (this.buf.length < 4) break;
      const top = (this.buf[0] ?? 0) >> 6;
      const len = this.buf.readUInt16BE(2);
      let total: number;
      if (top === 0) {
        if (len % 4 !== 0) throw new TraversalError("ERR_TURN_DECODE", "STUN length not aligned");
        total = STUN_HEADER + len;
        if (this.buf.length >= 8 && this.buf.readUInt32BE(4) !== MAGIC_COOKIE) {
          throw new TraversalError("ERR_TURN_DECODE", "bad magic cookie in TCP stream");
        }
      } else if (top === 1) {
        const channel = this.buf.readUInt16BE(0);
        if (channel > CHANNEL_MAX) {
          throw new TraversalError("ERR_TURN_DECODE", "reserved channel number in TCP stream");
        }
        total = 4 + len + ((4 - (len % 4)) % 4);
      } else {
        throw new TraversalError("ERR_TURN_DECODE", "unknown frame in TCP stream");
      }
      if (this.buf.length < total) break;
      const bytes = Buffer.from(this.buf.subarray(0, total));
      this.buf = this.buf.subarray(total);
      out.push({ kind: top === 0 ? "stun" : "channel", bytes });
    }
    if (this.buf.length > TurnStreamDecoder.MAX_BUFFER) {
      throw new TraversalError("ERR_TURN_DECODE", "frame larger than allowed");
    }
    return out;
  }
}
