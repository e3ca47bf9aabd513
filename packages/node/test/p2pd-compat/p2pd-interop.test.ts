/**
 * A TypeScript node and the real Python P2PD (the reference in ../shared/reference/p2pd-python)
 * exchange P2PD's test message both ways, over direct TCP. The Python node runs in a network
 * namespace this test makes, with no route out (its only link is a veth to this namespace), so
 * nothing it sends can leave the machine. Root, iproute2 and the Debian packages of .ci/apt-packages
 * needed; run under the lab lock: `flock -o /tmp/p2pd-lab.lock pnpm exec vitest run <this file>`.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import type { Pipe } from "@p2pd/pipe";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { parseAddress } from "../../src/address.js";
import { ConnectError } from "../../src/errors.js";
import { type P2PNode, startNode } from "../../src/node.js";
import { P2PD_TEST_REPLY, p2pdTest } from "../../src/p2pd-compat/protocol.js";

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, "../../../..");
const REF =
  process.env.P2PD_PYTHON_REF ??
  [resolve(repo, "../shared/reference/p2pd-python"), "/work/shared/reference/p2pd-python"].find(
    (p) => existsSync(join(p, "src/p2pd/__init__.py")),
  ) ??
  resolve(repo, "../shared/reference/p2pd-python");
const PEER = join(here, "p2pd_peer.py");
const PY = "/usr/bin/python3";
const MOSQUITTO = ["/usr/sbin/mosquitto", "/usr/bin/mosquitto"].some((p) => existsSync(p));

function whyNot(): string | undefined {
  if (!existsSync(join(REF, "src/p2pd/__init__.py")))
    return `the Python P2PD reference is absent (looked in ${REF}; set P2PD_PYTHON_REF)`;
  if (process.platform !== "linux" || process.getuid?.() !== 0)
    return "needs root on Linux (network namespaces)";
  try {
    execFileSync("ip", ["netns", "list"], { stdio: "ignore" });
  } catch {
    return "needs iproute2 (ip netns)";
  }
  try {
    execFileSync(PY, ["-c", "import ntplib, xmltodict, ecdsa, fasteners, netifaces, pyroute2"], {
      stdio: "ignore",
    });
  } catch {
    return "P2PD's Python deps are missing: apt-get install python3-ntplib python3-xmltodict python3-ecdsa python3-fasteners python3-netifaces python3-pyroute2";
  }
  return undefined;
}
const why = whyNot();
if (why) console.warn(`skipping the Python P2PD interop tests: ${why}`);

const tag = process.pid % 10000;
const NS = `p2pdpy${tag}`;
const VETH = `vpy${tag}`;
const NET = `10.213.${(process.pid % 200) + 20}`;
const OUR_IP = `${NET}.1`;
const PY_IP = `${NET}.2`;
// P2PD wants a public external IP: a documentation address, local to the namespace (host route).
const PY_EXT = "198.51.100.250";
const PY_PORT = 10777;

const ip = (...args: string[]) => execFileSync("ip", args, { stdio: "pipe" });
const inNs = (...args: string[]) => ip("netns", "exec", NS, "ip", ...args);

function netUp(): void {
  netDown();
  ip("netns", "add", NS);
  ip("link", "add", VETH, "type", "veth", "peer", "name", "veth0", "netns", NS);
  ip("addr", "add", `${OUR_IP}/30`, "dev", VETH);
  ip("link", "set", VETH, "up");
  inNs("link", "set", "lo", "up");
  inNs("addr", "add", `${PY_IP}/30`, "dev", "veth0");
  inNs("addr", "add", `${PY_EXT}/32`, "dev", "lo");
  inNs("link", "set", "veth0", "up");
  ip("route", "add", `${PY_EXT}/32`, "via", PY_IP, "dev", VETH);
}

function netDown(): void {
  for (const args of [
    ["route", "del", `${PY_EXT}/32`, "via", PY_IP],
    ["link", "del", VETH],
    ["netns", "del", NS],
  ]) {
    try {
      ip(...args);
    } catch {
      // Not there: nothing to remove.
    }
  }
}

interface PyNode {
  proc: ChildProcess;
  lines: Record<string, unknown>[];
  /** Everything it printed (stdout and stderr). */
  text(): string;
  addr: string;
  /** Resolves with the first output line `pred` accepts. */
  waitFor(
    pred: (l: Record<string, unknown>) => boolean,
    ms?: number,
  ): Promise<Record<string, unknown>>;
  stop(): Promise<void>;
}

const procs: ChildProcess[] = [];
// P2PD keeps its key and pid files in ~/p2pd: a home of its own, removed afterwards.
const home = mkdtempSync(join(tmpdir(), "p2pd-py-home-"));

/** Starts the Python P2PD node in the namespace; resolves once it printed its address. */
async function startPy(
  mode: "serve" | "dial",
  target?: string,
  opts: { port?: number; env?: Record<string, string> } = {},
): Promise<PyNode> {
  const args = ["netns", "exec", NS, PY, PEER, mode, PY_IP, PY_EXT, String(opts.port ?? PY_PORT)];
  if (target) args.push(target);
  const proc = spawn("ip", args, {
    env: { ...process.env, HOME: home, PYTHONPATH: join(REF, "src"), ...opts.env },
    stdio: ["pipe", "pipe", "pipe"],
  });
  procs.push(proc);
  let stderr = "";
  proc.stderr?.on("data", (d) => {
    stderr += d;
  });
  const lines: Record<string, unknown>[] = [];
  const waiters = new Set<() => void>();
  let stdout = "";
  createInterface({ input: proc.stdout as NodeJS.ReadableStream }).on("line", (l) => {
    stdout += `${l}\n`;
    try {
      lines.push(JSON.parse(l));
    } catch {
      return;
    }
    for (const w of waiters) w();
  });
  const waitFor: PyNode["waitFor"] = (pred, ms = 15_000) =>
    new Promise((res, rej) => {
      const check = () => {
        const hit = lines.find(pred);
        if (!hit) return false;
        waiters.delete(w);
        clearTimeout(t);
        res(hit);
        return true;
      };
      const w = () => void check();
      const t = setTimeout(() => {
        waiters.delete(w);
        rej(
          new Error(
            `Python P2PD: no such line in ${ms} ms; stdout ${JSON.stringify(lines)}; stderr ${stderr.slice(-2000)}`,
          ),
        );
      }, ms);
      waiters.add(w);
      check();
      proc.once("exit", () => setTimeout(w, 10));
    });
  const first = await waitFor((l) => typeof l.addr === "string");
  return {
    proc,
    lines,
    text: () => stdout + stderr,
    addr: first.addr as string,
    waitFor,
    stop: () =>
      new Promise<void>((res) => {
        if (proc.exitCode !== null) return res();
        const t = setTimeout(() => proc.kill("SIGKILL"), 3000);
        proc.once("exit", () => {
          clearTimeout(t);
          res();
        });
        proc.stdin?.end();
      }),
  };
}

describe.skipIf(why !== undefined)("Python P2PD interop (direct TCP, plaintext)", () => {
  let ours: P2PNode;

  beforeAll(async () => {
    netUp();
    ours = await startNode({
      interfaces: [{ name: VETH, ipv4: OUR_IP }],
      p2pdCompat: true,
    });
  }, 30_000);

  afterAll(async () => {
    await ours?.close();
    for (const p of procs) if (p.exitCode === null) p.kill("SIGKILL");
    netDown();
    rmSync(home, { recursive: true, force: true });
  });

  test("our node dials a Python P2PD node by its v3 address; both get the test message", async () => {
    const py = await startPy("serve");
    try {
      const a = parseAddress(py.addr);
      expect(a.p2pd?.format).toBe("v3");
      expect(a.ipv4[0]).toMatchObject({ ext: PY_EXT, internal: PY_IP, port: PY_PORT });
      const r = await ours.connect(py.addr, { timeoutMs: 10_000 });
      expect(r.strategy).toBe("direct");
      expect(r.plaintext).toBe(true);
      // P2PD's node answers its test message...
      expect(await p2pdTest(r.pipe)).toBe(P2PD_TEST_REPLY);
      // ...after it took our id message, and it sees what we send.
      await r.pipe.send("hello from typescript");
      await py.waitFor((l) => l.recv === `P2P_CON_ID_EQ ${r.id}`);
      await py.waitFor((l) => l.recv === "long_p2pd_test_string_abcd123");
      await py.waitFor((l) => l.recv === "hello from typescript");
      await r.pipe.close();
    } finally {
      await py.stop();
    }
  }, 40_000);

  test("a Python P2PD node dials ours by our P2PD address; both get the test message", async () => {
    const addr = ours.p2pdAddress as string;
    expect(parseAddress(addr).p2pd?.format).toBe("v3");
    const inbound = new Promise<{ id: string; pipe: Pipe }>((res) => ours.once("pipe", res));
    const py = await startPy("dial", addr);
    try {
      const { id, pipe } = await inbound;
      expect(id).toMatch(/^[0-9A-Za-z]{15}$/);
      expect(ours.pipes.get(id)).toBe(pipe);
      // Our compat listener answered P2PD's test message as a P2PD node does.
      const done = await py.waitFor((l) => l.pipe !== undefined);
      expect(done).toEqual({ pipe: true, reply: P2PD_TEST_REPLY });
      expect((await pipe.recv({ timeoutMs: 5000 })).toString()).toBe("hello from python");
      // And ours is answered too on the pipe Python opened.
      expect(await p2pdTest(pipe)).toBe(P2PD_TEST_REPLY);
    } finally {
      await py.stop();
    }
  }, 40_000);

  test("reverse and punching are not tried towards a P2PD address (its signaling is not spoken)", async () => {
    const py = await startPy("serve");
    try {
      const err = await ours
        .connect(py.addr, { strategies: ["reverse", "tcp-punch"], timeoutMs: 5000 })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ConnectError);
      expect((err as ConnectError).failures.map((f) => f.code)).toEqual([
        "ERR_SKIPPED",
        "ERR_SKIPPED",
      ]);
    } finally {
      await py.stop();
    }
  }, 40_000);

  test.skipIf(!MOSQUITTO)(
    "P2PD's own reverse connect fails on this commit: its signal pipe is the closed test client",
    async () => {
      // Evidence for the README: two Python nodes and a broker in the namespace, reverse only.
      const conf = join(home, "mosquitto.conf");
      writeFileSync(conf, "listener 1883 127.0.0.1\nallow_anonymous true\n");
      const broker = spawn("ip", ["netns", "exec", NS, "mosquitto", "-c", conf], {
        stdio: "ignore",
      });
      procs.push(broker);
      const env = { P2PD_MQTT: "127.0.0.1:1883" };
      await new Promise((r) => setTimeout(r, 500));
      const target = await startPy("serve", undefined, { env });
      try {
        const dialer = await startPy("dial", target.addr, {
          port: PY_PORT + 1,
          env: { ...env, P2PD_STRATEGY: "reverse" },
        });
        try {
          // It loaded the broker as its signal pipe, yet the pipe it kept is the closed one.
          expect(await dialer.waitFor((l) => Array.isArray(l.signal_pipes))).toEqual({
            signal_pipes: [0],
          });
          expect(await dialer.waitFor((l) => l.pipe !== undefined, 30_000)).toEqual({
            pipe: false,
          });
          expect(dialer.text()).toContain("TRYING WRITE TO CLOSED SOCKET");
        } finally {
          await dialer.stop();
        }
      } finally {
        await target.stop();
        broker.kill();
      }
    },
    60_000,
  );
});
