import fc from "fast-check";
import { describe, expect, test } from "vitest";
import {
  AddressError,
  deriveKeys,
  formatAddress,
  type P2PAddress,
  parseAddress,
} from "../../src/index.js";

const keys = deriveKeys(Buffer.alloc(32, 9));
const base: P2PAddress = {
  version: 3,
  signal: [2],
  ipv4: [
    {
      netifaceIndex: 0,
      ifIndex: 0,
      ext: "198.51.100.7",
      internal: "10.0.0.2",
      port: 40001,
      nat: { type: 5, delta: { type: 4, value: -3 } },
    },
  ],
  ipv6: [],
  nodeId: keys.nodeId,
  keys: { x25519: keys.x25519.publicKey, ed25519: keys.ed25519.publicKey },
};

describe("the address carries its rendezvous (issue 14)", () => {
  test("bundled broker indexes, full broker URLs and TURN servers round-trip", () => {
    const addr: P2PAddress = {
      ...base,
      signal: [0, 7],
      brokers: [
        "mqtt://broker-1.example.net:1883",
        "mqtts://[2001:db8::5]:8883",
        "mqtt://192.0.2.1:1884",
      ],
      turn: ["turn:198.51.100.9:3478", "turns:relay-2.example:5349"],
    };
    const text = formatAddress(addr);
    expect(text.split("-")).toHaveLength(5);
    expect(text.split("-")[0]).toBe(
      "0,7,m:broker%2D1.example.net:1883,s:[2001:db8::5]:8883,m:192.0.2.1:1884,t:198.51.100.9:3478,T:relay%2D2.example:5349",
    );
    const back = parseAddress(text);
    expect(back.signal).toEqual([0, 7]);
    expect(back.brokers).toEqual(addr.brokers);
    expect(back.turn).toEqual(addr.turn);
    expect(formatAddress(back)).toBe(text);
  });

  test("an address without extras is written exactly as before, and old ones parse as before", () => {
    const text = formatAddress(base);
    expect(text.startsWith("2-[0,0,198.51.100.7,10.0.0.2,40001,5,4,~3]-0-")).toBe(true);
    const back = parseAddress(text);
    expect(back).not.toHaveProperty("brokers");
    expect(back).not.toHaveProperty("turn");
    const none = formatAddress({ ...base, signal: [] });
    expect(none.startsWith("None-")).toBe(true);
    expect(parseAddress(none).signal).toEqual([]);
    // The reference's 4-part form keeps working.
    expect(parseAddress("0,1-[0,1.2.3.4,10.0.0.1,5000,5,4,0]-0-abc").signal).toEqual([0, 1]);
  });

  test("bad rendezvous items are AddressError", () => {
    const bad = [
      "m:bad_host:1883",
      "m:1.2.3.4:0",
      "m:1.2.3.4:70000",
      "x:1.2.3.4:1",
      "m:[zz::1]:1",
      "m:a%2Fb:1",
      "m:1.2.3.4:1,m:1.2.3.4:1",
      Array.from({ length: 7 }, (_, i) => `m:10.0.0.${i}:1`).join(","),
      "t:1.1.1.1:1,t:1.1.1.2:1,t:1.1.1.3:1",
    ];
    const tail = formatAddress(base).split("-").slice(1).join("-");
    for (const item of bad) expect(() => parseAddress(`${item}-${tail}`)).toThrow(AddressError);
    expect(() => formatAddress({ ...base, brokers: ["http://x:1"] })).toThrow(AddressError);
  });

  test("fuzz: any rendezvous text parses or is an AddressError, never anything else", () => {
    const tail = formatAddress(base).split("-").slice(1).join("-");
    fc.assert(
      fc.property(fc.string({ maxLength: 80 }), (s) => {
        try {
          const a = parseAddress(`${s.replaceAll("-", "")}-${tail}`);
          expect(parseAddress(formatAddress(a))).toEqual(a);
        } catch (e) {
          expect(e).toBeInstanceOf(AddressError);
        }
      }),
      { numRuns: 500 },
    );
  });
});
