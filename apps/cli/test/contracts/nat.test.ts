import { spawn } from "node:child_process";
import { once } from "node:events";
import { describe, expect, test } from "vitest";
import { DELTA_KINDS, NAT_TYPES } from "../contract-values.js";
import {
  bin,
  built,
  contractFile,
  expectUsages,
  noStack,
  oneJson,
  p2pd,
  running,
  silentUdp,
  stunServerForFile,
} from "./harness.js";

// The CLI contract of `p2pd nat` (issue 5).
contractFile();
const stunServer = stunServerForFile();

describe.skipIf(!built)("p2pd nat (issue 5)", () => {
  test("--json: type, delta {kind, value}, mapped [{ip, port}], ms; progress on stderr", async () => {
    const r = await p2pd(["nat", "--stun", `127.0.0.1:${stunServer.port}`, "--no-cache", "--json"]);
    expect(r.code, r.err).toBe(0);
    const j = oneJson(r.out) as {
      type: string;
      delta: { kind: string; value: number };
      mapped: { ip: string; port: number }[];
      ms: number;
    };
    expect(NAT_TYPES).toContain(j.type);
    // Loopback has no NAT in between.
    expect(j.type).toBe("open-internet");
    expect(Object.keys(j.delta).sort()).toEqual(["kind", "value"]);
    expect(DELTA_KINDS).toContain(j.delta.kind);
    expect(typeof j.delta.value).toBe("number");
    expect(j.mapped.length).toBeGreaterThan(0);
    for (const m of j.mapped) {
      expect(Object.keys(m).sort()).toEqual(["ip", "port"]);
      expect(m.ip).toBe("127.0.0.1");
      expect(Number.isInteger(m.port)).toBe(true);
    }
    expect(typeof j.ms).toBe("number");
    expect(r.err).toContain(`127.0.0.1:${stunServer.port}`);
    noStack(r.err);
  });

  test("a server that never answers: a type from the list (UDP blocked), not a crash", async () => {
    const silent = await silentUdp();
    try {
      const r = await p2pd([
        "nat",
        "--stun",
        `127.0.0.1:${silent.address().port}`,
        "--timeout",
        "1500",
        "--no-cache",
        "--json",
      ]);
      expect(r.code, r.err).toBe(0);
      const j = oneJson(r.out) as { type: string; mapped: unknown[] };
      expect(j.type).toBe("blocked");
      expect(j.mapped).toEqual([]);
    } finally {
      silent.close();
    }
  });

  test("SIGINT while testing -> exit 130 with ERR_INTERRUPTED on stdout", async () => {
    const silent = await silentUdp();
    const child = spawn(
      process.execPath,
      [bin, "nat", "--stun", `127.0.0.1:${silent.address().port}`, "--timeout", "20000"].concat([
        "--no-cache",
        "--json",
      ]),
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    running.add(child);
    let out = "";
    let err = "";
    let sent = false; // once: a second SIGINT force-quits, as in most CLIs
    child.stdout.on("data", (d) => (out += d));
    // Interrupt once it reports probing: its signal handlers are installed by then.
    child.stderr.on("data", (d) => {
      err += d;
      if (!sent && err.includes("probing")) sent = child.kill("SIGINT");
    });
    const [code] = await once(child, "close");
    running.delete(child);
    silent.close();
    expect(code, err).toBe(130);
    expect(oneJson(out)).toEqual({ error: { code: "ERR_INTERRUPTED", message: "interrupted" } });
    noStack(err);
  });

  test("bad input -> exit 2: bad server, bad family, bad timeout, extra argument, bad --local", async () => {
    await expectUsages(
      ["nat", "--stun", "127.0.0.1:99999", "--no-cache"],
      ["nat", "--stun", "bad:port::", "--no-cache"],
      ["nat", "--stun", "127.0.0.1:1", "--family", "5"],
      ["nat", "--stun", "127.0.0.1:1", "--family", "6", "--no-cache"],
      ["nat", "--stun", "127.0.0.1:1", "--timeout", "5"],
      ["nat", "extra", "--stun", "127.0.0.1:1"],
      ["nat", "--stun", "127.0.0.1:1", "--local", "nope"],
      ["nat", "--stun"],
    );
  });
});
