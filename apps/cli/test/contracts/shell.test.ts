import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { describe, expect, test } from "vitest";
import { commands } from "../../src/commands/index.js";
import { cli } from "../run-cli.js";
import { bin, built, contractFile, expectUsage, oneJson, p2pd } from "./harness.js";

// The CLI contract of `p2pd`, `--help`, `--version` and the README (issue 2).
contractFile();

// The flags each issue names for each subcommand (--json and --help are on all).
const CONTRACT_FLAGS: Record<string, string[]> = {
  demo: [],
  interfaces: [],
  "echo-server": ["port", "proto"],
  stun: ["tcp", "family"],
  "stun-server": ["ip", "port", "alt-port"],
  nat: ["stun"],
  doctor: ["stun", "mqtt"],
  portmap: ["proto", "lifetime"],
  name: ["value", "seed-file", "irc-servers"],
  node: ["stun", "mqtt", "turn", "turn-user", "turn-pass"],
  connect: ["stun", "mqtt", "turn", "turn-user", "turn-pass", "strategies"],
  serve: ["port"],
  servers: [],
};

describe.skipIf(!built)("p2pd (issue 2: shell)", () => {
  test("--help lists every subcommand and the exit codes; --version and --version --json", async () => {
    const h = await p2pd(["--help"]);
    expect(h.code).toBe(0);
    expect(h.err).toBe("");
    for (const c of commands) expect(h.out).toContain(`  ${c.name} `);
    expect(h.out).toMatch(/Exit codes: 0 .*1 .*2 .*130/);
    const v = await p2pd(["--version"]);
    expect(v.code).toBe(0);
    expect(v.out).toMatch(/^\d+\.\d+\.\d+\n$/);
    const vj = await p2pd(["--version", "--json"]);
    expect(vj.code).toBe(0);
    expect(oneJson(vj.out)).toEqual({ version: v.out.trim() });
  });

  test("no command is a usage error (exit 2); an unknown command too, with a JSON error", async () => {
    expect((await p2pd([])).code).toBe(2);
    await expectUsage(["no-such-command"]);
  });

  test("README documents every subcommand, its contract flags and exit codes", () => {
    const readme = readFileSync(join(dirname(bin), "..", "README.md"), "utf8");
    for (const c of commands) {
      const start = readme.indexOf(`### \`p2pd ${c.name}\``);
      expect(start, `README lacks a section for ${c.name}`).toBeGreaterThan(0);
      const end = readme.indexOf("\n### ", start + 1);
      const section = readme.slice(start, end < 0 ? undefined : end);
      // The contract's flags (stable); the full lists are regenerated from --help when flags change.
      for (const f of [...(CONTRACT_FLAGS[c.name] ?? []), "json"]) {
        expect(section, `README section ${c.name} lacks --${f}`).toMatch(
          new RegExp(`^  --${f}\\b`, "m"),
        );
      }
      expect(section).toMatch(/Exit: /);
    }
  });

  test("the contract table covers every subcommand", () => {
    expect(Object.keys(CONTRACT_FLAGS).sort()).toEqual(commands.map((c) => c.name).sort());
  });

  for (const c of commands) {
    test(`${c.name}: --help lists every flag, the contract's ones included; --json and --version are accepted`, async () => {
      const r = await p2pd([c.name, "--help"]);
      expect(r.code).toBe(0);
      expect(r.out).toContain(`Usage: p2pd ${c.name}`);
      const flags = [...Object.keys(c.options ?? {}), "json", "help", "version"];
      for (const f of [...flags, ...(CONTRACT_FLAGS[c.name] ?? [])]) {
        expect(r.out, `${c.name} --help lacks --${f}`).toMatch(new RegExp(`^  --${f}\\b`, "m"));
      }
      // --json is a known flag: with an unknown one beside it the error is still JSON.
      await expectUsage([c.name, "--no-such-flag"]);
      // --version on every subcommand too (in-process: the same run() the binary calls).
      const v = await cli(c.name, "--version", "--json");
      expect(v.code).toBe(0);
      expect(oneJson(v.out)).toEqual({ version: expect.stringMatching(/^\d+\.\d+\.\d+$/) });
    });
  }
});
