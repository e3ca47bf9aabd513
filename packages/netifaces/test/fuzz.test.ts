import { readFileSync } from "node:fs";
import { isIP } from "node:net";
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import {
  Address,
  formatIp,
  Interface,
  IPRange,
  P2pdNetError,
  parseIfconfig,
  parseIp,
  parseNetAdapterJson,
  parseNetRouteJson,
  parseNetstatRn,
  parseProcIpv6Route,
  parseProcNetRoute,
  parseRouteGetDefault,
  parseRoutePrint,
  Route,
  RoutePool,
  splitHostPort,
  tryParseIp,
} from "../src/index.js";

const fx = (n: string) => readFileSync(new URL(`./fixtures/${n}`, import.meta.url), "utf8");
// FUZZ_RUNS=20000 for a deeper soak; 400 keeps CI fast.
const RUNS = { numRuns: Number(process.env.FUZZ_RUNS ?? 400) };

/** Only typed errors may escape a decoder. */
function typedOrOk(f: () => unknown): void {
  try {
    f();
  } catch (e) {
    if (!(e instanceof P2pdNetError)) throw e;
  }
}

const ipChars = fc.string({
  unit: fc.constantFrom(..."0123456789abcdefABCDEF:.%[]/x "),
  maxLength: 50,
});
const v4 = fc.bigInt({ min: 0n, max: (1n << 32n) - 1n });
const v6 = fc.bigInt({ min: 0n, max: (1n << 128n) - 1n });

/** Mutates a fixture: drops, duplicates, swaps lines and flips characters. */
const mutated = (text: string) =>
  fc
    .array(fc.tuple(fc.nat(), fc.nat(), fc.constantFrom("drop", "dup", "flip", "cut")), {
      maxLength: 8,
    })
    .map((ops) => {
      const lines = text.split("\n");
      for (const [a, b, op] of ops) {
        const i = a % Math.max(1, lines.length);
        const line = lines[i] ?? "";
        if (op === "drop") lines.splice(i, 1);
        else if (op === "dup") lines.splice(i, 0, line);
        else if (op === "cut") lines[i] = line.slice(0, b % (line.length + 1));
        else
          lines[i] =
            line.slice(0, b % (line.length + 1)) +
            String.fromCharCode(33 + (b % 90)) +
            line.slice((b % (line.length + 1)) + 1);
      }
      return lines.join("\n");
    });

describe("fuzz: IP and CIDR parsing", () => {
  test("format/parse round trip for every IPv4 and IPv6 value", () => {
    fc.assert(
      fc.property(v4, (v) => parseIp(formatIp(4, v)).value === v),
      RUNS,
    );
    fc.assert(
      fc.property(v6, (v) => parseIp(formatIp(6, v)).value === v),
      RUNS,
    );
  });

  test("IPv6 text is canonical: equals the WHATWG URL serialisation (RFC 5952)", () => {
    fc.assert(
      fc.property(v6, (v) => {
        const s = formatIp(6, v);
        expect(new URL(`http://[${s}]/`).hostname).toBe(`[${s}]`);
      }),
      RUNS,
    );
  });

  test("agrees with node:net isIP on IP-ish strings and never throws", () => {
    fc.assert(
      fc.property(ipChars, (s) => {
        const mine = tryParseIp(s);
        if (!s.includes("%") && !s.includes("[") && s === s.trim()) {
          // node accepts zero-padded IPv4 octets; P2PD/Python reject them, as do we
          const nodeFamily = isIP(s);
          if (!/(^|[.:])0\d/.test(s)) expect(mine?.family ?? 0).toBe(nodeFamily);
        }
      }),
      { numRuns: 2000 },
    );
    fc.assert(
      fc.property(fc.ipV4(), (s) => tryParseIp(s)?.family === 4),
      RUNS,
    );
    fc.assert(
      fc.property(fc.ipV6(), (s) => tryParseIp(s)?.family === 6),
      RUNS,
    );
  });

  test("IPRange.from / contains / at never escape untyped errors; containment is consistent", () => {
    fc.assert(
      fc.property(ipChars, fc.option(fc.integer({ min: -2, max: 140 })), (s, p) => {
        typedOrOk(() => IPRange.from(s, p === null ? {} : { prefix: p }));
      }),
      RUNS,
    );
    fc.assert(
      fc.property(
        v6,
        fc.integer({ min: 0, max: 128 }),
        fc.bigInt({ min: 0n, max: (1n << 128n) - 1n }),
        (v, p, off) => {
          const r = IPRange.network(`${formatIp(6, v)}/${p}`);
          const host = r.at(off % r.size);
          expect(r.contains(host)).toBe(true);
          expect(IPRange.fromJSON(JSON.parse(JSON.stringify(r))).equals(r)).toBe(true);
        },
      ),
      RUNS,
    );
  });
});

describe("fuzz: route table parsers never throw", () => {
  const parsers: [string, string, (t: string) => unknown][] = [
    ["linux/route.txt", "proc route", (t) => parseProcNetRoute(t)],
    ["linux/ipv6_route.txt", "proc ipv6_route", (t) => parseProcIpv6Route(t)],
    ["darwin/netstat-rn.txt", "netstat", (t) => parseNetstatRn(t)],
    ["freebsd/netstat-rn.txt", "netstat bsd", (t) => parseNetstatRn(t)],
    ["darwin/ifconfig-a.txt", "ifconfig", (t) => parseIfconfig(t)],
    ["darwin/route-get-default.txt", "route get", (t) => parseRouteGetDefault(t, 4)],
    ["windows/route-print.txt", "route print", (t) => parseRoutePrint(t)],
    ["windows/get-netroute.json", "Get-NetRoute", (t) => parseNetRouteJson(t)],
    ["windows/get-netadapter.json", "Get-NetAdapter", (t) => parseNetAdapterJson(t)],
  ];
  for (const [file, name, parse] of parsers) {
    test(`${name}: mutated fixtures and random text`, () => {
      fc.assert(
        fc.property(mutated(fx(file)), (t) => void parse(t)),
        RUNS,
      );
      fc.assert(
        fc.property(fc.string({ maxLength: 300 }), (t) => void parse(t)),
        RUNS,
      );
    });
  }

  test("parsed routes are always well formed", () => {
    fc.assert(
      fc.property(
        mutated(fx("windows/route-print.txt")),
        mutated(fx("darwin/netstat-rn.txt")),
        (a, b) => {
          for (const r of [...parseRoutePrint(a).v4, ...parseNetstatRn(b)]) {
            expect(tryParseIp(r.destination)).toBeDefined();
            expect(r.prefix).toBeGreaterThanOrEqual(0);
            expect(r.prefix).toBeLessThanOrEqual(128);
          }
        },
      ),
      RUNS,
    );
  });
});

describe("fuzz: JSON decoders", () => {
  const sample = {
    name: "eth0",
    index: 2,
    id: 2,
    mac: "02:00:00:00:00:01",
    type: "ethernet",
    is_default: { "4": true, "6": false },
    gateways: { "4": "192.168.1.1" },
    nat: { type: 5, delta: { type: 6, value: 0 }, range: [1, 65535] },
    rp: {
      "4": [
        {
          af: 4,
          nic_ips: [{ ip: "192.168.1.20", cidr: 32, af: 4 }],
          ext_ips: [{ ip: "1.3.3.7", cidr: 32, af: 4 }],
          link_locals: [],
        },
      ],
      "6": [
        {
          af: 6,
          nic_ips: [{ ip: "2a00:1::2", cidr: 128, af: 6 }],
          ext_ips: [],
          link_locals: ["fe80::1"],
        },
      ],
    },
  };

  test("Interface.fromJSON: arbitrary JSON gives an Interface or ERR_BAD_JSON", () => {
    fc.assert(
      fc.property(fc.jsonValue(), (j) => {
        try {
          Interface.fromJSON(j);
        } catch (e) {
          expect((e as P2pdNetError).code).toBe("ERR_BAD_JSON");
        }
      }),
      RUNS,
    );
  });

  test("Interface.fromJSON: valid documents with one field replaced", () => {
    const paths = ["name", "index", "mac", "nat", "rp", "is_default", "rp.4", "rp.6", "nat.delta"];
    fc.assert(
      fc.property(fc.constantFrom(...paths), fc.jsonValue(), (path, v) => {
        const doc = structuredClone(sample) as Record<string, unknown>;
        const keys = path.split(".");
        let o = doc;
        for (const k of keys.slice(0, -1)) o = o[k] as Record<string, unknown>;
        o[keys.at(-1) as string] = v;
        try {
          const i = Interface.fromJSON(doc);
          expect(Interface.fromJSON(JSON.parse(JSON.stringify(i))).toJSON()).toEqual(i.toJSON());
        } catch (e) {
          expect((e as P2pdNetError).code).toBe("ERR_BAD_JSON");
        }
      }),
      RUNS,
    );
  });

  test("-0 from a decoder survives the round trip as 0 (found by the property above)", () => {
    const i = Interface.fromJSON({
      ...sample,
      index: -0,
      nat: { type: 5, delta: { type: 6, value: -0 } },
    });
    expect(Object.is(i.index, 0)).toBe(true);
    expect(Object.is(i.nat.delta.value, 0)).toBe(true);
  });

  test('a number field holding {toString: ""} is ERR_BAD_JSON, not a TypeError (found by the property above)', () => {
    const odd = { toString: "" };
    for (const doc of [
      { ...sample, index: odd },
      { ...sample, mtu: odd },
      { ...sample, nat: { type: odd, delta: { type: 1, value: 0 } } },
      { ...sample, nat: { type: 5, delta: { type: 6, value: odd } } },
    ]) {
      let code: string | undefined;
      try {
        Interface.fromJSON(doc);
      } catch (e) {
        code = (e as P2pdNetError).code;
      }
      expect(code).toBe("ERR_BAD_JSON");
    }
    expect(() => IPRange.fromJSON({ ip: "10.0.0.0", cidr: odd })).toThrow(
      expect.objectContaining({ code: "ERR_BAD_ADDRESS" }),
    );
  });

  test("Route.fromJSON and Address.fromJSON", () => {
    fc.assert(
      fc.property(fc.jsonValue(), (j) => {
        typedOrOk(() => Route.fromJSON(j));
        typedOrOk(() => Address.fromJSON(j));
        typedOrOk(() => IPRange.fromJSON(j));
      }),
      RUNS,
    );
  });
});

describe("fuzz: host:port, offsets, bind arguments", () => {
  test("splitHostPort: a host (and a valid port) or a typed error", () => {
    const hostish = fc.string({
      unit: fc.constantFrom(..."0123456789abcdef:.[]%-_ xyz"),
      maxLength: 40,
    });
    fc.assert(
      fc.property(fc.oneof(hostish, fc.string({ maxLength: 320 })), (s) => {
        typedOrOk(() => {
          const r = splitHostPort(s);
          expect(typeof r.host).toBe("string");
          if (r.port !== undefined) {
            expect(Number.isInteger(r.port) && r.port >= 0 && r.port <= 65535).toBe(true);
          }
        });
      }),
      RUNS,
    );
    typedOrOk(() => splitHostPort(42 as unknown as string));
  });

  test("Address.parse with a fake resolver: an Address or a typed error, never a query", async () => {
    const lookup = async () => [{ address: "192.0.2.10", family: 4 }];
    await fc.assert(
      fc.asyncProperty(fc.string({ maxLength: 60 }), async (s) => {
        try {
          const a = await Address.parse(s, { lookup, defaultPort: 1 });
          expect(tryParseIp(a.ip)).toBeDefined();
          expect(Address.fromJSON(JSON.parse(JSON.stringify(a))).toJSON()).toEqual(a.toJSON());
        } catch (e) {
          expect(e).toBeInstanceOf(P2pdNetError);
        }
      }),
      RUNS,
    );
  });

  test("IPRange.at and RoutePool.at: any offset is a host or ERR_BAD_ARGUMENT", () => {
    const offset = fc.oneof(
      fc.bigInt({ min: -(1n << 130n), max: 1n << 130n }),
      fc.double(),
      fc.integer(),
    );
    fc.assert(
      fc.property(v4, fc.integer({ min: 0, max: 32 }), offset, (v, p, off) => {
        const r = IPRange.network(`${formatIp(4, v)}/${p}`);
        const pool = new RoutePool(4, [new Route({ family: 4, nicIps: [r], extIps: [r] })]);
        typedOrOk(() => expect(r.contains(r.at(off))).toBe(true));
        typedOrOk(() => pool.at(off));
      }),
      RUNS,
    );
  });

  test("Route.bind: any port and ips give a bindable route or a typed error", () => {
    const route = new Route({ family: 6, nicIps: [IPRange.from("2001:db8::1")], scopeId: "eth0" });
    fc.assert(
      fc.property(
        fc.oneof(fc.integer({ min: -10, max: 70000 }), fc.double(), fc.constant(undefined)),
        fc.oneof(
          ipChars,
          fc.constantFrom("", "*", "fe80::1%eth0", "::1", "127.0.0.1"),
          fc.record({ 4: fc.option(ipChars), 6: fc.option(ipChars) }),
          fc.constant(undefined),
        ),
        (port, ips) => {
          typedOrOk(() => {
            const ep = route
              .copy()
              .bind(port, ips as never)
              .nicBind();
            expect(ep.family).toBe(6);
            expect(tryParseIp(ep.host)?.family).toBe(6);
          });
        },
      ),
      RUNS,
    );
  });
});
