import { expect, test } from "vitest";
import { deriveKeys } from "../../src/index.js";
import { Identity } from "../../src/node/identity.js";
import { mappingTargets, stunLiterals } from "../../src/node/listen-mappings.js";
import { mergeNat, settleWithin, watchNat } from "../../src/node/nat-watch.js";

test("a NAT result updates an interface; a port-mapped one keeps its external IP and type 1", () => {
  const nat = { type: 5, delta: { type: 3, value: 0 } };
  expect(mergeNat({ name: "eth0", ipv4: "10.0.0.2" }, { ext4: "203.0.113.9", nat })).toEqual({
    name: "eth0",
    ipv4: "10.0.0.2",
    ext4: "203.0.113.9",
    nat,
  });
  const mapped = { name: "eth0", ipv4: "10.0.0.2", ext4: "198.51.100.1", mapped: true };
  expect(mergeNat(mapped, { ext4: "203.0.113.9", nat })).toMatchObject({
    ext4: "198.51.100.1",
    nat: { type: 1, delta: { type: 3, value: 0 } },
  });
});

test("watchNat announces only results that change the address", async () => {
  const id = new Identity(deriveKeys(), [
    { name: "a", ipv4: "10.0.0.1" },
    { name: "b", ipv4: "10.0.0.2" },
  ]);
  id.port = 4000;
  let changes = 0;
  const tasks = watchNat(
    id,
    async (iface) => (iface.name === "a" ? { ext4: "203.0.113.1" } : {}),
    new AbortController().signal,
    () => changes++,
  );
  await Promise.all(tasks);
  expect(changes).toBe(1);
  expect(id.interfaces[0]?.ext4).toBe("203.0.113.1");
});

test("settleWithin waits no longer than asked", async () => {
  const t0 = performance.now();
  await settleWithin([new Promise(() => {})], 50);
  expect(performance.now() - t0).toBeLessThan(1000);
  await settleWithin([Promise.reject(new Error("x"))], 10_000);
});

test("listen mappings: IP-literal STUN servers, per family, never for loopback or link-local", () => {
  const servers = stunLiterals([
    "stun.example.org:3478",
    "198.51.100.1:3478",
    "[2001:db8::1]:3478",
  ]);
  expect(servers).toEqual([
    { host: "198.51.100.1", port: 3478 },
    { host: "2001:db8::1", port: 3478 },
  ]);
  expect(
    mappingTargets(["127.0.0.1", "::1", "fe80::1", "10.0.0.2", "2001:db8::2"], servers).map(
      (t) => `${t.ip}>${t.stun.host}`,
    ),
  ).toEqual(["10.0.0.2>198.51.100.1", "2001:db8::2>2001:db8::1"]);
});
