import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { bundleTraversal, canRunLab, Lab, NAT_OF } from "../../bench/connectivity-lib.mjs";

// Real NATs (labs/natlab: network namespaces + nftables, coturn, our rendezvous on the pub host):
// each trial runs two agents in two NATed namespaces that punch with the traversal primitives and
// prove the pipe with a hello both ways.
const skip = canRunLab();
const SCENARIO = [
  "a=port-restricted",
  "b=port-restricted,hosts=2",
  "c=symmetric",
  "d=symmetric-sequential",
  "e=full-cone",
  "f=symmetric",
  "g=symmetric-sequential",
];

describe.skipIf(skip !== undefined)(
  `traversal in the NAT lab${skip ? ` (skipped: ${skip})` : ""}`,
  () => {
    const lab = new Lab("tr-", "/tmp/natlab-tr");
    let lib = "";
    let n = 0;
    beforeAll(async () => {
      lib = bundleTraversal();
      lab.up(SCENARIO);
      await lab.startRendezvous();
    }, 90_000);
    afterAll(() => lab.down(), 30_000);

    async function trial(a: string, b: string, strategy: string) {
      const natA = NAT_OF[lab.hostNat(a)];
      const natB = NAT_OF[lab.hostNat(b)];
      if (!natA || !natB) throw new Error(`unknown lab NAT for ${a}/${b}`);
      const r = await lab.trial({
        lib,
        a,
        b,
        natA,
        natB,
        strategy,
        room: `t${process.pid}-${n++}`,
        sameLan: a[0] === b[0],
      });
      if (!r.ok) console.error(JSON.stringify(r, null, 1));
      return r;
    }

    const cases: Array<[string, string, string, string]> = [
      ["TCP", "port-restricted <-> port-restricted", "a1 b1", "tcp-punch"],
      ["TCP", "full-cone <-> symmetric", "e1 c1", "tcp-punch"],
      ["TCP", "symmetric <-> full-cone", "c1 e1", "tcp-punch"],
      ["TCP", "sequential <-> port-restricted (predicted ports)", "d1 a1", "tcp-punch"],
      ["TCP", "sequential <-> sequential (both predicted, selection byte)", "d1 g1", "tcp-punch"],
      ["UDP", "port-restricted <-> port-restricted", "a1 b1", "udp-punch"],
      ["UDP", "port-restricted <-> sequential (predicted ports)", "a1 d1", "udp-punch"],
      ["UDP", "full-cone <-> symmetric", "e1 c1", "udp-punch"],
      ["UDP", "birthday: symmetric (random) <-> port-restricted", "c1 a1", "udp-punch"],
    ];
    for (const [proto, what, hosts, strategy] of cases) {
      test(`${proto} punch ${what}`, async () => {
        const [a = "", b = ""] = hosts.split(" ");
        const r = await trial(a, b, strategy);
        expect(r.ok).toBe(true);
        expect(r.a.strategy).toBe(strategy);
        expect(r.b.strategy).toBe(strategy);
        // Both ends saw the NATed public addresses, not their LAN ones.
        expect(r.a.tried[0]?.ok).toBe(true);
      }, 30_000);
    }

    test("symmetric <-> symmetric: planned as TURN only, and coturn carries it", async () => {
      const r = await trial("c1", "f1", "all");
      expect(r.a.plan).toEqual(["turn"]);
      expect(r.ok).toBe(true);
      expect(r.a.strategy).toBe("turn");
    }, 30_000);

    test("symmetric <-> symmetric: a plain UDP punch really fails (ERR_PUNCH_TIMEOUT)", async () => {
      const r = await trial("c1", "f1", "udp-punch");
      expect(r.ok).toBe(false);
      expect(r.a.tried[0]?.code).toBe("ERR_PUNCH_TIMEOUT");
    }, 30_000);

    test("same LAN behind one router (no hairpin): the plan goes direct over LAN addresses", async () => {
      const r = await trial("b1", "b2", "all");
      expect(r.ok).toBe(true);
      expect(r.a.strategy).toBe("direct");
    }, 30_000);
  },
);
