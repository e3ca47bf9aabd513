// Leases, method order and failures against Debian's miniupnpd in its own namespace lab
// (lab.sh): renewals keep a short lease alive, close() removes it, errors are typed.
import { describe, expect, test } from "vitest";
import type { PortMapping } from "../../src/portmap/index.js";
import { type Agent, labMissing, labSuite, untilRenewed } from "./harness.js";

const missing = labMissing();
if (missing) console.warn(`portmap lab tests skipped: ${missing}`);

describe.skipIf(missing)("port mapping leases and failures against miniupnpd", () => {
  const { lab, agent, mapped } = labSuite();

  // Two servers, the second asking for the external port the first one got: it must get another.
  async function twoOnOnePort(a: Agent) {
    const first = await a.call<number>("listen", { proto: "tcp" });
    const second = await a.call<number>("listen", { proto: "tcp" });
    const m1 = await a.call<PortMapping>("add", { port: first, proto: "tcp", lifetime: 120 });
    const m2 = await a.call<PortMapping>("add", {
      port: second,
      proto: "tcp",
      lifetime: 120,
      externalPort: m1.external.port,
    });
    expect(m2.external.port).not.toBe(m1.external.port);
    return { first, m1, m2 };
  }

  test("default order: PCP first; external address and the gateway's own table agree", async () => {
    const a = await agent({});
    const port = await a.call<number>("listen", { proto: "tcp" });
    const m = await a.call<PortMapping>("add", { port, proto: "tcp", lifetime: 120 });
    expect(m.method).toBe("pcp");
    const ext = await a.call<{ ip: string; method: string; reachable: boolean }>("externalAddress");
    expect(ext).toMatchObject({ ip: lab.wanIp, reachable: true });
    const table =
      await a.call<{ externalPort: number; internalClient: string; protocol: string }[]>(
        "listGateway",
      );
    expect(table).toContainEqual(
      expect.objectContaining({
        externalPort: m.external.port,
        internalClient: "192.168.77.2",
        protocol: "tcp",
      }),
    );
    expect(await a.call<PortMapping[]>("list")).toHaveLength(1);
    await a.call("close");
    expect(await mapped(port, m.external.port)).toBe(false);
    await a.stop();
  }, 30_000);

  for (const method of ["upnp", "natpmp", "pcp"] as const)
    test(`${method}: a 4 s lease is renewed before it expires and removed on close`, async () => {
      const a = await agent({ methods: [method], discoveryTimeoutMs: 3000 });
      const port = await a.call<number>("listen", { proto: "tcp" });
      const m = await a.call<PortMapping>("add", { port, proto: "tcp", lifetime: 4 });
      expect(m.lifetime).toBeGreaterThan(0);
      expect(m.lifetime).toBeLessThanOrEqual(4);
      // Wait for two renewals (at half-life, 2 s: that much margin on a loaded machine): by
      // then the first lease has run out, so only renewals keep it.
      expect((await untilRenewed(a, 2))?.renewals).toBeGreaterThanOrEqual(2);
      expect(await mapped(port, m.external.port)).toBe(true);
      expect(await lab.reachableFromWan(m.external.ip, m.external.port, "tcp")).toBe(true);
      await a.call("close");
      expect(await mapped(port, m.external.port)).toBe(false);
      expect(await lab.reachableFromWan(m.external.ip, m.external.port, "tcp")).toBe(false);
      await a.stop();
    }, 30_000);

  // Only UPnP here: miniupnpd 2.3.1 answers a NAT-PMP or PCP request that no permission rule
  // allows with nothing, and walks the whole port space (busy for minutes, deaf to other clients).
  test("UPnP: GetSpecificPortMappingEntry sees our mapping; a taken external port is never clobbered, another one is used", async () => {
    const a = await agent({ methods: ["upnp"], discoveryTimeoutMs: 3000 });
    const { first, m1, m2 } = await twoOnOnePort(a);
    const seen = await a.call<{
      service: { kind: string; version: number };
      entry: Record<string, unknown> | null;
    }>("upnpEntry", { externalPort: m1.external.port, proto: "tcp" });
    expect(seen.service).toMatchObject({ kind: "WANIPConnection", version: 2 });
    expect(seen.entry).toMatchObject({
      internalPort: first,
      internalClient: "192.168.77.2",
      enabled: true,
    });
    // miniupnpd would silently have re-pointed the first mapping to the second port.
    expect(await lab.reachableFromWan(m2.external.ip, m2.external.port, "tcp")).toBe(true);
    expect(await lab.reachableFromWan(m1.external.ip, m1.external.port, "tcp")).toBe(true);
    await a.call("remove", { port: first, proto: "tcp" });
    const gone = await a.call<{ entry: unknown }>("upnpEntry", {
      externalPort: m1.external.port,
      proto: "tcp",
    });
    expect(gone.entry).toBeNull();
    await a.call("close");
    await a.stop();
  }, 30_000);

  for (const method of ["natpmp", "pcp"] as const)
    test(`${method}: asking for a taken external port gets another one, both mappings stay`, async () => {
      const a = await agent({ methods: [method] });
      const { m1, m2 } = await twoOnOnePort(a);
      expect(await lab.reachableFromWan(m1.external.ip, m1.external.port, "tcp")).toBe(true);
      expect(await lab.reachableFromWan(m2.external.ip, m2.external.port, "tcp")).toBe(true);
      await a.call("close");
      expect(await lab.reachableFromWan(m2.external.ip, m2.external.port, "tcp")).toBe(false);
      await a.stop();
    }, 30_000);

  test("a router reboot (mappings lost, epoch reset) is noticed on the next answer and the mappings re-made at once", async () => {
    const a = await agent({ methods: ["natpmp"] });
    const port = await a.call<number>("listen", { proto: "tcp" });
    const m = await a.call<PortMapping>("add", { port, proto: "tcp", lifetime: 600 });
    expect(await lab.reachableFromWan(m.external.ip, m.external.port, "tcp")).toBe(true);
    // Let the epoch grow past RFC 6886's 2 s slack, so that a restart is visible.
    await new Promise((r) => setTimeout(r, 3000));
    await lab.restartRouter();
    expect(await mapped(port, m.external.port)).toBe(false);
    // Any NAT-PMP answer carries the new epoch; the 600 s lease would not renew for 5 minutes.
    await a.call("externalAddress");
    expect((await untilRenewed(a, 1, 10_000))?.renewals).toBe(1);
    expect(await mapped(port, m.external.port)).toBe(true);
    expect(await lab.reachableFromWan(m.external.ip, m.external.port, "tcp")).toBe(true);
    await a.call("close");
    await a.stop();
  }, 30_000);

  test("the router's deny rule (ports below 1024): UPnP refuses with ERR_PORTMAP_REFUSED", async () => {
    const u = await agent({ methods: ["upnp"], discoveryTimeoutMs: 3000 });
    const refused = u.call("add", { port: 80, proto: "tcp", lifetime: 60 });
    await expect(refused).rejects.toMatchObject({
      code: "ERR_PORTMAP_REFUSED",
      name: "PortMapRefusedError",
    });
    const err = (await refused.catch((e: unknown) => e)) as { gatewayCode?: number };
    expect(err.gatewayCode).toBeGreaterThan(0);
    await u.stop();
  }, 30_000);

  test("a host without a default route: ERR_PORTMAP_NO_GATEWAY, not a hang", async () => {
    const a = await agent({ discoveryTimeoutMs: 300 }, lab.wan);
    await expect(a.call("add", { port: 5000, proto: "tcp" })).rejects.toMatchObject({
      code: "ERR_PORTMAP_NO_GATEWAY",
    });
    await expect(a.call("externalAddress")).rejects.toMatchObject({
      code: "ERR_PORTMAP_NO_GATEWAY",
    });
    await a.stop();
  }, 30_000);

  test("a gateway that never answers: ERR_PORTMAP_TIMEOUT", async () => {
    // 192.168.77.99 is on the LAN but nobody has it: requests vanish (no ARP answer).
    const a = await agent({ gateway: "192.168.77.99", methods: ["natpmp", "pcp"], timeoutMs: 600 });
    await expect(a.call("add", { port: 5000, proto: "udp" })).rejects.toMatchObject({
      code: "ERR_PORTMAP_TIMEOUT",
    });
    await a.stop();
  }, 30_000);
});
