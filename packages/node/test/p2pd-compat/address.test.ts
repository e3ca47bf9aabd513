import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { formatAddress, parseAddress } from "../../src/address.js";
import { isAddressForm } from "../../src/address-form.js";
import { AddressError } from "../../src/errors.js";
import { deriveKeys } from "../../src/keys.js";
import { isP2pdAddress, p2pdMachineIdOf, toP2pdAddress } from "../../src/p2pd-compat/address.js";

// Printed by the reference (src/p2pd/node/p2p_addr.py make_peer_addr) in p2pd-interop.test.ts.
const PY_V3 =
  "None-[0,0,203.0.113.2,10.213.7.2,10777,5,3,0]-0-f0b2a99f27425ae713fbc39e0-8d7fb417d0c4f33ae20af0d7a9e772e1c7807f51448930ac9c94bd6341f317de";
// The snapshot's own examples (how.rst, and a multi-interface dual-stack one).
const SNAPSHOT = "0,1-[0,8.8.8.8,192.168.21.21,58959,3,2,0]-0-zmUGXPOFxUBuToh";
const SNAPSHOT_DUAL =
  "0,3-[0,1.3.3.7,192.168.21.21,58959,5,6,0]|[1,1.3.3.8,10.0.0.2,58959,3,2,0]-[0,2001:db8::1,fe80::1,58959,1,1,0]-p2pd_test_node";

const keys = deriveKeys(Buffer.alloc(32, 9));
const ours = formatAddress({
  version: 3,
  signal: [0],
  ipv4: [
    {
      netifaceIndex: 2,
      ifIndex: 0,
      ext: "198.51.100.9",
      internal: "10.1.2.3",
      port: 40000,
      nat: { type: 0, delta: { type: 4, value: -2 } },
    },
  ],
  ipv6: [],
  nodeId: keys.nodeId,
  keys: { x25519: keys.x25519.publicKey, ed25519: keys.ed25519.publicKey },
});

describe("P2PD address formats", () => {
  test("a P2PD v3 address (5 parts, 8 fields, machine id) parses field by field", () => {
    const a = parseAddress(PY_V3);
    expect(a).toMatchObject({
      version: 3,
      p2pd: {
        format: "v3",
        machineId: "8d7fb417d0c4f33ae20af0d7a9e772e1c7807f51448930ac9c94bd6341f317de",
      },
      signal: [],
      nodeId: "f0b2a99f27425ae713fbc39e0",
      ipv6: [],
    });
    expect(a.keys).toBeUndefined();
    expect(a.ipv4).toEqual([
      {
        netifaceIndex: 0,
        ifIndex: 0,
        ext: "203.0.113.2",
        internal: "10.213.7.2",
        port: 10777,
        nat: { type: 5, delta: { type: 3, value: 0 } },
      },
    ]);
    expect(formatAddress(a)).toBe(PY_V3);
    expect(isP2pdAddress(PY_V3)).toBe(true);
  });

  test("the snapshot 4-part forms parse and are flagged as P2PD", () => {
    for (const text of [SNAPSHOT, SNAPSHOT_DUAL]) {
      const a = parseAddress(text);
      expect(a.version).toBe(2);
      expect(a.p2pd).toEqual({ format: "snapshot" });
      expect(formatAddress(a)).toBe(text);
    }
    expect(parseAddress(SNAPSHOT_DUAL).ipv6[0]?.internal).toBe("fe80::1");
  });

  test("P2PD's negative delta ('-' inside an entry) parses in both P2PD forms", () => {
    const v3 = PY_V3.replace(",5,3,0]", ",5,4,-7]");
    expect(parseAddress(v3).ipv4[0]?.nat.delta).toEqual({ type: 4, value: -7 });
    expect(formatAddress(parseAddress(v3))).toBe(v3);
    const snap = SNAPSHOT.replace(",3,2,0]", ",6,5,-2]");
    expect(parseAddress(snap).ipv4[0]?.nat.delta).toEqual({ type: 5, value: -2 });
  });

  test("our own 5-part address is not P2PD's (128 hex of keys vs a 64-hex machine id)", () => {
    const a = parseAddress(ours);
    expect(a.p2pd).toBeUndefined();
    expect(a.keys).toBeDefined();
    expect(isP2pdAddress(ours)).toBe(false);
    // A 5th part that is neither keys nor a machine id is refused.
    expect(() => parseAddress(PY_V3.slice(0, -1))).toThrow(AddressError);
    expect(() => parseAddress(`${PY_V3}00`)).toThrow(AddressError);
  });

  test("toP2pdAddress writes what P2PD reads: v3, no signal, our node id, unknowns mapped", () => {
    const a = parseAddress(ours);
    const text = toP2pdAddress(a, { port: 10999 });
    const machine = p2pdMachineIdOf(keys.nodeId);
    expect(text).toBe(`None-[2,0,198.51.100.9,10.1.2.3,10999,5,6,0]-0-${keys.nodeId}-${machine}`);
    // P2PD's parser splits on every '-': exactly 5 parts, 8 fields per entry.
    expect(text.split("-")).toHaveLength(5);
    expect(parseAddress(text).p2pd).toEqual({ format: "v3", machineId: machine });
    expect(() => toP2pdAddress(a, { port: 0 })).toThrow(AddressError);
  });
});

/** Names as users write them: words, dashes, dots, spaces, UTF-8, a TLD. */
const nameArb = fc
  .tuple(
    fc.array(
      fc.oneof(
        fc.stringMatching(/^[a-z0-9]{1,8}$/),
        fc.constantFrom("0", "None", "x", "ü", "名前", " ", "[", "]", "|", ",", "_"),
      ),
      { minLength: 1, maxLength: 10 },
    ),
    fc.array(fc.constantFrom("-", ".", " ", ""), { minLength: 10, maxLength: 10 }),
    fc.constantFrom(".peer", ".cats", "", ".x"),
  )
  .map(([words, seps, tld]) => words.map((w, i) => w + (seps[i] ?? "")).join("") + tld);

describe("names and addresses are told apart by structure", () => {
  test("dashed names are names; every address format is an address", () => {
    for (const name of [
      "my-cool-node-x.peer",
      "a-b-c-d-e.peer",
      "a-b-c-d",
      "0-0-0-0",
      "my awesome name.cats",
      "x-[y]-z-w.peer",
      "None-0-0-node.peer",
    ])
      expect(isAddressForm(name), name).toBe(false);
    for (const addr of [PY_V3, SNAPSHOT, SNAPSHOT_DUAL, ours])
      expect(isAddressForm(addr), addr).toBe(true);
  });

  test("fuzz: generated names are never address-shaped unless they are one", () => {
    fc.assert(
      fc.property(nameArb, (name) => {
        if (isAddressForm(name)) {
          // Only a text with an address's exact skeleton: "0" or bracketed sections.
          const parts = name.split("-");
          expect(parts.length === 4 || parts.length === 5).toBe(true);
          expect(name).toMatch(/-(0|\[.*\])-(0|\[.*\])-/);
        }
        if (name.includes(".")) expect(isAddressForm(name)).toBe(false);
      }),
      { numRuns: 5000 },
    );
  });

  test("fuzz: whatever parses as an address is address-shaped (nothing parseable is a name)", () => {
    const alphabet = fc.constantFrom(..."0123456789abcdef[],|-~:.N ".split(""));
    const seeds = [PY_V3, SNAPSHOT, SNAPSHOT_DUAL, ours];
    fc.assert(
      fc.property(
        fc.constantFrom(...seeds),
        fc.nat(400),
        fc.nat(12),
        fc.string({ unit: alphabet, maxLength: 8 }),
        (seed, at, del, ins) => {
          const s = seed.slice(0, at % seed.length) + ins + seed.slice((at % seed.length) + del);
          let parsed = false;
          try {
            parseAddress(s);
            parsed = true;
          } catch (e) {
            expect(e).toBeInstanceOf(AddressError);
          }
          if (parsed) expect(isAddressForm(s), s).toBe(true);
        },
      ),
      { numRuns: 5000 },
    );
  });
});
