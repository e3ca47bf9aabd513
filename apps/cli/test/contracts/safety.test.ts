import { spawn } from "node:child_process";
import { once } from "node:events";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { bin, built, cacheDir, contractFile, noStack, type Ran, running } from "./harness.js";

// Safety nets (issue 2): a library bug is one line on stderr, never a stack trace.
contractFile();

describe.skipIf(!built)("safety nets (issue 2: never a stack trace)", () => {
  // A preloaded module injects a library-style bug right after the ready line is out.
  async function withInjected(kind: "reject" | "throw"): Promise<Ran> {
    const hook = join(cacheDir, `inject-${kind}.mjs`);
    const bug =
      kind === "reject"
        ? `Promise.reject(Object.assign(new Error("injected"), { code: "ERR_TEST_INJECTED" }))`
        : `(() => { throw Object.assign(new Error("injected"), { code: "ERR_TEST_INJECTED" }); })()`;
    writeFileSync(
      hook,
      `const w = process.stdout.write.bind(process.stdout);
let done = false;
process.stdout.write = (...a) => {
  const r = w(...a);
  if (!done) { done = true; setTimeout(() => { ${bug}; }, 20); }
  return r;
};\n`,
    );
    const child = spawn(
      process.execPath,
      ["--import", hook, bin, "echo-server", "--port", "0", "--host", "127.0.0.1", "--json"],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    running.add(child);
    let out = "";
    let err = "";
    let stopped = false;
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => {
      err += d;
      // The rejection is survived: stop the server once the warning is out.
      if (!stopped && err.includes("internal warning")) stopped = child.kill("SIGINT");
    });
    const [code, signal] = (await once(child, "close")) as [number | null, NodeJS.Signals | null];
    running.delete(child);
    return { code, signal, out, err };
  }

  test("an unhandled rejection is one warning line on stderr; the command goes on", async () => {
    const r = await withInjected("reject");
    expect(r.code, r.err).toBe(0);
    expect(r.err).toContain(
      "p2pd: internal warning: unhandled rejection: injected (ERR_TEST_INJECTED)",
    );
    expect(JSON.parse(r.out).listening).toBeDefined();
    noStack(r.err);
  });

  test("an uncaught exception is one error line and exit 1", async () => {
    const r = await withInjected("throw");
    expect(r.code, r.err).toBe(1);
    expect(r.err).toContain("p2pd: internal error: injected (ERR_TEST_INJECTED)");
    // The ready line was already out: no second JSON document.
    expect(r.out.trimEnd().split("\n")).toHaveLength(1);
    noStack(r.err);
  });
});
