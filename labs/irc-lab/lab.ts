// Test helper: start/stop the IRC lab (lab.sh) from TypeScript and read its manifest (lab.json).
import { execFile } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const HERE = dirname(fileURLToPath(import.meta.url));

/** lab.sh next to this file, or (when this file was bundled elsewhere) found by walking up to labs/irc-lab. */
function findLabSh(): string {
  if (process.env.IRC_LAB_SH) return process.env.IRC_LAB_SH;
  let d = HERE;
  for (let i = 0; i < 8; i++) {
    for (const c of [join(d, "lab.sh"), join(d, "labs", "irc-lab", "lab.sh")])
      if (existsSync(c)) return c;
    d = dirname(d);
  }
  return join(HERE, "lab.sh");
}
const LAB_SH = findLabSh();

export interface LabNetwork {
  name: "alpha" | "beta" | "gamma";
  ircd: "inspircd" | "ngircd";
  services: "anope" | "atheme";
  host: string;
  host6: string;
  port: number;
  tlsPort: number;
  serverName: string;
  servicesName: string;
  topicLen: number;
  chanLen: number;
  nickLen: number;
}

export interface LabOptions {
  /** Working directory (configs, databases, logs); use one per test file. */
  dir: string;
  /** Added to every port; use one per test file so labs never collide. */
  portOffset: number;
  nets?: Array<LabNetwork["name"]>;
  profile?: "realistic" | "relaxed";
  /** Delete databases from earlier runs before starting (default true: tests start from scratch). */
  fresh?: boolean;
  /** Run the lab inside this network namespace (`ip netns exec`): its loopback, not the host's. */
  netns?: string;
}

export interface Lab {
  dir: string;
  networks: LabNetwork[];
  /** "127.0.0.1:port,..." for --irc-servers. */
  serverList: string;
  stop(): Promise<void>;
  /** Stop only some networks (to test partial failure). */
  stopNets(nets: Array<LabNetwork["name"]>): Promise<void>;
}

/** The lab needs the Debian daemons; tests skip with this reason when they are missing. */
export function labMissing(): string | undefined {
  for (const b of [
    "/usr/sbin/inspircd",
    "/usr/sbin/anope",
    "/usr/bin/atheme-services",
    "/usr/sbin/ngircd",
  ]) {
    if (!existsSync(b)) return `IRC lab binary ${b} missing (bash labs/irc-lab/lab.sh install)`;
  }
  return undefined;
}

function sh(
  args: string[],
  env: Record<string, string>,
  timeoutMs: number,
  netns?: string,
): Promise<string> {
  // In a network namespace (e.g. natlab's `pub`), the daemons bind that namespace's loopback.
  const [cmd, argv] = netns
    ? ["ip", ["netns", "exec", netns, "bash", LAB_SH, ...args]]
    : ["bash", [LAB_SH, ...args]];
  return new Promise((resolve, reject) => {
    execFile(
      cmd as string,
      argv as string[],
      { env: { ...process.env, ...env }, timeout: timeoutMs },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`lab.sh ${args.join(" ")} failed: ${err.message}\n${stderr}`));
        else resolve(stdout);
      },
    );
  });
}

/** Start the lab (idempotent: running daemons are kept) and return its networks. */
export async function startLab(o: LabOptions): Promise<Lab> {
  const env: Record<string, string> = {
    ...(process.env.IRC_LAB_WAIT ? { IRC_LAB_WAIT: process.env.IRC_LAB_WAIT } : {}),
    IRC_LAB_DIR: o.dir,
    IRC_LAB_PORT_OFFSET: String(o.portOffset),
    IRC_LAB_PROFILE: o.profile ?? "realistic",
    IRC_LAB_NETS: (o.nets ?? ["alpha", "beta", "gamma"]).join(" "),
  };
  if (o.fresh ?? true) await sh(["clean"], env, 60_000, o.netns);
  try {
    // Under a test's usual 120 s beforeAll, so that a failed or slow start is cleaned up right here:
    // the caller never gets a Lab to stop() then, and daemons must not outlive the suite.
    await sh(["start"], { ...env, IRC_LAB_WAIT: env.IRC_LAB_WAIT ?? "45" }, 75_000, o.netns);
  } catch (e) {
    await sh(["clean"], env, 30_000, o.netns).catch(() => {});
    throw e;
  }
  const manifest = JSON.parse(readFileSync(join(o.dir, "lab.json"), "utf8")) as {
    networks: LabNetwork[];
  };
  const networks = manifest.networks;
  return {
    dir: o.dir,
    networks,
    serverList: networks.map((n) => `${n.host}:${n.port}`).join(","),
    stop: async () => {
      await sh(["clean"], env, 60_000, o.netns);
    },
    stopNets: async (nets) => {
      await sh(["stop"], { ...env, IRC_LAB_NETS: nets.join(" ") }, 60_000, o.netns);
    },
  };
}
