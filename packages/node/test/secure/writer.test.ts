import type { Socket } from "node:net";
import { describe, expect, it } from "vitest";
import { MAX_FRAME_PLAINTEXT } from "../../src/secure/channel.js";
import { TAGLEN } from "../../src/secure/cipher-state.js";
import { ik, readN, tcpPair } from "./helpers.js";

// The send side's coalescing (writer.ts) over a real socket: what a burst of writes becomes on the
// wire, counted from the frame headers the channel hands to the socket.

/** Records the plaintext length of every transport frame written to `raw` from now on. */
function frameSizes(raw: Socket): number[] {
  const sizes: number[] = [];
  const write = raw.write.bind(raw);
  raw.write = ((chunk: Buffer, ...rest: never[]) => {
    // A vectored frame starts with its 2-byte header alone; a small frame is one buffer.
    if (chunk.length >= 2) {
      const len = chunk.readUInt16BE(0);
      if (chunk.length === 2 || chunk.length === 2 + len) sizes.push(len - TAGLEN);
    }
    return write(chunk, ...rest);
  }) as typeof raw.write;
  return sizes;
}

describe("writes coalesce into frames", () => {
  it("640 writes of 1 KiB in one tick leave as full frames, not 640 small ones", async () => {
    const [ra, rb] = await tcpPair();
    const [a, b] = ik(ra, rb);
    await Promise.all([a.ready, b.ready]);
    const sizes = frameSizes(ra);
    const msg = Buffer.alloc(1024, 7);
    for (let i = 0; i < 640; i++) a.write(msg);
    expect((await readN(b, 640 * 1024)).equals(Buffer.alloc(640 * 1024, 7))).toBe(true);
    expect(sizes.reduce((n, s) => n + s, 0)).toBe(640 * 1024);
    expect(sizes.length).toBe(Math.ceil((640 * 1024) / MAX_FRAME_PLAINTEXT));
    a.destroy();
    b.destroy();
  });

  it("a lone small write is sent at the end of its tick, not held for more", async () => {
    const [ra, rb] = await tcpPair();
    const [a, b] = ik(ra, rb);
    await Promise.all([a.ready, b.ready]);
    const sizes = frameSizes(ra);
    a.write("ping");
    expect(sizes.length).toBe(0); // held until the tick ends...
    await new Promise((r) => process.nextTick(r));
    expect(sizes).toEqual([4]); // ...then sent
    expect((await readN(b, 4)).toString()).toBe("ping");
    a.destroy();
    b.destroy();
  });
});
