import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, test } from "vitest";

// Docs never rot: every `<!-- example: examples/x/y.ts -->` marker must be followed by a fenced
// block that is exactly that file, and examples/test runs the file.
const root = dirname(dirname(fileURLToPath(import.meta.url)));
const docsDir = join(root, "docs");
const MARKER = /<!-- example: (\S+) -->\s*```(?:ts|typescript)\n([\s\S]*?)```/g;

const pages = existsSync(docsDir) ? readdirSync(docsDir).filter((f) => f.endsWith(".md")) : [];

describe("docs", () => {
  test("the docs folder has the topic pages", () => {
    for (const topic of ["basics", "pipes", "queues", "daemons", "examples"]) {
      expect(pages, `docs/${topic}.md`).toContain(`${topic}.md`);
    }
  });

  for (const page of pages) {
    test(`${page}: shown examples equal the files that tests run`, () => {
      const text = readFileSync(join(docsDir, page), "utf8");
      for (const m of text.matchAll(MARKER)) {
        const file = join(root, m[1] as string);
        expect(existsSync(file), `${page} shows ${m[1]}, which does not exist`).toBe(true);
        expect(m[2], `${page} shows an outdated copy of ${m[1]}`).toBe(readFileSync(file, "utf8"));
      }
      // A fenced ts block without a marker would be an untested example.
      const fenced = [...text.matchAll(/```(?:ts|typescript)\n/g)].length;
      const marked = [...text.matchAll(MARKER)].length;
      expect(marked, `${page}: every ts code block needs an example marker`).toBe(fenced);
    });
  }
});

test("docs/examples.md lists every example file", () => {
  const page = readFileSync(join(docsDir, "examples.md"), "utf8");
  const examplesDir = join(root, "examples");
  for (const topic of readdirSync(examplesDir)) {
    if (topic === "test" || topic === "node_modules" || !/^[a-z]+$/.test(topic)) continue;
    for (const f of readdirSync(join(examplesDir, topic)).filter((x) => x.endsWith(".ts"))) {
      expect(page, `docs/examples.md should list examples/${topic}/${f}`).toContain(
        `examples/${topic}/${f}`,
      );
    }
  }
});
