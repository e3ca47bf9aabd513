import { createServer } from "node:net";
import { describe, expect, test } from "vitest";
import { endpointToString } from "../src/address.js";
import { Address, IPRange, type LookupFn, Route, splitHostPort } from "../src/index.js";

const v4route = new Route({ family: 4, nicIps: [IPRange.from("127.0.0.1")] });
const v6route = new Route({ family: 6, nicIps: [IPRange.from("::1")], scopeId: "eth0" });

/** Injected resolver for the failure paths, so no test ever queries a real DNS server. */
const fakeLookup =
  (table: Record<string, { address: string; family: number }[] | Error>, delayMs = 0): LookupFn =>
  async (host, opts) => {
    if (delayMs) await new Promise((r) => setTimeout(r, delayMs));
    const v = table[host];
    if (!v) throw Object.assign(new Error("not found"), { code: "ENOTFOUND" });
    if (v instanceof Error) throw v;
    return v.filter((x) => opts.family === 0 || x.family === opts.family);
  };

describe("Address", () => {
  test("IP literals: family, classification, link-local zone from the route", async () => {
    const a = await Address.resolve("127.0.0.1", 80);
    expect(a.toJSON()).toEqual({
      host: "127.0.0.1",
      ip: "127.0.0.1",
      port: 80,
      family: 4,
      hostType: "ip",
      ips: ["127.0.0.1"],
    });
    expect(a.isLoopback).toBe(true);
    expect(a.isPrivate).toBe(true);
    const l = await Address.resolve("fe80::1", 9, { route: v6route });
    expect(l.toEndpoint()).toEqual({ host: "fe80::1", port: 9, family: 6, scopeId: "eth0" });
    expect(l.toString()).toBe("[fe80::1%eth0]:9");
    const z = await Address.resolve("fe80::1%lo", 9);
    expect(z.scopeId).toBe("lo");
    expect((await Address.resolve("2606:4700::1111", 443)).isPublic).toBe(true);
  });

  test("family mismatch with the route is ERR_FAMILY_MISMATCH", async () => {
    await expect(Address.resolve("::1", 80, { route: v4route })).rejects.toMatchObject({
      code: "ERR_FAMILY_MISMATCH",
    });
    await expect(Address.resolve("127.0.0.1", 80, { family: 6 })).rejects.toMatchObject({
      code: "ERR_FAMILY_MISMATCH",
    });
  });

  test("bad hosts and ports are typed errors", async () => {
    await expect(Address.resolve("bad host!", 80)).rejects.toMatchObject({
      code: "ERR_BAD_ADDRESS",
    });
    await expect(Address.resolve("", 80)).rejects.toMatchObject({ code: "ERR_BAD_ADDRESS" });
    await expect(Address.resolve("127.0.0.1", 65536)).rejects.toMatchObject({
      code: "ERR_BAD_PORT",
    });
    await expect(Address.parse("127.0.0.1")).rejects.toMatchObject({ code: "ERR_BAD_PORT" });
    await expect(Address.parse("127.0.0.1:x")).rejects.toMatchObject({ code: "ERR_BAD_PORT" });
    await expect(Address.parse("[::1")).rejects.toMatchObject({ code: "ERR_BAD_ADDRESS" });
    await expect(Address.resolve("localhost", 1, { timeoutMs: -1 })).rejects.toMatchObject({
      code: "ERR_BAD_ARGUMENT",
    });
  });

  test("splitHostPort handles v4, names, bracketed v6 with zones, bare v6", () => {
    expect(splitHostPort("1.2.3.4:5")).toEqual({ host: "1.2.3.4", port: 5 });
    expect(splitHostPort("example.com:443")).toEqual({ host: "example.com", port: 443 });
    expect(splitHostPort("[fe80::1%eth0]:80")).toEqual({ host: "fe80::1%eth0", port: 80 });
    expect(splitHostPort("[::1]")).toEqual({ host: "::1" });
    expect(splitHostPort("::1")).toEqual({ host: "::1" });
    expect(endpointToString({ host: "fe80::1", port: 1, family: 6, scopeId: "eth0" })).toBe(
      "[fe80::1%eth0]:1",
    );
  });

  test("localhost resolves through the system resolver (/etc/hosts) per family", async () => {
    const a = await Address.parse("localhost:8080", { route: v4route });
    expect(a).toMatchObject({
      host: "localhost",
      ip: "127.0.0.1",
      port: 8080,
      family: 4,
      hostType: "domain",
    });
  });

  test("a resolved name connects: the literal IP goes to net.connect", async () => {
    const server = createServer((s) => s.end("ok"));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as { port: number }).port;
    const a = await Address.resolve("localhost", port, { family: 4 });
    const { connect } = await import("node:net");
    const got = await new Promise<string>((res, rej) => {
      const c = connect({ host: a.ip, port: a.port });
      let d = "";
      c.on("data", (x) => (d += x));
      c.on("end", () => res(d));
      c.on("error", rej);
    });
    expect(got).toBe("ok");
    server.close();
  });

  test("names: route family filters answers; order kept; no answer is ERR_DNS", async () => {
    const lookup = fakeLookup({
      "dual.test": [
        { address: "2001:db8::1", family: 6 },
        { address: "192.0.2.10", family: 4 },
        { address: "192.0.2.11", family: 4 },
      ],
      "v6only.test": [{ address: "2001:db8::2", family: 6 }],
      "broken.test": Object.assign(new Error("servfail"), { code: "ESERVFAIL" }),
    });
    const a = await Address.resolve("dual.test", 1, { route: v4route, lookup });
    expect(a.ip).toBe("192.0.2.10");
    expect(a.ips).toEqual(["192.0.2.10", "192.0.2.11"]);
    expect((await Address.resolve("dual.test", 1, { lookup })).family).toBe(6);
    await expect(
      Address.resolve("v6only.test", 1, { route: v4route, lookup }),
    ).rejects.toMatchObject({ code: "ERR_DNS" });
    await expect(Address.resolve("nx.test", 1, { lookup })).rejects.toMatchObject({
      code: "ERR_DNS",
    });
    await expect(Address.resolve("broken.test", 1, { lookup })).rejects.toMatchObject({
      code: "ERR_DNS",
      message: expect.stringContaining("ESERVFAIL"),
    });
  });

  test("DNS timeout and abort", async () => {
    const slow = fakeLookup({ "slow.test": [{ address: "192.0.2.1", family: 4 }] }, 2000);
    await expect(
      Address.resolve("slow.test", 1, { lookup: slow, timeoutMs: 20 }),
    ).rejects.toMatchObject({
      code: "ERR_DNS_TIMEOUT",
    });
    const ac = new AbortController();
    const p = Address.resolve("slow.test", 1, { lookup: slow, signal: ac.signal });
    ac.abort();
    await expect(p).rejects.toMatchObject({ code: "ERR_ABORTED" });
  });

  test("JSON round trip", async () => {
    const a = await Address.resolve("fe80::1", 9, { route: v6route });
    expect(Address.fromJSON(JSON.parse(JSON.stringify(a))).toJSON()).toEqual(a.toJSON());
    expect(() => Address.fromJSON({ ip: "x", port: 1 })).toThrow(
      expect.objectContaining({ code: "ERR_BAD_JSON" }),
    );
  });
});
