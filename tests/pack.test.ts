import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, test } from "vitest";

// Users pick and choose: each package, packed as it would be published, installs into an empty
// project together with only the @p2pd packages it depends on, and works from ESM and from CJS.
const root = dirname(dirname(fileURLToPath(import.meta.url)));
const packagesDir = join(root, "packages");

interface Manifest {
  name: string;
  dependencies?: Record<string, string>;
}

const manifests = new Map<string, { dir: string; pkg: Manifest }>();
for (const dir of readdirSync(packagesDir)) {
  const pkg = JSON.parse(readFileSync(join(packagesDir, dir, "package.json"), "utf8")) as Manifest;
  manifests.set(pkg.name, { dir: join(packagesDir, dir), pkg });
}

function internalClosure(name: string, seen = new Set<string>()): Set<string> {
  seen.add(name);
  for (const dep of Object.keys(manifests.get(name)?.pkg.dependencies ?? {})) {
    if (manifests.has(dep) && !seen.has(dep)) internalClosure(dep, seen);
  }
  return seen;
}

// One call per package that does something real with its public API (not just "it loads").
const SMOKE: Record<string, string> = {
  "@p2pd/netifaces":
    "m.IPRange.network('10.1.0.0/16').size === 65536n && m.isPrivateIp('10.1.2.3')",
  "@p2pd/stun":
    "m.decodeMessage(m.encodeMessage(new m.StunMessage({ method: m.METHOD.BINDING }))).method === m.METHOD.BINDING",
  "@p2pd/pipe": "m.parsePorts('8000-8002').length === 3",
  "@p2pd/nat": "typeof m.detectNat === 'function' && typeof m.createPortMapper === 'function'",
  "@p2pd/ircdns":
    "m.quorum(5).lookupSuccessMin === 3 && m.parseName('alice.node').name === 'alice'",
  "@p2pd/node":
    "m.deriveKeys(new Uint8Array(32)).nodeId === m.deriveKeys(new Uint8Array(32)).nodeId",
  p2pd: "typeof m.stun.StunServer === 'function' && typeof m.P2pdClient === 'function'",
};

let work: string;
const tarballs = new Map<string, string>();

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), "p2pd-pack-"));
  const out = join(work, "tarballs");
  mkdirSync(out);
  for (const [name, { dir }] of manifests) {
    const before = new Set(readdirSync(out));
    execFileSync("pnpm", ["pack", "--pack-destination", out], { cwd: dir, stdio: "pipe" });
    const file = readdirSync(out).find((f) => !before.has(f));
    if (!file) throw new Error(`pnpm pack produced nothing for ${name}`);
    tarballs.set(name, join(out, file));
  }
});

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe("each package installs and works alone", () => {
  for (const name of manifests.keys()) {
    test(name, () => {
      const project = join(work, name.replace(/[@/]/g, "_"));
      mkdirSync(project);
      writeFileSync(
        join(project, "package.json"),
        JSON.stringify({ name: "consumer", private: true }),
      );
      const needed = [...internalClosure(name)].map((n) => tarballs.get(n) as string);
      execFileSync("npm", ["install", "--no-audit", "--no-fund", "--loglevel=error", ...needed], {
        cwd: project,
        stdio: "pipe",
      });
      // Nothing but the closure of @p2pd packages was installed.
      const scoped = readdirSync(join(project, "node_modules", "@p2pd"), {
        withFileTypes: true,
      }).map((d) => `@p2pd/${d.name}`);
      for (const s of scoped) expect(internalClosure(name).has(s), `${s} came along`).toBe(true);

      const check = SMOKE[name] ?? "Object.keys(m).length > 0";
      writeFileSync(
        join(project, "esm.mjs"),
        `import * as m from ${JSON.stringify(name)};\nif (!(${check})) process.exit(3);\nconsole.log("esm ok");\n`,
      );
      writeFileSync(
        join(project, "cjs.cjs"),
        `const m = require(${JSON.stringify(name)});\nif (!(${check})) process.exit(3);\nconsole.log("cjs ok");\n`,
      );
      expect(execFileSync("node", ["esm.mjs"], { cwd: project, encoding: "utf8" })).toContain(
        "esm ok",
      );
      expect(execFileSync("node", ["cjs.cjs"], { cwd: project, encoding: "utf8" })).toContain(
        "cjs ok",
      );
    });
  }

  test("@p2pd/stun and @p2pd/ircdns depend on no other @p2pd package", () => {
    expect([...internalClosure("@p2pd/stun")]).toEqual(["@p2pd/stun"]);
    expect([...internalClosure("@p2pd/ircdns")]).toEqual(["@p2pd/ircdns"]);
  });
});
