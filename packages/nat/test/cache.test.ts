import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { NatCache, type NetworkId } from "../src/cache.js";
import type { NatResult } from "../src/types.js";

const net: NetworkId = { family: 4, gatewayMac: "AA:bb:cc:00:11:22", externalIp: "203.0.113.7" };
const result: NatResult = {
  type: "port-restricted-cone",
  delta: { kind: "equal", value: 0 },
  mapped: [{ host: "203.0.113.7", port: 4000, family: 4 }],
  ms: 12,
  family: 4,
};

describe("NatCache", () => {
  let dir: string;
  let now = 1_000_000;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "nat-cache-"));
    now = 1_000_000;
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));
  const cache = () => new NatCache({ dir: join(dir, "sub"), ttlMs: 1000, now: () => now });

  test("a result survives a new instance (restart) until it expires", async () => {
    await cache().set(net, result);
    expect(await cache().get(net)).toEqual({ ...result, ms: 0, cached: true });
    expect(await cache().get({ ...net, gatewayMac: "aa:bb:cc:00:11:22" })).toBeDefined();
    now += 999;
    expect(await cache().get(net)).toBeDefined();
    now += 1;
    expect(await cache().get(net)).toBeUndefined();
  });

  test("another network (gateway MAC, external IP or family) misses", async () => {
    await cache().set(net, result);
    expect(await cache().get({ ...net, gatewayMac: "aa:bb:cc:00:11:23" })).toBeUndefined();
    expect(await cache().get({ ...net, externalIp: "203.0.113.8" })).toBeUndefined();
    expect(await cache().get({ ...net, family: 6 })).toBeUndefined();
  });

  test("expired entries are pruned on write; clear() empties", async () => {
    const c = cache();
    await c.set(net, result);
    now += 5000;
    await c.set({ ...net, externalIp: "198.51.100.9" }, result);
    const file = JSON.parse(await readFile(c.path, "utf8"));
    expect(Object.keys(file.entries)).toHaveLength(1);
    await c.clear();
    expect(await c.get({ ...net, externalIp: "198.51.100.9" })).toBeUndefined();
  });

  test("a corrupt or hostile file reads as empty, never throws", async () => {
    const c = cache();
    await c.set(net, result);
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.string(), fc.json()), async (text) => {
        await writeFile(c.path, text);
        const got = await c.get(net);
        if (got !== undefined) expect(typeof got.type).toBe("string");
      }),
      { numRuns: 60 },
    );
  });

  test("needs a directory", () => {
    expect(() => new NatCache({ dir: "" })).toThrow(
      expect.objectContaining({ code: "ERR_NAT_BAD_ARGUMENT" }),
    );
  });
});
