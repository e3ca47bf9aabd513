import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { describe, expect, test } from "vitest";

// A package's public API is what its docs describe: src/index.ts is the only door, and every name
// it exports (values and types) must be mentioned in the package README or in docs/. An export
// nobody documented is an internal that leaked; remove it or document it.
const root = dirname(dirname(fileURLToPath(import.meta.url)));
const packagesDir = join(root, "packages");
const docsDir = join(root, "docs");

const docsText = readdirSync(docsDir)
  .filter((f) => f.endsWith(".md"))
  .map((f) => readFileSync(join(docsDir, f), "utf8"))
  .join("\n");

/** Every name `src/index.ts` exports, types included, resolved through `export *`. */
export function exportedNames(indexFile: string): string[] {
  const program = ts.createProgram([indexFile], {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    noEmit: true,
    skipLibCheck: true,
  });
  const checker = program.getTypeChecker();
  const source = program.getSourceFile(indexFile);
  if (!source) throw new Error(`cannot read ${indexFile}`);
  const moduleSymbol = checker.getSymbolAtLocation(source);
  if (!moduleSymbol) return [];
  return checker
    .getExportsOfModule(moduleSymbol)
    .map((s) => s.getName())
    .sort();
}

const packages = readdirSync(packagesDir).filter((p) =>
  existsSync(join(packagesDir, p, "src", "index.ts")),
);

describe("public exports are documented", () => {
  for (const pkg of packages) {
    test(`${pkg}: every export of src/index.ts appears in its README or docs/`, () => {
      const readme = join(packagesDir, pkg, "README.md");
      const text = `${existsSync(readme) ? readFileSync(readme, "utf8") : ""}\n${docsText}`;
      const names = exportedNames(join(packagesDir, pkg, "src", "index.ts"));
      expect(names.length, `${pkg} exports nothing`).toBeGreaterThan(0);
      const undocumented = names.filter(
        (n) =>
          !new RegExp(`(^|[^A-Za-z0-9_$])${n.replace(/\$/g, "\\$")}([^A-Za-z0-9_$]|$)`, "m").test(
            text,
          ),
      );
      expect(undocumented, `${pkg}: exported but not in its docs`).toEqual([]);
    });
  }
});
