import { describe, expect, test } from "vitest";
import { built, contractFile, expectUsages, serve, stunServerForFile } from "./harness.js";

// The CLI contract of `p2pd serve` (issue 10).
contractFile();
const stunServer = stunServerForFile();

describe.skipIf(!built)("p2pd serve (issue 10)", () => {
  test("prints one JSON line with the URL and address, answers HTTP, exits 130 on SIGINT", async () => {
    const s = await serve([
      "serve",
      "--port",
      "0",
      "--interfaces",
      "loopback",
      "--stun",
      `127.0.0.1:${stunServer.port}`,
      "--json",
    ]);
    try {
      expect(String(s.first.url)).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(typeof s.first.addr).toBe("string");
      const res = await fetch(`${s.first.url}/`);
      expect(res.status).toBe(200);
      await res.arrayBuffer();
    } finally {
      const r = await s.stop();
      expect(r.code).toBe(130);
      expect(r.out).toBe(`${s.firstRaw}\n`);
    }
  }, 30_000);

  test("bad input -> exit 2", async () => {
    await expectUsages(["serve", "--port", "99999"], ["serve", "--port", "x"]);
  });
});
