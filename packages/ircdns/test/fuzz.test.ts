import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { A36, A62, A92, baseDecode, baseEncode } from "../src/crypto/base-n.js";
import { asciiBytes, bigIntToBytes, concat, otp, sha3 } from "../src/crypto/bytes.js";
import { deriveSigningKey } from "../src/derive.js";
import { BadServerError, BadTopicError } from "../src/errors.js";
import { parseLine, stripFormatting } from "../src/line.js";
import { decide, type Vote } from "../src/quorum.js";
import { parseServer } from "../src/servers.js";
import { packTopic, signerId, unpackTopic } from "../src/topic.js";

const lock = new Uint8Array(32).fill(9);
const seed = new Uint8Array(24).fill(1);
const priv = deriveSigningKey("fuzz", "tld", "", seed).priv;
const me = signerId(priv);
const good = packTopic({ value: "hello", priv, timeLock: lock, time: 1700000000 });
const b92 = fc.string({ unit: fc.constantFrom(...A92), maxLength: 120 });

/** `topic` read with `timeLock` is rejected, or verifies under some key that is not the owner's. */
function notTheOwners(topic: string, timeLock: Uint8Array): void {
  try {
    expect(unpackTopic(topic, timeLock).ids).not.toContain(me);
  } catch (e) {
    expect(e).toBeInstanceOf(BadTopicError);
  }
}

describe("fuzz: topic parser/verifier", () => {
  test("arbitrary strings either throw BadTopicError or verify (never crash)", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 600 }), (s) => {
        try {
          const r = unpackTopic(s, lock);
          expect(r.ids.length).toBeGreaterThan(0);
        } catch (e) {
          expect(e).toBeInstanceOf(BadTopicError);
        }
      }),
      { numRuns: 300 },
    );
  });

  test("well-formed random fields never verify under the owner's key", () => {
    fc.assert(
      fc.property(b92, b92, (a, b) => {
        notTheOwners(`p2pd.net/irc ${a} ${b}`, lock);
      }),
      { numRuns: 200 },
    );
  });

  test("any signature bytes and any payload bytes (every byte value): BadTopicError or not the owner's key", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 64, maxLength: 64 }),
        fc.uint8Array({ maxLength: 120 }),
        (sig, enc) => {
          notTheOwners(`p2pd.net/irc ${baseEncode(sig, A92)} ${baseEncode(enc, A92)}`, lock);
        },
      ),
      { numRuns: 300 },
    );
    // Edge scalars once the mask is removed: r or s of 0, n, n-1, 2^256-1 (the mask is SHA3-derived, so
    // these are reached by XORing the wanted plain signature with it).
    const n = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
    const enc = baseDecode(good.split(" ")[2] as string, A92) as Uint8Array;
    const mask = otp(new Uint8Array(64), sha3(concat(asciiBytes("sig "), lock)));
    for (const r of [0n, 1n, n - 1n, n, 2n ** 256n - 1n]) {
      for (const sv of [0n, 1n, n - 1n, n, 2n ** 256n - 1n]) {
        const plainSig = concat(bigIntToBytes(r, 32), bigIntToBytes(sv, 32));
        const sigx = plainSig.map((b, i) => b ^ (mask[i] ?? 0));
        notTheOwners(`p2pd.net/irc ${baseEncode(sigx, A92)} ${baseEncode(enc, A92)}`, lock);
      }
    }
  });

  test("tampering with any character of a signed topic loses the owner's key", () => {
    const parts = good.split(" ");
    const body = `${parts[1]} ${parts[2]}`;
    fc.assert(
      fc.property(fc.nat(body.length - 1), fc.constantFrom(...A92), (i, ch) => {
        if (body[i] === ch || body[i] === " ") return;
        notTheOwners(`p2pd.net/irc ${body.slice(0, i)}${ch}${body.slice(i + 1)}`, lock);
      }),
      { numRuns: 150 },
    );
  });

  test("a topic read with another server's time-lock does not carry the owner's key", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), (other) => {
        if (Buffer.from(other).equals(Buffer.from(lock))) return;
        notTheOwners(good, other);
      }),
      { numRuns: 50 },
    );
  });

  test("pack/unpack round trip for ASCII values", () => {
    fc.assert(
      fc.property(
        fc.string({
          unit: fc.integer({ min: 1, max: 0x7e }).map((c) => String.fromCharCode(c)),
          maxLength: 160,
        }),
        fc.nat(2 ** 40),
        (v, time) => {
          const t = packTopic({ value: v, priv, timeLock: lock, time });
          const r = unpackTopic(t, lock);
          expect(r.value).toBe(v);
          expect(r.time).toBe(time);
          expect(r.ids).toContain(me);
        },
      ),
      { numRuns: 40 },
    );
  });
});

describe("fuzz: base-N and IRC lines", () => {
  test("base-N round trip on bytes not made only of zeros, decode never throws", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), fc.constantFrom(A36, A62, A92), (b, a) => {
        const back = baseDecode(baseEncode(b, a), a);
        if (b.some((x) => x !== 0))
          expect(Buffer.from(back ?? []).equals(Buffer.from(b))).toBe(true);
      }),
    );
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (s) => {
        const r = baseDecode(s, A92);
        expect(r === undefined || r instanceof Uint8Array).toBe(true);
      }),
    );
  });

  test("parseServer: any string (every code point) gives a spec or BadServerError", () => {
    const pin = "ab".repeat(32);
    const piece = fc.oneof(
      fc.string({ unit: "binary", maxLength: 40 }),
      fc.constantFrom(
        "ircs://",
        "irc://",
        "?",
        "&",
        "#",
        ":",
        "[::1]",
        "insecure",
        `sha256=${pin}`,
      ),
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 6 }), (parts) => {
        const input = parts.join("");
        try {
          const s = parseServer(input);
          expect(s.port).toBeGreaterThanOrEqual(1);
          if (s.tlsPin !== undefined || s.tlsVerify !== undefined) expect(s.tls).toBe(true);
          if (s.tlsPin !== undefined) expect(s.tlsPin).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
        } catch (e) {
          expect(e).toBeInstanceOf(BadServerError);
        }
      }),
      { numRuns: 600 },
    );
  }, 30_000);

  test("parseLine never throws and keeps the trailing parameter intact", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 600 }), (s) => {
        const l = parseLine(s);
        if (l) expect(l.command).toMatch(/^([A-Z]+|\d{3})$/);
      }),
      { numRuns: 500 },
    );
    fc.assert(
      fc.property(fc.stringMatching(/^[^\r\n\0]{0,300}$/), (t) => {
        const l = parseLine(`:irc.x.lab 332 me #chan :${t}`);
        expect(l?.params).toEqual(["me", "#chan", t]);
      }),
    );
    expect(stripFormatting("\x02Founder\x02: \x0304,01n1\x1f")).toBe("Founder: n1");
  });
});

describe("quorum decision (pure)", () => {
  const vote = (server: string, ids: string[], time: number, value = `v${time}`): Vote => ({
    server,
    ids,
    time,
    value,
  });
  test("needs F+1 servers on one key; newest wins inside the group; a server counts once", () => {
    expect(decide([vote("a", ["K", "x1"], 1), vote("b", ["K", "x2"], 2)], 2)?.value).toBe("v2");
    expect(decide([vote("a", ["K", "x1"], 1), vote("a", ["K", "x2"], 2)], 2)).toBeUndefined();
    expect(
      decide([vote("a", ["K"], 1), vote("b", ["E"], 9), vote("c", ["E2"], 9)], 2),
    ).toBeUndefined();
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            server: fc.constantFrom("a", "b", "c", "d", "e"),
            id: fc.constantFrom("K", "E"),
            time: fc.nat(100),
          }),
        ),
        (vs) => {
          const d = decide(
            vs.map((v) => vote(v.server, [v.id], v.time)),
            3,
          );
          if (d) {
            const servers = new Set(vs.filter((v) => v.id === d.signer).map((v) => v.server));
            expect(servers.size).toBeGreaterThanOrEqual(3);
          }
        },
      ),
    );
  });
});
