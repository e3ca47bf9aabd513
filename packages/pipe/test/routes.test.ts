import { Address, Interface } from "@p2pd/netifaces";
import { describe, expect, test } from "vitest";
import { Daemon, pipeOpen } from "../src/index.js";

// Real @p2pd/netifaces routes of this machine. Only binds on NIC addresses; traffic stays on loopback.
describe("with @p2pd/netifaces routes", () => {
  test("a loopback destination binds the route's loopback side, and the route learns the port", async () => {
    const iface = await Interface.startLocal();
    const route = iface.route(4).bind(0);
    const server = await pipeOpen("udp", route);
    expect(server.local.host).toBe(route.nicBind().host); // NIC address, port chosen by the OS
    expect(route.nicBind().port).toBe(server.local.port);
    const echo = await pipeOpen("udp", { host: "127.0.0.1" }, undefined, {
      onMessage: (m) => m.pipe.send(m.data, m.from),
    });
    const client = await pipeOpen("udp", route, echo.local);
    expect(client.local.host).toBe("127.0.0.1");
    await client.send("via route");
    expect((await client.recv()).toString()).toBe("via route");
    await Promise.all([server.close(), echo.close(), client.close()]);
  });

  test("Daemon on an IPv6 route listens on its global and link-local addresses, same port", async (ctx) => {
    const iface = await Interface.startLocal();
    let route: ReturnType<typeof iface.route>;
    try {
      route = iface.route(6);
    } catch {
      ctx.skip();
      return;
    }
    if (!route.linkLocal() || route.nicBind().host.startsWith("fe80")) ctx.skip();
    const d = new Daemon();
    await d.listenAll(route, 0, ["tcp", "udp"], 6);
    try {
      expect(d.servers).toHaveLength(4);
      for (const proto of ["tcp", "udp"] as const) {
        const [g, ll] = d.servers.filter((s) => s.proto === proto);
        expect(g?.local.host).toBe(route.nicBind().host);
        expect(ll?.linkLocal).toBe(true);
        expect(ll?.local.host).toBe(route.linkLocal());
        expect(ll?.local.scopeId).toBe(route.interfaceName);
        expect(ll?.local.port).toBe(g?.local.port);
      }
    } finally {
      await d.close();
    }
  });

  test("a netifaces Address is a destination (its resolved ip is used)", async () => {
    const server = await pipeOpen("tcp", { host: "127.0.0.1" });
    const addr = await Address.resolve("localhost", server.local.port, { family: 4 });
    const client = await pipeOpen("tcp", undefined, addr);
    expect(client.remote).toMatchObject({ host: "127.0.0.1", port: server.local.port });
    await client.close();
    await server.close();
  });

  test("Daemon targets: an Interface gives one route per family, a RoutePool its routes", async () => {
    const iface = await Interface.startLocal();
    const d = new Daemon();
    await d.listenAll(iface, 0, "tcp", { family: 4, linkLocal: false });
    expect(d.servers.map((s) => s.local.host)).toEqual([iface.route(4).nicBind().host]);
    await d.close();
    const pool = iface.pools[4];
    await d.listenAll(pool, 0, "udp", { family: 4 });
    expect(d.servers.length).toBe(Math.min(10, pool.routes.length));
    expect(pool.routes[0]?.nicBind().port).toBe(0); // the caller's routes are never bound
    await d.close();
    await expect(
      d.listenAll(pool, 0, "udp", { family: 6, errorOnFamily: true }),
    ).rejects.toMatchObject({
      code: "ERR_FAMILY",
    });
  });
});
