import type { Duplex } from "node:stream";
import { type CipherState, TAGLEN } from "./cipher-state.js";
import type { RekeyCounter } from "./rekey.js";

const EMPTY = Buffer.alloc(0);
/** Frames at least this big go out as header, ciphertext, tag in one writev (sockets only). */
const VECTORED_MIN = 4096;
const FLUSH_NONE = 0;
const FLUSH_TICK = 1;
const FLUSH_IMMEDIATE = 2;

/**
 * The channel's send side after the handshake: plaintext cut into frames of at most `maxFrame`
 * bytes, one cipher call and one write each. On a socket (`vectored`) the last, partial frame
 * waits for the end of the tick (or, while the socket is full, for the next loop turn): writes
 * made meanwhile fill it up (64 KiB messages go out as full frames instead of a full one and a
 * 21-byte one each; 1 KiB messages share a frame 64 at a time), with no added latency.
 */
export class FrameWriter {
  readonly #raw: Duplex;
  readonly #tx: CipherState;
  readonly #key: RekeyCounter;
  readonly #maxFrame: number;
  readonly #vectored: boolean;
  readonly #onError: (e: Error) => void;
  // The last partial frame of this tick's writes (sockets only).
  #tail: Buffer[] = [];
  #tailLen = 0;
  // One scheduled flush at a time; a flush whose seq is stale was superseded.
  #flushing = FLUSH_NONE;
  #flushSeq = 0;
  #closed = false;

  constructor(
    raw: Duplex,
    tx: CipherState,
    key: RekeyCounter,
    o: { maxFrame: number; vectored: boolean; onError: (e: Error) => void },
  ) {
    this.#raw = raw;
    this.#tx = tx;
    this.#key = key;
    this.#maxFrame = o.maxFrame;
    this.#vectored = o.vectored;
    this.#onError = o.onError;
  }

  /** Encrypts and writes `bufs`; false when the raw stream is full (wait for its 'drain'). */
  write(bufs: readonly Buffer[]): boolean {
    let ok = true;
    const max = this.#maxFrame;
    let parts = this.#tail;
    let len = this.#tailLen;
    this.#tail = [];
    this.#tailLen = 0;
    for (const buf of bufs) {
      let b = buf;
      for (;;) {
        const room = max - len;
        if (b.length < room) {
          if (b.length > 0) {
            parts.push(b);
            len += b.length;
          }
          break;
        }
        parts.push(b.length === room ? b : b.subarray(0, room));
        ok = this.#writeFrame(parts, max) && ok;
        parts = [];
        len = 0;
        if (b.length === room) break;
        b = b.subarray(room);
      }
    }
    if (len > 0 && this.#vectored) {
      this.#tail = parts;
      this.#tailLen = len;
      this.#schedule(ok);
    } else if (len > 0) ok = this.#writeFrame(parts, len) && ok;
    return ok;
  }

  /**
   * With the socket full (the caller waits for 'drain'), the next write comes only after the
   * drain, so wait a loop turn for it: the socket holds data to send meanwhile, no latency.
   */
  #schedule(ok: boolean): void {
    const when = ok ? FLUSH_TICK : FLUSH_IMMEDIATE;
    if (this.#flushing === when) return; // the pending flush will take the tail as it is then
    this.#flushing = when;
    const seq = ++this.#flushSeq;
    if (ok) process.nextTick(this.#scheduled, seq);
    else setImmediate(this.#scheduled, seq);
  }

  readonly #scheduled = (seq: number): void => {
    if (seq !== this.#flushSeq) return;
    this.#flushing = FLUSH_NONE;
    try {
      // A full socket buffer shows on the next write's callback ('drain'), bounded by one frame.
      this.flush();
    } catch (e) {
      this.#onError(e as Error);
    }
  };

  /** Sends the partial frame held back, if any. */
  flush(): void {
    if (this.#tailLen === 0 || this.#closed) return;
    const parts = this.#tail;
    const len = this.#tailLen;
    this.#tail = [];
    this.#tailLen = 0;
    this.#writeFrame(parts, len);
  }

  /** Flushes, then ends the raw stream with the authenticated end (an empty plaintext). */
  end(): void {
    this.flush();
    const out = Buffer.allocUnsafe(2 + TAGLEN);
    out.writeUInt16BE(TAGLEN, 0);
    this.#tx.encryptInto(EMPTY, [], out, 2);
    this.#raw.end(out);
  }

  /** Drops what is held back; nothing is written after this. */
  close(): void {
    this.#closed = true;
    this.#tail = [];
    this.#tailLen = 0;
  }

  /** Encrypts `parts` (len bytes, at most one frame) and writes the frame; false when raw is full. */
  #writeFrame(parts: Buffer[], len: number): boolean {
    const tx = this.#tx;
    const raw = this.#raw;
    let ok = true;
    if (this.#vectored && len >= VECTORED_MIN) {
      // Header, ciphertext and tag in one writev: the ciphertext is never copied.
      const hdr = Buffer.allocUnsafe(2);
      hdr.writeUInt16BE(len + TAGLEN, 0);
      const pieces = [hdr];
      tx.encryptParts(parts, pieces);
      this.#key.after(tx, len + TAGLEN);
      raw.cork();
      for (const p of pieces) ok = raw.write(p) && ok;
      raw.uncork();
    } else {
      // One buffer per frame: a message transport sends each write as one message.
      const out = Buffer.allocUnsafe(2 + len + TAGLEN);
      out.writeUInt16BE(len + TAGLEN, 0);
      tx.encryptInto(EMPTY, parts, out, 2);
      this.#key.after(tx, len + TAGLEN);
      ok = raw.write(out);
    }
    return ok;
  }
}
