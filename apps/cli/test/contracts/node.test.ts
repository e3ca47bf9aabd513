import { describe, expect, test } from "vitest";
import {
  built,
  contractFile,
  expectFailure,
  expectUsages,
  noStack,
  oneJson,
  p2pd,
  serve,
  stunServerForFile,
} from "./harness.js";

// The CLI contract of `p2pd node` and `p2pd connect` (issue 8).
contractFile();
const stunServer = stunServerForFile();

describe.skipIf(!built)("p2pd node and connect (issue 8)", () => {
  const common = () => ["--interfaces", "loopback", "--stun", `127.0.0.1:${stunServer.port}`];

  test("node prints one JSON line with addr when ready; connect echoes with each strategy", async () => {
    const n = await serve(["node", ...common(), "--json"]);
    try {
      expect(typeof n.first.addr).toBe("string");
      expect(n.firstRaw).toContain('"addr"');
      const mqtt = (n.first.mqtt as string[])[0];
      expect(mqtt).toMatch(/^mqtt:\/\/127\.0\.0\.1:\d+$/);
      for (const strategy of ["direct", "reverse"]) {
        const r = await p2pd([
          "connect",
          String(n.first.addr),
          ...common(),
          "--mqtt",
          String(mqtt),
          "--strategies",
          strategy,
          "--json",
        ]);
        expect(r.code, r.err).toBe(0);
        const j = oneJson(r.out) as { strategy: string; ms: number; echo: boolean };
        expect(j.strategy).toBe(strategy);
        expect(typeof j.ms).toBe("number");
        expect(j.echo).toBe(true);
        noStack(r.err);
      }
    } finally {
      const r = await n.stop();
      // Killed by SIGINT: 130, and still only the one ready line on stdout.
      expect(r.code).toBe(130);
      expect(r.out).toBe(`${n.firstRaw}\n`);
      noStack(r.err);
    }
  }, 30_000);

  test("connect to a node that is gone -> non-zero with a reason", async () => {
    const n = await serve(["node", ...common(), "--json"]);
    const addr = String(n.first.addr);
    // SIGTERM stops a node like SIGINT does.
    expect((await n.stop("SIGTERM")).code).toBe(130);
    const r = await p2pd([
      "connect",
      addr,
      ...common(),
      "--strategies",
      "direct",
      "--timeout",
      "2000",
      "--json",
    ]);
    expectFailure(r);
  }, 30_000);

  test("bad input -> exit 2", async () => {
    await expectUsages(
      ["connect"],
      ["connect", "a", "b"],
      ["connect", "x.y", "--strategies", "teleport"],
      ["connect", "x.y", "--timeout", "abc"],
      ["connect", "x.y", "--mqtt", "http://127.0.0.1:1"],
      ["node", "--port", "99999"],
      ["node", "--mqtt", "http://127.0.0.1:1"],
      ["node", "--turn", "127.0.0.1:3478"],
    );
  });
});
