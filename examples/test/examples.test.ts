import { readdirSync, statSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, test } from "vitest";

// Every examples/<topic>/<name>.ts exports `default async function main(signal)`: run each one.
const root = dirname(dirname(fileURLToPath(import.meta.url)));

function examples(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory())
      return name === "node_modules" || name === "test" ? [] : examples(p);
    return p.endsWith(".ts") && !p.endsWith(".config.ts") ? [p] : [];
  });
}

const files = examples(root).filter((f) => dirname(f) !== root);

describe("examples", () => {
  test("there are examples", () => {
    expect(files.length).toBeGreaterThan(0);
  });
  for (const file of files) {
    test(relative(root, file), async () => {
      const mod = (await import(file)) as { default: (signal: AbortSignal) => Promise<unknown> };
      expect(typeof mod.default).toBe("function");
      await mod.default(AbortSignal.timeout(50_000));
    });
  }
});
