// Shared by the connectivity benchmark and the lab tests: builds the traversal bundle, drives the
// NAT lab (labs/natlab/natlab), runs the rendezvous on the lab's pub host and pairs of agents.
import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
export const repoRoot = resolve(here, "../../..");
const natlab = join(repoRoot, "labs/natlab/natlab");
const RDV_PORT = 5600;
const HYPER_PORT = 49737;

/** The first line a child prints on stdout (rejects on exit or after `ms`). */
function firstLine(child, ms) {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error("no output")), ms);
    let buf = "";
    child.stdout.on("data", (d) => {
      buf += d;
      const i = buf.indexOf("\n");
      if (i >= 0) {
        clearTimeout(t);
        resolve(buf.slice(0, i));
      }
    });
    child.once("exit", (c) => {
      clearTimeout(t);
      reject(new Error(`exited ${c}`));
    });
  });
}

/** The lab's declared NAT types as the planner's NatLike (what @p2pd/nat would measure). */
export const NAT_OF = {
  open: { type: "open-internet" },
  "full-cone": { type: "full-cone" },
  "restricted-cone": { type: "restricted-cone" },
  "port-restricted": { type: "port-restricted-cone" },
  symmetric: { type: "symmetric", delta: { kind: "random", value: 0 } },
  "symmetric-sequential": { type: "symmetric", delta: { kind: "independent", value: 1 } },
  // Port-restricted home NAT behind a port-restricted CGN: port-preserving EIM end to end.
  cgnat: { type: "port-restricted-cone" },
};

export function canRunLab() {
  if (process.getuid?.() !== 0) return "needs root";
  for (const bin of ["ip", "nft", "turnserver"]) {
    try {
      execFileSync("sh", ["-c", `command -v ${bin}`], { stdio: "ignore" });
    } catch {
      return `missing ${bin}`;
    }
  }
  return undefined;
}

/** Bundles src/traversal with esbuild (plain ESM for node inside the namespaces). */
export function bundleTraversal(outDir = join(tmpdir(), `tr-bundle-${process.pid}`)) {
  const out = join(outDir, "traversal.mjs");
  if (existsSync(out)) return out;
  mkdirSync(outDir, { recursive: true });
  execFileSync(join(repoRoot, "node_modules/.bin/esbuild"), [
    join(repoRoot, "packages/node/src/traversal/index.ts"),
    "--bundle",
    "--platform=node",
    "--format=esm",
    "--target=node20",
    "--log-level=warning",
    `--outfile=${out}`,
  ]);
  return out;
}

/**
 * Runs a child to its end with stdout/stderr collected; SIGKILL after `timeoutMs`. Never rejects:
 * `code` is the exit code (null when killed).
 */
export function runChild(cmd, args, timeoutMs) {
  return new Promise((resolveRun) => {
    const c = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    c.stdout.on("data", (d) => {
      out += d;
    });
    c.stderr.on("data", (d) => {
      err += d;
    });
    const t = setTimeout(() => c.kill("SIGKILL"), timeoutMs);
    c.on("exit", (code) => {
      clearTimeout(t);
      resolveRun({ code, out, err });
    });
  });
}

export class Lab {
  constructor(prefix, state) {
    this.env = { ...process.env, NATLAB_PREFIX: prefix, NATLAB_STATE: state };
    this.prefix = prefix;
    this.info = {};
    this.rdv = undefined;
  }
  up(scenario) {
    execFileSync(natlab, ["up", ...scenario], {
      env: this.env,
      stdio: ["ignore", "ignore", "pipe"],
    });
    const text = execFileSync(natlab, ["info"], { env: this.env }).toString();
    for (const line of text.split("\n")) {
      const m = /^([A-Za-z0-9_]+)=(.*)$/.exec(line);
      if (m) this.info[m[1]] = m[2].replace(/^'(.*)'$/, "$1");
    }
  }
  /** Changes the uplink impairment of every home network (pub is left alone): `natlab impair`. */
  impair(profile) {
    execFileSync(natlab, ["impair", profile], {
      env: this.env,
      stdio: ["ignore", "ignore", "pipe"],
    });
  }
  down() {
    this.hyper?.kill("SIGTERM");
    this.hyper = undefined;
    this.rdv?.kill("SIGTERM");
    this.rdv = undefined;
    try {
      execFileSync(natlab, ["down"], { env: this.env, stdio: "ignore" });
    } catch {}
  }
  async startRendezvous() {
    const host = this.info.PUB_IP4;
    this.rdv = spawn(
      "ip",
      this.nodeIn("pub", join(here, "connectivity-rendezvous.mjs"), host, String(RDV_PORT)),
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    await new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error("rendezvous did not start")), 10_000);
      this.rdv.stdout.once("data", () => {
        clearTimeout(t);
        resolve();
      });
      this.rdv.once("exit", (c) => reject(new Error(`rendezvous exited ${c}`)));
    });
  }
  /** `ip` arguments that run node with `args` inside the lab host's namespace. */
  nodeIn(host, ...args) {
    return ["netns", "exec", `${this.prefix}${host}`, process.execPath, ...args];
  }
  hostIp(host) {
    return this.info[`${host}_IP4`];
  }
  hostNat(host) {
    return this.info[`${host}_NAT`];
  }
  /**
   * The real node end to end: B runs `test/lab/peer.mjs serve` (the node helper's lab peer), A runs
   * `peer.mjs connect` with every strategy (MQTT signaling through the lab's mosquitto).
   */
  async nodeTrial({ lib, peer, a, b, strategies, timeoutMs = 45_000 }) {
    const common = [
      "--lib",
      lib,
      "--mqtt",
      `mqtt://${this.info.PUB_IP4}:${this.info.MQTT_PORT ?? 1883}`,
      "--stun",
      `${this.info.PUB_IP4}:${this.info.STUN_PORT}`,
      "--turn",
      `turn:${this.info.PUB_IP4}:${this.info.TURN_PORT}`,
      "--turn-user",
      this.info.TURN_USER,
      "--turn-pass",
      this.info.TURN_PASS,
      // Both nodes start with their NAT tested, as a user's would (not timed: connect is).
      "--nat-wait",
      "15000",
    ];
    const server = spawn("ip", this.nodeIn(b, peer, "serve", ...common), {
      stdio: ["ignore", "pipe", "pipe"],
    });
    server.stderr.on("data", () => {});
    try {
      // The address a user would share: the one after the node's NAT test (on a 600 ms path the
      // test outlasts the node's 3 s start wait, and an untested NAT plans the wrong strategies).
      // The first address if no tested one comes within 20 s.
      const addr = await new Promise((resolveAddr, reject) => {
        let last;
        const t = setTimeout(
          () => (last ? resolveAddr(last) : reject(new Error("serve: no address"))),
          20_000,
        );
        let buf = "";
        server.stdout.on("data", (d) => {
          buf += d;
          for (let i = buf.indexOf("\n"); i >= 0; i = buf.indexOf("\n")) {
            const line = buf.slice(0, i);
            buf = buf.slice(i + 1);
            try {
              const o = JSON.parse(line);
              last = o.addr;
              if (o.nat && o.nat.type !== 0) {
                clearTimeout(t);
                resolveAddr(o.addr);
              }
            } catch (e) {
              clearTimeout(t);
              reject(e);
            }
          }
        });
        server.once("exit", (c) => reject(new Error(`serve exited ${c}`)));
      });
      const out = await runChild(
        "ip",
        this.nodeIn(a, peer, "connect", ...common, addr, "--strategies", strategies),
        timeoutMs,
      );
      const line = out.out.trim().split("\n").pop() ?? "";
      try {
        const r = JSON.parse(line);
        return r.error
          ? { ok: false, error: String(r.error) }
          : {
              ok: r.echo === true,
              strategy: r.strategy,
              ms: Math.round(r.ms),
              strategies: r.strategies,
            };
      } catch {
        return { ok: false, error: `connect crashed: ${out.err.slice(-300)}` };
      }
    } catch (err) {
      return { ok: false, error: String(err.message ?? err) };
    } finally {
      server.kill("SIGTERM");
    }
  }

  /** A 5-node hyperdht testnet on pub (the bootstrap for `hyperdhtTrial`). */
  async startHyperdht(peer) {
    const host = this.info.PUB_IP4;
    this.hyper = spawn("ip", this.nodeIn("pub", peer, "testnet", host, String(HYPER_PORT)), {
      stdio: ["ignore", "pipe", "inherit"],
    });
    await firstLine(this.hyper, 30_000);
    return `${host}:${HYPER_PORT}`;
  }
  /** hyperdht from npm between two lab hosts: B serves (echo), A connects by public key. */
  async hyperdhtTrial({ peer, bootstrap, a, b, timeoutMs = 40_000 }) {
    const server = spawn("ip", this.nodeIn(b, peer, "serve", bootstrap), {
      stdio: ["ignore", "pipe", "pipe"],
    });
    server.stderr.on("data", () => {});
    try {
      const { key } = JSON.parse(await firstLine(server, 20_000));
      const r = await runChild("ip", this.nodeIn(a, peer, "connect", bootstrap, key), timeoutMs);
      const line = r.out.trim().split("\n").pop() ?? "";
      try {
        const o = JSON.parse(line);
        return o.ok ? { ok: true, ms: o.ms } : { ok: false, error: String(o.error) };
      } catch {
        return { ok: false, error: `connect crashed: ${r.err.slice(-300)}` };
      }
    } catch (err) {
      return { ok: false, error: String(err.message ?? err) };
    } finally {
      server.kill("SIGTERM");
    }
  }

  /** Runs one trial between two lab hosts; resolves with both agents' JSON results. */
  async trial({
    lib,
    a,
    b,
    natA,
    natB,
    strategy,
    room,
    sameLan = false,
    debug = false,
    timeoutMs = 40_000,
    idleMs,
    keepAliveMs,
  }) {
    const base = {
      lib,
      room,
      strategy,
      sameLan,
      debug,
      ...(idleMs ? { idleMs, keepAliveMs } : {}),
      rdv: { host: this.info.PUB_IP4, port: RDV_PORT },
      stun: { host: this.info.PUB_IP4, port: Number(this.info.STUN_PORT) },
      turn: {
        host: this.info.PUB_IP4,
        port: Number(this.info.TURN_PORT),
        user: this.info.TURN_USER,
        pass: this.info.TURN_PASS,
      },
    };
    const run = async (host, role, nat) => {
      const cfg = { ...base, role, nat, lanIp: this.hostIp(host) };
      const { out, err } = await runChild(
        "ip",
        this.nodeIn(host, join(here, "connectivity-agent.mjs"), JSON.stringify(cfg)),
        timeoutMs,
      );
      const line = out.trim().split("\n").pop() ?? "";
      try {
        return { ...JSON.parse(line), stderr: debug ? err : undefined };
      } catch {
        return { role, ok: false, tried: [], error: `agent crashed: ${(err || out).slice(-400)}` };
      }
    };
    const [ra, rb] = await Promise.all([run(a, "A", natA), run(b, "B", natB)]);
    return { a: ra, b: rb, ok: ra.ok && rb.ok && ra.strategy === rb.strategy };
  }
}
