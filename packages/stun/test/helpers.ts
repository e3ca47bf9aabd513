import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { createSocket, type Socket } from "node:dgram";
import { createServer } from "node:net";
import { afterAll, beforeAll } from "vitest";
import { getMappedAddress, StunServer, type StunServerOptions } from "../src/index.js";

export function hasBinary(name: string): boolean {
  try {
    execFileSync("sh", ["-c", `command -v ${name}`], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/** A port that is free for UDP and TCP on every given IP right now (bind 0, then release). */
export async function freePort(ips: string[], avoid: number[] = []): Promise<number> {
  for (;;) {
    const tcp = createServer();
    await new Promise<void>((r) => tcp.listen(0, ips[0], r));
    const port = (tcp.address() as { port: number }).port;
    await new Promise<void>((r) => tcp.close(() => r()));
    if (avoid.includes(port)) continue;
    let ok = true;
    for (const ip of ips) {
      for (const kind of ["udp", "tcp"] as const) {
        try {
          if (kind === "udp") {
            const s = createSocket(ip.includes(":") ? "udp6" : "udp4");
            await new Promise<void>((res, rej) => {
              s.once("error", rej);
              s.bind(port, ip, () => res());
            });
            s.close();
          } else {
            const s = createServer();
            await new Promise<void>((res, rej) => {
              s.once("error", rej);
              s.listen(port, ip, () => res());
            });
            await new Promise<void>((r) => s.close(() => r()));
          }
        } catch {
          ok = false;
        }
      }
    }
    if (ok) return port;
  }
}

export interface Coturn {
  proc: ChildProcess;
  port: number;
  altPort: number;
  log: () => string;
  stop: () => Promise<void>;
}

/** Starts coturn as a STUN-only RFC 5780 server on loopback and waits until it answers. */
export async function startCoturn(
  ips: string[],
  dir: string,
  extra: string[] = ["--stun-only"],
): Promise<Coturn> {
  const port = await freePort(ips);
  const altPort = await freePort(ips, [port]);
  const args = [
    "-n",
    ...ips.map((ip) => `--listening-ip=${ip}`),
    `--listening-port=${port}`,
    `--alt-listening-port=${altPort}`,
    "--no-tls",
    "--no-dtls",
    ...extra,
    "--no-cli",
    "--simple-log",
    "--log-file=stdout",
    `--pidfile=${dir}/turnserver.pid`,
    `--userdb=${dir}/turndb`,
  ];
  const proc = spawn("turnserver", args, { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  proc.stdout?.on("data", (d) => (out += d));
  proc.stderr?.on("data", (d) => (out += d));
  const stop = async () => {
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    const gone = new Promise<void>((r) => proc.once("exit", () => r()));
    proc.kill("SIGTERM");
    const t = setTimeout(() => proc.kill("SIGKILL"), 3000);
    await gone;
    clearTimeout(t);
  };
  const deadline = Date.now() + 15_000;
  for (;;) {
    try {
      await getMappedAddress({ host: ips[0] ?? "127.0.0.1", port }, { rto: 100, rc: 2, rm: 2 });
      break;
    } catch (e) {
      if (Date.now() > deadline || proc.exitCode !== null) {
        await stop();
        throw new Error(`coturn did not come up: ${(e as Error).message}\n${out}`);
      }
    }
  }
  return { proc, port, altPort, log: () => out, stop };
}

/** A UDP socket bound to an ephemeral loopback port: a silent "server", or a place answers may land. */
export async function udpSink(host = "127.0.0.1"): Promise<Socket> {
  const s = createSocket(host.includes(":") ? "udp6" : "udp4");
  await new Promise<void>((r) => s.bind(0, host, () => r()));
  return s;
}

/** A listening RFC 5780 server on loopback: 127.0.0.1 + 127.0.0.2, two ephemeral ports. */
export function rfc5780Loopback(opts: Partial<StunServerOptions> = {}): Promise<StunServer> {
  return new StunServer({ ips: ["127.0.0.1", "127.0.0.2"], port: 0, altPort: 0, ...opts }).listen();
}

/** An RFC 5780 loopback server shared by one test file: started before its tests, closed after. */
export function loopbackServerForFile(): () => StunServer {
  let server: StunServer | undefined;
  beforeAll(async () => {
    server = await rfc5780Loopback();
  });
  afterAll(async () => {
    await server?.close();
  });
  return () => {
    if (!server) throw new Error("the file's STUN server is not started");
    return server;
  };
}
