import { type ChildProcess, execFile, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, expect } from "vitest";

const run = promisify(execFile);
const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, "../../../..");

// Signal 0 only checks that the process exists (a zombie being reaped counts as gone soon after).
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  const stat = existsSync(`/proc/${pid}/stat`) ? readFileSync(`/proc/${pid}/stat`, "utf8") : "";
  return !/^\d+ \(.*\) Z/.test(stat);
}

/** Why the namespace lab cannot run here, or undefined when it can. */
export function labMissing(): string | undefined {
  if (process.getuid?.() !== 0) return "needs root (network namespaces)";
  for (const [bin, pkg] of [
    ["/usr/sbin/miniupnpd", "miniupnpd"],
    ["/usr/sbin/nft", "nftables"],
    ["/usr/bin/ip", "iproute2"],
  ] as const)
    if (!existsSync(bin) && !existsSync(bin.replace("/usr", "")))
      return `needs ${bin} (Debian: ${pkg})`;
  return undefined;
}

/** Bundles a test script (and the ../src it imports) into one .mjs that plain node can run. */
export async function bundle(entry: string, outDir: string): Promise<string> {
  const out = join(outDir, `${entry.replace(/[^\w]/g, "_")}.mjs`);
  await run(join(repo, "node_modules/.bin/esbuild"), [
    join(here, entry),
    "--bundle",
    "--platform=node",
    "--format=esm",
    "--target=node20",
    `--outfile=${out}`,
    "--log-level=warning",
  ]);
  return out;
}

export class Lab {
  readonly id = randomBytes(3).toString("hex");
  /** Created by lab.sh up (not here: a skipped suite still constructs its Lab). */
  readonly state = join(tmpdir(), `pm-lab-${this.id}-${process.pid}`);
  readonly lan = `pm-${this.id}-lan`;
  readonly rtr = `pm-${this.id}-rtr`;
  readonly wan = `pm-${this.id}-wan`;
  /** The carrier NAT (only with cgn), on the router's WAN segment. */
  readonly carrier = `pm-${this.id}-cgn`;
  readonly wanIp: string;
  readonly gatewayLan = "192.168.77.1";

  /** The WAN host's address (behind the carrier NAT when cgn is set). */
  readonly wanHost: string;
  readonly cgn: boolean;

  readonly igdV1: boolean;

  constructor(options: { cgn?: boolean; igdV1?: boolean } = {}) {
    this.wanIp = "11.11.11.1";
    this.igdV1 = options.igdV1 ?? false;
    this.cgn = options.cgn ?? false;
    this.wanHost = this.cgn ? "12.12.12.2" : "11.11.11.2";
  }

  async up(): Promise<void> {
    await run(join(here, "lab.sh"), ["up", this.id, this.state, this.wanIp], {
      timeout: 20_000,
      env: { ...process.env, CGN: this.cgn ? "1" : "0", IGDV1: this.igdV1 ? "1" : "0" },
    });
  }

  /** Our address as the WAN host sees it: a UDP datagram from the LAN host, source read there. */
  async observedFromWan(): Promise<string> {
    const port = 20000 + Math.floor(Math.random() * 20000);
    const listen = this.exec(this.wan, [
      process.execPath,
      "-e",
      `const s=require("dgram").createSocket("udp4");s.on("message",(m,r)=>{console.log(r.address);process.exit(0)});s.bind(${port});setTimeout(()=>process.exit(1),5000);`,
    ]);
    await this.exec(this.lan, [
      process.execPath,
      "-e",
      `const s=require("dgram").createSocket("udp4");let n=0;const t=setInterval(()=>{s.send("x",${port},"${this.wanHost}");if(++n>10){clearInterval(t);s.close()}},100);`,
    ]);
    return (await listen).stdout.trim();
  }

  /** A router reboot: miniupnpd restarts with no mappings and a fresh epoch. */
  async restartRouter(): Promise<void> {
    await run(join(here, "lab.sh"), ["restart", this.id, this.state], { timeout: 20_000 });
  }

  /**
   * Tears the lab down; resolves to what survived it (namespaces, a running miniupnpd), which
   * should be nothing.
   */
  async down(): Promise<string[]> {
    let pid = 0;
    try {
      pid = Number(readFileSync(join(this.state, "miniupnpd.pid"), "utf8"));
    } catch {}
    await run(join(here, "lab.sh"), ["down", this.id, this.state]).catch(() => {});
    rmSync(this.state, { recursive: true, force: true });
    const left = (await run("ip", ["netns", "list"])).stdout
      .split("\n")
      .map((l) => l.split(" ")[0] ?? "")
      .filter((n) => n.startsWith(`pm-${this.id}-`));
    if (pid > 0 && alive(pid)) left.push(`miniupnpd pid ${pid}`);
    return left;
  }

  async exec(
    ns: string,
    cmd: string[],
    timeout = 15_000,
  ): Promise<{ stdout: string; stderr: string }> {
    return run("ip", ["netns", "exec", ns, ...cmd], { timeout });
  }

  /** The router's nftables rules that miniupnpd added. */
  async upnpRules(): Promise<string> {
    const r = await this.exec(this.rtr, [
      "nft",
      "list",
      "chain",
      "inet",
      "miniupnpd",
      "prerouting_miniupnpd",
    ]);
    return r.stdout;
  }

  /**
   * From the WAN host: does ip:port answer? TCP expects the LAN server's "hello", UDP an echo.
   * Returns true/false, never throws for "unreachable".
   */
  async reachableFromWan(ip: string, port: number, proto: "tcp" | "udp"): Promise<boolean> {
    return this.reachableFrom(this.wan, ip, port, proto);
  }

  /** The same probe from any of the lab's namespaces. */
  async reachableFrom(
    ns: string,
    ip: string,
    port: number,
    proto: "tcp" | "udp",
  ): Promise<boolean> {
    const script =
      proto === "tcp"
        ? `const s=require("net").connect(${port},"${ip}");let d="";s.on("data",c=>d+=c);s.on("end",()=>{console.log(d.trim());process.exit(0)});s.on("error",()=>{console.log("fail");process.exit(0)});setTimeout(()=>{console.log("fail");process.exit(0)},1000);`
        : `const s=require("dgram").createSocket("${ip.includes(":") ? "udp6" : "udp4"}");s.on("message",m=>{console.log(String(m));process.exit(0)});s.on("error",()=>{});let n=0;const t=setInterval(()=>{s.send("hello",${port},"${ip}");if(++n>5){console.log("fail");process.exit(0)}},150);s.send("hello",${port},"${ip}");`;
    const r = await this.exec(ns, [process.execPath, "-e", script]);
    return r.stdout.trim() === "hello";
  }
}

/** A port mapper living in a namespace, driven over JSON lines. */
export class Agent {
  private readonly child: ChildProcess;
  private next = 1;
  private readonly waiting = new Map<
    number,
    (v: { ok: boolean; value?: unknown; error?: AgentError }) => void
  >();
  stderr = "";

  constructor(ns: string, script: string) {
    this.child = spawn("ip", ["netns", "exec", ns, process.execPath, script], {
      stdio: ["pipe", "pipe", "pipe"],
    });
    this.child.stderr?.on("data", (d) => (this.stderr += d));
    createInterface({ input: this.child.stdout as NodeJS.ReadableStream }).on("line", (line) => {
      const msg = JSON.parse(line) as {
        id: number;
        ok: boolean;
        value?: unknown;
        error?: AgentError;
      };
      this.waiting.get(msg.id)?.(msg);
      this.waiting.delete(msg.id);
    });
  }

  /** Resolves with the op's value; rejects with an AgentError carrying the remote code. */
  call<T = unknown>(op: string, args: Record<string, unknown> = {}): Promise<T> {
    const id = this.next++;
    return new Promise<T>((res, rej) => {
      this.waiting.set(id, (m) => {
        if (m.ok) res(m.value as T);
        else rej(Object.assign(new Error(m.error?.message ?? "agent error"), m.error));
      });
      this.child.stdin?.write(`${JSON.stringify({ id, op, args })}\n`);
    });
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise((r) => this.child.once("exit", r));
    this.child.stdin?.end();
    const t = setTimeout(() => this.child.kill("SIGKILL"), 8000);
    await exited;
    clearTimeout(t);
  }
}

export interface AgentError {
  name?: string;
  code?: string;
  message?: string;
  gatewayCode?: number;
}

/**
 * One lab per test file: namespaces and miniupnpd up before the file's tests, every agent stopped
 * and the lab torn down after them (also when the set-up failed half-way).
 */
export function labSuite(options: { cgn?: boolean; igdV1?: boolean } = {}): {
  lab: Lab;
  /** A port mapper created with `options` in namespace `ns` (default the LAN). */
  agent(options: Record<string, unknown>, ns?: string): Promise<Agent>;
  /** Whether miniupnpd's DNAT rule for external port `ext` -> 192.168.77.2:`port` exists. */
  mapped(port: number, ext: number): Promise<boolean>;
} {
  const lab = new Lab(options);
  const agents: Agent[] = [];
  let script = "";
  beforeAll(async () => {
    await lab.up();
    script = await bundle("agent.ts", lab.state);
  }, 30_000);
  afterAll(async () => {
    await Promise.all(agents.map((a) => a.stop()));
    expect(await lab.down()).toEqual([]);
  }, 30_000);
  return {
    lab,
    async agent(o, ns = lab.lan) {
      const a = new Agent(ns, script);
      agents.push(a);
      await a.call("create", o);
      return a;
    },
    async mapped(port, ext) {
      return (await lab.upnpRules()).includes(`dport ${ext} dnat ip to 192.168.77.2:${port}`);
    },
  };
}

/**
 * Polls the agent's held mappings until the first one has `renewals` renewals, for at most
 * `ms` (generous: a loaded CI machine delays timers, never the outcome).
 */
export async function untilRenewed(
  a: Agent,
  renewals: number,
  ms = 20_000,
): Promise<{ renewals: number } | undefined> {
  const end = Date.now() + ms;
  let held: { renewals: number }[] = [];
  while (Date.now() < end) {
    held = await a.call<{ renewals: number }[]>("list");
    if (held[0] && held[0].renewals >= renewals) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return held[0];
}
