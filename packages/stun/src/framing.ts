import { HEADER_SIZE } from "./constants.js";
import { StunError } from "./errors.js";

/**
 * How STUN messages are delimited on a stream: "stun" = back to back, self-delimited by the header
 * length (RFC 8489 §6.2.2, what coturn speaks); "rfc4571" = each message prefixed by a 16-bit length
 * (RFC 4571, as ICE-TCP uses).
 */
export type StunFraming = "stun" | "rfc4571";

/** Largest message accepted on a stream; anything bigger is treated as garbage. */
export const MAX_STREAM_MESSAGE = 4096;

/** Splits a byte stream into whole STUN messages. Throws StunError on bytes that cannot be STUN. */
export class StunFramer {
  framing: StunFraming | undefined;
  private buf: Uint8Array = new Uint8Array(0);

  /** `undefined` framing = detect from the first message (servers accept both). */
  constructor(
    framing?: StunFraming,
    private readonly maxMessage = MAX_STREAM_MESSAGE,
  ) {
    this.framing = framing;
  }

  push(chunk: Uint8Array): Uint8Array[] {
    const merged = new Uint8Array(this.buf.length + chunk.length);
    merged.set(this.buf);
    merged.set(chunk, this.buf.length);
    this.buf = merged;
    const out: Uint8Array[] = [];
    for (;;) {
      if (this.framing === undefined) {
        if (this.buf.length < 8) break;
        this.framing = detectFraming(this.buf);
      }
      const prefix = this.framing === "rfc4571" ? 2 : 0;
      if (this.buf.length < prefix + 4) break;
      const size =
        this.framing === "rfc4571"
          ? ((this.buf[0] ?? 0) << 8) | (this.buf[1] ?? 0)
          : HEADER_SIZE + (((this.buf[2] ?? 0) << 8) | (this.buf[3] ?? 0));
      if (((this.buf[prefix] ?? 0) & 0xc0) !== 0)
        throw new StunError("ERR_STUN_NOT_STUN", "stream data is not STUN");
      if (size < HEADER_SIZE || size > this.maxMessage) {
        throw new StunError("ERR_STUN_TOO_LARGE", `stream message of ${size} bytes refused`);
      }
      if (this.buf.length < prefix + size) break;
      out.push(this.buf.slice(prefix, prefix + size));
      this.buf = this.buf.subarray(prefix + size);
    }
    if (this.buf.length > this.maxMessage + 2)
      throw new StunError("ERR_STUN_TOO_LARGE", "stream buffer overflow");
    return out;
  }

  static frame(data: Uint8Array, framing: StunFraming): Uint8Array {
    if (framing === "stun") return data;
    const out = new Uint8Array(data.length + 2);
    out[0] = data.length >> 8;
    out[1] = data.length & 0xff;
    out.set(data, 2);
    return out;
  }
}

/** RFC 4571 puts a length before the type; a magic cookie at offset 6 instead of 4 gives it away. */
function detectFraming(b: Uint8Array): StunFraming {
  const cookieAt = (i: number) =>
    b[i] === 0x21 && b[i + 1] === 0x12 && b[i + 2] === 0xa4 && b[i + 3] === 0x42;
  if (cookieAt(4)) return "stun";
  if (b.length >= 10 && cookieAt(6)) return "rfc4571";
  return "stun";
}
