import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, test } from "vitest";
import { cli } from "./run-cli.js";

// Secrets stay out of `ps`: --token-file / --turn-pass-file and P2PD_TOKEN / P2PD_TURN_PASS.
const CLI = join(dirname(dirname(fileURLToPath(import.meta.url))), "dist", "index.js");
const dir = mkdtempSync(join(tmpdir(), "p2pd-secrets-"));
const children: ChildProcess[] = [];

function serve(extra: string[], env: NodeJS.ProcessEnv = {}): Promise<{ url: string }> {
  const c = spawn(
    process.execPath,
    [CLI, "serve", "--port", "0", "--interfaces", "loopback", "--json", ...extra],
    { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...env } },
  );
  children.push(c);
  return new Promise((resolve, reject) => {
    let out = "";
    c.stdout?.on("data", (d) => {
      out += d;
      const nl = out.indexOf("\n");
      if (nl >= 0) resolve(JSON.parse(out.slice(0, nl)));
    });
    c.once("exit", (code) => reject(new Error(`p2pd serve exited ${code}`)));
  });
}

afterAll(async () => {
  for (const c of children) {
    if (c.exitCode !== null) continue;
    const exited = new Promise((r) => c.once("exit", r));
    c.kill("SIGINT");
    await exited;
  }
});

const status = async (url: string, token?: string) =>
  (await fetch(`${url}/version`, token ? { headers: { authorization: `Bearer ${token}` } } : {}))
    .status;

describe.skipIf(!existsSync(CLI))("secret flags", () => {
  test("--token-file: the token is read from the file and required", async () => {
    const f = join(dir, "token");
    writeFileSync(f, "s3cret-from-file\n", { mode: 0o600 });
    const { url } = await serve(["--token-file", f]);
    expect(await status(url)).toBe(401);
    expect(await status(url, "s3cret-from-file")).toBe(200);
  });

  test("P2PD_TOKEN: the token comes from the environment", async () => {
    const { url } = await serve([], { P2PD_TOKEN: "s3cret-from-env" });
    expect(await status(url)).toBe(401);
    expect(await status(url, "s3cret-from-env")).toBe(200);
  });

  test("--token with --token-file, or an unreadable file, is a usage error (exit 2)", async () => {
    const f = join(dir, "t2");
    writeFileSync(f, "x\n");
    expect((await cli("serve", "--token", "a", "--token-file", f)).code).toBe(2);
    const r = await cli("serve", "--token-file", join(dir, "missing"));
    expect(r.code).toBe(2);
    expect(r.err).toContain("ENOENT");
  });

  test("--turn-pass-file is accepted; a turns: URL is refused, never used in plaintext", async () => {
    const f = join(dir, "pass");
    writeFileSync(f, "pw\n");
    const r = await cli(
      "node",
      "--turn",
      "turns:127.0.0.1:5349",
      "--turn-user",
      "u",
      "--turn-pass-file",
      f,
    );
    expect(r.code).toBe(2);
    expect(r.err).toContain("turns:");
    const both = await cli(
      "node",
      "--turn",
      "turn:127.0.0.1:3478",
      "--turn-pass",
      "a",
      "--turn-pass-file",
      f,
    );
    expect(both.code).toBe(2);
    expect(both.err).toContain("exclusive");
  });
});
