// The same router describing itself as IGD v1 (miniupnpd force_igd_desc_v1=yes): discovery and
// SOAP work on WANIPConnection:1, and mappings are reachable from the WAN host.
import { describe, expect, test } from "vitest";
import type { PortMapping } from "../../src/portmap/index.js";
import { labMissing, labSuite } from "./harness.js";

const missing = labMissing();

describe.skipIf(missing)("UPnP IGD v1 (miniupnpd force_igd_desc_v1)", () => {
  const { lab, agent } = labSuite({ igdV1: true });

  test("WANIPConnection:1 maps TCP and UDP, reachable from outside, gone after removal", async () => {
    const a = await agent({ methods: ["upnp"], discoveryTimeoutMs: 3000 });
    for (const proto of ["tcp", "udp"] as const) {
      const port = await a.call<number>("listen", { proto });
      const m = await a.call<PortMapping>("add", { port, proto, lifetime: 120 });
      expect(m).toMatchObject({ method: "upnp", external: { ip: lab.wanIp, port } });
      const seen = await a.call<{ service: { kind: string; version: number } }>("upnpEntry", {
        externalPort: port,
        proto,
      });
      expect(seen.service).toMatchObject({ kind: "WANIPConnection", version: 1 });
      expect(await lab.reachableFromWan(lab.wanIp, port, proto)).toBe(true);
      await a.call("remove", { port, proto });
      expect(await lab.reachableFromWan(lab.wanIp, port, proto)).toBe(false);
    }
  }, 30_000);
});
