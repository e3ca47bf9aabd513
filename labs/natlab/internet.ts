/**
 * "Like the Internet" (issue 14): the lab's `pub` takes the real IPs of some of p2pd's bundled
 * servers; `inet` routes those /32s to it and drops (and counts) every packet for any other
 * address outside the lab's ranges, before routing, so a node started with its bundled defaults
 * meets only lab servers and dead silence. Used on a lab from `startLab`; nothing is sent outside.
 */
import { execFile } from "node:child_process";
import { once } from "node:events";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Lab } from "./lab.js";

const here = dirname(fileURLToPath(import.meta.url));

export interface StunPlayed {
  ip: string;
  port: number;
  altIp: string;
  altPort: number;
}

export interface InternetPlan {
  /** RFC 5780 servers that answer right (our StunServer on ip + altIp). */
  honest: StunPlayed[];
  /** Says every client's IP is 192.0.2.66. */
  liar: StunPlayed[];
  /** Right mapped address, OTHER-ADDRESS not the listed alternate. */
  wrongAlt: StunPlayed[];
  /** Right, but answers after delayMs. */
  slow: (StunPlayed & { delayMs: number })[];
  /** Bundled brokers that the lab's mosquitto answers for (it listens on every pub address). */
  mqtt: string[];
  /** Default IRC networks played: TLS at ip:port (test CA), then an ircd of labs/irc-lab in pub. */
  irc?: IrcPlayed[];
  /** Every bundled IP that exists in the lab (all others are dropped in `inet`). */
  ips: string[];
}

export interface IrcPlayed {
  ip: string;
  port: number;
  /** The network's host name: the certificate's name. */
  host: string;
  /** Plain-text port of the ircd on pub's loopback. */
  target: number;
  /** PEM files of the certificate for `host` (signed by the test CA) and its key. */
  cert: string;
  key: string;
}

function openssl(args: string[]): Promise<void> {
  return new Promise((resolve, reject) =>
    execFile("openssl", args, { timeout: 30_000 }, (err, _out, stderr) =>
      err ? reject(new Error(`openssl ${args[0]}: ${stderr || err.message}`)) : resolve(),
    ),
  );
}

/**
 * A throwaway CA and one certificate per host name, under `dir`: the lab's IRC networks present
 * these, and node processes trust the CA through NODE_EXTRA_CA_CERTS (an environment variable, no
 * config file), so TLS stays verified against the real host names. Returns the CA's PEM path.
 */
export async function makeTestCa(
  dir: string,
  hosts: string[],
): Promise<{ ca: string; certs: Record<string, { cert: string; key: string }> }> {
  mkdirSync(dir, { recursive: true });
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  const ca = join(dir, "ca.pem");
  const caKey = join(dir, "ca-key.pem");
  await openssl([
    "req",
    "-x509",
    ...ec,
    "-keyout",
    caKey,
    "-out",
    ca,
    "-days",
    "2",
    "-subj",
    "/CN=natlab internet test CA",
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign",
  ]);
  const certs: Record<string, { cert: string; key: string }> = {};
  for (const h of hosts) {
    const key = join(dir, `${h}-key.pem`);
    const csr = join(dir, `${h}.csr`);
    const cert = join(dir, `${h}.pem`);
    const ext = join(dir, `${h}.ext`);
    writeFileSync(
      ext,
      `subjectAltName=DNS:${h}\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n`,
    );
    await openssl(["req", ...ec, "-keyout", key, "-out", csr, "-subj", `/CN=${h}`]);
    await openssl([
      "x509",
      "-req",
      "-in",
      csr,
      "-CA",
      ca,
      "-CAkey",
      caKey,
      "-CAcreateserial",
      "-out",
      cert,
      "-days",
      "2",
      "-extfile",
      ext,
    ]);
    certs[h] = { cert, key };
  }
  return { ca, certs };
}

/** The plan plus IRC networks (their IPs join the lab's; everything else stays dropped). */
export function withIrc(plan: InternetPlan, irc: IrcPlayed[]): InternetPlan {
  return { ...plan, irc, ips: [...new Set([...plan.ips, ...irc.map((n) => n.ip)])] };
}

interface Bundled {
  stun: {
    ip: string;
    port: number;
    altIp: string | null;
    altPort: number | null;
    family: number;
  }[];
  mqtt: { url: string; ip: string; family: number }[];
}

/** The bundled lists, read from @p2pd/node's data file. */
export function bundledList(): Bundled {
  return JSON.parse(
    readFileSync(
      join(here, "..", "..", "packages", "node", "src", "servers", "servers.json"),
      "utf8",
    ),
  ) as Bundled;
}

/** Which bundled servers play which part (default: the first RFC 5780 entries, two brokers). */
export function defaultPlan(list: Bundled = bundledList()): InternetPlan {
  const rfc = list.stun.filter((s) => s.family === 4 && s.altIp !== null) as StunPlayed[];
  const [h0, h1, h2, liar, wrongAlt, slow] = rfc as [StunPlayed, ...StunPlayed[]];
  const mqtt = [list.mqtt[2], list.mqtt[6]].filter((m) => m !== undefined).map((m) => m.url);
  const plan = {
    honest: [h0, h1, h2].filter(Boolean) as StunPlayed[],
    liar: [liar].filter(Boolean) as StunPlayed[],
    wrongAlt: [wrongAlt].filter(Boolean) as StunPlayed[],
    slow: [slow].filter(Boolean).map((s) => ({ ...(s as StunPlayed), delayMs: 1500 })),
    mqtt,
    ips: [] as string[],
  };
  const ips = new Set<string>();
  for (const s of [...plan.honest, ...plan.liar, ...plan.wrongAlt, ...plan.slow]) {
    ips.add(s.ip);
    ips.add(s.altIp);
  }
  for (const u of mqtt) ips.add(new URL(u).hostname);
  plan.ips = [...ips];
  return plan;
}

/** The lab's own IPv4 ranges (documentation, CGN, LANs): everything else is "the Internet". */
const LAB4 = ["198.51.100.0/24", "203.0.113.0/24", "100.64.0.0/10", "10.0.0.0/8", "224.0.0.0/4"];
const LAB6 = ["2001:db8::/32", "fe80::/10", "ff00::/8"];

async function must(lab: Lab, node: string, cmd: string, args: string[]) {
  const r = await lab.exec(node, cmd, args, { timeoutMs: 20_000 });
  if (r.code !== 0) throw new Error(`${node}: ${cmd} ${args.join(" ")}: ${r.stderr.trim()}`);
  return r.stdout;
}

/**
 * Gives `pub` the plan's IPs, routes them there from `inet`, installs the drop-and-count rule for
 * every other destination, and starts the STUN parts in `pub`. Resolves once they listen.
 */
export async function playInternet(
  lab: Lab,
  plan: InternetPlan = defaultPlan(),
): Promise<InternetPlan> {
  for (const ip of plan.ips) {
    await must(lab, "pub", "ip", ["addr", "add", `${ip}/32`, "dev", "eth0"]);
    await must(lab, "inet", "ip", ["route", "add", `${ip}/32`, "via", lab.info.pub.ip4]);
  }
  const ruleset = `table inet p2pd_internet {
  counter outside {}
  set lab4 { type ipv4_addr; flags interval; elements = { ${[...LAB4, ...plan.ips.map((i) => `${i}/32`)].join(", ")} } }
  set lab6 { type ipv6_addr; flags interval; elements = { ${LAB6.join(", ")} } }
  chain pre {
    type filter hook prerouting priority -300; policy accept;
    ip daddr != @lab4 counter name "outside" drop
    ip6 daddr != @lab6 counter name "outside" drop
  }
}
`;
  await must(lab, "inet", "sh", ["-c", `printf '%s' '${ruleset}' | nft -f -`]);
  const child = lab.spawn("pub", process.execPath, [
    join(here, "internet-servers.mjs"),
    JSON.stringify(plan),
  ]);
  let out = "";
  child.stdout?.on("data", (d) => (out += d));
  let err = "";
  child.stderr?.on("data", (d) => (err += d));
  const t0 = Date.now();
  while (!out.includes("ready")) {
    if (child.exitCode !== null || Date.now() - t0 > 15_000)
      throw new Error(`internet-servers did not start: ${err.trim()}`);
    await Promise.race([
      once(child.stdout ?? child, "data"),
      new Promise((r) => setTimeout(r, 200)),
    ]);
  }
  return plan;
}

/** Packets `inet` dropped because they were headed outside the lab. */
export async function outsideDrops(lab: Lab): Promise<number> {
  const out = await must(lab, "inet", "nft", [
    "list",
    "counter",
    "inet",
    "p2pd_internet",
    "outside",
  ]);
  const m = /packets (\d+)/.exec(out);
  if (!m) throw new Error(`no counter in: ${out}`);
  return Number(m[1]);
}
