// The mapper's own logic, apart from any gateway: fallback order and the error it reports,
// argument checks, the reboot (epoch) check, and lease renewal bookkeeping.
import { describe, expect, test } from "vitest";
import { EpochWatch } from "../../src/portmap/epoch.js";
import {
  DoubleNatError,
  PortMapNoGatewayError,
  PortMapRefusedError,
  PortMapTimeoutError,
} from "../../src/portmap/index.js";
import { type Held, keyOf, Leases } from "../../src/portmap/lease.js";
import type { Grant, MapMethod } from "../../src/portmap/methods/method.js";
import { checkFamily, fallback, pickError } from "../../src/portmap/request.js";
import type { PortMapMethod, PortMapping } from "../../src/portmap/types.js";

const never = new AbortController().signal;
const named = (...names: PortMapMethod[]) => names.map((name) => ({ name }));

describe("fallback", () => {
  test("tries in order and stops at the first success", async () => {
    const tried: string[] = [];
    const got = await fallback(
      named("pcp", "natpmp", "upnp"),
      never,
      undefined,
      undefined,
      async (m) => {
        tried.push(m.name);
        if (m.name === "pcp") throw new PortMapTimeoutError("pcp: silent");
        return m.name;
      },
    );
    expect([got, tried]).toEqual(["natpmp", ["pcp", "natpmp"]]);
  });

  test("all failed: the most telling error (refused beats timeout), every message, the causes", async () => {
    const lines: string[] = [];
    const e = await fallback(
      named("pcp", "upnp"),
      never,
      undefined,
      (l) => lines.push(l),
      async (m) => {
        throw m.name === "pcp"
          ? new PortMapTimeoutError("PCP map: no answer")
          : new PortMapRefusedError("UPnP: 718 ConflictInMappingEntry", 718);
      },
    ).catch((x) => x);
    expect(e).toBeInstanceOf(PortMapRefusedError);
    expect(e).toMatchObject({
      code: "ERR_PORTMAP_REFUSED",
      gatewayCode: 718,
      message: "PCP map: no answer; UPnP: 718 ConflictInMappingEntry",
    });
    expect((e as Error).cause).toHaveLength(2);
    expect(lines).toEqual(["pcp: PCP map: no answer", "upnp: UPnP: 718 ConflictInMappingEntry"]);
  });

  test("DoubleNatError and foreign errors end it at once; an abort surfaces the caller's reason", async () => {
    for (const thrown of [new DoubleNatError("10.0.0.1", "private"), new TypeError("bug")]) {
      const tried: string[] = [];
      await expect(
        fallback(named("pcp", "natpmp"), never, undefined, undefined, async (m) => {
          tried.push(m.name);
          throw thrown;
        }),
      ).rejects.toBe(thrown);
      expect(tried).toEqual(["pcp"]);
    }
    const ac = new AbortController();
    ac.abort(new Error("user gave up"));
    await expect(
      fallback(named("pcp"), ac.signal, ac.signal, undefined, async () => {
        throw new PortMapTimeoutError("x");
      }),
    ).rejects.toThrow("user gave up");
  });

  test("no method at all: ERR_PORTMAP_NO_GATEWAY naming the order", () => {
    const e = pickError([], ["upnp", "natpmp"]);
    expect(e).toBeInstanceOf(PortMapNoGatewayError);
    expect(e.message).toContain("upnp, natpmp");
  });

  test("a family is 4 or 6", () => {
    expect([checkFamily(undefined), checkFamily(4), checkFamily(6)]).toEqual([undefined, 4, 6]);
    expect(() => checkFamily(5)).toThrow(
      expect.objectContaining({ code: "ERR_PORTMAP_BAD_ARGUMENT" }),
    );
  });
});

describe("epoch check (RFC 6886 §3.6)", () => {
  test("an epoch that keeps pace is fine; one that fell behind is a reboot", () => {
    const w = new EpochWatch();
    expect(w.saw("gw", 1000, 0)).toBeUndefined(); // first sighting
    expect(w.saw("gw", 1010, 10_000)).toBeUndefined();
    expect(w.saw("gw", 1017, 20_000)).toBeUndefined(); // a slower clock: 7/8 of the time, less 2 s
    expect(w.saw("other", 5, 20_000)).toBeUndefined(); // per gateway
    expect(w.saw("gw", 3, 21_000)).toBe(1017);
    expect(w.saw("gw", 4, 22_000)).toBeUndefined(); // the new epoch is the reference now
  });
});

/** A method whose map() answers when the test says so. */
function slowMethod() {
  const pending: ((g: Grant) => void)[] = [];
  const m: MapMethod = {
    name: "natpmp",
    supports: () => true,
    map: (t) =>
      new Promise<Grant>((resolve) =>
        pending.push((g) => resolve({ ...g, external: { ...g.external, port: t.externalPort } })),
      ),
    unmap: async () => ({ ip: "", port: 0 }),
  };
  return { m, pending };
}

const mapping = (lifetimeS: number): PortMapping => ({
  method: "natpmp",
  protocol: "udp",
  internal: { ip: "192.168.1.10", port: 5000 },
  external: { ip: "11.11.11.1", port: 6000 },
  lifetime: lifetimeS,
  expiresAt: Date.now() + lifetimeS * 1000,
  gateway: "192.168.1.1",
  reachable: true,
  renewals: 0,
});

const held = (lifetimeS: number): Held => ({
  mapping: mapping(lifetimeS),
  target: { port: 5000, proto: "udp", family: 4, externalPort: 6000, lifetime: lifetimeS },
});

const until = async (ok: () => boolean, ms = 3000): Promise<void> => {
  for (const end = Date.now() + ms; !ok(); await new Promise((r) => setTimeout(r, 20)))
    if (Date.now() > end) throw new Error("timed out");
};

describe("leases", () => {
  const methods = (m: MapMethod) => ({ pcp: m, natpmp: m, upnp: m, "upnp-pinhole": m });

  test("renewed at half the lease: lifetime, expiry and count updated, onChange told", async () => {
    const { m, pending } = slowMethod();
    const events: [string, number][] = [];
    const leases = new Leases({
      methods: methods(m),
      signal: never,
      onChange: (x, event) => events.push([event, x.renewals]),
    });
    leases.hold(held(1));
    await until(() => pending.length === 1); // at ~500 ms
    pending[0]?.({ ...mapping(30), lifetime: 30 });
    await until(() => events.length === 1);
    expect(events).toEqual([["renewed", 1]]);
    expect(leases.list()[0]).toMatchObject({ lifetime: 30, renewals: 1 });
    expect((leases.list()[0]?.expiresAt ?? 0) - Date.now()).toBeGreaterThan(29_000);
    leases.close();
  });

  test("a mapping removed while its renewal is on the way is not renewed again", async () => {
    const { m, pending } = slowMethod();
    const events: string[] = [];
    const leases = new Leases({
      methods: methods(m),
      signal: never,
      onChange: (_x, event) => events.push(event),
    });
    const h = held(1);
    leases.hold(h);
    await until(() => pending.length === 1);
    expect(leases.drop([keyOf(h.target)])).toBe(h);
    pending[0]?.({ ...mapping(1), lifetime: 1 });
    await new Promise((r) => setTimeout(r, 1200)); // another renewal would be due by now
    expect([pending.length, events, leases.list()]).toEqual([1, [], []]);
  });

  test("renewNow re-makes at once only the mappings on that gateway; close() stops everything", async () => {
    const { m, pending } = slowMethod();
    const leases = new Leases({ methods: methods(m), signal: never });
    const a = held(3600);
    const b: Held = {
      mapping: { ...mapping(3600), gateway: "192.168.2.1" },
      target: { ...a.target, port: 5001 },
    };
    leases.hold(a);
    leases.hold(b);
    leases.renewNow("192.168.1.1");
    await until(() => pending.length === 1);
    await new Promise((r) => setTimeout(r, 100));
    expect(pending).toHaveLength(1);
    expect(leases.close().map((h) => h.target.port)).toEqual([5000, 5001]);
    expect(leases.list()).toEqual([]);
  });
});
