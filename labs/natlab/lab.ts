/**
 * TypeScript handle on the natlab bash lab, for tests (nat, node, CLI). Root only: callers skip when
 * `labAvailable()` says why not. Every lab is named by its own prefix/state dir so parallel test files and
 * parallel helpers never share namespaces.
 */
import {
  type ChildProcess,
  execFile,
  type SpawnOptions,
  spawn as spawnChild,
} from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const NATLAB = join(dirname(fileURLToPath(import.meta.url)), "natlab");

export interface LabOptions {
  /** Namespace prefix, e.g. "nc-" (namespaces are `${prefix}${node}`). */
  prefix: string;
  /** State dir (pid files, logs, info.env), e.g. "/tmp/natlab-nc". */
  state: string;
  /** Start our own STUN server (@p2pd/stun, `node` in `pub`) next to coturn. Default true. */
  p2pdStun?: boolean;
  /**
   * Link impairment on every home network's uplink, each direction: "DELAY[ms]:JITTER[ms]:LOSS[%]"
   * (e.g. "40ms:5ms:1%"), or "none", "typical" (40ms:5ms:1%), "bad" (150ms:20ms:3%). A network's own
   * `profile=` scenario option wins. Unset: the environment's NATLAB_PROFILE, else none.
   */
  profile?: string;
  /** The same for the public host `pub` (its eth0, both directions). */
  pubProfile?: string;
  /** Extra environment for `natlab up` (e.g. NATLAB_STUN=python). */
  env?: Record<string, string>;
}

/** One link's impairment, per direction (`natlab info`: NET_PROFILE=DELAY:JITTER:LOSS). */
export interface LinkProfile {
  delayMs: number;
  jitterMs: number;
  lossPct: number;
}

export interface LabHost {
  name: string;
  ns: string;
  /** The home network's letter. */
  net: string;
  /** NAT type of the network, e.g. "port-restricted" or "port-restricted+cgnat:port-restricted". */
  nat: string;
  ip4: string;
  ip6: string;
  publicIp4: string;
}

export interface LabInfo {
  /** Every KEY=VALUE of `natlab info`, unquoted. */
  raw: Record<string, string>;
  hosts: LabHost[];
  pub: { ns: string; ip4: string; ip4Alt: string; ip6: string; ip6Alt: string };
  /** coturn (or the python fallback) RFC 5780 STUN: primary port; alternate port = port + 1. */
  stun: { impl: string; port: number; altPort: number };
  /** Our @p2pd/stun server in `pub` (same IPs), when it runs. */
  p2pdStun?: { port: number; altPort: number };
  turn: { port: number; user: string; pass: string; realm: string };
  mqttUrl: string;
  /** UDP + TCP echo service on `pub` ("ip:port"). */
  echo: string;
  /** Impairment of each home network's uplink, by network letter. */
  profiles: Record<string, LinkProfile>;
  /** Impairment of pub's link. */
  pubProfile: LinkProfile;
}

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface Lab {
  readonly info: LabInfo;
  readonly options: LabOptions;
  host(name: string): LabHost;
  /** Runs a command inside a lab node's namespace (host, router or `pub`). */
  exec(
    node: string,
    cmd: string,
    args?: string[],
    opts?: { timeoutMs?: number; env?: NodeJS.ProcessEnv },
  ): Promise<ExecResult>;
  /** Starts a long-running process (e.g. `node script.mjs`) inside a node's namespace; killed by stop(). */
  spawn(node: string, cmd: string, args?: string[], opts?: SpawnOptions): ChildProcess;
  /**
   * Changes the impairment of a running lab (`natlab impair`): of the given networks (letters) and/or
   * "pub", default every home network. Updates `info.profiles` / `info.pubProfile`.
   */
  impair(profile: string, targets?: string[]): Promise<void>;
  /** Tears the lab down (idempotent); kills what spawn() started first. */
  stop(): Promise<void>;
}

/** Why the lab cannot run here, or undefined when it can. */
export function labAvailable(): string | undefined {
  if (process.platform !== "linux") return "natlab needs Linux network namespaces";
  if (typeof process.getuid === "function" && process.getuid() !== 0) {
    return "natlab needs root (network namespaces + nftables); run the tests as root";
  }
  for (const bin of ["/usr/sbin/nft", "/usr/bin/turnserver"]) {
    if (!existsSync(bin) && !existsSync(bin.replace("/usr/sbin/", "/sbin/"))) {
      return `natlab needs ${bin} (apt-get install -y nftables coturn)`;
    }
  }
  return undefined;
}

/** Builds the lab: `natlab up SCENARIO...` under the given prefix/state, then parses `natlab info`. */
export async function startLab(scenarios: string[], options: LabOptions): Promise<Lab> {
  if (!/^[a-z][a-z0-9-]{0,8}-$/.test(options.prefix)) {
    throw new Error(
      `lab prefix must look like "xy-" (short, ends with "-"), got "${options.prefix}"`,
    );
  }
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    NATLAB_PREFIX: options.prefix,
    NATLAB_STATE: options.state,
    NATLAB_P2PD_STUN: options.p2pdStun === false ? "off" : "on",
    ...(options.profile !== undefined ? { NATLAB_PROFILE: options.profile } : {}),
    ...(options.pubProfile !== undefined ? { NATLAB_PUB_PROFILE: options.pubProfile } : {}),
    ...options.env,
  };
  const up = await run(NATLAB, ["up", ...scenarios], env, 120_000);
  if (up.code !== 0) {
    await run(NATLAB, ["down"], env, 60_000);
    throw new Error(`natlab up failed (${up.code}): ${up.stderr.trim()}`);
  }
  const infoOut = await run(NATLAB, ["info"], env, 10_000);
  if (infoOut.code !== 0) throw new Error(`natlab info failed: ${infoOut.stderr.trim()}`);
  const info = parseInfo(infoOut.stdout);
  const children = new Set<ChildProcess>();
  let stopped = false;
  const nsOf = (node: string) => `${options.prefix}${node}`;

  return {
    info,
    options,
    host(name) {
      const h = info.hosts.find((x) => x.name === name);
      if (!h)
        throw new Error(
          `no lab host "${name}" (hosts: ${info.hosts.map((x) => x.name).join(" ")})`,
        );
      return h;
    },
    exec(node, cmd, args = [], opts = {}) {
      return run(
        "ip",
        ["netns", "exec", nsOf(node), cmd, ...args],
        { ...process.env, ...opts.env },
        opts.timeoutMs ?? 30_000,
      );
    },
    spawn(node, cmd, args = [], opts = {}) {
      const child = spawnChild("ip", ["netns", "exec", nsOf(node), cmd, ...args], {
        stdio: ["ignore", "pipe", "pipe"],
        ...opts,
      });
      children.add(child);
      child.once("exit", () => children.delete(child));
      return child;
    },
    async impair(profile, targets = []) {
      const r = await run(NATLAB, ["impair", profile, ...targets], env, 60_000);
      if (r.code !== 0) throw new Error(`natlab impair failed (${r.code}): ${r.stderr.trim()}`);
      const again = await run(NATLAB, ["info"], env, 10_000);
      if (again.code !== 0) throw new Error(`natlab info failed: ${again.stderr.trim()}`);
      const fresh = parseInfo(again.stdout);
      info.raw = fresh.raw;
      info.profiles = fresh.profiles;
      info.pubProfile = fresh.pubProfile;
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      for (const c of children) c.kill("SIGTERM");
      await run(NATLAB, ["down"], env, 60_000);
    },
  };
}

/** Parses `natlab info` (KEY=VALUE lines, values optionally in single quotes). */
export function parseInfo(text: string): LabInfo {
  const raw: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const m = /^([A-Za-z0-9_]+)=(.*)$/.exec(line.trim());
    if (!m?.[1]) continue;
    let v = m[2] ?? "";
    if (v.length >= 2 && v.startsWith("'") && v.endsWith("'")) v = v.slice(1, -1);
    raw[m[1]] = v;
  }
  const g = (k: string) => raw[k] ?? "";
  const hosts = g("NATLAB_HOSTS")
    .split(/\s+/)
    .filter(Boolean)
    .map((name) => ({
      name,
      ns: g(`${name}_NS`),
      net: g(`${name}_NET`),
      nat: g(`${name}_NAT`),
      ip4: g(`${name}_IP4`),
      ip6: g(`${name}_IP6`),
      publicIp4: g(`${name}_PUBLIC_IP4`),
    }));
  const info: LabInfo = {
    raw,
    hosts,
    pub: {
      ns: g("PUB_NS"),
      ip4: g("PUB_IP4"),
      ip4Alt: g("PUB_IP4_ALT"),
      ip6: g("PUB_IP6"),
      ip6Alt: g("PUB_IP6_ALT"),
    },
    stun: {
      impl: g("STUN_IMPL"),
      port: Number(g("STUN_PORT")),
      altPort: Number(g("STUN_ALT_PORT")),
    },
    turn: {
      port: Number(g("TURN_PORT")),
      user: g("TURN_USER"),
      pass: g("TURN_PASS"),
      realm: g("TURN_REALM"),
    },
    mqttUrl: g("MQTT_URL"),
    echo: g("ECHO"),
    profiles: Object.fromEntries(
      g("NATLAB_NETS")
        .split(/\s+/)
        .filter(Boolean)
        .map((net) => [net, parseProfile(g(`${net}_PROFILE`))]),
    ),
    pubProfile: parseProfile(g("PUB_PROFILE")),
  };
  if (raw.P2PD_STUN_PORT) {
    info.p2pdStun = { port: Number(raw.P2PD_STUN_PORT), altPort: Number(raw.P2PD_STUN_ALT_PORT) };
  }
  return info;
}

/** "40:5:1" (as `natlab info` prints it) -> { delayMs: 40, jitterMs: 5, lossPct: 1 }; "" -> zeros. */
export function parseProfile(text: string): LinkProfile {
  const [d, j, l] = text.split(":").map((x) => Number.parseFloat(x));
  return { delayMs: d || 0, jitterMs: j || 0, lossPct: l || 0 };
}

function run(
  cmd: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  timeoutMs: number,
): Promise<ExecResult> {
  return new Promise((resolve) => {
    execFile(cmd, args, { env, timeout: timeoutMs, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === "number" ? err.code : 1) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}
