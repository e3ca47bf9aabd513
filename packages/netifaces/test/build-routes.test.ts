import { describe, expect, test } from "vitest";
import {
  buildRoutes,
  type ExternalIpResolver,
  type LinkAddress,
  type P2pdNetError,
} from "../src/index.js";
import { P2pdError } from "../src/p2pd-error.js";

const v4 = (address: string, prefix = 24): LinkAddress => ({ family: 4, address, prefix });
const v6 = (address: string, prefix = 64): LinkAddress => ({ family: 6, address, prefix });

/** Resolver over a table "local address -> what the far side sees"; records its calls. */
function table(map: Record<string, string | Error>) {
  const calls: string[] = [];
  const fn: ExternalIpResolver = async ({ localAddress }) => {
    calls.push(localAddress);
    const v = map[localAddress];
    if (v === undefined || v instanceof Error)
      throw v ?? new Error(`no answer for ${localAddress}`);
    return v;
  };
  return { fn, calls };
}

describe("route grouping (P2PD get_routes)", () => {
  test("home host: private addresses share one lookup and become the default route", async () => {
    const r = table({ "192.168.1.20": "1.3.3.7" });
    const out = await buildRoutes({
      family: 4,
      addresses: [v4("192.168.1.20"), v4("10.0.0.5", 8)],
      resolveExternalIp: r.fn,
    });
    expect(r.calls).toEqual(["192.168.1.20"]);
    expect(out.routes.map(String)).toEqual(["[192.168.1.20, 10.0.0.5] -> [1.3.3.7]"]);
  });

  test("the docs' server example: NATed public-looking addresses join the default route, a routed block stands alone", async () => {
    const r = table({
      "192.168.0.20": "1.3.3.7",
      "7.7.7.7": "1.3.3.7",
      "193.168.0.1": "1.3.3.7",
      "8.8.0.1": "8.8.0.1",
    });
    const out = await buildRoutes({
      family: 4,
      addresses: [v4("192.168.0.20"), v4("193.168.0.0", 16), v4("7.7.7.7", 32), v4("8.8.0.0", 16)],
      resolveExternalIp: r.fn,
    });
    expect(out.routes.map(String)).toEqual([
      "[192.168.0.20, 193.168.0.0/16, 7.7.7.7] -> [1.3.3.7]",
      "[8.8.0.0/16] -> [8.8.0.0/16]",
    ]);
  });

  test("IPv6: global addresses map to themselves, link-locals sit aside, ULA groups like IPv4 private", async () => {
    const r = table({ "2a00:1::2": "2a00:1::2", "fd00::2": "2a00:1::99" });
    const out = await buildRoutes({
      family: 6,
      addresses: [v6("2a00:1::2"), v6("fd00::2"), v6("fe80::1"), v4("10.0.0.1")],
      resolveExternalIp: r.fn,
      interfaceName: "eth0",
      scopeId: "eth0",
    });
    expect(out.routes.map(String)).toEqual([
      "[fd00::2] -> [2a00:1::99]",
      "[2a00:1::2] -> [2a00:1::2]",
    ]);
    expect(out.linkLocals).toEqual(["fe80::1"]);
    expect(out.routes[1]?.linkLocals).toEqual(["fe80::1"]);
  });

  test("skipResolve takes public addresses as-is without lookups", async () => {
    const r = table({});
    const out = await buildRoutes({
      family: 4,
      addresses: [v4("5.5.5.5", 32)],
      resolveExternalIp: r.fn,
      skipResolve: true,
    });
    expect(r.calls).toEqual([]);
    expect(out.routes.map(String)).toEqual(["[5.5.5.5] -> [5.5.5.5]"]);
  });

  test("failed lookups are reported; no answer at all leaves the family empty", async () => {
    const r = table({ "10.0.0.5": new P2pdError("ERR_STUN_TIMEOUT", "t") });
    const out = await buildRoutes({
      family: 4,
      addresses: [v4("10.0.0.5")],
      resolveExternalIp: r.fn,
    });
    expect(out.routes).toEqual([]);
    expect((out.errors[0] as P2pdNetError).code).toBe("ERR_STUN_TIMEOUT");
  });

  test("a resolver answering garbage or the wrong family is an error, not a route", async () => {
    const out = await buildRoutes({
      family: 4,
      addresses: [v4("10.0.0.5")],
      resolveExternalIp: async () => "fd00::1",
    });
    expect(out.routes).toEqual([]);
    expect((out.errors[0] as P2pdNetError).code).toBe("ERR_BAD_ADDRESS");
  });

  test("aborting rejects even if the resolver ignores the signal", async () => {
    const ac = new AbortController();
    const p = buildRoutes({
      family: 4,
      addresses: [v4("10.0.0.5")],
      resolveExternalIp: () => new Promise(() => {}),
      signal: ac.signal,
    });
    ac.abort();
    await expect(p).rejects.toMatchObject({ code: "ERR_ABORTED" });
  });

  test("loopback and 0.0.0.0 never become routes", async () => {
    const r = table({});
    const out = await buildRoutes({
      family: 4,
      addresses: [v4("127.0.0.1", 8), v4("0.0.0.0", 0)],
      resolveExternalIp: r.fn,
    });
    expect(r.calls).toEqual([]);
    expect(out.routes).toEqual([]);
  });
});
