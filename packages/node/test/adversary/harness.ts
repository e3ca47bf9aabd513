import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import net from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  type EmbeddedBroker,
  type P2PNode,
  type StartNodeOptions,
  startBroker,
  startNode,
} from "../../src/index.js";

const here = dirname(fileURLToPath(import.meta.url));
/** The built package: the target runs what users run. */
export const LIB = join(here, "..", "..", "dist", "index.js");
export const built = existsSync(LIB);

export interface Target {
  child: ChildProcess;
  addr: string;
  port: number;
  pid: number;
  stop(): Promise<void>;
}

/** Starts the node under attack in its own process. */
export function startTarget(mqtt: string, extra: string[] = []): Promise<Target> {
  const child = spawn(
    process.execPath,
    [join(here, "target.mjs"), "--lib", LIB, "--mqtt", mqtt, ...extra],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  return new Promise((resolve, reject) => {
    let out = "";
    child.stdout?.on("data", (d) => {
      out += d;
      const nl = out.indexOf("\n");
      if (nl < 0) return;
      const info = JSON.parse(out.slice(0, nl)) as { addr: string; port: number; pid: number };
      resolve({
        child,
        ...info,
        stop: async () => {
          if (child.exitCode !== null) return;
          const exited = new Promise((r) => child.once("exit", r));
          child.kill("SIGTERM");
          await exited;
        },
      });
    });
    child.once("exit", (code) => reject(new Error(`target exited ${code}`)));
  });
}

/** Resident memory of a process (MiB), from /proc. */
export function rssMiB(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) / 1024 : Number.NaN;
  } catch {
    return Number.NaN; // exited
  }
}

/** A u32-length frame. */
export function frame(payload: Buffer): Buffer {
  const h = Buffer.alloc(4);
  h.writeUInt32BE(payload.length);
  return Buffer.concat([h, payload]);
}

export function rawConnect(port: number, host = "127.0.0.1"): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, host);
    s.once("connect", () => {
      s.off("error", reject);
      s.on("error", () => {});
      resolve(s);
    });
    s.once("error", reject);
  });
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A broker, the node under attack (its own process) and a legitimate peer node. */
export interface Arena {
  broker: EmbeddedBroker;
  target: Target;
  peer: P2PNode;
  close(): Promise<void>;
}

export async function startArena(
  o: { targetArgs?: string[]; peer?: Partial<StartNodeOptions> } = {},
): Promise<Arena> {
  const broker = await startBroker();
  const target = await startTarget(broker.url, o.targetArgs);
  const peer = await startNode({ interfaces: "loopback", mqtt: broker.url, ...o.peer });
  return {
    broker,
    target,
    peer,
    close: async () => {
      await peer.close();
      await target.stop();
      await broker.close();
    },
  };
}
