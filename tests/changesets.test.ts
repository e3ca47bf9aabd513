import { readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { expect, test } from "vitest";

// Every pending changeset must be one `changeset version` accepts: front matter naming published
// packages of this repo (the private CLI is ignored by config and may not be mixed in).
const root = dirname(dirname(fileURLToPath(import.meta.url)));
const published = new Set(
  readdirSync(join(root, "packages")).map(
    (d) =>
      (
        JSON.parse(readFileSync(join(root, "packages", d, "package.json"), "utf8")) as {
          name: string;
        }
      ).name,
  ),
);
const files = readdirSync(join(root, ".changeset")).filter(
  (f) => f.endsWith(".md") && f !== "README.md",
);

test("every changeset has valid front matter naming published packages", () => {
  for (const f of files) {
    const text = readFileSync(join(root, ".changeset", f), "utf8");
    const m = /^---\n((?:"[^"]+": (?:major|minor|patch)\n)+)---\n\n\S/.exec(text);
    expect(m, `${f}: front matter`).not.toBeNull();
    for (const line of (m?.[1] ?? "").trim().split("\n")) {
      const name = /^"([^"]+)"/.exec(line)?.[1] as string;
      expect(published.has(name), `${f}: ${name} is not a published package`).toBe(true);
    }
  }
});
