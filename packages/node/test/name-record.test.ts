import fc from "fast-check";
import { describe, expect, test } from "vitest";
import {
  AddressError,
  deriveKeys,
  formatNameRecord,
  parseAddress,
  parseNameRecord,
} from "../src/index.js";
import { recordAddress } from "../src/name-record.js";

const keys = deriveKeys(Buffer.alloc(32, 9));
const addr = {
  version: 3 as const,
  signal: [0, 2],
  ipv4: [
    {
      netifaceIndex: 0,
      ifIndex: 0,
      ext: "203.0.113.9",
      internal: "10.0.0.9",
      port: 4000,
      nat: { type: 5, delta: { type: 2, value: 0 } },
    },
  ],
  ipv6: [],
  nodeId: keys.nodeId,
  keys: { x25519: keys.x25519.publicKey, ed25519: keys.ed25519.publicKey },
};

describe("name records", () => {
  test("round trip; fits the smallest IRC topic value (163 bytes)", () => {
    const text = formatNameRecord(addr);
    expect(text.length).toBeLessThanOrEqual(163);
    const r = parseNameRecord(text);
    expect(r.nodeId).toBe(keys.nodeId);
    expect(r.signal).toEqual([0, 2]);
    expect(Buffer.from(r.keys.x25519)).toEqual(Buffer.from(keys.x25519.publicKey));
    // Enough to signal the node: keys, node id, brokers; no interfaces.
    expect(recordAddress(r)).toMatchObject({ nodeId: keys.nodeId, signal: [0, 2], ipv4: [] });
  });

  test("brokers outside the bundled list travel as URLs (a private configuration), indexes as before", () => {
    const priv = {
      ...addr,
      signal: [3],
      brokers: ["mqtt://broker-1.example.org:1883", "mqtts://[2001:db8::7]:8883"],
      turn: ["turn:203.0.113.5:3478"],
    };
    const text = formatNameRecord(priv);
    expect(text).toMatch(/^p2pd1:3,m:broker%2D1\.example\.org:1883,s:\[2001:db8::7\]:8883:/);
    // Two brokers by URL still fit the largest IRC topic value.
    expect(text.length).toBeLessThanOrEqual(312);
    const r = parseNameRecord(text);
    expect(r.signal).toEqual([3]);
    expect(r.brokers).toEqual(priv.brokers);
    // The connector signals the named node there (TURN is not part of a record).
    expect(recordAddress(r)).toMatchObject({ signal: [3], brokers: priv.brokers, ipv4: [] });
    expect(recordAddress(r).turn).toBeUndefined();
    // No brokers at all: "-", as before; and records of indexes only read as before.
    const none = formatNameRecord({ ...addr, signal: [] });
    expect(none.startsWith("p2pd1:-:")).toBe(true);
    expect(parseNameRecord(none)).toMatchObject({ signal: [] });
    expect(parseNameRecord(none).brokers).toBeUndefined();
    expect(parseNameRecord(formatNameRecord(addr)).brokers).toBeUndefined();
  });

  test("a record with a TURN item, a bad URL host or too many brokers is an AddressError", () => {
    const [, keysPart] = /^p2pd1:[^:]*:(.*)$/.exec(formatNameRecord(addr)) as RegExpExecArray;
    const bad = [
      "t:203.0.113.5:3478",
      "m:bad_host:1883",
      "m:203.0.113.5:99999",
      "None",
      Array.from({ length: 7 }, (_, i) => `m:h${i}.example:1883`).join(","),
      "0,0",
    ];
    for (const rv of bad)
      expect(() => parseNameRecord(`p2pd1:${rv}:${keysPart}`), rv).toThrow(AddressError);
  });

  test("an address is not a record and vice versa", () => {
    expect(() => parseNameRecord(JSON.stringify(addr))).toThrow(AddressError);
    expect(() => parseAddress(formatNameRecord(addr))).toThrow(AddressError);
  });

  test("fuzz: parse throws only AddressError", () => {
    const valid = formatNameRecord(addr);
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ maxLength: 200 }),
          fc
            .tuple(fc.nat(valid.length), fc.nat(5), fc.string({ maxLength: 5 }))
            .map(([at, del, ins]) => valid.slice(0, at) + ins + valid.slice(at + del)),
        ),
        (s) => {
          try {
            const r = parseNameRecord(s);
            expect(r.nodeId).toMatch(/^[0-9a-f]{25}$/);
          } catch (e) {
            expect(e).toBeInstanceOf(AddressError);
          }
        },
      ),
      { numRuns: 2000 },
    );
  });
});
