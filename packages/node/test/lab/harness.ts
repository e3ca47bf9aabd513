import { type ChildProcess, execFile } from "node:child_process";
import { once } from "node:events";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { promisify } from "node:util";

// Nodes run as separate processes inside natlab's namespaces (peer.mjs), so they need plain JS: each
// test file builds this package into its own .lab/<dir> (gitignored), never touching dist/.

/** labs/natlab/lab.ts, typed by what we use (it is outside this package's rootDir). */
export interface Lab {
  info: {
    mqttUrl: string;
    pub: { ip4: string };
    stun: { port: number };
    turn: { port: number; user: string; pass: string };
  };
  host(name: string): { ip4: string; ip6: string; publicIp4: string };
  exec(
    node: string,
    cmd: string,
    args?: string[],
    opts?: { timeoutMs?: number },
  ): Promise<{ code: number; stdout: string; stderr: string }>;
  spawn(node: string, cmd: string, args?: string[]): ChildProcess;
  stop(): Promise<void>;
}

const here = dirname(fileURLToPath(import.meta.url));
const pkg = join(here, "..", "..");
const peer = join(here, "peer.mjs");

const labTs = (await import(
  pathToFileURL(join(pkg, "..", "..", "labs", "natlab", "lab.ts")).href
)) as {
  labAvailable(): string | undefined;
  startLab(s: string[], o: { prefix: string; state: string; p2pdStun?: boolean }): Promise<Lab>;
};

/** Why the lab cannot run here (not root, tools missing), or undefined. */
export const labUnavailable = labTs.labAvailable;

export interface Served {
  addr: string;
  nat: { type: number; delta?: { type: number; value: number } } | null;
}

/** peer.mjs connect's line: the fields below on success, `error` (+ `failures`) otherwise. */
export interface ConnectOutcome {
  strategy: string;
  ms: number;
  echo: boolean;
  peer: { host: string; port: number };
  strategies: { strategy: string; ok: boolean; skipped?: boolean; ms: number; code?: string }[];
  error?: string;
}

/** A built lab with node processes: `serve` starts a node on a host, `connectFrom` runs one connect. */
export class NodeLab {
  readonly #servers: ChildProcess[] = [];
  constructor(
    readonly lab: Lab,
    readonly lib: string,
  ) {}

  get stun(): string {
    return `${this.lab.info.pub.ip4}:${this.lab.info.stun.port}`;
  }

  turnFlags(): string[] {
    const t = this.lab.info.turn;
    return [
      "--turn",
      `turn:${this.lab.info.pub.ip4}:${t.port}`,
      "--turn-user",
      t.user,
      "--turn-pass",
      t.pass,
    ];
  }

  /** `node peer.mjs CMD` with this lab's library, broker, STUN and TURN servers, then `rest`. */
  #peerArgs(cmd: "serve" | "connect", ...rest: string[]): string[] {
    return [
      peer,
      cmd,
      "--lib",
      this.lib,
      "--mqtt",
      this.lab.info.mqttUrl,
      "--stun",
      this.stun,
      ...this.turnFlags(),
      ...rest,
    ];
  }

  /** Starts a serving node on `host`; resolves with its first address line. */
  async serve(host: string, extra: string[] = []): Promise<Served> {
    const child = this.lab.spawn(host, process.execPath, this.#peerArgs("serve", ...extra));
    this.#servers.push(child);
    let err = "";
    child.stderr?.on("data", (d) => (err += d));
    const [chunk] = (await Promise.race([
      once(child.stdout as NodeJS.ReadableStream, "data"),
      once(child, "close").then(([code, sig]) => {
        throw new Error(`peer on ${host} exited (${code ?? sig}): ${err}`);
      }),
    ])) as [Buffer];
    return JSON.parse(chunk.toString().split("\n")[0] ?? "") as Served;
  }

  /** One connect (plus a binary ECHO) from a fresh node on `host`. */
  async connectFrom(host: string, addr: string, extra: string[] = []): Promise<ConnectOutcome> {
    const r = await this.lab.exec(
      host,
      process.execPath,
      this.#peerArgs("connect", addr, ...extra),
      { timeoutMs: 40_000 },
    );
    const line = r.stdout.trim().split("\n").at(-1) ?? "";
    if (!line.startsWith("{")) throw new Error(`connect on ${host} failed: ${r.stderr}`);
    return JSON.parse(line) as ConnectOutcome;
  }

  async stop(): Promise<void> {
    for (const s of this.#servers) s.kill();
    await this.lab.stop();
  }
}

/**
 * Bundles the package's src into .lab/<outDir>/index.js (one ESM file, no config) for scripts
 * run inside lab namespaces; resolves to that file.
 */
export async function buildLabLib(outDir: string): Promise<string> {
  const libDir = join(pkg, ".lab", outDir);
  await promisify(execFile)(
    "pnpm",
    [
      "exec",
      "tsup",
      "src/index.ts",
      "--no-config",
      "--format",
      "esm",
      "--platform",
      "node",
      "--target",
      "node20",
      "--out-dir",
      libDir,
    ],
    { cwd: pkg, timeout: 60_000 },
  );
  const lib = join(libDir, "index.js");
  if (!existsSync(lib)) throw new Error(`build left no ${lib}`);
  return lib;
}

/** Builds the package into .lab/<outDir> and starts a lab of `scenarios` under its own prefix. */
export async function startNodeLab(opts: {
  scenarios: string[];
  prefix: string;
  state: string;
  outDir: string;
}): Promise<NodeLab> {
  const lib = await buildLabLib(opts.outDir);
  const lab = await labTs.startLab(opts.scenarios, {
    prefix: opts.prefix,
    state: opts.state,
    p2pdStun: false,
  });
  return new NodeLab(lab, lib);
}
