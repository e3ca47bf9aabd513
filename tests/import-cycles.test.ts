import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, test } from "vitest";

// No import cycles inside any package's src/: each file's relative imports (`import ... from`,
// type-only ones too, `export ... from`, and `await import()`) form a graph that must stay acyclic.
// A cycle means two files are one idea split badly, or a shared type lives in the wrong file.
// Inline type references (`import("./x.js").T`) are not module imports and are not counted.
const root = dirname(dirname(fileURLToPath(import.meta.url)));

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return tsFiles(p);
    return /\.tsx?$/.test(name) && !name.endsWith(".d.ts") ? [p] : [];
  });
}

const SPEC = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)["'](\.{1,2}\/[^"']+)["'](?!\s*\)\s*\.)/g;

/** The files a source file imports by relative path (".js" written for ".ts", as ESM wants). */
export function relativeImports(file: string, text: string): string[] {
  const out = new Set<string>();
  // Comments may mention imports: drop them first (line comments only at line start or after code).
  const code = text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/(^|[^:"'`])\/\/.*$/gm, "$1");
  for (const m of code.matchAll(SPEC)) {
    const spec = m[1] as string;
    const base = resolve(dirname(file), spec);
    const tries = [
      base.replace(/\.js$/, ".ts"),
      base.replace(/\.js$/, ".tsx"),
      `${base}.ts`,
      join(base, "index.ts"),
    ];
    const hit = tries.find((t) => existsSync(t) && statSync(t).isFile());
    if (hit) out.add(hit);
  }
  return [...out];
}

/** One cycle (as a file path list, first file repeated at the end), or undefined. */
export function findCycle(graph: Map<string, string[]>): string[] | undefined {
  const state = new Map<string, 1 | 2>(); // 1 = on the stack, 2 = done
  const stack: string[] = [];
  const visit = (n: string): string[] | undefined => {
    state.set(n, 1);
    stack.push(n);
    for (const m of graph.get(n) ?? []) {
      const s = state.get(m);
      if (s === 1) return [...stack.slice(stack.indexOf(m)), m];
      if (s === undefined) {
        const c = visit(m);
        if (c) return c;
      }
    }
    stack.pop();
    state.set(n, 2);
    return undefined;
  };
  for (const n of graph.keys()) {
    if (state.has(n)) continue;
    const c = visit(n);
    if (c) return c;
  }
  return undefined;
}

const packages = ["packages", "apps"].flatMap((top) =>
  readdirSync(join(root, top))
    .map((name) => join(root, top, name, "src"))
    .filter((src) => existsSync(src)),
);

describe("import cycles", () => {
  test("the checker finds a cycle and accepts a tree", () => {
    const g = new Map([
      ["a", ["b"]],
      ["b", ["c"]],
      ["c", ["a"]],
    ]);
    expect(findCycle(g)).toEqual(["a", "b", "c", "a"]);
    g.set("c", []);
    expect(findCycle(g)).toBeUndefined();
    const self = [join(root, "tests/import-cycles.test.ts")];
    const from = join(root, "tests/x.ts");
    expect(relativeImports(from, 'import type { A } from "./import-cycles.test.js";')).toEqual(
      self,
    );
    expect(relativeImports(from, 'const m = await import("./import-cycles.test.js");')).toEqual(
      self,
    );
    expect(relativeImports(from, 'let p: import("./import-cycles.test.js").P;')).toEqual([]);
  });

  for (const src of packages) {
    test(`${relative(root, src)}: no file imports itself back`, () => {
      const graph = new Map<string, string[]>();
      for (const f of tsFiles(src)) graph.set(f, relativeImports(f, readFileSync(f, "utf8")));
      const cycle = findCycle(graph);
      expect(
        cycle?.map((f) => relative(root, f)),
        "import cycle",
      ).toBeUndefined();
    });
  }
});
