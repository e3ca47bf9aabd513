// `p2pd name` against the real three-network IRC lab (loopback only; never the default public list).
import { randomBytes } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { cli } from "./run-cli.js";

// labs/irc-lab/lab.ts lives outside this package's rootDir, so it is loaded dynamically.
interface Lab {
  serverList: string;
  stop(): Promise<void>;
}
const labUrl = new URL("../../../labs/irc-lab/lab.ts", import.meta.url).href;
const labMod = (await import(labUrl)) as {
  labMissing(): string | undefined;
  startLab(o: { dir: string; portOffset: number }): Promise<Lab>;
};
const skip = labMod.labMissing();
let lab: Lab;
const dir = mkdtempSync(join(tmpdir(), "p2pd-name-"));
const seedFile = join(dir, "seed");
writeFileSync(seedFile, randomBytes(32));
const shortSeed = join(dir, "short");
writeFileSync(shortSeed, randomBytes(8));
const name = `cli${randomBytes(3).toString("hex")}.test`;

beforeAll(async () => {
  if (skip) return;
  lab = await labMod.startLab({
    dir: join(tmpdir(), `ircdns-lab-cli-${process.pid}`),
    portOffset: -11000,
  });
}, 120_000);
afterAll(async () => {
  await lab?.stop();
}, 60_000);

/** Runs `fn` with P2PD_CONFIG naming `file` (the CLI runs in this process). */
async function withConfig<T>(file: string, fn: () => Promise<T>): Promise<T> {
  const saved = process.env.P2PD_CONFIG;
  process.env.P2PD_CONFIG = file;
  try {
    return await fn();
  } finally {
    if (saved === undefined) delete process.env.P2PD_CONFIG;
    else process.env.P2PD_CONFIG = saved;
  }
}

describe("p2pd name (usage errors, no network)", () => {
  test("a config file's bad irc entry is a usage error naming the field, before any network", async () => {
    const cfg = join(dir, "config-bad-irc.json");
    writeFileSync(cfg, JSON.stringify({ irc: ["ircs://10.0.0.7:99999"] }));
    const r = await withConfig(cfg, () => cli("name", "lookup", "a.b", "--json"));
    expect(r.code).toBe(2);
    expect(r.err).toContain("irc[0]");
    expect(r.err).toContain("ERR_BAD_CONFIG");
  });

  test("bad verb, bad name, bad server list, missing seed file", async () => {
    expect((await cli("name", "fetch", "a.b")).code).toBe(2);
    const badName = await cli(
      "name",
      "lookup",
      // UTF-8 is a name now (as in P2PD); a control character is not.
      "ca\u0007fe.node",
      "--irc-servers",
      "127.0.0.1:1",
      "--json",
    );
    expect(badName.code).toBe(2);
    expect(JSON.parse(badName.out).error.code).toBe("ERR_USAGE");
    expect((await cli("name", "lookup", "a.b", "--irc-servers", "http://x")).code).toBe(2);
    expect((await cli("name", "register", "a.b", "--irc-servers", "127.0.0.1:1")).code).toBe(2);
  });

  test("a value that can never be stored is refused before anything is registered", async () => {
    // Port 1 refuses connections: reaching the network would give ERR_IRCDNS_NO_QUORUM instead.
    const base = [
      "name",
      "register",
      "a.b",
      "--seed-file",
      seedFile,
      "--irc-servers",
      "127.0.0.1:1",
    ];
    const accent = await cli(...base, "--value", "café", "--cache-dir", dir, "--json");
    expect(accent.code).toBe(1);
    expect(JSON.parse(accent.out).error.code).toBe("ERR_IRCDNS_BAD_VALUE");
    const huge = await cli(...base, "--value", "x".repeat(400), "--cache-dir", dir, "--json");
    expect(huge.code).toBe(1);
    expect(JSON.parse(huge.out).error.code).toBe("ERR_IRCDNS_VALUE_TOO_LARGE");
  });
});

describe.skipIf(skip)("p2pd name on the lab", () => {
  test("register --value, then lookup returns the value as JSON", async () => {
    const reg = await cli(
      "name",
      "register",
      name,
      "--value",
      "hello from the cli",
      "--seed-file",
      seedFile,
      "--irc-servers",
      lab.serverList,
      "--cache-dir",
      dir,
      "--json",
    );
    expect(reg.err).not.toContain("ERR_");
    expect(reg.code).toBe(0);
    const r = JSON.parse(reg.out);
    expect(r.registered.succeeded).toBeGreaterThanOrEqual(2);
    expect(r.stored.succeeded).toBeGreaterThanOrEqual(2);

    const look = await cli("name", "lookup", name, "--irc-servers", lab.serverList, "--json");
    expect(look.code).toBe(0);
    const l = JSON.parse(look.out);
    expect(l.value).toBe("hello from the cli");
    expect(l.agreeing.length).toBeGreaterThanOrEqual(2);
    // Pinned to the signer the first lookup reported: same value; pinned to another key: no answer.
    const lookPinned = (signer: string) =>
      cli("name", "lookup", name, "--irc-servers", lab.serverList, "--signer", signer, "--json");
    const pinned = await lookPinned(l.signer);
    expect(pinned.code).toBe(0);
    expect(JSON.parse(pinned.out).value).toBe("hello from the cli");
    const other = await lookPinned(`02${"11".repeat(32)}`);
    expect(other.code).toBe(1);
    expect(JSON.parse(other.out).error.code).toBe("ERR_IRCDNS_NO_QUORUM");
  }, 90_000);

  test("without --irc-servers, lookup uses the config file's irc list", async () => {
    const cfg = join(dir, "config-irc.json");
    writeFileSync(cfg, JSON.stringify({ irc: { replace: lab.serverList.split(",") } }));
    const look = await withConfig(cfg, () => cli("name", "lookup", name, "--json"));
    expect(look.code).toBe(0);
    const l = JSON.parse(look.out);
    expect(l.value).toBe("hello from the cli");
    expect(l.agreeing.length).toBeGreaterThanOrEqual(2);
  }, 60_000);

  test("failures carry the library's error codes", async () => {
    const bad = await cli(
      "name",
      "register",
      name,
      "--seed-file",
      shortSeed,
      "--irc-servers",
      lab.serverList,
      "--json",
    );
    expect(bad.code).toBe(1);
    expect(JSON.parse(bad.out).error.code).toBe("ERR_IRCDNS_BAD_SEED");
    const missing = await cli(
      "name",
      "lookup",
      `nobody${name}`,
      "--irc-servers",
      lab.serverList,
      "--json",
    );
    expect(missing.code).toBe(1);
    expect(JSON.parse(missing.out).error.code).toBe("ERR_IRCDNS_NOT_FOUND");
  }, 60_000);
});
