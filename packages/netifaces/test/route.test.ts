import { createSocket } from "node:dgram";
import { createServer } from "node:net";
import { networkInterfaces } from "node:os";
import { describe, expect, test } from "vitest";
import { IPRange, P2pdNetError, Route, RoutePool } from "../src/index.js";

const r4 = () =>
  new Route({
    family: 4,
    nicIps: [IPRange.from("127.0.0.1")],
    extIps: [IPRange.from("198.51.100.7")],
  });

// A real link-local on this machine, if any (the sandbox has fe80::…%eth0).
const ll = Object.entries(networkInterfaces())
  .flatMap(([name, list]) => (list ?? []).map((a) => ({ name, ...a })))
  .find((a) => a.family === "IPv6" && a.address.startsWith("fe80"));

describe("Route", () => {
  test("implements RouteLike: nicBind/loopbackBind/setBindPort", () => {
    const r = r4().bind(4321);
    expect(r.nicBind()).toEqual({ host: "127.0.0.1", port: 4321, family: 4 });
    expect(r.extBind()).toEqual({ host: "198.51.100.7", port: 4321, family: 4 });
    expect(r.loopbackBind()).toEqual({ host: "127.0.0.1", port: 4321, family: 4 });
    r.setBindPort(5000);
    expect(r.nicBind().port).toBe(5000);
  });

  test("bind(port, ips): wildcard, explicit IP, per-family map; IPs are not sticky", () => {
    const r = r4();
    expect(r.bind(0, "*").nicBind().host).toBe("0.0.0.0");
    expect(r.bind(0, "").extBind()?.host).toBe("0.0.0.0");
    expect(r.bind(0, { 4: "127.0.0.2", 6: "::1" }).nicBind().host).toBe("127.0.0.2");
    expect(r.bind(7).nicBind()).toEqual({ host: "127.0.0.1", port: 7, family: 4 });
    const v6 = new Route({
      family: 6,
      nicIps: [IPRange.from("fd00::2")],
      linkLocals: ["fe80::1"],
      scopeId: "eth0",
    });
    expect(v6.bind(0, "*").nicBind().host).toBe("::");
  });

  test("bind rejects bad ports, bad IPs and the wrong family with typed errors", () => {
    const r = r4();
    for (const [f, code] of [
      [() => r.bind(70000), "ERR_BAD_PORT"],
      [() => r.bind(-1), "ERR_BAD_PORT"],
      [() => r.bind(1.5), "ERR_BAD_PORT"],
      [() => r.bind(0, "::1"), "ERR_FAMILY_MISMATCH"],
      [() => r.bind(0, { 6: "::1" }), "ERR_FAMILY_MISMATCH"],
      [() => r.bind(0, "nope"), "ERR_BAD_ADDRESS"],
    ] as const) {
      expect(f).toThrow(P2pdNetError);
      try {
        f();
      } catch (e) {
        expect((e as P2pdNetError).code).toBe(code);
      }
    }
  });

  test("only fe80::/10 binds carry the zone (the interface name on Unix)", () => {
    const r = new Route({
      family: 6,
      nicIps: [IPRange.from("fd00::2")],
      linkLocals: ["fe80::1"],
      scopeId: "eth0",
    });
    expect(r.nicBind()).toEqual({ host: "fd00::2", port: 0, family: 6 });
    expect(r.bind(0, "fe80::1").nicBind()).toEqual({
      host: "fe80::1",
      port: 0,
      family: 6,
      scopeId: "eth0",
    });
    expect(r.bind(0, "fe80::1%lo").nicBind().scopeId).toBe("lo");
    const only = new Route({ family: 6, nicIps: [], linkLocals: ["fe80::9"], scopeId: "7" });
    expect(only.nicBind()).toEqual({ host: "fe80::9", port: 0, family: 6, scopeId: "7" });
  });

  test("a route without NIC addresses has no bind: ERR_NO_ROUTE", () => {
    const r = new Route({ family: 4, nicIps: [] });
    expect(() => r.nicBind()).toThrow(expect.objectContaining({ code: "ERR_NO_ROUTE" }));
  });

  test("copies keep bind state but are independent", () => {
    const a = r4().bind(1234, "127.0.0.3");
    const b = a.copy();
    b.setBindPort(99);
    expect(a.nicBind()).toEqual({ host: "127.0.0.3", port: 1234, family: 4 });
    expect(b.nicBind()).toEqual({ host: "127.0.0.3", port: 99, family: 4 });
  });

  test("JSON round trip keeps link-locals (P2PD lost them); Python af ints accepted", () => {
    const r = new Route({
      family: 6,
      nicIps: [IPRange.from("2a00:1::2")],
      extIps: [IPRange.from("2a00:1::2")],
      linkLocals: ["fe80::1"],
    });
    const back = Route.fromJSON(JSON.parse(JSON.stringify(r)));
    expect(back.toJSON()).toEqual(r.toJSON());
    const py = Route.fromJSON({
      af: 10,
      nic_ips: [{ ip: "2a00:0001:0000:0000:0000:0000:0000:0002", cidr: 128, af: 10 }],
      ext_ips: [{ ip: "2a00:0001:0000:0000:0000:0000:0000:0002", cidr: 128, af: 10 }],
    });
    expect(py.family).toBe(6);
    expect(py.nic()).toBe("2a00:1::2");
    expect(() => Route.fromJSON({ af: 2, nic_ips: [{ ip: "::1", cidr: 128, af: 10 }] })).toThrow(
      expect.objectContaining({ code: "ERR_BAD_JSON" }),
    );
    expect(() => Route.fromJSON({ af: 99 })).toThrow(
      expect.objectContaining({ code: "ERR_BAD_JSON" }),
    );
  });

  test("a route's nicBind is accepted by real TCP and UDP sockets (loopback)", async () => {
    const r = r4().bind(0);
    const server = createServer();
    const e = r.nicBind();
    await new Promise<void>((res) => server.listen(e.port, e.host, res));
    const addr = server.address();
    if (typeof addr !== "object" || !addr) throw new Error("no address");
    r.setBindPort(addr.port);
    expect(r.nicBind()).toEqual({ host: "127.0.0.1", port: addr.port, family: 4 });
    await new Promise<void>((res) => server.close(() => res()));
    const sock = createSocket("udp4");
    await new Promise<void>((res) => sock.bind(0, r.bind(0).nicBind().host, res));
    expect(sock.address().address).toBe("127.0.0.1");
    sock.close();
  });

  test.skipIf(!ll)("a link-local bind with the zone works for a UDP round trip", async () => {
    if (!ll) return;
    const r = new Route({
      family: 6,
      nicIps: [],
      linkLocals: [ll.address.split("%")[0] as string],
      scopeId: ll.name,
    });
    const e = r.nicBind();
    const host = `${e.host}%${e.scopeId}`;
    const a = createSocket("udp6");
    const b = createSocket("udp6");
    await new Promise<void>((res) => a.bind(0, host, res));
    await new Promise<void>((res) => b.bind(0, host, res));
    const got = new Promise<{ msg: string; from: string }>((res) =>
      b.once("message", (m, rinfo) => res({ msg: m.toString(), from: rinfo.address })),
    );
    a.send("hi", b.address().port, host);
    const m = await got;
    expect(m.msg).toBe("hi");
    expect(m.from.split("%")[0]).toBe(e.host);
    a.close();
    b.close();
  });
});

describe("RoutePool", () => {
  test("walks WAN hosts across routes, bigint-sized", () => {
    const pool = new RoutePool(4, [
      new Route({
        family: 4,
        nicIps: [IPRange.from("10.0.0.2")],
        extIps: [IPRange.from("1.3.3.7")],
      }),
      new Route({
        family: 4,
        nicIps: [IPRange.network("8.8.0.0/30")],
        extIps: [IPRange.network("8.8.0.0/30")],
      }),
    ]);
    expect(pool.size).toBe(5n);
    expect(pool.at(0)?.ext()).toBe("1.3.3.7");
    expect(pool.at(2)?.extIps[0]?.ip).toBe("8.8.0.1");
    expect(pool.at(-1)?.extIps[0]?.ip).toBe("8.8.0.3");
    expect(pool.at(5)).toBeUndefined();
    expect([...pool.wanHosts()].map((r) => r.extIps[0]?.ip)).toEqual([
      "1.3.3.7",
      "8.8.0.0",
      "8.8.0.1",
      "8.8.0.2",
      "8.8.0.3",
    ]);
    expect(pool.locate("8.8.0.2")?.nicIps[0]?.toString()).toBe("8.8.0.0/30");
    const big = new RoutePool(6, [
      new Route({
        family: 6,
        nicIps: [IPRange.network("2a00:1::/64")],
        extIps: [IPRange.network("2a00:1::/64")],
      }),
    ]);
    expect(big.size).toBe(1n << 64n);
    expect(big.at((1n << 64n) - 1n)?.extIps[0]?.ip).toBe("2a00:1::ffff:ffff:ffff:ffff");
  });
});
