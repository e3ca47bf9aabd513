import { readFileSync } from "node:fs";
import { networkInterfaces } from "node:os";
import { stun } from "p2pd";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { cli } from "./run-cli.js";

/** The kernel's IPv4 default route, read independently of @p2pd/netifaces. */
function kernelDefault4(): { dev: string; gw: string } | undefined {
  const f = readFileSync("/proc/net/route", "utf8")
    .split("\n")
    .slice(1)
    .map((l) => l.trim().split(/\s+/))
    .find((x) => x[1] === "00000000" && x[7] === "00000000");
  if (!f?.[0] || !f[2]) return undefined;
  const gw = (f[2].match(/../g) ?? [])
    .reverse()
    .map((h) => Number.parseInt(h, 16))
    .join(".");
  return { dev: f[0], gw };
}

const linux = process.platform === "linux";

describe("p2pd interfaces", () => {
  test("--json: every OS interface, the default named with its gateway", async () => {
    // Other tests on this host add and remove veth links: check the ones there before and after.
    const before = new Set(Object.keys(networkInterfaces()));
    const r = await cli("interfaces", "--json");
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out);
    expect(j.resolved).toBe(false);
    const names = j.interfaces.map((i: { name: string }) => i.name);
    const stable = Object.keys(networkInterfaces()).filter((n) => before.has(n));
    expect(stable).toContain("lo");
    for (const n of stable) expect(names).toContain(n);
    if (linux) {
      const k = kernelDefault4();
      expect(j.default["4"]).toEqual(k ? { interface: k.dev, gateway: k.gw } : null);
      if (k) {
        const d = j.interfaces.find((i: { name: string }) => i.name === k.dev);
        expect(d.default).toBe(true);
        expect(d.gateways["4"]).toBe(k.gw);
        // Offline by default: NIC routes are listed, with no external side.
        expect(d.rp["4"][0].ext).toEqual([]);
        expect(d.rp["4"][0].nic.length).toBeGreaterThan(0);
      }
    }
  });

  test("human output marks the default interface with *", async () => {
    const r = await cli("interfaces");
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^Default IPv4: /);
    const k = linux ? kernelDefault4() : undefined;
    if (k) {
      expect(r.out).toContain(`Default IPv4: ${k.dev} via ${k.gw}`);
      expect(r.out).toMatch(new RegExp(`^\\* ${k.dev} \\(`, "m"));
    }
    expect(r.out).toMatch(/^ {2}lo \(loopback, up/m);
  });

  test("NAME filters; an unknown name fails with ERR_NO_SUCH_INTERFACE", async () => {
    const r = await cli("interfaces", "lo", "--json");
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out).interfaces.map((i: { name: string }) => i.name)).toEqual(["lo"]);
    const bad = await cli("interfaces", "nope-if0", "--json");
    expect(bad.code).toBe(1);
    expect(JSON.parse(bad.out).error.code).toBe("ERR_NO_SUCH_INTERFACE");
  });

  test("usage errors: --resolve without --stun, --stun without --resolve, two names", async () => {
    for (const argv of [
      ["--resolve"],
      ["--stun", "127.0.0.1:1"],
      ["a", "b"],
      ["--resolve", "--stun", "127.0.0.1", "--min-agree", "3"],
    ]) {
      const r = await cli("interfaces", ...argv, "--json");
      expect(r.code).toBe(2);
      expect(JSON.parse(r.out).error.code).toBe("ERR_USAGE");
    }
  });
});

describe("p2pd interfaces --resolve (loopback STUN server)", () => {
  let server: InstanceType<typeof stun.StunServer>;
  beforeAll(async () => {
    server = await new stun.StunServer({ ips: ["127.0.0.1"], port: 0 }).listen();
  });
  afterAll(async () => {
    await server.close();
  });

  test.skipIf(!linux || !kernelDefault4())(
    "the server sees the NIC address itself, so IPv4 maps to itself",
    async () => {
      const k = kernelDefault4();
      if (!k) return;
      const r = await cli(
        "interfaces",
        k.dev,
        "--resolve",
        "--stun",
        `127.0.0.1:${server.primary.port}`,
        "--timeout",
        "3000",
        "--json",
      );
      expect(r.code).toBe(0);
      const j = JSON.parse(r.out);
      expect(j.resolved).toBe(true);
      const d = j.interfaces[0];
      const nic = d.rp["4"][0].nic[0];
      expect(d.rp["4"][0].ext).toEqual([nic]);
      expect(r.err).toContain(`resolving external addresses of ${k.dev}`);
    },
  );
});
