// Hostile traffic against a live server: random and mutated datagrams over real UDP. The server must stay up,
// must never answer more than 5x a request's size, and must answer nothing that is not a well-formed request.
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
  ATTR,
  decodeMessage,
  encodeMessage,
  getMappedAddress,
  StunMessage,
  type StunServer,
} from "../src/index.js";
import { rfc5780Loopback, udpSink } from "./helpers.js";
import { SAMPLE_IPV4_RESPONSE, SAMPLE_REQUEST } from "./vectors.js";

let server: StunServer;
beforeAll(async () => {
  server = await rfc5780Loopback({ protocols: ["udp"] });
});
afterAll(async () => {
  await server.close();
});

const valid = fc
  .record({
    padding: fc.option(fc.integer({ min: 0, max: 300 })),
    unknown: fc.array(fc.integer({ min: 0x4000, max: 0x7fff }), { maxLength: 30 }),
    change: fc.option(fc.record({ changeIp: fc.boolean(), changePort: fc.boolean() })),
    fingerprint: fc.boolean(),
    legacy: fc.boolean(),
    software: fc.option(fc.string({ maxLength: 40 })),
  })
  .map((r) => {
    const m = new StunMessage({
      transactionId: new Uint8Array(r.legacy ? 16 : 12).map(() => (Math.random() * 256) | 0),
    });
    if (r.padding !== null) m.addPadding(r.padding);
    for (const t of new Set(r.unknown)) m.add(t, new Uint8Array(0));
    if (r.change) m.addChangeRequest(r.change);
    if (r.software !== null) m.addString(ATTR.SOFTWARE, r.software);
    return encodeMessage(m, { fingerprint: r.fingerprint && !r.legacy });
  });

const hostile = fc.oneof(
  valid,
  fc.uint8Array({ minLength: 0, maxLength: 120 }),
  fc
    .tuple(
      fc.constantFrom(SAMPLE_REQUEST, SAMPLE_IPV4_RESPONSE),
      fc.nat(),
      fc.integer({ min: 0, max: 255 }),
    )
    .map(([b, i, v]) => {
      const c = b.slice();
      c[i % c.length] = v;
      return c;
    }),
);

describe("server under hostile UDP traffic", () => {
  test("every answer is ≤ 5x its request and echoes a transaction we sent; the server survives", async () => {
    const packets = fc.sample(hostile, { numRuns: 600, seed: 5780 });
    const sock = await udpSink();
    const sizes = new Map<string, number>();
    const answers: Buffer[] = [];
    sock.on("message", (m) => answers.push(m));
    try {
      for (const p of packets) {
        if (p.length >= 20) {
          const cookie = p[4] === 0x21 && p[5] === 0x12 && p[6] === 0xa4 && p[7] === 0x42;
          const key = Buffer.from(p.subarray(cookie ? 8 : 4, 20)).toString("hex");
          sizes.set(key, Math.min(sizes.get(key) ?? Number.POSITIVE_INFINITY, p.length));
        }
        sock.send(p, server.primary.port, server.primary.host);
        if (answers.length % 50 === 0) await new Promise((r) => setImmediate(r));
      }
      await new Promise((r) => setTimeout(r, 300));
      expect(answers.length).toBeGreaterThan(0);
      for (const a of answers) {
        const d = decodeMessage(a, { legacy: true });
        const reqSize = sizes.get(d.id);
        expect(reqSize).toBeDefined();
        expect(a.length).toBeLessThanOrEqual(5 * (reqSize ?? 0));
      }
      // Still alive and correct.
      const r = await getMappedAddress(server.primary, { localAddress: "127.0.0.1" });
      expect(r.mapped.host).toBe("127.0.0.1");
      expect(server.stats.dropped).toBeGreaterThan(0);
    } finally {
      sock.close();
    }
  }, 30_000);
});
