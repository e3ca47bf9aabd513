import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, test } from "vitest";

const pkgDir = dirname(dirname(fileURLToPath(import.meta.url)));
const pkg = JSON.parse(readFileSync(join(pkgDir, "package.json"), "utf8"));
const built = (() => {
  try {
    readFileSync(join(pkgDir, "dist", "index.js"));
    return true;
  } catch {
    return false;
  }
})();

describe("standalone package", () => {
  test("depends on nothing: no dependencies, no @p2pd imports in the sources", () => {
    expect(Object.keys(pkg.dependencies ?? {})).toEqual([]);
    expect(pkg.peerDependencies).toBeUndefined();
    const src = execFileSync("grep", ["-rhoE", 'from "[^".][^"]*"', join(pkgDir, "src")], {
      encoding: "utf8",
    });
    const modules = new Set(
      src
        .split("\n")
        .filter(Boolean)
        .map((l) => l.slice(6, -1)),
    );
    for (const m of modules) expect(m).toMatch(/^node:/);
  });

  // `npm install @p2pd/stun` alone: pack the package, install the tarball offline into an empty project and use it
  // from ESM and CommonJS.
  test.skipIf(!built)(
    "npm install of the packed tarball works offline, ESM and CJS",
    () => {
      const dir = mkdtempSync(join(tmpdir(), "stun-standalone-"));
      try {
        const tgz = execFileSync("npm", ["pack", "--silent", "--pack-destination", dir], {
          cwd: pkgDir,
          encoding: "utf8",
        })
          .trim()
          .split("\n")
          .at(-1) as string;
        writeFileSync(
          join(dir, "package.json"),
          JSON.stringify({ name: "consumer", version: "1.0.0", private: true }),
        );
        execFileSync("npm", ["install", "--offline", "--no-audit", "--no-fund", join(dir, tgz)], {
          cwd: dir,
          stdio: "ignore",
        });
        const script = `
          const { StunServer, getMappedAddress } = STUN;
          const s = await new StunServer({ ips: ["127.0.0.1"], port: 0 }).listen();
          const r = await getMappedAddress(s.primary, { signal: AbortSignal.timeout(5000) });
          await s.close();
          console.log(r.mapped.host);`;
        writeFileSync(join(dir, "esm.mjs"), `import * as STUN from "@p2pd/stun";\n${script}`);
        writeFileSync(
          join(dir, "cjs.cjs"),
          `const STUN = require("@p2pd/stun");\n(async () => {${script}})();`,
        );
        expect(execFileSync("node", ["esm.mjs"], { cwd: dir, encoding: "utf8" }).trim()).toBe(
          "127.0.0.1",
        );
        expect(execFileSync("node", ["cjs.cjs"], { cwd: dir, encoding: "utf8" }).trim()).toBe(
          "127.0.0.1",
        );
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
    60_000,
  );
});
