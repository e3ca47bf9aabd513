import { execFileSync } from "node:child_process";
import { rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { bundleForChild } from "./helpers.js";

const here = dirname(fileURLToPath(import.meta.url));
const _pkg = dirname(here);
let build = "";

describe("wrapped pipes in a fresh process", () => {
  beforeAll(() => {
    // A bundle of the fixture and src.
    build = bundleForChild("test/fixtures/wrap-exit.ts", ".pp-wrap-");
  }, 60_000);

  afterAll(() => {
    if (build) rmSync(build, { recursive: true, force: true });
  });

  test("after close() nothing holds the event loop: the process exits by itself", () => {
    const t0 = Date.now();
    const out = execFileSync(process.execPath, [join(build, "wrap-exit.js")], {
      encoding: "utf8",
      timeout: 20_000,
    });
    const r = JSON.parse(out.trim().split("\n").at(-1) as string);
    // Every waiting recv was ended by the close, not by its 60 s timer.
    expect(r.codes).toEqual(Array(6).fill("ERR_CLOSED"));
    // The process exited promptly after the last close (a leaked 60 s timer would hold it).
    expect(Date.now() - r.start).toBeLessThan(5_000);
    expect(Date.now() - t0).toBeLessThan(20_000);
  });
});
