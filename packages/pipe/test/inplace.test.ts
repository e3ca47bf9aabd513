import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { createEncoder, pipeOpen } from "../src/index.js";
import { SlabReader } from "../src/inplace.js";

/** Feeds `wire` to a reader the way node:net's onread does: each read lands in region(). */
function feed(r: SlabReader, wire: Buffer, sizes: number[]): boolean {
  let off = 0;
  let i = 0;
  while (off < wire.length) {
    const region = r.onread.buffer();
    expect(region.length).toBeGreaterThan(0);
    const n = Math.min(
      region.length,
      wire.length - off,
      1 + ((sizes[i++ % sizes.length] ?? 0) % 100_000),
    );
    wire.copy(region, 0, off, off + n);
    off += n;
    if (!r.onread.callback(n, region)) return false;
  }
  return true;
}

const message = fc
  .tuple(fc.integer({ min: 0, max: 300_000 }), fc.integer({ min: 0, max: 255 }))
  .map(([n, seed]) => Buffer.from(Array.from({ length: n }, (_, i) => (i * 31 + seed) & 255)));

describe("in-place frame reading (SlabReader)", () => {
  test("any read sizes give exactly the sent messages, and kept messages never change", () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(message, fc.uint8Array({ maxLength: 100 }).map(Buffer.from)), {
          maxLength: 10,
        }),
        fc.array(fc.nat(), { minLength: 1, maxLength: 30 }),
        (msgs, sizes) => {
          const enc = createEncoder("u32-length", 1 << 20);
          const wire = Buffer.concat(msgs.flatMap((m) => enc(m)));
          const r = new SlabReader(4, 1 << 20);
          const got: Buffer[] = [];
          r.attach(
            (m) => got.push(m),
            (e) => {
              throw e;
            },
          );
          expect(feed(r, wire, sizes)).toBe(true);
          expect(r.buffered).toBe(0);
          // Views, checked only after every read: a later read never overwrote an earlier message.
          expect(got.map((b) => b.toString("hex"))).toEqual(msgs.map((m) => m.toString("hex")));
        },
      ),
      { numRuns: 60 },
    );
  });

  test("a frame over the limit fails with ERR_MSG_TOO_LARGE and stops reading", () => {
    const r = new SlabReader(2, 1000);
    const errors: Error[] = [];
    r.attach(
      () => {},
      (e) => errors.push(e),
    );
    const wire = Buffer.from([0x04, 0x00, 1, 2, 3]); // declares 1024 B
    expect(feed(r, wire, [5])).toBe(false);
    expect(errors.map((e) => (e as { code?: string }).code)).toEqual(["ERR_MSG_TOO_LARGE"]);
  });

  test("a declared length alone allocates no more than the bytes that came plus one read", () => {
    const r = new SlabReader(4, 16 << 20);
    r.attach(
      () => {},
      () => {},
    );
    const header = Buffer.alloc(4);
    header.writeUInt32BE(16 << 20);
    feed(r, header, [4]);
    const region = r.onread.buffer();
    expect(region.buffer.byteLength).toBeLessThanOrEqual(4 + 64 * 1024 + 4096);
  });

  test("an idle connection holds a small slab after streaming", () => {
    const r = new SlabReader(4, 1 << 20);
    r.attach(
      () => {},
      () => {},
    );
    const enc = createEncoder("u32-length", 1 << 20);
    const burst = Buffer.concat(enc(Buffer.alloc(200_000, 1)));
    feed(r, burst, [65_536]);
    expect(r.onread.buffer().buffer.byteLength).toBeGreaterThanOrEqual(64 * 1024); // streaming
    feed(r, Buffer.concat(enc(Buffer.from("ping"))), [8]); // a small read, nothing pending
    expect(r.onread.buffer().buffer.byteLength).toBeLessThanOrEqual(8192);
  });

  test("messages read before the pipe attached are delivered in order", () => {
    const r = new SlabReader(4, 1 << 20);
    const enc = createEncoder("u32-length", 1 << 20);
    const wire = Buffer.concat([...enc(Buffer.from("a")), ...enc(Buffer.from("b"))]);
    // Unattached, the reader asks the socket to pause after the read.
    expect(feed(r, wire, [wire.length])).toBe(false);
    const got: string[] = [];
    r.attach(
      (m) => got.push(m.toString()),
      () => {},
    );
    expect(got).toEqual(["a", "b"]);
  });

  test("TCP clients and accepted children read in place; big messages arrive intact", async () => {
    const server = await pipeOpen("tcp", { host: "127.0.0.1" });
    const client = await pipeOpen("tcp", undefined, server.local);
    const child = await server.accept({ timeout: 2000 });
    try {
      // If a Node upgrade breaks re-opening accepted sockets, this says so (they fall back).
      expect((child as unknown as { decoder: unknown }).decoder).toBeInstanceOf(SlabReader);
      expect((client as unknown as { decoder: unknown }).decoder).toBeInstanceOf(SlabReader);
      const sent = Array.from({ length: 20 }, (_, i) => Buffer.alloc(65_536 + i * 997, i));
      for (const m of sent) await client.send(m);
      const got: Buffer[] = [];
      for (let i = 0; i < sent.length; i++) got.push(await child.recv({ timeout: 2000 }));
      expect(got.map((b, i) => b.equals(sent[i] as Buffer))).toEqual(sent.map(() => true));
      await child.send("back");
      expect((await client.recv({ timeout: 2000 })).toString()).toBe("back");
      expect(server.children.size).toBe(1);
    } finally {
      await client.close();
      await server.close();
    }
    expect(server.children.size).toBe(0);
  });

  test("line framing keeps reading through 'data'", async () => {
    const server = await pipeOpen("tcp", { host: "127.0.0.1" }, undefined, { framing: "line" });
    const client = await pipeOpen("tcp", undefined, server.local, { framing: "line" });
    const child = await server.accept({ timeout: 2000 });
    try {
      expect((child as unknown as { decoder: unknown }).decoder).not.toBeInstanceOf(SlabReader);
      await client.send("hello");
      expect((await child.recv({ timeout: 2000 })).toString()).toBe("hello");
    } finally {
      await client.close();
      await server.close();
    }
  });
});
