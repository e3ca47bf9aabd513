import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { bundleForChild } from "./helpers.js";

// Link-local IPv6 with a scope id and SYN-dropping need a real interface: a veth pair inside
// a network namespace this test creates (prefix "pp-"). The checks run in a child process there.
const here = dirname(fileURLToPath(import.meta.url));
const _pkg = dirname(here);
const isRoot = process.getuid?.() === 0;
const hasIp = ["/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip"].some(existsSync);
const hasIptables = ["/usr/sbin/iptables", "/sbin/iptables"].some(existsSync);
const ns = `pp-${randomBytes(3).toString("hex")}`;
let build = "";

function sh(...args: string[]): string {
  return execFileSync(args[0] as string, args.slice(1), {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
  });
}

function inNs(scenario: string): Record<string, unknown> {
  const out = execFileSync(
    "ip",
    ["netns", "exec", ns, process.execPath, join(here, "netns", "child.mjs"), scenario],
    {
      encoding: "utf8",
      env: { ...process.env, PIPE_BUILD: join(build, "index.js") },
      timeout: 20_000,
    },
  );
  return JSON.parse(out.trim().split("\n").at(-1) as string);
}

describe.skipIf(!isRoot || !hasIp)("in a network namespace (needs root and iproute2)", () => {
  beforeAll(() => {
    // A bundle of src, so the child runs the code under test.
    build = bundleForChild("src/index.ts", ".pp-build-");
    sh("ip", "netns", "add", ns);
    sh("ip", "-n", ns, "link", "set", "lo", "up");
    sh("ip", "-n", ns, "link", "add", "pv0", "type", "veth", "peer", "name", "pv1");
    sh("ip", "-n", ns, "link", "set", "pv0", "up");
    sh("ip", "-n", ns, "link", "set", "pv1", "up");
    sh("ip", "-n", ns, "-6", "addr", "add", "fe80::1/64", "dev", "pv0", "nodad");
    sh("ip", "-n", ns, "-6", "addr", "add", "fd00:99::1/64", "dev", "pv0", "nodad");
  }, 60_000);

  afterAll(() => {
    try {
      sh("ip", "netns", "del", ns);
    } catch {
      // already gone
    }
    if (build) rmSync(build, { recursive: true, force: true });
  });

  test("TCP and UDP over a scoped link-local; Daemon binds global + link-local on one port", () => {
    const r = inNs("linklocal") as {
      tcp: { server: { scopeId: string }; child: { host: string; scopeId: string }; msg: string };
      udp: { msg: string; from: { host: string; scopeId: string }; reply: string };
      daemon: Array<{
        proto: string;
        local: { host: string; port: number; scopeId?: string };
        linkLocal: boolean;
      }>;
      echo: Array<{ data: string }>;
      range: string[];
      rangeEcho: string[];
    };
    expect(r.tcp.msg).toBe("over link-local");
    expect(r.tcp.server.scopeId).toBe("pv0");
    expect(r.tcp.child).toMatchObject({ host: "fe80::1", scopeId: "pv0" });
    expect(r.udp).toMatchObject({
      msg: "udp link-local",
      reply: "reply",
      from: { host: "fe80::1", scopeId: "pv0" },
    });
    expect(r.daemon).toHaveLength(4);
    for (const proto of ["tcp", "udp"]) {
      const mine = r.daemon.filter((s) => s.proto === proto);
      expect(mine.map((s) => [s.local.host, s.linkLocal])).toEqual([
        ["fd00:99::1", false],
        ["fe80::1", true],
      ]);
      expect(mine[1]?.local.scopeId).toBe("pv0");
      expect(mine[0]?.local.port).toBe(mine[1]?.local.port);
    }
    expect(r.echo.map((e) => e.data)).toEqual(["hi tcp", "hi tcp", "hi udp", "hi udp"]);
    const combos = [40000, 40001].flatMap((port) =>
      ["tcp", "udp"].flatMap((proto) => [
        `${proto} fd00:99::1 ${port}`,
        `${proto} fe80::1 ${port}`,
      ]),
    );
    expect(r.range).toEqual(combos);
    expect(r.rangeEcho).toEqual(combos.map((c) => `hi ${c.split(" ")[0]}`));
  }, 30_000);

  test.skipIf(!hasIptables)(
    "a dropped SYN is ERR_CONNECT_TIMEOUT; abort mid-connect is ERR_ABORTED; nothing left open",
    () => {
      sh(
        "ip",
        "netns",
        "exec",
        ns,
        "iptables",
        "-A",
        "INPUT",
        "-p",
        "tcp",
        "--dport",
        "9",
        "-j",
        "DROP",
      );
      const r = inNs("timeout");
      expect(r).toEqual({
        code: "ERR_CONNECT_TIMEOUT",
        elapsedOk: true,
        abortCode: "ERR_ABORTED",
        handles: 0,
      });
    },
    30_000,
  );
});
