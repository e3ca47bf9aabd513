/**
 * The CLI contracts other tools rely on (issues 2-10), checked on the built binary as a user runs it:
 * exact JSON field names and types, one JSON document (or one JSON line for servers) on stdout,
 * progress on stderr, exit codes 0 / 1 / 2 / 130, --help listing every flag, JSON usage errors.
 * Loopback only: every server used here is started by this file.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createSocket } from "node:dgram";
import { once } from "node:events";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, test, vi } from "vitest";
import { commands } from "../src/commands/index.js";
import { cli } from "./run-cli.js";

// Every test spawns processes that load the whole library: generous on a busy 2-core CI box.
vi.setConfig({ testTimeout: 30_000 });

const bin = join(dirname(fileURLToPath(import.meta.url)), "..", "dist", "index.js");
const built = existsSync(bin);
if (!built) console.warn(`contracts.test.ts skipped: build the CLI first (${bin} is missing)`);

const NAT_TYPES = [
  "open-internet",
  "udp-firewall",
  "full-cone",
  "restricted-cone",
  "port-restricted-cone",
  "symmetric",
  "blocked",
];
const DELTA_KINDS = ["not-applicable", "equal", "preserving", "independent", "dependent", "random"];
const cacheDir = mkdtempSync(join(tmpdir(), "p2pd-contracts-"));

interface Ran {
  code: number | null;
  signal: NodeJS.Signals | null;
  out: string;
  err: string;
}

/** Runs the binary to completion. */
async function p2pd(args: string[], timeoutMs = 20_000): Promise<Ran> {
  const child = spawn(process.execPath, [bin, ...args], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, XDG_CACHE_HOME: cacheDir, P2PD_NAT_STUN: "" },
  });
  let out = "";
  let err = "";
  child.stdout.on("data", (d) => (out += d));
  child.stderr.on("data", (d) => (err += d));
  const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  const [code, signal] = (await once(child, "close")) as [number | null, NodeJS.Signals | null];
  clearTimeout(timer);
  return { code, signal, out, err };
}

/** A long-running command: resolves once its first stdout line (the ready line) is out. */
interface Server {
  first: Record<string, unknown>;
  firstRaw: string;
  child: ChildProcess;
  /** SIGINT (or `sig`), then the exit code and everything printed. */
  stop(sig?: NodeJS.Signals): Promise<Ran>;
}
const running = new Set<ChildProcess>();

async function serve(args: string[]): Promise<Server> {
  const child = spawn(process.execPath, [bin, ...args], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, XDG_CACHE_HOME: cacheDir, P2PD_NAT_STUN: "" },
  });
  running.add(child);
  let out = "";
  let err = "";
  child.stderr.on("data", (d) => (err += d));
  const closed = once(child, "close") as Promise<[number | null, NodeJS.Signals | null]>;
  const firstRaw = await new Promise<string>((resolve, reject) => {
    child.stdout.on("data", (d) => {
      out += d;
      const nl = out.indexOf("\n");
      if (nl >= 0) resolve(out.slice(0, nl));
    });
    closed.then(([c]) => reject(new Error(`p2pd ${args[0]} exited ${c} before ready: ${err}`)));
  });
  return {
    first: args.includes("--json") ? JSON.parse(firstRaw) : {},
    firstRaw,
    child,
    async stop(sig: NodeJS.Signals = "SIGINT") {
      child.kill(sig);
      const [code, signal] = await closed;
      running.delete(child);
      return { code, signal, out, err };
    },
  };
}

/** stdout must be exactly one JSON document on one line. */
function oneJson(out: string): Record<string, unknown> {
  expect(out.endsWith("\n")).toBe(true);
  expect(out.trimEnd().split("\n")).toHaveLength(1);
  const v = JSON.parse(out);
  expect(typeof v).toBe("object");
  return v;
}

function noStack(text: string): void {
  expect(text).not.toMatch(/^\s+at .+[(:]\d+/m);
  expect(text).not.toContain("node:internal");
}

/**
 * A bad command line: exit 2, `{"error": {code, message}}` alone on stdout, a one-line reason on
 * stderr. `inProcess` runs the same `run()` the binary calls, without the process start-up cost.
 */
async function expectUsage(args: string[], inProcess = false): Promise<void> {
  const r = inProcess
    ? await cli(...args, "--json").then((x) => ({ ...x, signal: null }))
    : await p2pd([...args, "--json"]);
  expect(r.code, `${args.join(" ")}: ${r.out}${r.err}`).toBe(2);
  const j = oneJson(r.out) as { error: { code: unknown; message: unknown } };
  expect(Object.keys(j)).toEqual(["error"]);
  expect(typeof j.error.code).toBe("string");
  expect(j.error.code).toMatch(/^ERR_/);
  expect(typeof j.error.message).toBe("string");
  expect(r.err).toContain("p2pd: ");
  noStack(r.err);
}

/** Several bad command lines: the first through the binary, the others in-process (same code path). */
async function expectUsages(...lines: string[][]): Promise<void> {
  await Promise.all(lines.map((l, i) => expectUsage(l, i > 0)));
}

/** A runtime failure: exit 1 with a JSON error and the reason. */
function expectFailure(r: Ran, code?: string): { code: string; message: string } {
  expect(r.code, r.out + r.err).toBe(1);
  const j = oneJson(r.out) as { error: { code: string; message: string } };
  expect(Object.keys(j)).toEqual(["error"]);
  if (code) expect(j.error.code).toBe(code);
  expect(j.error.code).toMatch(/^ERR_/);
  expect(j.error.message.length).toBeGreaterThan(0);
  noStack(r.err);
  return j.error;
}

// The flags each issue names for each subcommand (--json and --help are on all).
const CONTRACT_FLAGS: Record<string, string[]> = {
  demo: [],
  interfaces: [],
  "echo-server": ["port", "proto"],
  stun: ["tcp", "family"],
  "stun-server": ["ip", "port", "alt-port"],
  nat: ["stun"],
  doctor: ["stun", "mqtt"],
  portmap: ["proto", "lifetime"],
  name: ["value", "seed-file", "irc-servers"],
  node: ["stun", "mqtt", "turn", "turn-user", "turn-pass"],
  connect: ["stun", "mqtt", "turn", "turn-user", "turn-pass", "strategies"],
  serve: ["port"],
  servers: [],
};

let stunSrv: Server;
let stunPort: number;
let altPort: number;

beforeAll(async () => {
  if (!built) return;
  stunSrv = await serve([
    "stun-server",
    "--ip",
    "127.0.0.1",
    "--ip",
    "127.0.0.2",
    "--port",
    "0",
    "--alt-port",
    "0",
    "--json",
  ]);
  stunPort = (stunSrv.first.primary as { port: number }).port;
  altPort = (stunSrv.first.other as { port: number }).port;
}, 20_000);

afterAll(async () => {
  for (const c of running) c.kill("SIGKILL");
  rmSync(cacheDir, { recursive: true, force: true });
});

describe.skipIf(!built)("p2pd (issue 2: shell)", () => {
  test("--help lists every subcommand and the exit codes; --version and --version --json", async () => {
    const h = await p2pd(["--help"]);
    expect(h.code).toBe(0);
    expect(h.err).toBe("");
    for (const c of commands) expect(h.out).toContain(`  ${c.name} `);
    expect(h.out).toMatch(/Exit codes: 0 .*1 .*2 .*130/);
    const v = await p2pd(["--version"]);
    expect(v.code).toBe(0);
    expect(v.out).toMatch(/^\d+\.\d+\.\d+\n$/);
    const vj = await p2pd(["--version", "--json"]);
    expect(vj.code).toBe(0);
    expect(oneJson(vj.out)).toEqual({ version: v.out.trim() });
  });

  test("no command is a usage error (exit 2); an unknown command too, with a JSON error", async () => {
    expect((await p2pd([])).code).toBe(2);
    await expectUsage(["no-such-command"]);
  });

  test("README documents every subcommand, its contract flags and exit codes", () => {
    const readme = readFileSync(join(dirname(bin), "..", "README.md"), "utf8");
    for (const c of commands) {
      const start = readme.indexOf(`### \`p2pd ${c.name}\``);
      expect(start, `README lacks a section for ${c.name}`).toBeGreaterThan(0);
      const end = readme.indexOf("\n### ", start + 1);
      const section = readme.slice(start, end < 0 ? undefined : end);
      // The contract's flags (stable); the full lists are regenerated from --help when flags change.
      for (const f of [...(CONTRACT_FLAGS[c.name] ?? []), "json"]) {
        expect(section, `README section ${c.name} lacks --${f}`).toMatch(
          new RegExp(`^  --${f}\\b`, "m"),
        );
      }
      expect(section).toMatch(/Exit: /);
    }
  });

  test("the contract table covers every subcommand", () => {
    expect(Object.keys(CONTRACT_FLAGS).sort()).toEqual(commands.map((c) => c.name).sort());
  });

  for (const c of commands) {
    test(`${c.name}: --help lists every flag, the contract's ones included; --json and --version are accepted`, async () => {
      const r = await p2pd([c.name, "--help"]);
      expect(r.code).toBe(0);
      expect(r.out).toContain(`Usage: p2pd ${c.name}`);
      const flags = [...Object.keys(c.options ?? {}), "json", "help", "version"];
      for (const f of [...flags, ...(CONTRACT_FLAGS[c.name] ?? [])]) {
        expect(r.out, `${c.name} --help lacks --${f}`).toMatch(new RegExp(`^  --${f}\\b`, "m"));
      }
      // --json is a known flag: with an unknown one beside it the error is still JSON.
      await expectUsage([c.name, "--no-such-flag"]);
      // --version on every subcommand too (in-process: the same run() the binary calls).
      const v = await cli(c.name, "--version", "--json");
      expect(v.code).toBe(0);
      expect(oneJson(v.out)).toEqual({ version: expect.stringMatching(/^\d+\.\d+\.\d+$/) });
    });
  }
});

describe.skipIf(!built)("p2pd interfaces (issue 3)", () => {
  test("--json names the default interface and its gateway", async () => {
    const r = await p2pd(["interfaces", "--json"]);
    expect(r.code).toBe(0);
    const j = oneJson(r.out) as {
      default: Record<"4" | "6", { interface: string; gateway: string | null } | null>;
      interfaces: { name: string; default: boolean; addresses: unknown[] }[];
    };
    expect(Object.keys(j.default).sort()).toEqual(["4", "6"]);
    expect(j.interfaces.length).toBeGreaterThan(0);
    for (const i of j.interfaces) {
      expect(typeof i.name).toBe("string");
      expect(typeof i.default).toBe("boolean");
      expect(Array.isArray(i.addresses)).toBe(true);
    }
    for (const f of ["4", "6"] as const) {
      const d = j.default[f];
      if (d === null) continue;
      expect(typeof d.interface).toBe("string");
      expect(d.gateway === null || typeof d.gateway === "string").toBe(true);
      expect(j.interfaces.find((i) => i.name === d.interface)?.default).toBe(true);
    }
    noStack(r.err);
  });

  test("bad input: extra arguments, --stun without --resolve, bad --timeout -> exit 2", async () => {
    await expectUsages(
      ["interfaces", "a", "b"],
      ["interfaces", "--stun", "127.0.0.1:1"],
      ["interfaces", "--resolve"],
      ["interfaces", "--timeout", "abc"],
    );
  });

  test("an interface that does not exist -> exit 1 with the reason", async () => {
    expectFailure(await p2pd(["interfaces", "no-such-if0", "--json"]), "ERR_NO_SUCH_INTERFACE");
  });
});

describe.skipIf(!built)("p2pd echo-server (issue 3)", () => {
  test("prints one JSON line with where it listens, echoes TCP and UDP, stops on SIGINT", async () => {
    const s = await serve(["echo-server", "--port", "0", "--host", "127.0.0.1", "--json"]);
    const listening = s.first.listening as { proto: string; host: string; port: number }[];
    expect(Object.keys(s.first)).toEqual(["listening"]);
    expect(listening.map((l) => l.proto).sort()).toEqual(["tcp", "udp"]);
    for (const l of listening) {
      expect(l.host).toBe("127.0.0.1");
      expect(Number.isInteger(l.port) && l.port > 0).toBe(true);
    }
    const tcp = listening.find((l) => l.proto === "tcp");
    const udp = listening.find((l) => l.proto === "udp");
    if (!tcp || !udp) throw new Error("no tcp or udp listener");
    const sock = connect(tcp.port, "127.0.0.1");
    await once(sock, "connect");
    sock.write("ping-tcp");
    const [reply] = await once(sock, "data");
    expect(String(reply)).toBe("ping-tcp");
    sock.destroy();
    const u = createSocket("udp4");
    u.send("ping-udp", udp.port, "127.0.0.1");
    const [msg] = await once(u, "message");
    expect(String(msg)).toBe("ping-udp");
    u.close();
    const r = await s.stop();
    // A clean stop on SIGINT (echo-server and stun-server exit 0; node and serve 130, see README).
    expect(r.code).toBe(0);
    expect(r.out).toBe(`${s.firstRaw}\n`);
    noStack(r.err);
  });

  test("bad input: no --port, port out of range, unknown proto, missing flag value -> exit 2", async () => {
    await expectUsages(
      ["echo-server"],
      ["echo-server", "--port", "99999"],
      ["echo-server", "--port", "abc"],
      ["echo-server", "--port", "0", "--proto", "sctp"],
      ["echo-server", "--port"],
    );
  });

  test("a port already taken -> exit 1 with a typed error", async () => {
    const s = await serve(["echo-server", "--port", "0", "--host", "127.0.0.1", "--proto", "tcp"]);
    try {
      const line = s.firstRaw; // human mode: "... port N"
      const port = /port (\d+)/.exec(line)?.[1];
      expect(port).toBeDefined();
      const r = await p2pd([
        "echo-server",
        "--port",
        String(port),
        "--host",
        "127.0.0.1",
        "--proto",
        "tcp",
        "--json",
      ]);
      expectFailure(r);
    } finally {
      await s.stop();
    }
  });
});

describe.skipIf(!built)("p2pd stun-server and stun (issue 4)", () => {
  test("stun-server prints one JSON line: listening, primary and other {ip, port}", () => {
    const j = stunSrv.first as {
      listening: { protocol: string; ip: string; port: number }[];
      primary: { ip: string; port: number };
      other: { ip: string; port: number };
      rfc5780: boolean;
    };
    expect(j.primary).toEqual({ ip: "127.0.0.1", port: stunPort });
    expect(j.other).toEqual({ ip: "127.0.0.2", port: altPort });
    expect(j.rfc5780).toBe(true);
    // two IPs x two ports x UDP and TCP
    expect(j.listening).toHaveLength(8);
  });

  for (const tcp of [false, true]) {
    test(`stun over ${tcp ? "TCP" : "UDP"}: {"mapped": {"ip", "port"}} and the RTT`, async () => {
      const r = await p2pd([
        "stun",
        `127.0.0.1:${stunPort}`,
        ...(tcp ? ["--tcp"] : []),
        "--family",
        "4",
        "--json",
      ]);
      expect(r.code, r.err).toBe(0);
      const j = oneJson(r.out) as {
        mapped: { ip: string; port: number };
        rtt: number;
        protocol: string;
      };
      expect(Object.keys(j.mapped).sort()).toEqual(["ip", "port"]);
      expect(j.mapped.ip).toBe("127.0.0.1");
      expect(Number.isInteger(j.mapped.port) && j.mapped.port > 0).toBe(true);
      expect(typeof j.rtt).toBe("number");
      expect(j.rtt).toBeGreaterThanOrEqual(0);
      expect(j.protocol).toBe(tcp ? "tcp" : "udp");
      expect(r.err).toBe("");
    });
  }

  test("stun without --json prints a human line, not JSON", async () => {
    const r = await p2pd(["stun", `127.0.0.1:${stunPort}`]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^127\.0\.0\.1:\d+ /);
  });

  test("stun bad input -> exit 2: missing host, bad port, bad host, bad family, family mismatch", async () => {
    await expectUsages(
      ["stun"],
      ["stun", "127.0.0.1:99999"],
      ["stun", "127.0.0.1:abc"],
      ["stun", "a b"],
      ["stun", "bad..host"],
      ["stun", "127.0.0.1", "--family", "5"],
      ["stun", "127.0.0.1", "--family", "6"],
      ["stun", "[::1]:3478", "--family", "4"],
      ["stun", "127.0.0.1", "--local", "not-an-ip"],
      ["stun", "127.0.0.1", "--timeout", "0"],
      ["stun", "127.0.0.1", "127.0.0.2"],
      ["stun", "127.0.0.1", "--rfc4571"],
    );
  });

  test("stun to a silent server -> exit 1 ERR_STUN_TIMEOUT", async () => {
    const silent = createSocket("udp4");
    silent.bind(0, "127.0.0.1");
    await once(silent, "listening");
    try {
      const r = await p2pd([
        "stun",
        `127.0.0.1:${silent.address().port}`,
        "--timeout",
        "300",
        "--json",
      ]);
      expectFailure(r, "ERR_STUN_TIMEOUT");
    } finally {
      silent.close();
    }
  });

  test("stun-server bad input -> exit 2: no --ip, bad ip, three ips, bad ports, bad proto", async () => {
    await expectUsages(
      ["stun-server"],
      ["stun-server", "--ip", "1.2.3"],
      ["stun-server", "--ip", "127.0.0.1", "--ip", "127.0.0.2", "--ip", "127.0.0.3"],
      ["stun-server", "--ip", "127.0.0.1", "--port", "70000"],
      ["stun-server", "--ip", "127.0.0.1", "--alt-port", "-1"],
      ["stun-server", "--ip", "127.0.0.1", "--proto", "sctp"],
      ["stun-server", "--ip", "127.0.0.1", "extra"],
      ["stun-server", "--ip", "127.0.0.1", "--ip", "::1"],
      ["stun-server", "--ip", "127.0.0.1", "--port", "5000", "--alt-port", "5000"],
    );
  });

  test("stun-server with two --ip and no --alt-port is still RFC 5780 (alternate port chosen)", async () => {
    const s = await serve(
      ["stun-server", "--ip", "127.0.0.1", "--ip", "127.0.0.2", "--port", "0"].concat([
        "--proto",
        "udp",
        "--json",
      ]),
    );
    try {
      expect(s.first.rfc5780).toBe(true);
      const other = s.first.other as { ip: string; port: number };
      expect(other.ip).toBe("127.0.0.2");
      expect(other.port).not.toBe((s.first.primary as { port: number }).port);
    } finally {
      expect((await s.stop()).code).toBe(0);
    }
  });

  test("stun-server on an address this host does not have -> exit 1", async () => {
    // 192.0.2.0/24 is TEST-NET-1: never assigned here, so bind fails before any packet.
    const r = await p2pd(["stun-server", "--ip", "192.0.2.77", "--port", "0", "--json"]);
    expectFailure(r, "ERR_STUN_BIND");
  });
});

describe.skipIf(!built)("p2pd nat (issue 5)", () => {
  test("--json: type, delta {kind, value}, mapped [{ip, port}], ms; progress on stderr", async () => {
    const r = await p2pd(["nat", "--stun", `127.0.0.1:${stunPort}`, "--no-cache", "--json"]);
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
    expect(r.err).toContain(`127.0.0.1:${stunPort}`);
    noStack(r.err);
  });

  test("a server that never answers: a type from the list (UDP blocked), not a crash", async () => {
    const silent = createSocket("udp4");
    silent.bind(0, "127.0.0.1");
    await once(silent, "listening");
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
    const silent = createSocket("udp4");
    silent.bind(0, "127.0.0.1");
    await once(silent, "listening");
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

describe.skipIf(!built)("p2pd name (issue 7)", () => {
  test("bad input -> exit 2: no verb, no name, not NAME.TLD, register without a seed, bad LIST", async () => {
    await expectUsages(
      ["name"],
      ["name", "lookup"],
      ["name", "resolve", "a.b"],
      ["name", "lookup", "nodot"],
      ["name", "register", "a.b"],
      ["name", "lookup", "a.b", "--irc-servers", "bogus:::"],
    );
  });

  test("lookup with every IRC server down -> exit 1 with the reason", async () => {
    // Port 1 on loopback: connection refused at once, nothing leaves the host.
    const r = await p2pd([
      "name",
      "lookup",
      "nobody.test",
      "--irc-servers",
      "127.0.0.1:1",
      "--timeout",
      "5000",
      "--json",
    ]);
    const e = expectFailure(r);
    expect(e.message).toContain("127.0.0.1:1");
  });
});

describe.skipIf(!built)("p2pd node and connect (issue 8)", () => {
  const common = () => ["--interfaces", "loopback", "--stun", `127.0.0.1:${stunPort}`];

  test("node prints one JSON line with addr when ready; connect echoes with each strategy", async () => {
    const n = await serve(["node", ...common(), "--json"]);
    try {
      expect(typeof n.first.addr).toBe("string");
      expect(n.firstRaw).toContain('"addr"');
      const mqtt = (n.first.mqtt as string[])[0];
      expect(mqtt).toMatch(/^mqtt:\/\/127\.0\.0\.1:\d+$/);
      for (const strategy of ["direct", "reverse"]) {
        const r = await p2pd([
          "connect",
          String(n.first.addr),
          ...common(),
          "--mqtt",
          String(mqtt),
          "--strategies",
          strategy,
          "--json",
        ]);
        expect(r.code, r.err).toBe(0);
        const j = oneJson(r.out) as { strategy: string; ms: number; echo: boolean };
        expect(j.strategy).toBe(strategy);
        expect(typeof j.ms).toBe("number");
        expect(j.echo).toBe(true);
        noStack(r.err);
      }
    } finally {
      const r = await n.stop();
      // Killed by SIGINT: 130, and still only the one ready line on stdout.
      expect(r.code).toBe(130);
      expect(r.out).toBe(`${n.firstRaw}\n`);
      noStack(r.err);
    }
  }, 30_000);

  test("connect to a node that is gone -> non-zero with a reason", async () => {
    const n = await serve(["node", ...common(), "--json"]);
    const addr = String(n.first.addr);
    // SIGTERM stops a node like SIGINT does.
    expect((await n.stop("SIGTERM")).code).toBe(130);
    const r = await p2pd([
      "connect",
      addr,
      ...common(),
      "--strategies",
      "direct",
      "--timeout",
      "2000",
      "--json",
    ]);
    expectFailure(r);
  }, 30_000);

  test("bad input -> exit 2", async () => {
    await expectUsages(
      ["connect"],
      ["connect", "a", "b"],
      ["connect", "x.y", "--strategies", "teleport"],
      ["connect", "x.y", "--timeout", "abc"],
      ["connect", "x.y", "--mqtt", "http://127.0.0.1:1"],
      ["node", "--port", "99999"],
      ["node", "--mqtt", "http://127.0.0.1:1"],
      ["node", "--turn", "127.0.0.1:3478"],
    );
  });
});

describe.skipIf(!built)("p2pd demo (issue 8)", () => {
  test("--json: one JSON document with the strategy and timings, exit 0", async () => {
    const r = await p2pd(["demo", "--json"]);
    expect(r.code, r.err).toBe(0);
    const j = oneJson(r.out) as { strategy: string; ms: number };
    expect(typeof j.strategy).toBe("string");
    expect(typeof j.ms).toBe("number");
    expect(r.err.length).toBeGreaterThan(0);
  }, 30_000);
});

describe.skipIf(!built)("p2pd serve (issue 10)", () => {
  test("prints one JSON line with the URL and address, answers HTTP, exits 130 on SIGINT", async () => {
    const s = await serve([
      "serve",
      "--port",
      "0",
      "--interfaces",
      "loopback",
      "--stun",
      `127.0.0.1:${stunPort}`,
      "--json",
    ]);
    try {
      expect(String(s.first.url)).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(typeof s.first.addr).toBe("string");
      const res = await fetch(`${s.first.url}/`);
      expect(res.status).toBe(200);
      await res.arrayBuffer();
    } finally {
      const r = await s.stop();
      expect(r.code).toBe(130);
      expect(r.out).toBe(`${s.firstRaw}\n`);
    }
  }, 30_000);

  test("bad input -> exit 2", async () => {
    await expectUsages(["serve", "--port", "99999"], ["serve", "--port", "x"]);
  });
});

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

describe.skipIf(!built)("p2pd servers (issue 14)", () => {
  test("--json: {stun:[{ip,port,altIp,altPort,family,transport}], mqtt:[{url,ip,port,family}], turn:[{url,ip,port,user,pass}]}", async () => {
    const cfg = join(cacheDir, "servers-contract.json");
    writeFileSync(
      cfg,
      JSON.stringify({
        stun: [
          "127.0.0.1:3478",
          { ip: "127.0.0.2", port: 3478, altIp: "127.0.0.3", altPort: 3479 },
        ],
        mqtt: ["mqtt://127.0.0.1:1883"],
        turn: ["turn:127.0.0.1:3478"],
      }),
    );
    const saved = process.env.P2PD_CONFIG;
    process.env.P2PD_CONFIG = cfg;
    try {
      const r = await p2pd(["servers", "--json"]);
      expect(r.code, r.err).toBe(0);
      expect(r.out).toBe(
        `${JSON.stringify({
          stun: [
            {
              ip: "127.0.0.1",
              port: 3478,
              altIp: null,
              altPort: null,
              family: 4,
              transport: "udp",
            },
            {
              ip: "127.0.0.2",
              port: 3478,
              altIp: "127.0.0.3",
              altPort: 3479,
              family: 4,
              transport: "udp",
            },
          ],
          mqtt: [{ url: "mqtt://127.0.0.1:1883", ip: "127.0.0.1", port: 1883, family: 4 }],
          turn: [
            { url: "turn:127.0.0.1:3478", ip: "127.0.0.1", port: 3478, user: null, pass: null },
          ],
        })}\n`,
      );
      writeFileSync(cfg, '{"mqtt": [{"url": "mqtt://127.0.0.1"}]}');
      const bad = await p2pd(["servers", "--json"]);
      expect(bad.code).toBe(2);
      expect(JSON.parse(bad.out).error).toEqual({
        code: "ERR_BAD_CONFIG",
        message: `${cfg}: mqtt[0].url: want mqtt://HOST:PORT, got "mqtt://127.0.0.1"`,
      });
      expect(bad.err.trimEnd().split("\n")).toHaveLength(1);
    } finally {
      if (saved === undefined) delete process.env.P2PD_CONFIG;
      else process.env.P2PD_CONFIG = saved;
    }
  });
});
