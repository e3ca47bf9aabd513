import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../../../..");

/**
 * Child processes (other processes / network namespaces) need plain JS: bundle the traversal
 * sources with the workspace's esbuild into a temp file once per test process.
 */
export function bundleTraversal(): string {
  const dir = join(tmpdir(), `tr-bundle-${process.pid}`);
  const out = join(dir, "traversal.mjs");
  if (existsSync(out)) return out;
  mkdirSync(dir, { recursive: true });
  execFileSync(join(repoRoot, "node_modules/.bin/esbuild"), [
    join(repoRoot, "packages/node/src/traversal/index.ts"),
    "--bundle",
    "--platform=node",
    "--format=esm",
    "--target=node20",
    "--log-level=warning",
    `--outfile=${out}`,
  ]);
  return out;
}
