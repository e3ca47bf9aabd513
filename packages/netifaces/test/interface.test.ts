import { describe, expect, test } from "vitest";
import {
  defaultRoutes,
  Interface,
  isInternetInterface,
  type LinkInfo,
  listInterfaces,
  type P2pdNetError,
  type RouteEntry,
} from "../src/index.js";
import { P2pdError } from "../src/p2pd-error.js";
import { fakeProvider } from "./fake-provider.js";

const links: LinkInfo[] = [
  {
    name: "lo",
    index: 1,
    up: true,
    internal: true,
    mtu: 65536,
    addresses: [
      { family: 4, address: "127.0.0.1", prefix: 8 },
      { family: 6, address: "::1", prefix: 128 },
    ],
  },
  {
    name: "eth0",
    index: 2,
    mac: "02:00:00:00:00:01",
    mtu: 1500,
    up: true,
    internal: false,
    addresses: [
      { family: 4, address: "192.168.1.20", prefix: 24 },
      { family: 6, address: "2a00:1::20", prefix: 64 },
      { family: 6, address: "fe80::20", prefix: 64, scopeIndex: 2 },
    ],
  },
  {
    name: "wlan0",
    index: 3,
    up: true,
    internal: false,
    addresses: [{ family: 4, address: "10.0.0.9", prefix: 24 }],
  },
  { name: "eth9", index: 9, up: false, internal: false, addresses: [] },
];
const routes: RouteEntry[] = [
  {
    family: 4,
    destination: "0.0.0.0",
    prefix: 0,
    gateway: "10.0.0.1",
    interface: "wlan0",
    metric: 600,
  },
  {
    family: 4,
    destination: "0.0.0.0",
    prefix: 0,
    gateway: "192.168.1.1",
    interface: "eth0",
    metric: 100,
  },
  { family: 4, destination: "192.168.1.0", prefix: 24, interface: "eth0", metric: 100 },
  { family: 6, destination: "::", prefix: 0, gateway: "fe80::1", interface: "eth0", metric: 1024 },
];
const provider = fakeProvider(links, routes);
const resolver = async ({ family, localAddress }: { family: 4 | 6; localAddress: string }) =>
  family === 4 ? (localAddress === "10.0.0.9" ? "100.100.0.9" : "1.3.3.7") : localAddress;

describe("interface selection and listing (fake provider)", () => {
  test("the lowest-metric default route wins per family", async () => {
    expect(await defaultRoutes({ provider })).toEqual({
      4: { interface: "eth0", gateway: "192.168.1.1" },
      6: { interface: "eth0", gateway: "fe80::1" },
    });
    const list = await listInterfaces({ provider });
    const eth0 = list.find((l) => l.name === "eth0");
    expect(eth0?.isDefault).toEqual({ 4: true, 6: true });
    expect(eth0?.gateways).toEqual({ 4: "192.168.1.1", 6: "fe80::1" });
    expect(eth0?.addresses.find((a) => a.address === "fe80::20")?.scopeId).toBe("eth0");
    expect(list.find((l) => l.name === "wlan0")?.gateways).toEqual({ 4: "10.0.0.1" });
    expect(list.find((l) => l.name === "eth9")).toMatchObject({ up: false, addresses: [] });
    expect(await isInternetInterface("wlan0", { provider })).toBe(true);
    expect(await isInternetInterface("lo", { provider })).toBe(false);
  });

  test("a default route on a down link is ignored, even with a better metric", async () => {
    const down = fakeProvider(links, [
      ...routes,
      {
        family: 4,
        destination: "0.0.0.0",
        prefix: 0,
        gateway: "10.9.9.1",
        interface: "eth9",
        metric: 1,
      },
    ]);
    expect((await defaultRoutes({ provider: down }))[4]).toEqual({
      interface: "eth0",
      gateway: "192.168.1.1",
    });
  });

  test("on Windows the zone is the interface index", async () => {
    const list = await listInterfaces({ provider: fakeProvider(links, routes, "win32") });
    expect(
      list.find((l) => l.name === "eth0")?.addresses.find((a) => a.address === "fe80::20")?.scopeId,
    ).toBe("2");
  });

  test("start(): default interface, both families, primary route first", async () => {
    const i = await Interface.start(undefined, { provider, resolveExternalIp: resolver });
    expect(i.name).toBe("eth0");
    expect(i.type).toBe("ethernet");
    expect(i.stack).toBe("dual");
    expect(i.supported()).toEqual([4, 6]);
    expect(String(i.route(4))).toBe("[192.168.1.20] -> [1.3.3.7]");
    expect(String(i.route(6))).toBe("[2a00:1::20] -> [2a00:1::20]");
    expect(i.route(6).linkLocals).toEqual(["fe80::20"]);
    expect(i.route(6).bind(0, "fe80::20").nicBind().scopeId).toBe("eth0");
    expect(i.isDefault(4)).toBe(true);
    expect(i.gateway(6)).toBe("fe80::1");
  });

  test("start(name) and start(family); unknown names and missing families are typed errors", async () => {
    const w = await Interface.start("wlan0", { provider, resolveExternalIp: resolver });
    expect(String(w.route())).toBe("[10.0.0.9] -> [100.100.0.9]");
    expect(w.isDefault(4)).toBe(false);
    expect(w.stack).toBe(4);
    expect(() => w.route(6)).toThrow(expect.objectContaining({ code: "ERR_NO_ROUTE" }));
    expect((await Interface.start(6, { provider, resolveExternalIp: resolver })).name).toBe("eth0");
    await expect(
      Interface.start("nope0", { provider, resolveExternalIp: resolver }),
    ).rejects.toMatchObject({
      code: "ERR_NO_SUCH_INTERFACE",
    });
    await expect(Interface.start("eth0", { provider })).rejects.toMatchObject({
      code: "ERR_NO_RESOLVER",
    });
  });

  test("no default route: falls back to an Ethernet/Wi-Fi link, else ERR_NO_ROUTE", async () => {
    const noDefault = fakeProvider(
      links,
      routes.filter((r) => r.prefix !== 0),
    );
    const i = await Interface.startLocal(undefined, { provider: noDefault });
    expect(i.name).toBe("eth0");
    expect(i.isDefault(4)).toBe(false);
    await expect(
      Interface.start(4, { provider: noDefault, skipResolve: true }),
    ).rejects.toMatchObject({ code: "ERR_NO_ROUTE" });
    const bare = fakeProvider([links[0] as LinkInfo], []);
    await expect(Interface.startLocal(undefined, { provider: bare })).rejects.toMatchObject({
      code: "ERR_NO_ROUTE",
    });
  });

  test("a family whose lookups all fail is empty, and the errors are kept", async () => {
    const i = await Interface.start("eth0", {
      provider,
      resolveExternalIp: async ({ family }) => {
        if (family === 4) throw new P2pdError("ERR_STUN_TIMEOUT", "no answer");
        return "2a00:1::20";
      },
    });
    expect(i.stack).toBe(6);
    expect(i.errors.map((e) => (e as P2pdNetError).code)).toEqual(["ERR_STUN_TIMEOUT"]);
  });

  test("timeoutMs caps a hanging resolver per family", async () => {
    const i = await Interface.start("eth0", {
      provider,
      timeoutMs: 50,
      resolveExternalIp: () => new Promise(() => {}),
    });
    expect(i.stack).toBe("unknown");
    expect(i.errors.length).toBeGreaterThan(0);
  });

  test("a bad timeoutMs is ERR_BAD_ARGUMENT", async () => {
    await expect(
      Interface.start("eth0", { provider, resolveExternalIp: resolver, timeoutMs: Number.NaN }),
    ).rejects.toMatchObject({ code: "ERR_BAD_ARGUMENT" });
  });

  test("an aborted signal rejects start()", async () => {
    await expect(
      Interface.start("eth0", {
        provider,
        resolveExternalIp: resolver,
        signal: AbortSignal.abort(),
      }),
    ).rejects.toMatchObject({ code: "ERR_ABORTED" });
  });

  test("startLocal: NIC addresses, no external side, no lookup", async () => {
    const i = await Interface.startLocal("eth0", { provider });
    expect(i.route(4).ext()).toBeUndefined();
    expect(i.route(4).nic()).toBe("192.168.1.20");
    expect(i.route(6).nic()).toBe("2a00:1::20");
  });
});

describe("Interface JSON", () => {
  test("round trip keeps routes, link-locals, defaults, NAT", async () => {
    const i = await Interface.start(undefined, { provider, resolveExternalIp: resolver });
    i.nat = { type: 3, delta: { type: 2, value: 0 }, range: [1024, 65535] };
    const j = JSON.parse(JSON.stringify(i));
    expect(j.rp["4"][0].ext_ips[0]).toEqual({ ip: "1.3.3.7", cidr: 32, af: 4 });
    const back = Interface.fromJSON(j);
    expect(back.toJSON()).toEqual(i.toJSON());
    expect(back.route(6).linkLocals).toEqual(["fe80::20"]);
    expect(back.isDefault(4)).toBe(true);
  });

  test("accepts P2PD's to_dict shape (AF 2/10 keys, exploded IPv6, nic_no)", () => {
    const py = {
      name: "eth0",
      nic_no: 0,
      id: "eth0",
      mac: "02:00:00:00:00:01",
      is_default: { "2": true, "10": false },
      nat: {
        type: 5,
        nat_info: "restrict port",
        delta: { type: 6, value: 0 },
        delta_info: "random delta",
      },
      rp: {
        "2": [
          {
            af: 2,
            nic_ips: [{ ip: "192.168.1.20", cidr: 32, af: 2 }],
            ext_ips: [{ ip: "1.3.3.7", cidr: 32, af: 2 }],
          },
        ],
        "10": [
          {
            af: 10,
            nic_ips: [{ ip: "2a00:0001:0000:0000:0000:0000:0000:0020", cidr: 128, af: 10 }],
            ext_ips: [{ ip: "2a00:0001:0000:0000:0000:0000:0000:0020", cidr: 128, af: 10 }],
          },
        ],
      },
    };
    const i = Interface.fromJSON(py);
    expect(String(i.route(4))).toBe("[192.168.1.20] -> [1.3.3.7]");
    expect(i.route(6).ext()).toBe("2a00:1::20");
    expect(i.isDefault(4)).toBe(true);
    expect(i.isDefault(6)).toBe(false);
    expect(i.nat.range).toEqual([1, 65535]);
    // On Windows the link-local zone is the index (nic_no), whoever wrote the JSON.
    const win = Interface.fromJSON({ ...py, nic_no: 7 }, { platform: "win32" });
    expect(win.scopeId).toBe("7");
    expect(win.route(6).bind(0, "fe80::1").nicBind().scopeId).toBe("7");
    // Windows' AF_INET6 = 23
    expect(Interface.fromJSON({ ...py, rp: { "23": py.rp["10"] } }).stack).toBe(6);
  });

  test("toPythonDict: P2PD's shape (AF 2/10 keys, exploded IPv6), readable back", async () => {
    const i = await Interface.start(undefined, { provider, resolveExternalIp: resolver });
    const py = i.toPythonDict() as {
      rp: Record<string, { nic_ips: { ip: string; af: number }[] }[]>;
    };
    expect(Object.keys(py.rp).sort()).toEqual(["10", "2"]);
    expect(py.rp["10"]?.[0]?.nic_ips[0]).toEqual({
      ip: "2a00:0001:0000:0000:0000:0000:0000:0020",
      cidr: 128,
      af: 10,
    });
    expect(py).toMatchObject({ name: "eth0", nic_no: 2, is_default: { "2": true, "10": true } });
    const back = Interface.fromJSON(py);
    expect(String(back.route(4))).toBe(String(i.route(4)));
    expect(String(back.route(6))).toBe(String(i.route(6)));
    expect(Object.keys((i.toPythonDict(23) as { rp: object }).rp).sort()).toEqual(["2", "23"]);
  });

  test.each([
    [null],
    [[]],
    ["eth0"],
    [{}],
    [{ name: "" }],
    [{ name: "x", rp: [] }],
    [{ name: "x", rp: { "7": [] } }],
    [{ name: "x", rp: { "4": {} } }],
    [{ name: "x", rp: { "4": [{ af: 6 }] } }],
    [{ name: "x", nat: { type: 99 } }],
    [{ name: "x", mtu: -1 }],
    [{ name: "x", mac: 5 }],
  ])("rejects %j with ERR_BAD_JSON", (j) => {
    expect(() => Interface.fromJSON(j)).toThrow(expect.objectContaining({ code: "ERR_BAD_JSON" }));
  });
});

describe("this machine (real OS tables)", () => {
  test("listInterfaces matches os.networkInterfaces and the kernel's default route", async () => {
    const { networkInterfaces } = await import("node:os");
    const { readFileSync } = await import("node:fs");
    // Other tests on this host create and delete veth links at any time: compare only links that
    // exist before and after the listing (a vanished one has no /sys entry left to read).
    const before = new Set(Object.keys(networkInterfaces()));
    const list = await listInterfaces();
    const os = networkInterfaces();
    const mtuOf = (name: string) => {
      try {
        return Number(readFileSync(`/sys/class/net/${name}/mtu`, "utf8"));
      } catch {
        return undefined;
      }
    };
    for (const [name, addrs] of Object.entries(os)) {
      if (!before.has(name)) continue;
      const mine = list.find((l) => l.name === name);
      expect(mine, name).toBeDefined();
      for (const a of addrs ?? []) {
        expect(mine?.addresses.map((x) => x.address)).toContain(a.address.split("%")[0]);
      }
    }
    expect(list.some((l) => l.name === "lo")).toBe(true);
    for (const l of list) {
      const mtu = mtuOf(l.name);
      if (mtu !== undefined) expect(l.mtu).toBe(mtu);
    }
    // The kernel's own answer: the first default row of /proc/net/route.
    const row = readFileSync("/proc/net/route", "utf8")
      .split("\n")
      .slice(1)
      .map((l) => l.trim().split(/\s+/))
      .find((f) => f[1] === "00000000" && f[7] === "00000000");
    const d = await defaultRoutes();
    expect(d[4]?.interface).toBe(row?.[0]);
  });
});

describe("loadInterfaces and Route.fromBindAddress (fake provider)", () => {
  test("starts internet interfaces only, drops those without routes, applies loadNat", async () => {
    const { loadInterfaces, Route } = await import("../src/index.js");
    const got = await loadInterfaces({
      provider,
      resolveExternalIp: resolver,
      loadNat: async () => ({ type: 1, delta: { type: 1, value: 0 }, range: [1, 65535] }),
    });
    expect(got.map((i) => i.name).sort()).toEqual(["eth0", "wlan0"]);
    expect(got.every((i) => i.nat.type === 1)).toBe(true);
    const all = await loadInterfaces({
      provider,
      filter: "all",
      skipResolve: true,
      names: ["eth9", "eth0"],
    });
    expect(all.map((i) => i.name)).toEqual(["eth0"]);

    const eth0 = got.find((i) => i.name === "eth0") as Interface;
    const b = Route.fromBindAddress(eth0, "192.168.1.20", 8000);
    expect(String(b)).toBe("[192.168.1.20] -> [1.3.3.7]");
    expect(b.nicBind()).toEqual({ host: "192.168.1.20", port: 8000, family: 4 });
    const ll = Route.fromBindAddress(eth0, "fe80::20");
    expect(ll.nicBind()).toEqual({ host: "fe80::20", port: 0, family: 6, scopeId: "eth0" });
    expect(ll.ext()).toBe("2a00:1::20");
    expect(() => Route.fromBindAddress(eth0, "nope")).toThrow(
      expect.objectContaining({ code: "ERR_BAD_ADDRESS" }),
    );
  });
});
