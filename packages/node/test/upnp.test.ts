import { type ChildProcess, execFile, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { buildLabLib } from "./lab/harness.js";

// A LAN host behind a miniupnpd router and a host on the router's WAN side: @p2pd/nat's portmap
// lab (packages/nat/test/portmap/lab.sh), with an id of our own ("nd" + random) so nothing collides.
// The node maps its port (upnp: true); the WAN host then reaches it with plain direct connect.
const run = promisify(execFile);
const here = dirname(fileURLToPath(import.meta.url));
const labSh = join(here, "../../nat/test/portmap/lab.sh");
let lib: string;
const peer = join(here, "lab", "peer.mjs");
const why =
  process.getuid?.() !== 0
    ? "needs root"
    : !existsSync("/usr/sbin/miniupnpd")
      ? "needs miniupnpd"
      : !existsSync(labSh)
        ? "needs packages/nat/test/portmap/lab.sh"
        : !existsSync("/usr/sbin/mosquitto")
          ? "needs mosquitto"
          : undefined;

const id = `nd${randomBytes(2).toString("hex")}`;
const state = mkdtempSync(join(tmpdir(), "p2pd-nd-upnp-"));
const ns = { lan: `pm-${id}-lan`, wan: `pm-${id}-wan` };
const procs: ChildProcess[] = [];

function inNs(n: string, cmd: string, args: string[]): ChildProcess {
  const p = spawn("ip", ["netns", "exec", n, cmd, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  procs.push(p);
  return p;
}

describe.skipIf(why !== undefined)("port mapping: a node behind a UPnP/NAT-PMP router", () => {
  beforeAll(async () => {
    lib = await buildLabLib("dist-upnp");
    await run("bash", [labSh, "up", id, state, "11.11.11.1"], { timeout: 30_000 });
    // The signaling broker lives on the WAN host.
    writeFileSync(join(state, "mosq.conf"), "listener 1883 11.11.11.2\nallow_anonymous true\n");
    inNs(ns.wan, "/usr/sbin/mosquitto", ["-c", join(state, "mosq.conf")]);
    await new Promise((r) => setTimeout(r, 300));
  }, 90_000);

  afterAll(async () => {
    for (const p of procs) p.kill("SIGTERM");
    await run("bash", [labSh, "down", id, state], { timeout: 30_000 }).catch(() => {});
    rmSync(state, { recursive: true, force: true });
  }, 60_000);

  test("the node maps its port, advertises the router's WAN IP, and the WAN host connects directly", async () => {
    const node = inNs(ns.lan, process.execPath, [
      peer,
      "serve",
      "--lib",
      lib,
      "--mqtt",
      "mqtt://11.11.11.2:1883",
      "--upnp",
      "--verbose",
    ]);
    let err = "";
    node.stderr?.on("data", (d) => (err += d));
    // First line: the address before mapping; a later one: after the mapping lands.
    const mapped = await new Promise<string>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no mapped address: ${err}`)), 20_000);
      createInterface({ input: node.stdout as NodeJS.ReadableStream }).on("line", (line) => {
        err += `${line}\n`;
        const j = JSON.parse(line) as { addr: string; nat: { type: number } | null };
        if (j.addr.includes(",0,11.11.11.1,192.168.77.2,") && j.nat?.type === 1) {
          clearTimeout(t);
          resolve(j.addr);
        }
      });
    });
    const r = await run(
      "ip",
      [
        "netns",
        "exec",
        ns.wan,
        process.execPath,
        peer,
        "connect",
        "--lib",
        lib,
        "--mqtt",
        "mqtt://11.11.11.2:1883",
        mapped,
        "--strategies",
        "direct",
        "--family",
        "4",
      ],
      { timeout: 40_000 },
    );
    const out = JSON.parse(r.stdout.trim().split("\n").at(-1) ?? "{}");
    expect(out, r.stderr).toMatchObject({ strategy: "direct", echo: true });
    expect(out.peer.host).toBe("11.11.11.1");
  }, 60_000);
});
