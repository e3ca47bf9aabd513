import { node as p2p } from "p2pd";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { cli as runCli } from "./run-cli.js";

let broker: p2p.EmbeddedBroker;
let server: p2p.P2PNode;

beforeAll(async () => {
  broker = await p2p.startBroker();
  server = await p2p.startNode({ interfaces: "loopback", mqtt: broker.url });
});
afterAll(async () => {
  await server?.close();
  await broker?.close();
});

const cli = (argv: string[]) => runCli(...argv);

const flags = () => ["--interfaces", "loopback", "--mqtt", broker.url, "--json"];

/** Reverse and direct, both started at once. */
const RACE_BOTH = ["--strategies", "reverse,direct", "--stagger", "0"];

/** The address of a node that has closed: nothing answers there. */
async function goneAddress(): Promise<string> {
  const gone = await p2p.startNode({ interfaces: "loopback", mqtt: broker.url });
  const addr = gone.address;
  await gone.close();
  return addr;
}

describe("p2pd connect", () => {
  test("--stagger: 0 starts every strategy at once (all reported), the default gives reverse its time", async () => {
    const raced = JSON.parse(
      (await cli(["connect", server.address, ...RACE_BOTH, ...flags()])).out,
    );
    expect(raced.echo).toBe(true);
    expect(raced.strategies.map((t: { strategy: string }) => t.strategy)).toEqual([
      "reverse",
      "direct",
    ]);
    const calm = JSON.parse(
      (await cli(["connect", server.address, "--strategies", "reverse,direct", ...flags()])).out,
    );
    expect(calm).toMatchObject({ strategy: "reverse", echo: true });
    expect(calm.strategies).toHaveLength(1);
    const r = await cli(["connect", server.address, "--stagger", "soon", ...flags()]);
    expect(r.code).not.toBe(0);
    expect(r.err).toContain("--stagger");
  });

  test.each(["direct", "reverse", "udp-punch", "tcp-punch"])(
    "--strategies %s: JSON with strategy, ms, echo",
    async (s) => {
      const r = await cli(["connect", server.address, "--strategies", s, ...flags()]);
      expect(r.code).toBe(0);
      const j = JSON.parse(r.out);
      expect(j).toMatchObject({ strategy: s, echo: true });
      expect(j.ms).toBeGreaterThan(0);
      expect(j.strategies.at(-1)).toMatchObject({ strategy: s, ok: true });
    },
    30_000,
  );

  test("default order falls back from direct to reverse when the peer is not reachable", async () => {
    // Say the server sits behind a port-restricted NAT with another external IP (127.0.0.2, where
    // nothing listens): direct is skipped, reverse works because we are reachable.
    const natted = { ...p2p.parseAddress(server.address), ipv6: [] };
    for (const e of natted.ipv4) {
      e.ext = "127.0.0.2";
      e.nat = { type: 5, delta: { type: 3, value: 0 } };
    }
    const r = await cli(["connect", p2p.formatAddress(natted), ...flags()]);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out);
    expect(j.strategy).toBe("reverse");
    expect(j.strategies[0]).toMatchObject({ strategy: "direct", skipped: true });
  }, 30_000);

  test("failure: non-zero exit with a reason", async () => {
    const addr = await goneAddress();
    const r = await cli(["connect", addr, "--timeout", "1500", ...flags()]);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.out).error.code).toBe("ERR_CONNECT");
    expect(r.err).toMatch(/direct: ERR_CONNECT_REFUSED/);
  }, 30_000);

  test("a P2PD address: plaintext, said in the JSON and on stderr; the round trip is P2PD's test message", async () => {
    const compat = await p2p.startNode({
      interfaces: "loopback",
      mqtt: broker.url,
      p2pdCompat: true,
    });
    try {
      const r = await cli(["connect", compat.p2pdAddress as string, ...flags()]);
      expect(r.code, r.err).toBe(0);
      expect(JSON.parse(r.out)).toMatchObject({ strategy: "direct", echo: true, plaintext: true });
      expect(r.err).toMatch(/warning: a Python P2PD address: this connection is PLAINTEXT/);
      const enc = await cli(["connect", compat.address, "--strategies", "direct", ...flags()]);
      expect(JSON.parse(enc.out).plaintext).toBeUndefined();
    } finally {
      await compat.close();
    }
  }, 30_000);

  test.each([
    ["a name without IRC servers: a usage error (exit 2) with the reason", "alice.peer"],
    ["a dashed name is a name, not a bad address", "my-cool-node-x.peer"],
  ])(
    "%s",
    async (_title, name) => {
      const r = await cli(["connect", name, ...flags()]);
      expect(r.code).toBe(2);
      expect(JSON.parse(r.out).error.message).toMatch(/--irc-servers/);
    },
    30_000,
  );

  test("--verbose prints the attempt's timeline on stderr; --json carries it as `timeline`", async () => {
    // Both strategies start at once: one wins, the other is aborted (lost) or failed first.
    const r = await cli(["connect", server.address, ...RACE_BOTH, "--verbose", ...flags()]);
    expect(r.code, r.err).toBe(0);
    const j = JSON.parse(r.out) as {
      strategy: string;
      ms: number;
      timeline: { strategy: string; startMs: number; endMs: number; outcome: string }[];
    };
    expect(j.timeline.map((t) => t.strategy)).toEqual(["reverse", "direct"]);
    expect(j.timeline.filter((t) => t.outcome === "won").map((t) => t.strategy)).toEqual([
      j.strategy,
    ]);
    for (const t of j.timeline) {
      expect(t.startMs).toBeLessThanOrEqual(t.endMs);
      expect(t.endMs).toBeLessThanOrEqual(j.ms + 1);
    }
    // The text: a header, then one line per strategy naming it, its bar and its outcome.
    const lines = r.err.split("\n");
    const head = lines.findIndex((l) => l.startsWith("timeline ("));
    expect(head, r.err).toBeGreaterThanOrEqual(0);
    for (const [i, t] of j.timeline.entries()) {
      const line = lines[head + 1 + i] ?? "";
      expect(line).toMatch(new RegExp(`^  ${t.strategy} +\\|[ #x~.-]+\\| .* ms +${t.outcome}\\b`));
    }
    const won = j.timeline.findIndex((t) => t.outcome === "won");
    expect(lines[head + 1 + won]).toContain("#");
    // Without --verbose: no timeline on stderr, the same JSON field.
    const quiet = await cli(["connect", server.address, "--strategies", "direct", ...flags()]);
    expect(quiet.err).not.toContain("timeline (");
    expect(JSON.parse(quiet.out).timeline).toMatchObject([{ strategy: "direct", outcome: "won" }]);
  }, 30_000);

  test("--verbose after a failure: the timeline says why each strategy failed", async () => {
    const addr = await goneAddress();
    const r = await cli([
      "connect",
      addr,
      "--strategies",
      "direct",
      "--timeout",
      "1500",
      "--verbose",
      ...flags(),
    ]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/timeline \(/);
    expect(r.err).toMatch(/^ {2}direct +\| *x+ *\| .* ms +failed ERR_CONNECT_REFUSED: /m);
  }, 30_000);

  test("a name without --irc-servers goes to the default IRC networks (refused here by the tests' safety net)", async () => {
    // Not loopback: the node looks the name up on @p2pd/ircdns's DEFAULT_SERVERS, which the test
    // environment (P2PD_FORBID_PUBLIC_SERVERS=1) refuses before a packet leaves.
    const r = await cli([
      "connect",
      "alice.peer",
      "--mqtt",
      broker.url,
      "--stun",
      "127.0.0.1:9",
      "--json",
    ]);
    expect(r.code).toBe(1);
    const err = JSON.parse(r.out).error;
    expect(err.code).toBe("ERR_PUBLIC_SERVER");
    expect(err.message).toContain("116.203.29.246");
  }, 30_000);

  test("usage errors: no target, unknown strategy, bad address, bad --turn", async () => {
    expect((await cli(["connect", ...flags()])).code).toBe(2);
    expect(
      (await cli(["connect", server.address, "--strategies", "teleport", ...flags()])).code,
    ).toBe(2);
    const bad = await cli(["connect", "0-[1,2]-0-x-y", ...flags()]);
    expect(bad.code).toBe(2);
    expect(JSON.parse(bad.out).error.message).toMatch(/not a P2P address/);
    const garbage = await cli(["connect", "garbage", ...flags()]);
    expect(garbage.code).toBe(2);
  }, 30_000);
});
