import { readFileSync } from "node:fs";
import { describe, expect, test } from "vitest";
import {
  defaultProvider,
  parseIfconfig,
  parseNetAdapterJson,
  parseNetRouteJson,
  parseNetstatRn,
  parseRouteGetDefault,
  parseRoutePrint,
} from "../src/index.js";
import { parseBsdDestination } from "../src/providers/bsd.js";
import { routePrintToRoutes } from "../src/providers/windows.js";

const fx = (n: string) => readFileSync(new URL(`./fixtures/${n}`, import.meta.url), "utf8");

describe("macOS / BSD parsers", () => {
  test("BSD short destinations imply the prefix from the octets shown", () => {
    expect(parseBsdDestination("127", 4)).toEqual({ destination: "127.0.0.0", prefix: 8 });
    expect(parseBsdDestination("192.168.1", 4)).toEqual({ destination: "192.168.1.0", prefix: 24 });
    expect(parseBsdDestination("224.0.0/4", 4)).toEqual({ destination: "224.0.0.0", prefix: 4 });
    expect(parseBsdDestination("default", 6)).toEqual({ destination: "::", prefix: 0 });
    expect(parseBsdDestination("fe80::%lo0/64", 6)).toEqual({ destination: "fe80::", prefix: 64 });
    expect(parseBsdDestination("link#6", 4)).toBeUndefined();
    expect(parseBsdDestination("1.2.3.4/99", 4)).toBeUndefined();
  });

  test("macOS netstat -rn: defaults on en0 and a VPN, in table order", () => {
    const r = parseNetstatRn(fx("darwin/netstat-rn.txt"));
    const defaults = r.filter((x) => x.prefix === 0);
    expect(defaults.map((d) => [d.family, d.interface, d.gateway])).toEqual([
      [4, "en0", "192.168.1.1"],
      [4, "utun4", "10.8.0.1"],
      [6, "en0", "fe80::1"],
      [6, "utun0", "fe80::"],
    ]);
    expect(r).toContainEqual({
      family: 4,
      destination: "192.168.1.0",
      prefix: 24,
      interface: "en0",
      metric: 6,
    });
    // A link-layer (MAC) gateway is not an IP gateway.
    expect(
      r.find((x) => x.destination === "192.168.1.1" && x.prefix === 32 && x.gateway),
    ).toBeUndefined();
  });

  test("FreeBSD netstat -rn: reject routes skipped, default via fe80::2", () => {
    const r = parseNetstatRn(fx("freebsd/netstat-rn.txt"));
    expect(r.filter((x) => x.prefix === 0)).toEqual([
      {
        family: 4,
        destination: "0.0.0.0",
        prefix: 0,
        interface: "em0",
        metric: 0,
        gateway: "10.0.2.2",
      },
      { family: 6, destination: "::", prefix: 0, interface: "em0", metric: 4, gateway: "fe80::2" },
    ]);
    expect(r.some((x) => x.destination === "::" && x.prefix === 96)).toBe(false);
  });

  test("route -n get default (v4, v6, none)", () => {
    expect(parseRouteGetDefault(fx("darwin/route-get-default.txt"), 4)).toEqual({
      family: 4,
      interface: "en0",
      gateway: "192.168.1.1",
      metric: -1,
    });
    expect(parseRouteGetDefault(fx("darwin/route-get-inet6-default.txt"), 6)).toMatchObject({
      interface: "en0",
      gateway: "fe80::1",
    });
    expect(parseRouteGetDefault(fx("darwin/route-get-none.txt"), 4)).toBeUndefined();
  });

  test("macOS ifconfig -a: down links, MTU, MAC, scope ids", () => {
    const links = parseIfconfig(fx("darwin/ifconfig-a.txt"));
    expect(links.map((l) => [l.name, l.up, l.mtu])).toEqual([
      ["lo0", true, 16384],
      ["gif0", false, 1280],
      ["stf0", false, 1280],
      ["en0", true, 1500],
      ["en1", false, 1500],
      ["utun4", true, 1380],
    ]);
    const en0 = links.find((l) => l.name === "en0");
    expect(en0?.mac).toBe("a0:ce:c8:12:34:56");
    expect(en0?.index).toBe(6);
    expect(en0?.addresses).toEqual([
      { family: 6, address: "fe80::1c2b:3a4f:5e6d:7a8b", prefix: 64, scopeIndex: 6 },
      { family: 4, address: "192.168.1.20", prefix: 24 },
      { family: 6, address: "2001:db8:1234:0:1c2b:3a4f:5e6d:7a8b", prefix: 64 },
    ]);
    expect(links.find((l) => l.name === "lo0")?.internal).toBe(true);
    expect(links.find((l) => l.name === "utun4")?.addresses).toEqual([
      { family: 4, address: "10.8.0.2", prefix: 32 },
    ]);
  });

  test("FreeBSD ifconfig -a", () => {
    const links = parseIfconfig(fx("freebsd/ifconfig-a.txt"));
    expect(links.map((l) => l.name)).toEqual(["em0", "lo0"]);
    expect(links[0]).toMatchObject({ mac: "08:00:27:12:34:56", mtu: 1500, up: true, index: 1 });
  });
});

describe("Windows parsers", () => {
  test("Get-NetRoute JSON: defaults per family, NextHop 0.0.0.0/:: = on-link", () => {
    const r = parseNetRouteJson(fx("windows/get-netroute.json"));
    expect(r).toHaveLength(5);
    expect(r[0]).toEqual({
      family: 4,
      destination: "0.0.0.0",
      prefix: 0,
      interface: "Ethernet",
      metric: 0,
      gateway: "192.168.1.1",
    });
    expect(r[1]?.gateway).toBeUndefined();
    expect(r[3]).toMatchObject({ family: 6, gateway: "fe80::1", interface: "Ethernet" });
    expect(parseNetRouteJson("not json")).toEqual([]);
    expect(
      parseNetRouteJson(
        '{"DestinationPrefix":"::/0","NextHop":"fe80::1","ifIndex":3,"AddressFamily":"IPv6"}',
      ),
    ).toEqual([
      { family: 6, destination: "::", prefix: 0, interface: "3", metric: 0, gateway: "fe80::1" },
    ]);
  });

  test("Get-NetAdapter JSON, list and single object", () => {
    const l = parseNetAdapterJson(fx("windows/get-netadapter.json"));
    expect(l).toEqual([
      {
        name: "Ethernet",
        up: true,
        internal: false,
        addresses: [],
        index: 12,
        mtu: 1500,
        mac: "00:15:5d:01:02:03",
      },
      {
        name: "Wi-Fi",
        up: false,
        internal: false,
        addresses: [],
        index: 18,
        mtu: 1500,
        mac: "3c:22:fb:aa:bb:cc",
      },
    ]);
    expect(parseNetAdapterJson(fx("windows/get-netadapter-single.json"))[0]?.name).toBe(
      "Ethernet 2",
    );
  });

  test("route print: interface list, IPv4 and IPv6 (wrapped rows) active routes", () => {
    const rp = parseRoutePrint(fx("windows/route-print.txt"));
    expect(rp.interfaces).toEqual([
      {
        index: 12,
        mac: "00:15:5d:01:02:03",
        description: "Intel(R) Ethernet Connection (7) I219-V",
      },
      { index: 18, mac: "3c:22:fb:aa:bb:cc", description: "Intel(R) Wi-Fi 6 AX201 160MHz" },
      { index: 1, description: "Software Loopback Interface 1" },
    ]);
    expect(rp.v4).toHaveLength(9);
    expect(rp.v4[0]).toEqual({
      destination: "0.0.0.0",
      prefix: 0,
      gateway: "192.168.1.1",
      interfaceIp: "192.168.1.20",
      metric: 25,
    });
    expect(rp.v6[0]).toEqual({
      index: 12,
      destination: "::",
      prefix: 0,
      gateway: "fe80::1",
      metric: 281,
    });
    expect(
      rp.v6.find((x) => x.destination === "fe80::5c1e:22ff:fe33:4455")?.gateway,
    ).toBeUndefined();
    const routes = routePrintToRoutes(rp, [
      {
        name: "Ethernet",
        index: 12,
        up: true,
        internal: false,
        addresses: [{ family: 4, address: "192.168.1.20", prefix: 24 }],
      },
      {
        name: "Wi-Fi",
        index: 18,
        up: true,
        internal: false,
        addresses: [{ family: 4, address: "10.0.0.57", prefix: 24 }],
      },
    ]);
    expect(
      routes.filter((r) => r.prefix === 0).map((r) => [r.family, r.interface, r.gateway]),
    ).toEqual([
      [4, "Ethernet", "192.168.1.1"],
      [4, "Wi-Fi", "10.0.0.1"],
      [6, "Ethernet", "fe80::1"],
    ]);
  });

  test("provider choice per platform", () => {
    expect(defaultProvider("linux").platform).toBe("linux");
    expect(defaultProvider("win32").platform).toBe("win32");
    expect(defaultProvider("darwin").platform).toBe("darwin");
    expect(defaultProvider("freebsd").platform).toBe("freebsd");
  });
});
