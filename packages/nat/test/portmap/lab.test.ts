// Real port mapping: a LAN host behind a router running Debian's miniupnpd (UPnP IGD, NAT-PMP,
// PCP) with nftables NAT, checked from a host on the WAN side. See lab.sh for the topology.
import { describe, expect, test } from "vitest";
import type { PortMapping } from "../../src/portmap/index.js";
import { labMissing, labSuite, untilRenewed } from "./harness.js";

const missing = labMissing();
if (missing) console.warn(`portmap lab tests skipped: ${missing}`);

describe.skipIf(missing)("port mapping against miniupnpd in network namespaces", () => {
  const { lab, agent, mapped } = labSuite();

  for (const method of ["upnp", "natpmp", "pcp"] as const)
    for (const proto of ["tcp", "udp"] as const)
      test(`${method}/${proto}: reachable from the WAN host while mapped, closed after removal`, async () => {
        const a = await agent({ methods: [method], discoveryTimeoutMs: 3000 });
        const port = await a.call<number>("listen", { proto });
        expect(await lab.reachableFromWan(lab.wanIp, port, proto)).toBe(false);

        const m = await a.call<PortMapping>("add", { port, proto, lifetime: 120 });
        expect(m).toMatchObject({
          method,
          protocol: proto,
          internal: { ip: "192.168.77.2", port },
          external: { ip: lab.wanIp, port },
          gateway: lab.gatewayLan,
          reachable: true,
        });
        expect(m.lifetime).toBeGreaterThan(0);
        expect(await mapped(port, m.external.port)).toBe(true);
        expect(await lab.reachableFromWan(m.external.ip, m.external.port, proto)).toBe(true);

        const r = await a.call<{ method: string }>("remove", { port, proto });
        expect(r.method).toBe(method);
        expect(await mapped(port, m.external.port)).toBe(false);
        expect(await lab.reachableFromWan(m.external.ip, m.external.port, proto)).toBe(false);
        await a.stop();
      }, 30_000);

  test("pcp over IPv6: a MAP from the LAN's IPv6 address opens a pinhole the WAN host gets through", async () => {
    const a = await agent({ methods: ["pcp"] });
    const lan6 = "2001:db8:77::2";
    const port = await a.call<number>("listen", { proto: "udp", family: 6 });
    expect(await lab.reachableFromWan(lan6, port, "udp")).toBe(false);
    const m = await a.call<PortMapping>("add", { port, proto: "udp", lifetime: 120, family: 6 });
    expect(m).toMatchObject({
      method: "pcp",
      internal: { ip: lan6, port },
      external: { ip: lan6, port },
      reachable: true,
    });
    expect(await lab.reachableFromWan(lan6, port, "udp")).toBe(true);
    await a.call("remove", { port, proto: "udp" });
    expect(await lab.reachableFromWan(lan6, port, "udp")).toBe(false);
    await a.stop();
  }, 30_000);

  test("upnp-pinhole: an IPv6 pinhole lets the WAN host in, renewed, closed after removal", async () => {
    const a = await agent({ methods: ["upnp-pinhole"], discoveryTimeoutMs: 3000 });
    const lan6 = "2001:db8:77::2";
    const port = await a.call<number>("listen", { proto: "tcp" });
    expect(await lab.reachableFromWan(lan6, port, "tcp")).toBe(false);
    const m = await a.call<PortMapping>("add", { port, proto: "tcp", lifetime: 4, family: 6 });
    expect(m).toMatchObject({
      method: "upnp-pinhole",
      internal: { ip: lan6, port },
      external: { ip: lan6, port },
      reachable: true,
    });
    expect(await lab.reachableFromWan(lan6, port, "tcp")).toBe(true);
    // Two renewals at half-life (2 s): the first 4 s lease has run out, the pinhole lives on.
    expect((await untilRenewed(a, 2))?.renewals).toBeGreaterThanOrEqual(2);
    expect(await lab.reachableFromWan(lan6, port, "tcp")).toBe(true);
    expect(await a.call<{ method: string }>("remove", { port, proto: "tcp" })).toMatchObject({
      method: "upnp-pinhole",
    });
    expect(await lab.reachableFromWan(lan6, port, "tcp")).toBe(false);
    await a.stop();
  }, 30_000);
});
