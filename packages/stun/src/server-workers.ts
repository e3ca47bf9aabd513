// Worker processes for StunServer's UDP sockets: Node 20's dgram has no SO_REUSEPORT, so the
// primary hands its bound sockets to each worker (child_process IPC passes the descriptor) and
// every process reads the same sockets; the kernel gives each datagram to one reader.
import { type ChildProcess, fork } from "node:child_process";
import type { Socket as UdpSocket } from "node:dgram";
import { dirname, extname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { StunError } from "./errors.js";
import type { UdpStats } from "./server-udp.js";

/** What a worker needs to answer like the primary (software as text; debug as a flag). */
export interface WorkerConfig {
  ips: string[];
  ports: number[];
  software: string | false;
  maxAmplification: number;
  maxRequestSize: number;
  debug: boolean;
}

export type WorkerMessage =
  | { t: "config"; config: WorkerConfig }
  | { t: "socket"; ipIndex: 0 | 1; portIndex: 0 | 1; of: number }
  | { t: "stop" }
  | { t: "ready" }
  | { t: "debug"; line: string }
  | ({ t: "stats" } & UdpStats);

/** The built worker script next to this module (tests run the sources; the worker runs from dist). */
function workerScript(): string {
  const here = typeof __filename === "string" ? __filename : fileURLToPath(import.meta.url);
  const ext = extname(here);
  if (ext === ".ts") return join(dirname(here), "..", "dist", "server-worker.js");
  return join(dirname(here), `server-worker${ext === ".cjs" ? ".cjs" : ".js"}`);
}

/** Starts `n` workers on `sockets`; resolves once each has them all. */
export async function startWorkers(
  n: number,
  config: WorkerConfig,
  sockets: { ipIndex: 0 | 1; portIndex: 0 | 1; udp: UdpSocket }[],
  stats: UdpStats,
  debug: ((line: string) => void) | undefined,
  signal: AbortSignal | undefined,
): Promise<ChildProcess[]> {
  const script = workerScript();
  const children: ChildProcess[] = [];
  try {
    await Promise.all(
      Array.from({ length: n }, () => {
        // No inherited flags (a profiler or a test loader of the parent is not the worker's business).
        const child = fork(script, [], {
          execArgv: [],
          stdio: ["ignore", "ignore", "inherit", "ipc"],
        });
        children.push(child);
        child.on("message", (m: WorkerMessage) => {
          if (m.t === "stats") {
            stats.received += m.received;
            stats.answered += m.answered;
            stats.dropped += m.dropped;
          } else if (m.t === "debug") debug?.(m.line);
        });
        return new Promise<void>((resolve, reject) => {
          const fail = (why: string) =>
            reject(new StunError("ERR_STUN_BIND", `StunServer worker failed to start: ${why}`));
          const onAbort = () => fail("aborted");
          signal?.addEventListener("abort", onAbort, { once: true });
          child.once("error", (e) => fail(e.message));
          child.once("exit", (code) => fail(`exited with ${code}`));
          child.on("message", (m: WorkerMessage) => {
            if (m.t !== "ready") return;
            signal?.removeEventListener("abort", onAbort);
            child.removeAllListeners("exit");
            child.removeAllListeners("error");
            child.on("error", () => {}); // a worker that dies later only loses its share
            resolve();
          });
          child.send({ t: "config", config } satisfies WorkerMessage);
          for (const s of sockets) {
            const m: WorkerMessage = {
              t: "socket",
              ipIndex: s.ipIndex,
              portIndex: s.portIndex,
              of: sockets.length,
            };
            child.send(m, s.udp as never);
          }
        });
      }),
    );
  } catch (e) {
    await stopWorkers(children);
    throw e;
  }
  return children;
}

/** Asks every worker to stop and waits until each has exited (killing one that does not in 2 s). */
export async function stopWorkers(children: ChildProcess[]): Promise<void> {
  if (children.length === 0) return;
  await Promise.all(
    children.map(
      (child) =>
        new Promise<void>((resolve) => {
          // 'close' (not 'exit'): the process is gone and its IPC pipe released too.
          if ((child.exitCode !== null || child.signalCode !== null) && !child.connected)
            return resolve();
          const kill = setTimeout(() => child.kill("SIGKILL"), 2000);
          child.once("close", () => {
            clearTimeout(kill);
            resolve();
          });
          if (child.connected) child.send({ t: "stop" } satisfies WorkerMessage);
          else child.kill("SIGTERM");
        }),
    ),
  );
  // Node releases a child's handle in the loop's close phase, after the next check phase: wait for it.
  for (let i = 0; i < 2; i++) await new Promise((r) => setImmediate(r));
}
