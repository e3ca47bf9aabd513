import fc from "fast-check";
import { describe, expect, test } from "vitest";
import {
  type AddressEntry,
  AddressError,
  deriveKeys,
  formatAddress,
  nodeIdOf,
  type P2PAddress,
  parseAddress,
} from "../src/index.js";

const keys = deriveKeys(Buffer.alloc(32, 7));
const pub = { x25519: keys.x25519.publicKey, ed25519: keys.ed25519.publicKey };

function v3(over: Partial<P2PAddress> = {}): P2PAddress {
  return {
    version: 3,
    signal: [0, 3],
    ipv4: [
      {
        netifaceIndex: 1,
        ifIndex: 0,
        ext: "198.51.100.7",
        internal: "10.0.0.2",
        port: 40001,
        nat: { type: 5, delta: { type: 4, value: -3 } },
      },
    ],
    ipv6: [
      {
        netifaceIndex: 1,
        ifIndex: 0,
        ext: "2001:db8::7",
        internal: "2001:db8::7",
        port: 40001,
        nat: { type: 1, delta: { type: 1, value: 0 } },
      },
    ],
    nodeId: keys.nodeId,
    keys: pub,
    ...over,
  };
}

describe("P2P address codec", () => {
  test("reference examples (legacy 4-part form) parse", () => {
    const a = parseAddress("0,1-[0,8.8.8.8,192.168.21.21,58959,3,2,0]-0-zmUGXPOFxUBuToh");
    expect(a.version).toBe(2);
    expect(a.signal).toEqual([0, 1]);
    expect(a.ipv4).toEqual([
      {
        netifaceIndex: 0,
        ifIndex: 0,
        ext: "8.8.8.8",
        internal: "192.168.21.21",
        port: 58959,
        nat: { type: 3, delta: { type: 2, value: 0 } },
      },
    ]);
    expect(a.ipv6).toEqual([]);
    expect(a.keys).toBeUndefined();
    const m = parseAddress(
      "0,3-[0,1.3.3.7,192.168.21.21,58959,5,6,0]|[1,1.3.3.8,10.0.0.2,58959,3,2,0]-[0,2001:db8::1,fe80::1,58959,1,1,0]-p2pd_test_node",
    );
    expect(m.ipv4.map((e) => e.ext)).toEqual(["1.3.3.7", "1.3.3.8"]);
    expect(m.ipv6[0]?.internal).toBe("fe80::1");
  });

  test("the older 3-part form is refused with ERR_BAD_ADDRESS", () => {
    expect(() => parseAddress("[0,1.3.3.7,192.168.21.21,58959,3,2,0]-0-looongcatislong")).toThrow(
      expect.objectContaining({ code: "ERR_BAD_ADDRESS" }),
    );
  });

  test("v3 round trip, negative delta, exploded IPv6 accepted and compressed", () => {
    const text = formatAddress(v3());
    expect(text).toContain("~3]");
    expect(parseAddress(text)).toEqual(v3());
    const exploded = text.replace("2001:db8::7", "2001:0db8:0000:0000:0000:0000:0000:0007");
    expect(parseAddress(exploded).ipv6[0]?.ext).toBe("2001:db8::7");
  });

  test("node id must be the hash of both keys (Ed25519 and X25519)", () => {
    const other = deriveKeys(Buffer.alloc(32, 8));
    const text = formatAddress(v3()).replace(keys.nodeId, other.nodeId);
    expect(() => parseAddress(text)).toThrow(/does not match/);
    expect(nodeIdOf(pub.ed25519, pub.x25519)).toBe(keys.nodeId);
    // Swapping only the X25519 key (an attacker's, to read the signals) changes the id: refused.
    const hex = (k: Uint8Array) => Buffer.from(k).toString("hex");
    const swapped = formatAddress(v3()).replace(hex(pub.x25519), hex(other.x25519.publicKey));
    expect(swapped).not.toBe(formatAddress(v3()));
    expect(() => parseAddress(swapped)).toThrow(/does not match/);
  });

  test.each([
    ["too many parts", (t: string) => `${t}-x`],
    ["port 0", (t: string) => t.replace(",40001,", ",0,")],
    ["port too big", (t: string) => t.replace(",40001,", ",65536,")],
    ["NAT type 8", (t: string) => t.replace(",40001,5,", ",40001,8,")],
    ["bad IPv4", (t: string) => t.replace("198.51.100.7", "198.51.100.300")],
    ["v6 in the v4 section", (t: string) => t.replace("198.51.100.7", "2001:db8::9")],
    ["zone id", (t: string) => t.replace("[1,0,2001:db8::7,", "[1,0,fe80::1%eth0,")],
    ["duplicate signal", (t: string) => t.replace(/^0,3/, "0,0")],
    ["leading zero", (t: string) => t.replace(",40001,", ",040001,")],
    ["uppercase key", (t: string) => t.slice(0, -4) + t.slice(-4).toUpperCase()],
  ])("rejects %s", (_name, mutate) => {
    const bad = mutate(formatAddress(v3()));
    let err: unknown;
    try {
      parseAddress(bad);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(AddressError);
    expect((err as AddressError).code).toBe("ERR_BAD_ADDRESS");
  });

  test("refuses to format an address without keys as v3", () => {
    expect(() => formatAddress({ ...v3(), keys: undefined })).toThrow(AddressError);
  });

  test("fuzz: parse throws only AddressError on arbitrary input", () => {
    const valid = formatAddress(v3());
    const alphabet = fc.constantFrom(..."0123456789abcdef[],|-~:.".split(""));
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ maxLength: 300 }),
          fc.string({ unit: alphabet, maxLength: 300 }),
          // Mutations of a valid address hit deep branches.
          fc
            .tuple(fc.nat(valid.length), fc.nat(20), fc.string({ unit: alphabet, maxLength: 8 }))
            .map(([at, del, ins]) => valid.slice(0, at) + ins + valid.slice(at + del)),
        ),
        (s) => {
          try {
            const a = parseAddress(s);
            // Whatever parses must format back to something that parses the same.
            if (a.version === 3) expect(parseAddress(formatAddress(a))).toEqual(a);
          } catch (e) {
            expect(e).toBeInstanceOf(AddressError);
          }
        },
      ),
      { numRuns: 3000 },
    );
  });

  test("fuzz: format/parse round-trips every valid address", () => {
    const ip4 = fc.ipV4();
    const ip6 = fc.ipV6().filter((s) => !s.includes("%"));
    const entry = (ip: fc.Arbitrary<string>, i: number): fc.Arbitrary<AddressEntry> =>
      fc.record({
        netifaceIndex: fc.integer({ min: 0, max: 255 }),
        ifIndex: fc.constant(i),
        ext: ip,
        internal: ip,
        port: fc.integer({ min: 1, max: 65535 }),
        nat: fc.record({
          type: fc.integer({ min: 0, max: 7 }),
          delta: fc.record({
            type: fc.integer({ min: 0, max: 6 }),
            value: fc.integer({ min: -65535, max: 65535 }),
          }),
        }),
      });
    const entries = (ip: fc.Arbitrary<string>) =>
      fc
        .integer({ min: 0, max: 4 })
        .chain((n) => fc.tuple(...Array.from({ length: n }, (_, i) => entry(ip, i))));
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.integer({ min: 0, max: 255 }), { maxLength: 6 }),
        entries(ip4),
        entries(ip6),
        (signal, ipv4, ipv6) => {
          fc.pre(ipv4.length + ipv6.length > 0);
          const a: P2PAddress = { version: 3, signal, ipv4, ipv6, nodeId: keys.nodeId, keys: pub };
          const back = parseAddress(formatAddress(a));
          expect(back.signal).toEqual(signal);
          expect(back.ipv4).toEqual(ipv4);
          // IPv6 comes back canonical; parsing it again is stable.
          expect(back.ipv6.map((e) => e.port)).toEqual(ipv6.map((e) => e.port));
          expect(parseAddress(formatAddress(back))).toEqual(back);
        },
      ),
      { numRuns: 1000 },
    );
  });
});
