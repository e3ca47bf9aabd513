// Double NAT: the miniupnpd router's WAN (11.11.11.1) sits behind a carrier NAT (12.12.12.1).
// The mapping succeeds on the router, yet the WAN host beyond the carrier NAT cannot reach it:
// the mapper must say so (reachable: false, or DoubleNatError).
import { beforeAll, describe, expect, test } from "vitest";
import type { ExternalAddress, PortMapping } from "../../src/portmap/index.js";
import { labMissing, labSuite } from "./harness.js";

const missing = labMissing();

describe.skipIf(missing)("double NAT behind a carrier NAT", () => {
  const { lab, agent } = labSuite({ cgn: true });
  let observed = "";

  beforeAll(async () => {
    observed = await lab.observedFromWan();
  }, 30_000);

  test("the WAN host sees another address than the router's WAN address", () => {
    expect(observed).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    expect(observed).not.toBe(lab.wanIp);
  });

  test("the mapping is made but reported unreachable, and truly is unreachable from outside", async () => {
    const a = await agent({ observedExternalIp: observed });
    const port = await a.call<number>("listen", { proto: "tcp" });
    const m = await a.call<PortMapping>("add", { port, proto: "tcp", lifetime: 60 });
    expect(m).toMatchObject({ external: { ip: lab.wanIp }, reachable: false, reason: "mismatch" });
    // One level up, on the router's own WAN segment, the mapping works...
    expect(await lab.reachableFrom(lab.carrier, m.external.ip, m.external.port, "tcp")).toBe(true);
    // ...but from the internet side of the carrier NAT nothing gets through.
    expect(await lab.reachableFromWan(observed, m.external.port, "tcp")).toBe(false);
    const ext = await a.call<ExternalAddress>("externalAddress");
    expect(ext).toMatchObject({ ip: lab.wanIp, reachable: false, reason: "mismatch" });
    await a.call("close");
    await a.stop();
  }, 30_000);

  for (const method of ["upnp", "natpmp", "pcp"] as const)
    test(`${method}: doubleNat "throw" gives DoubleNatError and leaves no mapping behind`, async () => {
      const a = await agent({
        observedExternalIp: observed,
        doubleNat: "throw",
        methods: [method],
      });
      const port = await a.call<number>("listen", { proto: "udp" });
      await expect(a.call("add", { port, proto: "udp", lifetime: 60 })).rejects.toMatchObject({
        code: "ERR_DOUBLE_NAT",
        name: "DoubleNatError",
      });
      expect(await a.call<PortMapping[]>("list")).toEqual([]);
      expect(await lab.upnpRules()).not.toContain(`dnat ip to 192.168.77.2:${port}`);
      await a.stop();
    }, 30_000);
});
