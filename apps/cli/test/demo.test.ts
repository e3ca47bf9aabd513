import { PassThrough } from "node:stream";
import { describe, expect, test } from "vitest";
import { run } from "../src/cli.js";

async function cli(argv: string[]) {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = "";
  let err = "";
  stdout.on("data", (d) => (out += d));
  stderr.on("data", (d) => (err += d));
  const code = await run(argv, { stdout, stderr });
  return { code, out, err };
}

describe("p2pd demo (offline: in-process STUN server and MQTT broker)", () => {
  test("--json: one JSON object, ECHO ok, strategy and timings", async () => {
    const r = await cli(["demo", "--json"]);
    expect(r.code).toBe(0);
    const lines = r.out.trim().split("\n");
    expect(lines).toHaveLength(1);
    const j = JSON.parse(lines[0] ?? "");
    expect(j.ok).toBe(true);
    expect(j.strategy).toBe("direct");
    expect(j.ms).toBeGreaterThan(0);
    expect(j.strategies[0]).toMatchObject({ strategy: "direct", ok: true });
    // The in-process STUN server sees loopback unNATed: open internet, equal ports.
    expect(j.natA).toEqual({ type: 1, delta: { type: 2, value: 0 } });
    // Progress went to stderr, step by step.
    expect(r.err).toMatch(/STUN server/);
    expect(r.err).toMatch(/MQTT broker/);
    expect(r.err).toMatch(/ECHO reply: "hello from B"/);
  }, 30_000);

  test("human output is one summary line", async () => {
    const r = await cli(["demo"]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^demo OK: direct connect in [\d.]+ ms/);
  }, 30_000);
});
