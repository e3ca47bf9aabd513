import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { labUnavailable, type NodeLab, type Served, startNodeLab } from "./lab/harness.js";

const why = labUnavailable();
let nl: NodeLab;
const serve = (host: string) => nl.serve(host);
const connectFrom = (host: string, addr: string, extra: string[] = []) =>
  nl.connectFrom(host, addr, extra);

describe.skipIf(why !== undefined)("P2P node in the NAT lab (natlab, prefix nd-)", () => {
  let lab: NodeLab["lab"];
  let a1: Served;
  let b1: Served;
  let c1: Served;

  beforeAll(async () => {
    nl = await startNodeLab({
      scenarios: [
        "a=open",
        "b=port-restricted,hosts=2",
        "c=port-restricted",
        "d=symmetric",
        "e=symmetric-sequential",
        "f=cgnat",
      ],
      prefix: "nd-",
      state: "/tmp/natlab-nd",
      outDir: "dist",
    });
    lab = nl.lab;
    [a1, b1, c1] = await Promise.all([serve("a1"), serve("b1"), serve("c1")]);
  }, 180_000);

  afterAll(async () => {
    await nl?.stop();
  }, 60_000);

  test("NAT tests ran in the lab: a1 open, b1 port-restricted, external IPs filled in", () => {
    expect(a1.nat?.type).toBe(1);
    expect(b1.nat?.type).toBe(5);
    expect(b1.addr).toContain(lab.host("b1").publicIp4);
  });

  test("direct connect from a NATed host to an open host (IPv4)", async () => {
    const r = await connectFrom("b2", a1.addr, ["--family", "4"]);
    expect(r).toMatchObject({ strategy: "direct", echo: true });
    expect(r.peer.host).toBe(lab.host("a1").ip4);
  }, 60_000);

  test("direct connect over IPv6", async () => {
    const r = await connectFrom("b2", a1.addr, ["--family", "6"]);
    expect(r).toMatchObject({ strategy: "direct", echo: true });
    expect(r.peer.host).toBe(lab.host("a1").ip6);
  }, 60_000);

  test("reverse connect from an open host to a NATed host (direct is skipped)", async () => {
    const r = await connectFrom("a1", b1.addr, ["--family", "4"]);
    expect(r).toMatchObject({ strategy: "reverse", echo: true });
    expect(r.strategies[0]).toMatchObject({ strategy: "direct", skipped: true });
  }, 60_000);

  test("same LAN: b2 reaches b1 on its private address (no hairpin needed)", async () => {
    const r = await connectFrom("b2", b1.addr, ["--family", "4"]);
    expect(r).toMatchObject({ strategy: "direct", echo: true });
    expect(r.peer.host).toBe(lab.host("b1").ip4);
  }, 60_000);

  test.each(["tcp-punch", "udp-punch"])(
    "%s between two port-restricted NATs (b2 -> c1)",
    async (strategy) => {
      const r = await connectFrom("b2", c1.addr, ["--family", "4", "--strategies", strategy]);
      expect(r).toMatchObject({ strategy, echo: true });
      // The hole goes to c's public address (its NAT), not to c1's private one.
      expect(r.peer.host).toBe(lab.host("c1").publicIp4);
    },
    60_000,
  );

  test("default order between NATed hosts: direct and reverse skipped, a punch wins (TCP and UDP start together)", async () => {
    const r = await connectFrom("b2", c1.addr, ["--family", "4"]);
    expect(r).toMatchObject({ echo: true });
    expect(["tcp-punch", "udp-punch"]).toContain(r.strategy);
    expect(r.strategies.slice(0, 2)).toEqual([
      expect.objectContaining({ strategy: "direct", skipped: true }),
      expect.objectContaining({ strategy: "reverse", skipped: true }),
    ]);
  }, 60_000);

  test("turn relay from a symmetric NAT (d1 -> c1) through coturn", async () => {
    const r = await connectFrom("d1", c1.addr, ["--family", "4", "--strategies", "turn"]);
    expect(r, JSON.stringify(r)).toMatchObject({ strategy: "turn", echo: true });
    expect(r.peer.host).toBe(lab.info.pub.ip4);
  }, 60_000);

  test.each(["tcp-punch", "udp-punch"])(
    "%s from a symmetric NAT with sequential ports: predicted ports (e1 -> c1)",
    async (strategy) => {
      // The NAT test saw a symmetric NAT whose ports step by +1 (delta type 4 "independent"),
      // so e1 advertises the next predicted mappings instead of the one it saw.
      const e1 = await serve("e1");
      expect(e1.nat).toMatchObject({ type: 6, delta: { type: 4, value: 1 } });
      const r = await connectFrom("e1", c1.addr, ["--family", "4", "--strategies", strategy]);
      expect(r, JSON.stringify(r)).toMatchObject({ strategy, echo: true });
    },
    60_000,
  );

  test("udp-punch from a random symmetric NAT to a port-restricted one: birthday probing (d1 -> c1)", async () => {
    const r = await connectFrom("d1", c1.addr, ["--family", "4", "--strategies", "udp-punch"]);
    expect(r, JSON.stringify(r)).toMatchObject({ strategy: "udp-punch", echo: true });
  }, 60_000);

  test("default order from a random symmetric NAT: only udp-punch can work, and does", async () => {
    const r = await connectFrom("d1", c1.addr, ["--family", "4"]);
    expect(r, JSON.stringify(r)).toMatchObject({ strategy: "udp-punch", echo: true });
    expect(r.strategies.slice(0, 3)).toEqual([
      expect.objectContaining({ strategy: "direct", skipped: true }),
      expect.objectContaining({ strategy: "reverse", skipped: true }),
      expect.objectContaining({ strategy: "tcp-punch", skipped: true }),
    ]);
  }, 60_000);

  test("reverse connect over IPv6 (the NATed side's firewall lets its own outbound dial through)", async () => {
    const r = await connectFrom("a1", b1.addr, ["--family", "6", "--strategies", "reverse"]);
    expect(r, JSON.stringify(r)).toMatchObject({ strategy: "reverse", echo: true });
    expect(r.peer.host).toBe(lab.host("b1").ip6);
  }, 60_000);

  test.each(["udp-punch", "tcp-punch"])(
    "%s from behind a carrier-grade NAT (double NAT, f1 -> c1)",
    async (strategy) => {
      const r = await connectFrom("f1", c1.addr, ["--family", "4", "--strategies", strategy]);
      expect(r, JSON.stringify(r)).toMatchObject({ strategy, echo: true });
    },
    60_000,
  );
});
