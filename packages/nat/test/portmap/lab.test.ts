// Real port mapping: a LAN host behind a router running Debian's miniupnpd (UPnP IGD, NAT-PMP,
// PCP) with nftables NAT, checked from a host on the WAN side. See lab.sh for the topology.
import { tmpdir } from "node:os";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { PortMapping } from "../../src/portmap/index.js";
import { Agent, bundle, Lab, labMissing } from "./harness.js";

const missing = labMissing();
if (missing) console.warn(`portmap lab tests skipped: ${missing}`);

describe.skipIf(missing)("port mapping against miniupnpd in network namespaces", () => {
  const lab = new Lab();
  let script = "";
  const agents: Agent[] = [];
  const agent = async (options: Record<string, unknown>, ns = lab.lan): Promise<Agent> => {
    const a = new Agent(ns, script);
    agents.push(a);
    await a.call("create", options);
    return a;
  };
  const mapped = (port: number, ext: number) => async () =>
    (await lab.upnpRules()).includes(`dport ${ext} dnat ip to 192.168.77.2:${port}`);

  beforeAll(async () => {
    await lab.up();
    script = await bundle("agent.ts", lab.state || tmpdir());
  }, 30_000);

  afterAll(async () => {
    await Promise.all(agents.map((a) => a.stop()));
    await lab.down();
  }, 30_000);

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
        expect(await mapped(port, m.external.port)()).toBe(true);
        expect(await lab.reachableFromWan(m.external.ip, m.external.port, proto)).toBe(true);

        const r = await a.call<{ method: string }>("remove", { port, proto });
        expect(r.method).toBe(method);
        expect(await mapped(port, m.external.port)()).toBe(false);
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
    const m = await a.call<PortMapping>("add", { port, proto: "tcp", lifetime: 2, family: 6 });
    expect(m).toMatchObject({
      method: "upnp-pinhole",
      internal: { ip: lan6, port },
      external: { ip: lan6, port },
      reachable: true,
    });
    expect(await lab.reachableFromWan(lan6, port, "tcp")).toBe(true);
    let held: PortMapping[] = [];
    for (let i = 0; i < 100 && !(held[0] && held[0].renewals >= 2); i++) {
      await new Promise((r) => setTimeout(r, 100));
      held = await a.call<PortMapping[]>("list");
    }
    expect(held[0]?.renewals).toBeGreaterThanOrEqual(2);
    expect(await lab.reachableFromWan(lan6, port, "tcp")).toBe(true);
    expect(await a.call<{ method: string }>("remove", { port, proto: "tcp" })).toMatchObject({
      method: "upnp-pinhole",
    });
    expect(await lab.reachableFromWan(lan6, port, "tcp")).toBe(false);
    await a.stop();
  }, 30_000);
});
