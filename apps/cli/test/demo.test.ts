import { rmSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { type IrcLab, ircLab, labSlot, noLab } from "./irc-lab.js";
import { cli as runCli } from "./run-cli.js";

const cli = (argv: string[]) => runCli(...argv);

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
    expect(j.natA).toEqual({ type: "open-internet", delta: { kind: "equal", value: 0 } });
    expect(j.echo).toBe(true);
    // Progress went to stderr, step by step.
    expect(r.err).toMatch(/STUN server/);
    expect(r.err).toMatch(/MQTT broker/);
    expect(r.err).toMatch(/ECHO reply: "hello from B"/);
    if (!process.env.IRC_LAB_DIR) expect(j.by).toBe("address");
  }, 30_000);

  test("human output is one summary line", async () => {
    const r = await cli(["demo"]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^demo OK: direct connect in [\d.]+ ms/);
  }, 30_000);
});

const slot = labSlot("demo", 20);

describe.skipIf(noLab !== undefined)("p2pd demo with the IRC lab running", () => {
  let lab: IrcLab;
  const saved = process.env.IRC_LAB_DIR;
  beforeAll(async () => {
    lab = await ircLab.startLab({
      dir: slot.dir,
      portOffset: slot.portOffset,
    });
    process.env.IRC_LAB_DIR = lab.dir;
  }, 180_000);
  afterAll(async () => {
    if (saved === undefined) delete process.env.IRC_LAB_DIR;
    else process.env.IRC_LAB_DIR = saved;
    await lab?.stop();
    rmSync(slot.dir, { recursive: true, force: true });
  }, 60_000);

  test("A registers p2pd-demo.peer; B connects by name", async () => {
    const r = await cli(["demo", "--json"]);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out);
    expect(j, r.err).toMatchObject({ ok: true, by: "name" });
    expect(r.err).toMatch(/registered "p2pd-demo.peer"/);
  }, 120_000);
});
