import { describe, test } from "vitest";
import { built, contractFile, expectUsages } from "./harness.js";

// The CLI contract of `p2pd portmap` (issue 6): command-line checks only, no gateway is contacted.
contractFile();

describe.skipIf(!built)(
  "p2pd portmap (issue 6): command-line checks (no gateway is contacted)",
  () => {
    test("bad input -> exit 2", async () => {
      await expectUsages(
        ["portmap"],
        ["portmap", "open", "80"],
        ["portmap", "add"],
        ["portmap", "add", "0"],
        ["portmap", "add", "70000"],
        ["portmap", "add", "80", "--proto", "sctp"],
        ["portmap", "add", "80", "--lifetime", "abc"],
        ["portmap", "remove"],
        ["portmap", "list", "80"],
      );
    });
  },
);
