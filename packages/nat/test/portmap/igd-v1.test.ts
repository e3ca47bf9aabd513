// The same router describing itself as IGD v1 (miniupnpd force_igd_desc_v1=yes): discovery and
// SOAP work on WANIPConnection:1, and mappings are reachable from the WAN host.
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { PortMapping } from "../../src/portmap/index.js";
import { Agent, bundle, Lab, labMissing } from "./harness.js";

const missing = labMissing();

describe.skipIf(missing)("UPnP IGD v1 (miniupnpd force_igd_desc_v1)", () => {
  const lab = new Lab({ igdV1: true });
  let script = "";
  let a: Agent | undefined;

  beforeAll(async () => {
    await lab.up();
    script = await bundle("agent.ts", lab.state);
    a = new Agent(lab.lan, script);
    await a.call("create", { methods: ["upnp"], discoveryTimeoutMs: 3000 });
  }, 30_000);

  afterAll(async () => {
    await a?.stop();
    await lab.down();
  }, 30_000);

  test("WANIPConnection:1 maps TCP and UDP, reachable from outside, gone after removal", async () => {
    const agent = a as Agent;
    for (const proto of ["tcp", "udp"] as const) {
      const port = await agent.call<number>("listen", { proto });
      const m = await agent.call<PortMapping>("add", { port, proto, lifetime: 120 });
      expect(m).toMatchObject({ method: "upnp", external: { ip: lab.wanIp, port } });
      const seen = await agent.call<{ service: { kind: string; version: number } }>("upnpEntry", {
        externalPort: port,
        proto,
      });
      expect(seen.service).toMatchObject({ kind: "WANIPConnection", version: 1 });
      expect(await lab.reachableFromWan(lab.wanIp, port, proto)).toBe(true);
      await agent.call("remove", { port, proto });
      expect(await lab.reachableFromWan(lab.wanIp, port, proto)).toBe(false);
    }
  }, 30_000);
});
