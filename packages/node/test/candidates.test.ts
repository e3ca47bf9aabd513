import { describe, expect, test } from "vitest";
import {
  type AddressEntry,
  candidates,
  deriveKeys,
  direct,
  type P2PAddress,
  reverse,
} from "../src/index.js";
import { natLike, punchPair } from "../src/strategies/punch-common.js";
import { parseServer } from "../src/strategies/signal-fields.js";

const k = deriveKeys(Buffer.alloc(32, 4));
const entry = (ext: string, internal: string, type: number): AddressEntry => ({
  netifaceIndex: 0,
  ifIndex: 0,
  ext,
  internal,
  port: 5000,
  nat: { type, delta: { type: 3, value: 0 } },
});
const addr = (v4: AddressEntry[], v6: AddressEntry[] = []): P2PAddress => ({
  version: 3,
  signal: [0],
  ipv4: v4,
  ipv6: v6,
  nodeId: k.nodeId,
  keys: { x25519: k.x25519.publicKey, ed25519: k.ed25519.publicKey },
});

describe("candidate pairs and what strategies can try", () => {
  test("same external IP = same LAN: dial the internal IP; listed first", () => {
    const local = addr(
      [entry("203.0.113.5", "10.0.0.2", 5)],
      [entry("2001:db8::2", "2001:db8::2", 1)],
    );
    const remote = addr(
      [entry("203.0.113.5", "10.0.0.3", 5)],
      [entry("2001:db8::3", "2001:db8::3", 1)],
    );
    const c = candidates(local, remote);
    expect(c.map((x) => [x.family, x.sameLan, x.host])).toEqual([
      [4, true, "10.0.0.3"],
      [6, false, "2001:db8::3"],
    ]);
    expect(punchPair(c)?.family).toBe(4);
  });

  test("direct needs the peer reachable, reverse needs us reachable", () => {
    const natted = addr([entry("198.51.100.9", "10.1.0.2", 5)]);
    const open = addr([entry("203.0.113.7", "203.0.113.7", 1)]);
    expect(direct.canTry(natted, open)).toBe(true);
    expect(direct.canTry(open, natted)).toBe(false);
    expect(reverse.canTry(open, natted)).toBe(true);
    expect(reverse.canTry(natted, open)).toBe(false);
    // Untested NATs (type 0) are worth a try.
    expect(direct.canTry(natted, addr([entry("203.0.113.8", "10.2.0.2", 0)]))).toBe(true);
  });

  test("no common family: nothing to try", () => {
    const v4 = addr([entry("203.0.113.7", "203.0.113.7", 1)]);
    const v6 = addr([], [entry("2001:db8::3", "2001:db8::3", 1)]);
    expect(candidates(v4, v6)).toEqual([]);
    expect(direct.canTry(v4, v6)).toBe(false);
  });

  test("address NAT codes map to the planner's names; untested counts as port-restricted", () => {
    expect(natLike({ type: 6, delta: { type: 4, value: 1 } })).toEqual({
      type: "symmetric",
      delta: { kind: "independent", value: 1 },
    });
    expect(natLike({ type: 0, delta: { type: 0, value: 0 } }).type).toBe("port-restricted-cone");
  });

  test("server strings: IP literals with optional scheme and port", () => {
    expect(parseServer("turn:198.51.100.10:3478")).toEqual({ host: "198.51.100.10", port: 3478 });
    expect(parseServer("[2001:db8::10]:3479")).toEqual({ host: "2001:db8::10", port: 3479 });
    expect(parseServer("127.0.0.1")).toEqual({ host: "127.0.0.1", port: 3478 });
    expect(() => parseServer("stun.example.org:3478")).toThrow(
      expect.objectContaining({ code: "ERR_BAD_SERVER" }),
    );
    expect(() => parseServer("1.2.3.4:70000")).toThrow(
      expect.objectContaining({ code: "ERR_BAD_SERVER" }),
    );
  });
});
