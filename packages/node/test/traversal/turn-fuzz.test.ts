import fc from "fast-check";
import { describe, expect, test } from "vitest";
import {
  decodeChannelData,
  encodeChannelData,
  TraversalError,
  TurnStreamDecoder,
} from "../../src/traversal/index.js";
import {
  Attr,
  checkIntegrity,
  decodeAddress,
  decodeStun,
  encodeStun,
  encodeXorAddress,
  longTermKey,
  newTransactionId,
  StunClass,
  StunMethod,
} from "../../src/traversal/stun-codec.js";

const isTyped = (e: unknown) => e instanceof TraversalError;

describe("TURN / STUN decoders under fuzzing", () => {
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

  test("decodeStun: random bytes and mutated valid messages give typed errors only", () => {
    const tid = newTransactionId();
    const valid = encodeStun(
      {
        method: StunMethod.send,
        cls: StunClass.indication,
        transactionId: tid,
        attributes: [
          {
            type: Attr.xorPeerAddress,
            value: encodeXorAddress({ host: "10.1.2.3", port: 999 }, tid),
          },
          { type: Attr.data, value: new Uint8Array([1, 2, 3]) },
        ],
      },
      { fingerprint: true },
    );
    const mutated = fc
      .array(fc.tuple(fc.nat(valid.length - 1), fc.integer({ min: 0, max: 255 })), { maxLength: 6 })
      .map((muts) => {
        const b = Buffer.from(valid);
        for (const [i, v] of muts) b[i] = v;
        return new Uint8Array(b);
      });
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 120 }), mutated), (bytes) => {
        try {
          const m = decodeStun(bytes);
          for (const a of m.attributes) {
            if (a.type === Attr.xorPeerAddress) {
              try {
                decodeAddress(a.value, m.transactionId);
              } catch (e) {
                expect(isTyped(e)).toBe(true);
              }
            }
          }
        } catch (e) {
          expect(isTyped(e)).toBe(true);
        }
      }),
      { numRuns: 3000 },
    );
  });

  test("XOR addresses round-trip for v4 and v6", () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.ipV4(), fc.ipV6()),
        fc.integer({ min: 0, max: 65535 }),
        (ip, port) => {
          const tid = newTransactionId();
          const back = decodeAddress(encodeXorAddress({ host: ip, port }, tid), tid);
          expect(back.port).toBe(port);
          // Compare through the canonical form of the decoder.
          expect(decodeAddress(encodeXorAddress(back, tid), tid)).toEqual(back);
        },
      ),
    );
  });

  test("MESSAGE-INTEGRITY verifies with the right key only", () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), (user, pass) => {
        const key = longTermKey(user, "realm", pass);
        const m = decodeStun(
          encodeStun(
            {
              method: StunMethod.allocate,
              cls: StunClass.success,
              transactionId: newTransactionId(),
              attributes: [],
            },
            { integrityKey: key, fingerprint: true },
          ),
        );
        expect(checkIntegrity(m, key)).toBe(true);
        expect(checkIntegrity(m, longTermKey(user, "realm", `${pass}x`))).toBe(false);
      }),
      { numRuns: 200 },
    );
  });

  test("TurnStreamDecoder: arbitrary chunking of valid frames reassembles; junk is a typed error", () => {
    const frame = fc.oneof(
      fc
        .tuple(fc.integer({ min: 0x4000, max: 0x4fff }), fc.uint8Array({ maxLength: 40 }))
        .map(([c, d]) => encodeChannelData(c, d, true)),
      fc.uint8Array({ maxLength: 40 }).map((d) =>
        encodeStun({
          method: StunMethod.data,
          cls: StunClass.indication,
          transactionId: newTransactionId(),
          attributes: [{ type: Attr.data, value: d }],
        }),
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
