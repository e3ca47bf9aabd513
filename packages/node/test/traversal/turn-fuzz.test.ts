import { ATTR, encodeMessage, METHOD, StunMessage } from "@p2pd/stun";
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import {
  decodeChannelData,
  encodeChannelData,
  TraversalError,
  TurnStreamDecoder,
} from "../../src/traversal/index.js";

const isTyped = (e: unknown) => e instanceof TraversalError;

describe("TURN framing decoders under fuzzing", () => {
  test("decodeChannelData: never throws anything but a typed error; round-trips", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), (bytes) => {
        try {
          const cd = decodeChannelData(bytes);
          expect(cd.channel).toBeGreaterThanOrEqual(0x4000);
          expect(cd.data.length).toBeLessThanOrEqual(bytes.length - 4);
        } catch (e) {
          expect(isTyped(e)).toBe(true);
        }
      }),
      { numRuns: 2000 },
    );
    fc.assert(
      fc.property(
        fc.integer({ min: 0x4000, max: 0x4fff }),
        fc.uint8Array({ maxLength: 300 }),
        fc.boolean(),
        (ch, data, pad) => {
          const cd = decodeChannelData(encodeChannelData(ch, data, pad));
          expect(cd.channel).toBe(ch);
          expect([...cd.data]).toEqual([...data]);
        },
      ),
    );
  });

  // STUN itself (decoding, XOR addresses, MESSAGE-INTEGRITY) is fuzzed in @p2pd/stun's own tests.

  test("TurnStreamDecoder: arbitrary chunking of valid frames reassembles; junk is a typed error", () => {
    const frame = fc.oneof(
      fc
        .tuple(fc.integer({ min: 0x4000, max: 0x4fff }), fc.uint8Array({ maxLength: 40 }))
        .map(([c, d]) => encodeChannelData(c, d, true)),
      fc
        .uint8Array({ maxLength: 40 })
        .map((d) =>
          Buffer.from(
            encodeMessage(
              new StunMessage({ method: METHOD.DATA, cls: "indication" }).add(ATTR.DATA, d),
            ),
          ),
        ),
    );
    fc.assert(
      fc.property(
        fc.array(frame, { maxLength: 8 }),
        fc.array(fc.nat(50), { maxLength: 10 }),
        (frames, cuts) => {
          const all = Buffer.concat(frames);
          const dec = new TurnStreamDecoder();
          const out: Buffer[] = [];
          let off = 0;
          for (const c of cuts) {
            const end = Math.min(all.length, off + c);
            for (const f of dec.push(all.subarray(off, end))) out.push(f.bytes);
            off = end;
          }
          for (const f of dec.push(all.subarray(off))) out.push(f.bytes);
          expect(Buffer.concat(out).equals(all)).toBe(true);
          expect(out.length).toBe(frames.length);
        },
      ),
    );
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 6 }), (chunks) => {
        const dec = new TurnStreamDecoder();
        try {
          for (const c of chunks) dec.push(c);
        } catch (e) {
          expect(isTyped(e)).toBe(true);
        }
      }),
      { numRuns: 2000 },
    );
  });
});
