import fc from "fast-check";
import { describe, expect, test } from "vitest";
import {
  type ChangeOutcome,
  classifyObservations,
  type Observations,
  type ServerObservation,
} from "../src/classify.js";
import { type Endpoint, NAT_TYPES } from "../src/types.js";

const ep = (host: string, port: number): Endpoint => ({ host, port, family: 4 });
const LOCAL = "10.0.0.2";
const EXT = "203.0.113.7";

interface Sim {
  /** mapped port seen by destination #i on the mapping socket (0 = P1, 1 = S1, 2 = P2, 3 = S2) */
  map: (dest: number) => Endpoint;
  filter: (server: number) => Endpoint;
  both: ChangeOutcome;
  port: ChangeOutcome;
}

function server(i: number, sim: Sim, rfc5780 = true): ServerObservation {
  const o: ServerObservation = {
    server: `198.51.100.10:${3478 + 10 * i}`,
    primary: ep("198.51.100.10", 3478 + 10 * i),
    filterMapped: sim.filter(i),
    mapPrimary: sim.map(2 * i),
  };
  if (rfc5780) {
    o.other = ep("198.51.100.11", 3479 + 10 * i);
    o.mapAlternate = sim.map(2 * i + 1);
    o.changeBoth = sim.both;
    o.changePort = sim.port;
  }
  return o;
}

function obs(sim: Sim, n = 2, rfc5780 = true): Observations {
  return {
    localAddresses: [LOCAL, "127.0.0.1"],
    mapLocalPort: 40000,
    servers: Array.from({ length: n }, (_, i) => server(i, sim, rfc5780)),
  };
}

const eim =
  (host = EXT, port = 40000) =>
  () =>
    ep(host, port);
const apdm = (d: number) => ep(EXT, 50000 + 7 * d);
const flt = (i: number) => ep(EXT, 41000 + i);
const openFlt = (i: number) => ep(LOCAL, 41000 + i);

describe("classifyObservations: the seven types", () => {
  test.each([
    [
      "open internet",
      { map: eim(LOCAL), filter: openFlt, both: "answered", port: "answered" },
      "open-internet",
    ],
    [
      "UDP firewall",
      { map: eim(LOCAL), filter: openFlt, both: "silent", port: "silent" },
      "udp-firewall",
    ],
    ["full cone", { map: eim(), filter: flt, both: "answered", port: "answered" }, "full-cone"],
    [
      "restricted cone",
      { map: eim(), filter: flt, both: "silent", port: "answered" },
      "restricted-cone",
    ],
    [
      "port restricted",
      { map: eim(), filter: flt, both: "silent", port: "silent" },
      "port-restricted-cone",
    ],
    ["symmetric", { map: apdm, filter: flt, both: "silent", port: "silent" }, "symmetric"],
  ] as const)("%s", (_n, sim, want) => {
    const r = classifyObservations(obs(sim as Sim));
    expect(r.type).toBe(want);
    expect(r.reason).toBeUndefined();
    expect(r.trusted).toHaveLength(2);
  });

  test("blocked: nobody answered", () => {
    const r = classifyObservations({
      localAddresses: [LOCAL],
      mapLocalPort: 1,
      servers: [{ server: "x:1", primary: ep("198.51.100.10", 3478) }],
    });
    expect(r.type).toBe("blocked");
    expect(r.ignored).toEqual([{ server: "x:1", why: "no answer" }]);
  });

  test("one RFC 5780 server is enough", () => {
    expect(
      classifyObservations(obs({ map: apdm, filter: flt, both: "silent", port: "silent" }, 1)).type,
    ).toBe("symmetric");
    expect(
      classifyObservations(obs({ map: eim(), filter: flt, both: "silent", port: "answered" }, 1))
        .type,
    ).toBe("restricted-cone");
  });

  test("the most permissive filtering verdict wins (a reply cannot pass a filter that blocks it)", () => {
    const o = obs({ map: eim(), filter: flt, both: "silent", port: "silent" });
    (o.servers[1] as ServerObservation).changeBoth = "answered";
    expect(classifyObservations(o).type).toBe("full-cone");
  });
});

describe("classifyObservations: bad and hostile networks", () => {
  const pr: Sim = { map: eim(), filter: flt, both: "silent", port: "silent" };

  test("no RFC 5780 server: mapping known, filtering not => unknown with a reason", () => {
    const r = classifyObservations(obs(pr, 2, false));
    expect(r.type).toBe("unknown");
    expect(r.reason).toMatch(/RFC 5780/);
  });

  test("no RFC 5780 and one server: cannot compare mappings", () => {
    const r = classifyObservations(obs(pr, 1, false));
    expect(r).toMatchObject({ type: "unknown", reason: expect.stringMatching(/cannot compare/) });
  });

  test("two plain servers seeing different ports could be one liar: unknown, not symmetric", () => {
    const r = classifyObservations(obs({ ...pr, map: apdm }, 2, false));
    expect(r.type).toBe("unknown");
    const three = classifyObservations(obs({ ...pr, map: apdm }, 3, false));
    expect(three.type).toBe("symmetric");
  });

  test("a server ignoring CHANGE-REQUEST is set aside", () => {
    const o = obs({ ...pr, both: "wrong-source", port: "wrong-source" }, 1);
    const r = classifyObservations(o);
    expect(r.type).toBe("unknown");
    expect(r.ignored[0]?.why).toMatch(/wrong address/);
    const o2 = obs(pr, 2);
    Object.assign(o2.servers[0] as ServerObservation, { changeBoth: "wrong-source" });
    expect(classifyObservations(o2).type).toBe("port-restricted-cone");
  });

  test("one server lying about the external IP: outvoted by two, unknown against one", () => {
    const o = obs(pr, 3);
    const liar = o.servers[2] as ServerObservation;
    liar.mapPrimary = liar.mapAlternate = liar.filterMapped = ep("192.0.2.66", 40000);
    const r = classifyObservations(o);
    expect(r.type).toBe("port-restricted-cone");
    expect(r.ignored.map((i) => i.server)).toEqual([liar.server]);
    expect(r.mapped.map((m) => m.host)).not.toContain("192.0.2.66");
    const two = classifyObservations({ ...o, servers: o.servers.slice(1) });
    expect(two.type).toBe("unknown");
    expect(two.reason).toMatch(/disagree about the external address/);
  });

  test("one server lying about the port: unknown with two servers, outvoted with three", () => {
    const o = obs(pr, 3);
    const liar = o.servers[0] as ServerObservation;
    liar.mapPrimary = ep(EXT, 1111);
    liar.mapAlternate = ep(EXT, 2222);
    expect(classifyObservations({ ...o, servers: o.servers.slice(0, 2) }).type).toBe("unknown");
    const r = classifyObservations(o);
    expect(r.type).toBe("port-restricted-cone");
    expect(r.ignored[0]).toMatchObject({ server: liar.server });
  });

  test("a liar faking EIM next to a symmetric NAT: unknown, never a cone type", () => {
    const o = obs({ ...pr, map: apdm }, 2);
    const liar = o.servers[1] as ServerObservation;
    liar.mapPrimary = liar.mapAlternate = ep(EXT, 40000);
    expect(classifyObservations(o).type).toBe("unknown");
  });

  test("fuzz: any observations give a valid answer and never throw", () => {
    const endpoint = fc.record({
      host: fc.constantFrom(LOCAL, EXT, "192.0.2.1", "2001:db8::1"),
      port: fc.integer({ min: 0, max: 65535 }),
      family: fc.constant(4 as const),
    });
    const outcome = fc.constantFrom<ChangeOutcome>("answered", "silent", "wrong-source");
    const srv = fc.record(
      {
        server: fc.string(),
        primary: endpoint,
        other: endpoint,
        filterMapped: endpoint,
        changeBoth: outcome,
        changePort: outcome,
        mapPrimary: endpoint,
        mapAlternate: endpoint,
      },
      { requiredKeys: ["server", "primary"] },
    );
    const valid = [...NAT_TYPES, "unknown"];
    fc.assert(
      fc.property(
        fc.array(srv, { maxLength: 5 }),
        fc.integer({ min: 0, max: 65535 }),
        (servers, port) => {
          const r = classifyObservations({ localAddresses: [LOCAL], mapLocalPort: port, servers });
          expect(valid).toContain(r.type);
          if (r.type === "unknown") expect(r.reason).toBeTruthy();
        },
      ),
    );
  });
});

describe("classifyObservations: one liar never produces a wrong type (property)", () => {
  type Truth = { mapping: "none" | "eim" | "apdm"; filter: "eif" | "adf" | "apdf" };
  const expected = (t: Truth) =>
    t.mapping === "apdm"
      ? "symmetric"
      : t.mapping === "none"
        ? t.filter === "eif"
          ? "open-internet"
          : "udp-firewall"
        : { eif: "full-cone", adf: "restricted-cone", apdf: "port-restricted-cone" }[t.filter];

  // What an honest RFC 5780 server reports for the truth; ports of an APDM NAT come from `seed`.
  const honest = (t: Truth, i: number, seed: number): ServerObservation => {
    const ext = t.mapping === "none" ? LOCAL : EXT;
    const map = (d: number) =>
      ep(
        ext,
        t.mapping === "none"
          ? 40000
          : t.mapping === "eim"
            ? 40000
            : 1024 + ((seed * 31 + d * 977) % 60000),
      );
    return {
      server: `h${i}`,
      primary: ep("198.51.100.10", 3478 + 10 * i),
      other: ep("198.51.100.11", 3479 + 10 * i),
      filterMapped: ep(ext, t.mapping === "none" ? 41000 + i : 41000 + i),
      mapPrimary: map(2 * i),
      mapAlternate: map(2 * i + 1),
      changeBoth: t.filter === "eif" ? "answered" : "silent",
      changePort: t.filter === "apdf" ? "silent" : "answered",
    };
  };
  const endpoint = fc.record({
    host: fc.constantFrom(LOCAL, EXT, "192.0.2.9"),
    port: fc.constantFrom(40000, 41000, 41002, 1111, 2222),
    family: fc.constant(4 as const),
  });
  const truth = fc.record({
    mapping: fc.constantFrom("none", "eim", "apdm"),
    filter: fc.constantFrom("eif", "adf", "apdf"),
  }) as fc.Arbitrary<Truth>;

  test("two or three honest servers plus one arbitrary liar: the truth or unknown", () => {
    fc.assert(
      fc.property(
        truth,
        fc.integer({ min: 1, max: 2 }),
        fc.integer({ min: 0, max: 1000 }),
        fc.record({ mapPrimary: endpoint, mapAlternate: endpoint, filterMapped: endpoint }),
        fc.constantFrom<ChangeOutcome>("answered", "silent", "wrong-source"),
        fc.constantFrom<ChangeOutcome>("answered", "silent", "wrong-source"),
        fc.integer({ min: 0, max: 3 }),
        (t, nHonest, seed, lies, both, port, pos) => {
          // The liar cannot make a reply pass a filter that blocks it: "answered" only where the truth allows.
          const allow = (o: ChangeOutcome, ok: boolean): ChangeOutcome =>
            o === "answered" && !ok ? "silent" : o;
          const liar: ServerObservation = {
            server: "liar",
            primary: ep("198.51.100.20", 3478),
            other: ep("198.51.100.21", 3479),
            ...lies,
            changeBoth: allow(both, t.filter === "eif"),
            changePort: allow(port, t.filter !== "apdf"),
          };
          const list = Array.from({ length: nHonest }, (_, i) => honest(t, i, seed));
          list.splice(pos % (list.length + 1), 0, liar);
          const r = classifyObservations({
            localAddresses: [LOCAL],
            mapLocalPort: 40000,
            servers: list,
          });
          expect(["unknown", expected(t)]).toContain(r.type);
        },
      ),
      { numRuns: 3000 },
    );
  });

  test("honest servers alone always give the truth", () => {
    fc.assert(
      fc.property(
        truth,
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 0, max: 1000 }),
        (t, n, seed) => {
          const list = Array.from({ length: n }, (_, i) => honest(t, i, seed));
          expect(
            classifyObservations({ localAddresses: [LOCAL], mapLocalPort: 40000, servers: list })
              .type,
          ).toBe(expected(t));
        },
      ),
    );
  });
});

describe("classifyObservations: trust", () => {
  test("when servers contradict each other nobody is trusted (no mapped addresses, so no delta)", () => {
    const o = obs({ map: eim(), filter: flt, both: "silent", port: "silent" }, 2);
    const liar = o.servers[1] as ServerObservation;
    liar.mapPrimary = liar.mapAlternate = liar.filterMapped = ep("192.0.2.66", 40000);
    const r = classifyObservations(o);
    expect(r).toMatchObject({ type: "unknown", trusted: [], mapped: [] });
    const o2 = obs({ map: eim(), filter: flt, both: "silent", port: "silent" }, 2);
    (o2.servers[1] as ServerObservation).mapAlternate = ep(EXT, 1);
    expect(classifyObservations(o2)).toMatchObject({ type: "unknown", trusted: [] });
  });
});
