import { describe, expect, test } from "vitest";
import { commands } from "../src/commands/index.js";
import { cli } from "./run-cli.js";

describe("p2pd cli shell", () => {
  test("--version prints the package version", async () => {
    const r = await cli("--version");
    expect(r.code).toBe(0);
    expect(r.out.trim()).toMatch(/^\d+\.\d+\.\d+$/);
    const j = await cli("--version", "--json");
    expect(JSON.parse(j.out).version).toBe(r.out.trim());
  });

  test("--help lists every subcommand", async () => {
    const r = await cli("--help");
    expect(r.code).toBe(0);
    for (const c of commands) expect(r.out).toContain(c.name);
  });

  test("every subcommand has --help and accepts --json", async () => {
    for (const c of commands) {
      const r = await cli(c.name, "--help");
      expect(r.code).toBe(0);
      expect(r.out).toContain(`p2pd ${c.name}`);
      expect(r.out).toContain("--json");
    }
  });

  test("unknown command and unknown flag are usage errors (exit 2) with JSON errors", async () => {
    const r = await cli("nope", "--json");
    expect(r.code).toBe(2);
    expect(JSON.parse(r.out).error.code).toBe("ERR_USAGE");
    const f = await cli("demo", "--no-such-flag", "--json");
    expect(f.code).toBe(2);
    expect(JSON.parse(f.out).error.code).toBe("ERR_USAGE");
    expect(f.err).toContain("p2pd:");
  });
});
