import { describe, expect, test } from "vitest";
import { built, contractFile, expectFailure, expectUsages, p2pd } from "./harness.js";

// The CLI contract of `p2pd name` (issue 7).
contractFile();

describe.skipIf(!built)("p2pd name (issue 7)", () => {
  test("bad input -> exit 2: no verb, no name, not NAME.TLD, register without a seed, bad LIST", async () => {
    await expectUsages(
      ["name"],
      ["name", "lookup"],
      ["name", "resolve", "a.b"],
      ["name", "lookup", "nodot"],
      ["name", "register", "a.b"],
      ["name", "lookup", "a.b", "--irc-servers", "bogus:::"],
    );
  });

  test("lookup with every IRC server down -> exit 1 with the reason", async () => {
    // Port 1 on loopback: connection refused at once, nothing leaves the host.
    const r = await p2pd([
      "name",
      "lookup",
      "nobody.test",
      "--irc-servers",
      "127.0.0.1:1",
      "--timeout",
      "5000",
      "--json",
    ]);
    const e = expectFailure(r);
    expect(e.message).toContain("127.0.0.1:1");
  });
});
