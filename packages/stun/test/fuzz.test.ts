import fc from "fast-check";
import { describe, expect, test } from "vitest";
import {
  ATTR,
  decodeMessage,
  encodeMessage,
  METHOD,
  StunError,
  StunFramer,
  StunMessage,
  verifyIntegrity,
} from "../src/index.js";
import {
  SAMPLE_IPV4_RESPONSE,
  SAMPLE_IPV6_RESPONSE,
  SAMPLE_LONG_TERM_REQUEST,
  SAMPLE_REQUEST,
} from "./vectors.js";

const CODES = new Set([
  "ERR_STUN_TRUNCATED",
  "ERR_STUN_BAD_LENGTH",
  "ERR_STUN_NOT_STUN",
  "ERR_STUN_BAD_COOKIE",
  "ERR_STUN_DUPLICATE_ATTR",
  "ERR_STUN_BAD_ATTR",
  "ERR_STUN_BAD_FINGERPRINT",
  "ERR_STUN_TOO_LARGE",
]);

/** Runs f; anything thrown must be a StunError with a codec code. */
function onlyTyped(f: () => unknown): void {
  try {
    f();
  } catch (e) {
    if (!(e instanceof StunError) || !CODES.has(e.code)) throw e;
  }
}

/** Every typed accessor, as a consumer (client, TURN) would call them. */
function readAll(m: StunMessage): void {
  for (const a of m.attributes) {
    onlyTyped(() => m.getAddress(a.type));
    onlyTyped(() => m.getUint32(a.type));
    onlyTyped(() => m.getString(a.type));
  }
  onlyTyped(() => m.getErrorCode());
  onlyTyped(() => m.getUnknownAttributes());
  onlyTyped(() => m.getChangeRequest());
  onlyTyped(() => m.getResponsePort());
  onlyTyped(() => m.getChannelNumber());
  onlyTyped(() => m.getRequestedTransport());
}

// A plausible STUN header with a random body: reaches the attribute parser far more often than noise.
const stunish = fc
  .tuple(
    fc.integer({ min: 0, max: 0x3fff }),
    fc.boolean(),
    fc.uint8Array({ minLength: 12, maxLength: 12 }),
    fc.array(
      fc.tuple(
        fc.constantFrom(...Object.values(ATTR), 0x7777, 0x8020, 0xc001),
        fc.uint8Array({ maxLength: 40 }),
        fc.integer({ min: -3, max: 3 }),
      ),
      { maxLength: 8 },
    ),
  )
  .map(([type, cookie, tid, attrs]) => {
    const parts: number[] = [];
    for (const [t, v, lie] of attrs) {
      const len = Math.max(0, Math.min(0xffff, v.length + lie));
      parts.push(t >> 8, t & 0xff, len >> 8, len & 0xff, ...v);
      while (parts.length % 4 !== 0) parts.push(0);
    }
    const out = new Uint8Array(20 + parts.length);
    const dv = new DataView(out.buffer);
    dv.setUint16(0, type);
    dv.setUint16(2, parts.length);
    dv.setUint32(4, cookie ? 0x2112a442 : 0x01020304);
    out.set(tid, 8);
    out.set(parts, 20);
    return out;
  });

const mutated = fc
  .tuple(
    fc.constantFrom(
      SAMPLE_REQUEST,
      SAMPLE_IPV4_RESPONSE,
      SAMPLE_IPV6_RESPONSE,
      SAMPLE_LONG_TERM_REQUEST,
    ),
    fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }),
    fc.nat(),
  )
  .map(([base, edits, cut]) => {
    const b = base.slice(0, base.length - (cut % 8));
    for (const [i, v] of edits) b[i % b.length] = v;
    return b;
  });

describe("decoder fuzzing", () => {
  test("random bytes: only typed errors, never anything else", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.boolean(), (bytes, legacy) => {
        onlyTyped(() => readAll(decodeMessage(bytes, { legacy })));
      }),
      { numRuns: 3000 },
    );
  });

  test("STUN-shaped and mutated vectors: only typed errors; accessors typed too", () => {
    fc.assert(
      fc.property(fc.oneof(stunish, mutated), fc.boolean(), (bytes, legacy) => {
        onlyTyped(() => readAll(decodeMessage(bytes, { legacy, allowDuplicates: !legacy })));
        expect(typeof verifyIntegrity(bytes, new Uint8Array(16))).toBe("boolean");
      }),
      { numRuns: 3000 },
    );
  });

  test("a Buffer at an offset decodes like the same bytes and is left untouched", () => {
    fc.assert(
      fc.property(fc.oneof(stunish, mutated), fc.nat({ max: 40 }), (bytes, offset) => {
        const pool = Buffer.alloc(bytes.length + offset + 8, 0xab);
        pool.set(bytes, offset);
        const snapshot = Buffer.from(pool);
        const view = pool.subarray(offset, offset + bytes.length);
        let a: unknown;
        let b: unknown;
        try {
          a = decodeMessage(bytes, { legacy: true, allowDuplicates: true });
        } catch (e) {
          a = (e as StunError).code;
        }
        try {
          const m = decodeMessage(view, { legacy: true, allowDuplicates: true });
          readAll(m);
          b = m;
        } catch (e) {
          b = (e as StunError).code;
        }
        verifyIntegrity(view, new Uint8Array(20));
        expect(b).toEqual(a);
        expect(pool.equals(snapshot)).toBe(true);
      }),
      { numRuns: 1000 },
    );
  });

  test("stream framer: only typed errors", () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(stunish, fc.uint8Array({ maxLength: 64 })), { maxLength: 5 }),
        (chunks) => {
          const f = new StunFramer();
          onlyTyped(() => {
            for (const c of chunks) for (const m of f.push(c)) onlyTyped(() => decodeMessage(m));
          });
        },
      ),
    );
  });

  test("decode(bytes) that succeeds re-encodes to a message that decodes equal (idempotent)", () => {
    fc.assert(
      fc.property(stunish, (bytes) => {
        let m: StunMessage;
        try {
          m = decodeMessage(bytes, { legacy: true, allowDuplicates: true });
        } catch {
          return;
        }
        const again = encodeMessage(m);
        const m2 = decodeMessage(again, { legacy: true, allowDuplicates: true });
        expect(m2).toEqual(m);
        expect(encodeMessage(m2)).toEqual(again);
      }),
      { numRuns: 2000 },
    );
  });
});

describe("integrity coverage under fuzzing", () => {
  const key = new Uint8Array(16).fill(7);
  const attr = fc.tuple(
    fc.constantFrom(...Object.values(ATTR), 0x7777, 0x8020, 0xc001),
    fc.uint8Array({ maxLength: 24 }),
  );
  test("whatever follows a valid MESSAGE-INTEGRITY(-SHA256), the decoded attributes are the signed ones", () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(attr, { selector: ([t]) => t, maxLength: 5 }),
        fc.array(attr, { maxLength: 5 }),
        fc.boolean(),
        (signed, tail, sha256) => {
          const base = signed.filter(
            ([t]) =>
              t !== ATTR.MESSAGE_INTEGRITY &&
              t !== ATTR.MESSAGE_INTEGRITY_SHA256 &&
              t !== ATTR.FINGERPRINT,
          );
          const m = new StunMessage({ cls: "success" });
          for (const [t, v] of base) m.add(t, v);
          const head = encodeMessage(m, sha256 ? { integritySha256: key } : { integrity: key });
          const parts: number[] = [...head];
          for (const [t, v] of tail) {
            parts.push(t >> 8, t & 0xff, v.length >> 8, v.length & 0xff, ...v);
            while (parts.length % 4 !== 0) parts.push(0);
          }
          const raw = Uint8Array.from(parts);
          new DataView(raw.buffer).setUint16(2, raw.length - 20);
          let d: StunMessage;
          try {
            d = decodeMessage(raw, { allowDuplicates: true });
          } catch (e) {
            expect(e).toBeInstanceOf(StunError);
            return;
          }
          // A forged MESSAGE-INTEGRITY-SHA256 after MESSAGE-INTEGRITY fails the check: nothing is trusted.
          if (!verifyIntegrity(raw, key)) {
            expect(tail.some(([t]) => t === ATTR.MESSAGE_INTEGRITY_SHA256) && !sha256).toBe(true);
            return;
          }
          const covered = d.attributes.filter(
            (a) =>
              a.type !== ATTR.MESSAGE_INTEGRITY &&
              a.type !== ATTR.MESSAGE_INTEGRITY_SHA256 &&
              a.type !== ATTR.FINGERPRINT,
          );
          expect(covered).toEqual(m.attributes);
        },
      ),
      { numRuns: 2000 },
    );
  });
});

describe("encoder/decoder round trip", () => {
  const address = fc.oneof(
    fc.ipV4().map((host) => ({ host, port: 0 })),
    fc.ipV6().map((host) => ({ host, port: 0 })),
  );
  const message = fc.record({
    method: fc.constantFrom(...Object.values(METHOD)),
    cls: fc.constantFrom("request", "indication", "success", "error" as const),
    legacy: fc.boolean(),
    xor: fc.array(
      fc.tuple(
        fc.constantFrom(ATTR.XOR_MAPPED_ADDRESS, ATTR.OTHER_ADDRESS),
        address,
        fc.integer({ min: 0, max: 65535 }),
      ),
      { maxLength: 1 },
    ),
    strings: fc.array(
      fc.tuple(
        fc.constantFrom(ATTR.SOFTWARE, ATTR.REALM, ATTR.NONCE, ATTR.USERNAME),
        fc.string({ maxLength: 30 }),
      ),
      { maxLength: 1 },
    ),
    data: fc.option(fc.uint8Array({ maxLength: 100 })),
    lifetime: fc.option(fc.nat()),
    fingerprint: fc.boolean(),
    integrity: fc.option(fc.uint8Array({ minLength: 1, maxLength: 32 })),
  });

  test("decode(encode(m)) == m, and encode(decode(x)) == x", () => {
    fc.assert(
      fc.property(message, (r) => {
        const m = new StunMessage({
          method: r.method,
          cls: r.cls,
          transactionId: new Uint8Array(r.legacy ? 16 : 12).map((_, i) => i * 7 + 1),
        });
        for (const [t, a, port] of r.xor) m.addAddress(t, { host: a.host, port });
        for (const [t, s] of r.strings) m.addString(t, s);
        if (r.data) m.add(ATTR.DATA, r.data);
        if (r.lifetime !== null) m.addUint32(ATTR.LIFETIME, r.lifetime);
        const x = encodeMessage(m, {
          fingerprint: r.fingerprint,
          integrity: r.integrity ?? undefined,
        });
        const d = decodeMessage(x, { legacy: r.legacy });
        expect(d.method).toBe(r.method);
        expect(d.cls).toBe(r.cls);
        expect(d.transactionId).toEqual(m.transactionId);
        expect(d.attributes.slice(0, m.attributes.length)).toEqual(m.attributes);
        for (const [t, a, port] of r.xor) {
          const got = d.getAddress(t);
          expect(got?.port).toBe(port);
          expect(
            encodeMessage(
              new StunMessage({ transactionId: d.transactionId }).addAddress(t, got ?? a),
            ),
          ).toEqual(
            encodeMessage(
              new StunMessage({ transactionId: d.transactionId }).addAddress(t, {
                host: a.host,
                port,
              }),
            ),
          );
        }
        for (const [t, s] of r.strings) expect(d.getString(t)).toBe(s);
        if (r.integrity) expect(verifyIntegrity(x, r.integrity)).toBe(true);
        expect(encodeMessage(d)).toEqual(x);
      }),
      { numRuns: 1500 },
    );
  });
});
