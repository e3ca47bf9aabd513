import { expect, test } from "vitest";
import { deriveKeys, parseAddress } from "../../src/index.js";
import { Identity, seedBytes } from "../../src/node/identity.js";

test("a string seed is hashed to 32 bytes; bytes pass as they are", () => {
  expect(seedBytes("x")?.length).toBe(32);
  expect(seedBytes("x")).toEqual(seedBytes("x"));
  const b = new Uint8Array(16).fill(1);
  expect(seedBytes(b)).toBe(b);
  expect(seedBytes(undefined)).toBeUndefined();
});

test("the address carries port, signal indexes and keys; update() says when it changed", () => {
  const keys = deriveKeys(seedBytes("identity"));
  const id = new Identity(keys, [{ name: "lo", ipv4: "127.0.0.1", ipv6: "::1" }]);
  id.port = 4321;
  id.signalIndexes = () => [0, 2];
  const p = parseAddress(id.text);
  expect(p.nodeId).toBe(keys.nodeId);
  expect(p.signal).toEqual([0, 2]);
  expect(p.ipv4[0]).toMatchObject({ internal: "127.0.0.1", ext: "127.0.0.1", port: 4321 });
  expect(id.ips()).toEqual(["127.0.0.1", "::1"]);
  expect(id.update(0, (i) => ({ ...i }))).toBe(false);
  expect(id.update(0, (i) => ({ ...i, ext4: "198.51.100.7" }))).toBe(true);
  expect(parseAddress(id.text).ipv4[0]?.ext).toBe("198.51.100.7");
  expect(id.update(5, (i) => i)).toBe(false);
});
