// The server's fast path must answer exactly like the general path, or leave the request to it.
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { encodeMessage } from "../src/codec.js";
import { ATTR } from "../src/constants.js";
import { StunMessage } from "../src/message.js";
import { type AnswerContext, answerRequest, type ListenerIndex } from "../src/server-answer.js";
import { fastAnswer, fastTail, ipv4Number } from "../src/server-fast.js";

const contexts: { name: string; ctx: AnswerContext; l: ListenerIndex }[] = [
  {
    name: "full RFC 5780 (two IPs, two ports)",
    ctx: ctx(["127.0.0.1", "127.0.0.2"], [3478, 3479], "p2pd-stun", 5),
    l: { ipIndex: 1, portIndex: 0 },
  },
  { name: "one IP, no SOFTWARE", ctx: ctx(["10.0.0.1"], [40000], false, 5), l: zero() },
  { name: "unspecified IP", ctx: ctx(["0.0.0.0"], [3478], "x", 5), l: zero() },
  {
    name: "tight amplification (2x)",
    ctx: ctx(["127.0.0.1", "127.0.0.2"], [3478, 3479], "a long software name", 2),
    l: zero(),
  },
  { name: "amplification 1x (answers dropped)", ctx: ctx(["127.0.0.1"], [1], "x", 1), l: zero() },
  { name: "maxRequestSize 20", ctx: ctx(["127.0.0.1"], [1], "x", 5, 20), l: zero() },
];

function zero(): ListenerIndex {
  return { ipIndex: 0, portIndex: 0 };
}

function ctx(
  ips: string[],
  ports: number[],
  software: string | false,
  maxAmplification: number,
  maxRequestSize = 2048,
): AnswerContext {
  return {
    ips,
    ports,
    software: software ? new TextEncoder().encode(software) : undefined,
    maxAmplification,
    maxRequestSize,
    ownCache: new Map(),
    debug: undefined,
  };
}

const request = fc
  .record({
    fingerprint: fc.boolean(),
    software: fc.boolean(),
    tid: fc.uint8Array({ minLength: 12, maxLength: 12 }),
    // Random byte flips: most make the request malformed or change its meaning.
    flips: fc.array(fc.tuple(fc.nat(40), fc.integer({ min: 1, max: 255 })), { maxLength: 2 }),
  })
  .map((r) => {
    const m = new StunMessage({ transactionId: r.tid });
    if (r.software) m.addString(ATTR.SOFTWARE, "client");
    const b = Buffer.from(encodeMessage(m, { fingerprint: r.fingerprint }));
    for (const [at, x] of r.flips) if (at < b.length) b[at] = (b[at] ?? 0) ^ x;
    return b;
  });

const host = fc.oneof(
  fc.ipV4(),
  fc.constantFrom("1.2.3", "01.2.3.4x", "256.1.1.1", "1..2.3", "::1", "1.2.3.4.5"),
);

describe("fast path", () => {
  for (const { name, ctx: c, l } of contexts) {
    test(`${name}: same bytes as the general path, or no opinion`, () => {
      const tail = fastTail(c, l);
      expect(tail).toBeDefined();
      if (!tail) return;
      let taken = 0;
      fc.assert(
        fc.property(request, host, fc.integer({ min: 1, max: 65535 }), (data, h, port) => {
          const fast = fastAnswer(c, tail, data, h, port);
          if (fast === undefined) return;
          taken++;
          const slow = answerRequest(c, data, { host: h, port, family: 4 }, l, "udp");
          expect(slow).toBeDefined();
          expect(Buffer.from(fast).equals(Buffer.from(slow?.bytes ?? []))).toBe(true);
          expect(slow?.via).toEqual(l);
          expect(slow?.to).toEqual({ host: h, port, family: 4 });
        }),
        { numRuns: 2000 },
      );
      // The fast path must actually carry plain requests where the server can answer them.
      if (c.maxAmplification >= 2 && c.maxRequestSize > 20) expect(taken).toBeGreaterThan(100);
    });
  }

  test("IPv6 listeners take the general path only", () => {
    expect(fastTail(ctx(["::1"], [3478], "x", 5), zero())).toBeUndefined();
  });

  test("ipv4Number parses dotted quads and refuses the rest", () => {
    expect(ipv4Number("127.0.0.1")).toBe(0x7f000001);
    expect(ipv4Number("255.255.255.255")).toBe(0xffffffff);
    for (const bad of ["", "1.2.3", "1.2.3.4.", "1.2.3.256", "1..2.3", "a.b.c.d", "1.2.3.1234"])
      expect(ipv4Number(bad)).toBe(-1);
  });
});
