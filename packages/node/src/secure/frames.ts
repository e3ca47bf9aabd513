/**
 * The channel's framing: each Noise message is a 2-byte big-endian length then that many bytes,
 * so a length can never ask for more than 64 KiB (and nothing is allocated for it: a frame is
 * handed out as views of the received chunks once all of it is there).
 */

/** One frame out: the length prefix and the parts, copied into one buffer (handshake frames). */
export function frameOf(parts: readonly Buffer[]): Buffer {
  let len = 0;
  for (const p of parts) len += p.length;
  const out = Buffer.allocUnsafe(2 + len);
  out.writeUInt16BE(len, 0);
  let o = 2;
  for (const p of parts) o += p.copy(out, o);
  return out;
}

/** Cuts received chunks into frames without copying them. */
export class FrameReader {
  #chunks: Buffer[] = [];
  #have = 0;
  /** The length of the frame `next()` returned last. */
  len = 0;

  /** Bytes received and not yet handed out (part of a frame, or a length prefix). */
  get buffered(): number {
    return this.#have;
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.#chunks.push(chunk);
    this.#have += chunk.length;
  }

  /** The next whole frame as views of the received chunks (its length in `len`), if there is one. */
  next(): Buffer[] | undefined {
    if (this.#have < 2) return undefined;
    const head = this.#chunks[0] as Buffer;
    const len =
      head.length >= 2
        ? head.readUInt16BE(0)
        : ((head[0] as number) << 8) | ((this.#chunks[1] as Buffer)[0] as number);
    if (this.#have < 2 + len) return undefined;
    this.#skip(2);
    this.len = len;
    return this.#take(len);
  }

  clear(): void {
    this.#chunks = [];
    this.#have = 0;
  }

  #skip(n: number): void {
    this.#have -= n;
    while (n > 0) {
      const c = this.#chunks[0] as Buffer;
      if (c.length <= n) {
        this.#chunks.shift();
        n -= c.length;
      } else {
        this.#chunks[0] = c.subarray(n);
        n = 0;
      }
    }
  }

  /** Removes n bytes from the front as views of the received chunks (no copy). */
  #take(n: number): Buffer[] {
    this.#have -= n;
    const head = this.#chunks[0];
    // The common case, one chunk holding the whole frame: no loop, one view.
    if (head !== undefined && head.length > n) {
      this.#chunks[0] = head.subarray(n);
      return [head.subarray(0, n)];
    }
    const out: Buffer[] = [];
    while (n > 0) {
      const c = this.#chunks[0] as Buffer;
      if (c.length <= n) {
        out.push(c);
        this.#chunks.shift();
        n -= c.length;
      } else {
        out.push(c.subarray(0, n));
        this.#chunks[0] = c.subarray(n);
        n = 0;
      }
    }
    return out;
  }
}
