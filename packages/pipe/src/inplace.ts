import * as net from "node:net";
import { PipeError } from "./errors.js";
import type { Framing } from "./framing.js";

/**
 * Length-framed reading with no copy: the socket reads (node:net `onread`) straight into a
 * per-connection slab, right behind the bytes already buffered, so a frame that spans reads is
 * already contiguous and every message is a view of the slab. With Node's own read buffers each
 * 64 KiB frame spans two reads and had to be copied into fresh memory (the TCP 64 KiB gap; see
 * the README's profile).
 *
 * Memory: a connection whose reads are big (the peer streams) reads into 256 KiB slabs; otherwise
 * the region offered grows from 512 B by doubling while reads fill it, and slabs are sized to what
 * arrived (at most twice the bytes of a partial frame plus 64 KiB, never from a declared length
 * alone). An idle connection (nothing pending after a small read) holds at most an 8 KiB slab; one
 * whose last read was big (>= 32 KiB, so the peer sent that much) may keep a 256 KiB slab until
 * its next read. A kept message keeps its slab alive, like a view of any read buffer.
 */
const BIG = 256 * 1024;
const SMALL = 4096;
/** A streaming read is offered at least this much (Node's own read size). */
const READ_MIN = 64 * 1024;
/** Reads this big mean the peer streams: keep a big slab. */
const STREAM_MIN = 32 * 1024;
/** The smallest region offered to a read. */
const SMALL_MIN = 512;

export class SlabReader {
  private slab: Buffer;
  /** First byte not yet a delivered message (a partial frame starts here). */
  private start = 0;
  /** End of the bytes read. */
  private end = 0;
  /** The last read filled the region it was offered: the peer is streaming. */
  private streaming = false;
  /** The region a non-streaming read is offered (doubles while reads fill it). */
  private nextRead = SMALL_MIN;
  private early: Buffer[] | undefined = [];
  private sink: ((m: Buffer) => void) | undefined;
  private fail: ((e: Error) => void) | undefined;
  private failed: Error | undefined;
  /** node:net `onread` options: read into region(), then decode. */
  readonly onread: { buffer: () => Buffer; callback: (n: number, buf: Uint8Array) => boolean };

  constructor(
    private readonly headerBytes: 2 | 4,
    private readonly max: number,
  ) {
    this.slab = Buffer.allocUnsafe(SMALL);
    this.onread = {
      buffer: () => this.region(),
      callback: (n, buf) => this.read(n, buf.length),
    };
  }

  /** Bytes read but not yet a whole message. */
  get buffered(): number {
    return this.end - this.start;
  }

  /**
   * Starts delivering messages (those read before this are delivered now); `fail` gets a framing
   * violation (ERR_MSG_TOO_LARGE), after which nothing more is read.
   */
  attach(sink: (m: Buffer) => void, fail: (e: Error) => void): void {
    this.sink = sink;
    this.fail = fail;
    const early = this.early ?? [];
    this.early = undefined;
    for (const m of early) sink(m);
    if (this.failed) fail(this.failed);
  }

  /** Where the next read goes: the slab's free tail, or a fresh slab holding the partial frame. */
  private region(): Buffer {
    const pending = this.end - this.start;
    const tail = this.slab.length - this.end;
    let want = this.streaming ? READ_MIN : this.nextRead;
    if (pending >= this.headerBytes) {
      // The rest of the frame being read (its length was checked against max in read()), but
      // never more than the bytes that arrived plus one read: a bare header allocates nothing big.
      const rest = this.headerBytes + this.frameLen(this.start) - pending;
      // The frame fits but the next would not: read up to its end only, so the slab is left on
      // a frame boundary and the next slab starts without copying a partial frame.
      if (rest <= tail && tail - rest < want) return this.slab.subarray(this.end, this.end + rest);
      if (rest > want) want = Math.min(rest, Math.max(READ_MIN, pending));
    }
    if (tail < want) {
      const size = this.streaming ? Math.max(BIG, pending + want) : Math.max(SMALL, pending + want);
      const next = Buffer.allocUnsafe(size);
      // Only a partial frame moves; delivered messages stay where they are.
      if (pending > 0) this.slab.copy(next, 0, this.start, this.end);
      this.slab = next;
      this.start = 0;
      this.end = pending;
    }
    // At most one Node read (64 KiB) unless one frame needs more: a read's messages are
    // dispatched in one go, and queues are sized for what one Node read can hold.
    const room = this.slab.length - this.end;
    return this.slab.subarray(this.end, this.end + Math.max(want, Math.min(READ_MIN, room)));
  }

  private frameLen(at: number): number {
    return this.headerBytes === 4 ? this.slab.readUInt32BE(at) : this.slab.readUInt16BE(at);
  }

  /** A read of n bytes landed at `end`; returns false to stop reading (no sink yet, or failed). */
  private read(n: number, offered: number): boolean {
    if (this.failed) return false;
    this.end += n;
    this.streaming = n >= STREAM_MIN;
    // A read that fills its region asks for a bigger one next time (up to one Node read).
    this.nextRead = n === offered ? Math.min(READ_MIN, Math.max(SMALL_MIN, n * 2)) : SMALL_MIN;
    const h = this.headerBytes;
    while (this.end - this.start >= h) {
      const len = this.frameLen(this.start);
      if (len > this.max) {
        this.failed = new PipeError(
          "ERR_MSG_TOO_LARGE",
          `incoming frame of ${len} B exceeds ${this.max} B`,
        );
        this.start = this.end;
        this.fail?.(this.failed);
        return false;
      }
      if (this.end - this.start - h < len) break;
      const msg = this.slab.subarray(this.start + h, this.start + h + len);
      this.start += h + len;
      if (this.sink) this.sink(msg);
      else this.early?.push(msg);
      if (this.failed) return false;
    }
    if (this.start === this.end && !this.streaming && this.slab.length > 2 * SMALL) {
      // Gone quiet with nothing pending: let the big slab go (region() picks a small one).
      this.slab = EMPTY;
      this.start = this.end = 0;
    }
    return this.sink !== undefined;
  }
}

const EMPTY = Buffer.alloc(0);

/** The header size when `framing` can be read in place, else undefined. */
export function inPlaceHeader(framing: Framing): 2 | 4 | undefined {
  if (framing === "u32-length") return 4;
  if (framing === "u16-length") return 2;
  return undefined;
}

/** A reader for a socket that will carry `framing`, or undefined when it must use 'data'. */
export function slabReaderFor(framing: Framing, maxMessageBytes: number): SlabReader | undefined {
  const h = inPlaceHeader(framing);
  if (h === undefined) return undefined;
  return new SlabReader(h, h === 2 ? Math.min(maxMessageBytes, 0xffff) : maxMessageBytes);
}

type Internal = net.Socket & { _handle?: { readStart?: unknown } | null; _server?: net.Server };

/**
 * Re-opens an accepted socket (from a `pauseOnConnect` server, not yet reading) over the same
 * handle with `onread`, since net.Server has no onread option. Relies on net.Socket's `handle`
 * option (how Node passes sockets between processes); returns undefined (use `sock` as is) when
 * this Node does not look as expected.
 */
export function adoptInPlace(
  sock: net.Socket,
  server: net.Server,
  reader: SlabReader,
): net.Socket | undefined {
  const s = sock as Internal;
  const handle = s._handle;
  if (!handle || typeof handle.readStart !== "function" || s._server !== server) return undefined;
  if (sock.destroyed || sock.readableFlowing === true) return undefined;
  let next: Internal;
  try {
    next = new net.Socket({
      handle,
      allowHalfOpen: sock.allowHalfOpen,
      readable: true,
      writable: true,
      onread: reader.onread,
    } as net.SocketConstructorOpts) as Internal;
  } catch {
    return undefined;
  }
  // The new socket owns the handle and the server's connection count; the old one is inert.
  s._handle = null;
  s._server = undefined;
  next._server = server;
  (next as net.Socket & { server?: net.Server }).server = server;
  return next;
}
