import { Duplex } from "node:stream";
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { isPipeError, type Pipe, wrapStream } from "../src/index.js";
import { chunk } from "./helpers.js";
import { duplexPair, frame } from "./wrap-helpers.js";

// The stream path of wrapStream end to end (socket-less: the pipe reads what the test writes into
// the other end of an in-memory pair), over arbitrary bytes and arbitrary chunkings.

/** The reference u32-length parse: complete frames, and whether a header over `max` came first. */
function refParse(wire: Buffer, max: number): { msgs: Buffer[]; tooLarge: boolean; rest: number } {
  const msgs: Buffer[] = [];
  let off = 0;
  while (wire.length - off >= 4) {
    const len = wire.readUInt32BE(off);
    if (len > max) return { msgs, tooLarge: true, rest: 0 };
    if (wire.length - off - 4 < len) break;
    msgs.push(wire.subarray(off + 4, off + 4 + len));
    off += 4 + len;
  }
  return { msgs, tooLarge: false, rest: wire.length - off };
}

const flush = async () => {
  for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
};

/** Every byte value, so each run covers NUL, CR, LF and 0xFF at least once. */
const ALL_BYTES = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
const bytes = fc.uint8Array({ maxLength: 300 }).map((u) => Buffer.from(u));
const crlfNul = fc
  .array(fc.constantFrom(0, 10, 13, 0xff, 0x41), { maxLength: 50 })
  .map((a) => Buffer.from(a));
const message = fc.oneof(bytes, crlfNul);
const cuts = fc.array(fc.nat(), { maxLength: 40 });

/** Feeds `wire` in the given chunks into a wrapStream pipe; returns the pipe and what it delivered. */
async function feed(chunks: Buffer[], opts = {}): Promise<{ q: Pipe; got: Buffer[] }> {
  const [a, b] = duplexPair();
  const q = wrapStream(b, opts);
  const got: Buffer[] = [];
  q.onMessage((m) => void got.push(Buffer.from(m.data)));
  for (const c of chunks) a.write(c);
  await flush();
  return { q, got };
}

describe("wrapStream framing (fast-check)", () => {
  test("u32-length: any messages, any chunking, arrive exactly as sent", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(message, { maxLength: 15 }), cuts, async (ms, cs) => {
        const msgs = [ALL_BYTES, ...ms];
        const wire = Buffer.concat(msgs.map(frame));
        const { q, got } = await feed(chunk(wire, cs));
        expect(got.map((b) => b.toString("hex"))).toEqual(msgs.map((m) => m.toString("hex")));
        expect(q.isOpen).toBe(true);
        await q.close();
      }),
      { numRuns: 200 },
    );
  });

  test("send() writes exactly the u32-length frames a peer decodes back", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(message, { maxLength: 15 }), cuts, async (ms, cs) => {
        const msgs = [ALL_BYTES, ...ms, Buffer.alloc(9000, 10)];
        const written: Buffer[] = [];
        // Captures what the sending pipe writes (through cork/writev, as on a socket).
        const tap = new Duplex({
          read() {},
          write(c: Buffer, _e, cb) {
            written.push(Buffer.from(c));
            cb();
          },
          writev(cs2, cb) {
            for (const { chunk: c } of cs2) written.push(Buffer.from(c as Buffer));
            cb();
          },
        });
        const p = wrapStream(tap);
        for (const m of msgs) await p.send(m);
        await flush();
        const wire = Buffer.concat(written);
        expect(wire.equals(Buffer.concat(msgs.map(frame)))).toBe(true);
        const { q, got } = await feed(chunk(wire, cs));
        expect(got.map((b) => b.toString("hex"))).toEqual(msgs.map((m) => m.toString("hex")));
        await q.close();
        tap.destroy();
      }),
      { numRuns: 100 },
    );
  });

  test("garbage: the reference parse's messages, then ERR_MSG_TOO_LARGE or a bounded remainder", async () => {
    const max = 200;
    const segment = fc.oneof(
      message.filter((m) => m.length <= max).map(frame),
      fc.uint8Array({ maxLength: 40 }).map((u) => Buffer.from(u)),
    );
    const seen = { tooLarge: 0, open: 0 };
    await fc.assert(
      fc.asyncProperty(fc.array(segment, { maxLength: 12 }), cuts, async (segs, cs) => {
        const wire = Buffer.concat(segs);
        const ref = refParse(wire, max);
        seen[ref.tooLarge ? "tooLarge" : "open"]++;
        let ended: Error | undefined;
        const [a, b] = duplexPair();
        const q = wrapStream(b, { maxMessageBytes: max });
        q.on("error", () => {}); // reported, not thrown
        q.onEnd((_p, e) => {
          ended = e;
        });
        const got: Buffer[] = [];
        q.onMessage((m) => void got.push(Buffer.from(m.data)));
        for (const c of chunk(wire, cs)) if (!a.destroyed) a.write(c);
        await flush();
        expect(got.map((x) => x.toString("hex"))).toEqual(ref.msgs.map((x) => x.toString("hex")));
        if (ref.tooLarge) {
          expect(q.isOpen).toBe(false);
          expect(isPipeError(ended, "ERR_MSG_TOO_LARGE")).toBe(true);
          expect(b.destroyed).toBe(true);
        } else {
          expect(q.isOpen).toBe(true);
          expect((q as unknown as { bufferedBytes: number }).bufferedBytes).toBe(ref.rest);
          expect(ref.rest).toBeLessThanOrEqual(max + 4);
        }
        await q.close();
      }),
      { numRuns: 300 },
    );
    // Both outcomes were exercised.
    expect(seen.tooLarge).toBeGreaterThan(20);
    expect(seen.open).toBeGreaterThan(20);
  });

  test("line framing: CR and NUL stay in the message, any chunking", async () => {
    const line = fc
      .array(fc.constantFrom(0, 13, 0x20, 0xff, 0x7a), { maxLength: 60 })
      .map((a) => Buffer.from(a));
    await fc.assert(
      fc.asyncProperty(fc.array(line, { maxLength: 15 }), cuts, async (lines, cs) => {
        const wire = Buffer.concat(lines.flatMap((l) => [l, Buffer.from("\n")]));
        const { q, got } = await feed(chunk(wire, cs), { framing: "line" });
        expect(got.map((b) => b.toString("hex"))).toEqual(lines.map((l) => l.toString("hex")));
        await q.close();
      }),
      { numRuns: 200 },
    );
  });
});
