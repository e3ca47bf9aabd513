import { readFileSync } from "node:fs";
import type { networkInterfaces } from "node:os";
import { describe, expect, test } from "vitest";
import {
  BsdProvider,
  type CommandRunner,
  defaultRoutes,
  Interface,
  listInterfaces,
  P2pdNetError,
  WindowsProvider,
} from "../src/index.js";
import { fromNodeInterfaces } from "../src/providers/node-os.js";

const fx = (n: string) => readFileSync(new URL(`./fixtures/${n}`, import.meta.url), "utf8");

/** Answers OS commands from captured output; anything unknown fails like a missing binary. */
function runner(table: Record<string, string | Error>): CommandRunner & { calls: string[] } {
  const calls: string[] = [];
  const fn = async (file: string, args: readonly string[]) => {
    const key = [file, ...args].join(" ");
    calls.push(key);
    const hit = Object.entries(table).find(([k]) => key.includes(k))?.[1];
    if (hit === undefined || hit instanceof Error)
      throw hit ?? new P2pdNetError("ERR_PROVIDER", `${key}: not found`);
    return hit;
  };
  return Object.assign(fn, { calls });
}

const noOs = () => fromNodeInterfaces({});

describe("BsdProvider over macOS fixtures", () => {
  const darwin = runner({
    "ifconfig -a": fx("darwin/ifconfig-a.txt"),
    "netstat -rn -f inet6":
      fx("darwin/netstat-rn.txt").split("Internet6:")[1]?.replace(/^/, "Internet6:") ?? "",
    "netstat -rn -f inet": fx("darwin/netstat-rn.txt").split("Internet6:")[0] ?? "",
    "route -n get -inet6 default": fx("darwin/route-get-inet6-default.txt"),
    "route -n get default": fx("darwin/route-get-default.txt"),
  });
  const provider = new BsdProvider("darwin", { run: darwin, os: noOs });

  test("default interface per family from `route -n get`, the VPN default listed after it", async () => {
    expect(await defaultRoutes({ provider })).toEqual({
      4: { interface: "en0", gateway: "192.168.1.1" },
      6: { interface: "en0", gateway: "fe80::1" },
    });
    const gws = await provider.defaultGateways();
    expect(gws.map((g) => `${g.family}:${g.interface}`)).toEqual([
      "4:en0",
      "4:utun4",
      "6:en0",
      "6:utun0",
    ]);
  });

  test("listInterfaces and startLocal: down links, MTU, zone = interface name", async () => {
    const list = await listInterfaces({ provider });
    expect(list.find((l) => l.name === "en1")).toMatchObject({
      up: false,
      mtu: 1500,
      type: "ethernet",
    });
    const en0 = list.find((l) => l.name === "en0");
    expect(en0?.isDefault).toEqual({ 4: true, 6: true });
    expect(en0?.routes.some((r) => r.destination === "192.168.1.0" && r.prefix === 24)).toBe(true);
    const i = await Interface.startLocal(undefined, { provider });
    expect(i.name).toBe("en0");
    expect(i.route(6).bind(0, "fe80::1c2b:3a4f:5e6d:7a8b").nicBind().scopeId).toBe("en0");
  });

  test("without `route get`, the first netstat default wins", async () => {
    const noRouteGet = runner({
      "ifconfig -a": fx("freebsd/ifconfig-a.txt"),
      "netstat -rn -f inet6":
        fx("freebsd/netstat-rn.txt").split("Internet6:")[1]?.replace(/^/, "Internet6:") ?? "",
      "netstat -rn -f inet": fx("freebsd/netstat-rn.txt").split("Internet6:")[0] ?? "",
    });
    const bsd = new BsdProvider("freebsd", { run: noRouteGet, os: noOs });
    expect(await defaultRoutes({ provider: bsd })).toEqual({
      4: { interface: "em0", gateway: "10.0.2.2" },
      6: { interface: "em0", gateway: "fe80::2" },
    });
  });

  test("an aborted signal stops the provider", async () => {
    await expect(listInterfaces({ provider, signal: AbortSignal.abort() })).rejects.toMatchObject({
      code: "ERR_ABORTED",
    });
  });
});

/** What os.networkInterfaces() returns on a Windows host (friendly names, numeric scope ids). */
const windowsOs = () =>
  fromNodeInterfaces({
    Ethernet: [
      {
        address: "192.168.1.20",
        netmask: "255.255.255.0",
        family: "IPv4",
        mac: "00:15:5d:01:02:03",
        internal: false,
        cidr: "192.168.1.20/24",
      },
      {
        address: "fe80::5c1e:22ff:fe33:4455",
        netmask: "ffff:ffff:ffff:ffff::",
        family: "IPv6",
        mac: "00:15:5d:01:02:03",
        internal: false,
        cidr: "fe80::5c1e:22ff:fe33:4455/64",
        scopeid: 12,
      },
      {
        address: "2001:db8:1234::20",
        netmask: "ffff:ffff:ffff:ffff::",
        family: "IPv6",
        mac: "00:15:5d:01:02:03",
        internal: false,
        cidr: "2001:db8:1234::20/64",
        scopeid: 0,
      },
    ],
    "Loopback Pseudo-Interface 1": [
      {
        address: "127.0.0.1",
        netmask: "255.0.0.0",
        family: "IPv4",
        mac: "00:00:00:00:00:00",
        internal: true,
        cidr: "127.0.0.1/8",
      },
    ],
  } as ReturnType<typeof networkInterfaces>);

describe("WindowsProvider over captured PowerShell and route print output", () => {
  test("PowerShell JSON: names from Node, index and MTU from Get-NetAdapter, zone = index", async () => {
    const run = runner({
      "Get-NetAdapter": fx("windows/get-netadapter.json"),
      "Get-NetRoute": fx("windows/get-netroute.json"),
    });
    const provider = new WindowsProvider({ run, os: windowsOs });
    const list = await listInterfaces({ provider });
    expect(list.map((l) => l.name)).toEqual(["Ethernet", "Wi-Fi", "Loopback Pseudo-Interface 1"]);
    const eth = list.find((l) => l.name === "Ethernet");
    expect(eth).toMatchObject({ index: 12, mtu: 1500, up: true, isDefault: { 4: true, 6: true } });
    expect(eth?.addresses.find((a) => a.class === "link-local")?.scopeId).toBe("12");
    expect(list.find((l) => l.name === "Wi-Fi")?.up).toBe(false);
    // Lowest metric wins (Ethernet 0 < Wi-Fi 25; Wi-Fi is also down).
    expect(await defaultRoutes({ provider })).toEqual({
      4: { interface: "Ethernet", gateway: "192.168.1.1" },
      6: { interface: "Ethernet", gateway: "fe80::1" },
    });
    const i = await Interface.startLocal(undefined, { provider });
    expect(i.scopeId).toBe("12");
    expect(i.route(6).bind(0, "fe80::5c1e:22ff:fe33:4455").nicBind().scopeId).toBe("12");
  });

  test("PowerShell unavailable: `route print` fallback, v4 mapped by interface IP, v6 by index", async () => {
    const run = runner({ "route print": fx("windows/route-print.txt") });
    const provider = new WindowsProvider({ run, os: windowsOs });
    expect(await defaultRoutes({ provider })).toEqual({
      4: { interface: "Ethernet", gateway: "192.168.1.1" },
      6: { interface: "Ethernet", gateway: "fe80::1" },
    });
    expect(run.calls.some((c) => c.startsWith("powershell.exe"))).toBe(true);
  });
});
