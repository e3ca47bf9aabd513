import { readFileSync } from "node:fs";
import { describe, expect, test } from "vitest";
import { parseProcIpv6Route, parseProcNetRoute } from "../src/index.js";

const fx = (n: string) => readFileSync(new URL(`./fixtures/linux/${n}`, import.meta.url), "utf8");

describe("procfs route parsers (fixtures captured from this machine)", () => {
  test("/proc/net/route: default via 192.0.2.1 on eth0, little-endian hex", () => {
    const r = parseProcNetRoute(fx("route.txt"), true);
    expect(r).toEqual([
      {
        family: 4,
        destination: "0.0.0.0",
        prefix: 0,
        gateway: "192.0.2.1",
        interface: "eth0",
        metric: 0,
      },
      { family: 4, destination: "192.0.2.0", prefix: 24, interface: "eth0", metric: 0 },
    ]);
  });

  test("/proc/net/route on a big-endian host reads the hex in order", () => {
    const text =
      "Iface\tDestination\tGateway\tFlags\tRefCnt\tUse\tMetric\tMask\nwan0\t00000000\tC0000201\t0003\t0\t0\t100\t00000000\n";
    expect(parseProcNetRoute(text, false)[0]).toMatchObject({ gateway: "192.0.2.1", metric: 100 });
  });

  test("/proc/net/ipv6_route: default via fd00::1, local/reject/multicast rows dropped", () => {
    const r = parseProcIpv6Route(fx("ipv6_route.txt"));
    expect(r).toEqual([
      { family: 6, destination: "fd00::", prefix: 64, interface: "eth0", metric: 256 },
      { family: 6, destination: "fe80::", prefix: 64, interface: "eth0", metric: 256 },
      {
        family: 6,
        destination: "::",
        prefix: 0,
        gateway: "fd00::1",
        interface: "eth0",
        metric: 1024,
      },
    ]);
  });

  test("junk lines are skipped, never thrown", () => {
    expect(parseProcNetRoute("garbage\n\nx y z\n")).toEqual([]);
    expect(parseProcIpv6Route("zz 40 00 00 00 00 00 00 00 eth0\n")).toEqual([]);
  });
});
