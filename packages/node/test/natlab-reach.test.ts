import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { labUnavailable, type NodeLab, startNodeLab } from "./lab/harness.js";

// Reachability of cone NATs and punch selection between predictable symmetric NATs, in a lab of
// its own (prefix nf2-) so it can run in parallel with natlab.test.ts.
const why = labUnavailable();

describe.skipIf(why !== undefined)("node reachability in the NAT lab (natlab, prefix nf2-)", () => {
  let nl: NodeLab;

  beforeAll(async () => {
    nl = await startNodeLab({
      scenarios: [
        "a=full-cone",
        "b=full-cone",
        "c=port-restricted",
        "e=symmetric-sequential",
        "f=symmetric-sequential",
      ],
      prefix: "nf2-",
      state: "/tmp/natlab-nf2",
      outDir: "dist-nf2",
    });
  }, 180_000);

  afterAll(async () => {
    await nl?.stop();
  }, 60_000);

  // A full cone forwards anything sent to a mapped port, but the node's listen port has no
  // mapping until a packet leaves from it: the node opens one with a STUN request over TCP from
  // its listen port, so direct (to it) and reverse (from it) work instead of falling through to
  // punching after their timeouts.
  test("full-cone -> full-cone: direct wins (the listen port's mapping is open)", async () => {
    const b1 = await nl.serve("b1");
    expect(b1.nat?.type).toBe(3);
    const r = await nl.connectFrom("a1", b1.addr, ["--family", "4"]);
    expect(r, JSON.stringify(r)).toMatchObject({ strategy: "direct", echo: true });
    expect(r.peer.host).toBe(nl.lab.host("b1").publicIp4);
    expect(r.strategies).toHaveLength(1);
  }, 60_000);

  test("port-restricted -> full-cone: direct wins", async () => {
    const b1 = await nl.serve("b1");
    const r = await nl.connectFrom("c1", b1.addr, ["--family", "4"]);
    expect(r, JSON.stringify(r)).toMatchObject({ strategy: "direct", echo: true });
    expect(r.strategies).toHaveLength(1);
  }, 60_000);

  test("full-cone -> port-restricted: reverse wins (the peer dials our mapped listen port)", async () => {
    const c1 = await nl.serve("c1");
    const r = await nl.connectFrom("a1", c1.addr, ["--family", "4"]);
    expect(r, JSON.stringify(r)).toMatchObject({ strategy: "reverse", echo: true });
    expect(r.strategies[0]).toMatchObject({ strategy: "direct", skipped: true });
    expect(r.strategies[1]).toMatchObject({ strategy: "reverse", ok: true });
  }, 60_000);

  test("tcp-punch between two sequential symmetric NATs: of the predicted tuples that connect, both sides keep the same one", async () => {
    const f1 = await nl.serve("f1");
    expect(f1.nat).toMatchObject({ type: 6, delta: { type: 4, value: 1 } });
    // Each round: both sides dial 8 predicted ports, several tuples connect; the ECHO only comes
    // back if the answerer kept the connection the offerer picked.
    for (let round = 0; round < 4; round++) {
      const r = await nl.connectFrom("e1", f1.addr, ["--family", "4", "--strategies", "tcp-punch"]);
      expect(r, JSON.stringify(r)).toMatchObject({ strategy: "tcp-punch", echo: true });
    }
  }, 120_000);
});
