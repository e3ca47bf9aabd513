import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import dgram from "node:dgram";
import { rmSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const hasTurnserver = spawnSync("sh", ["-c", "command -v turnserver"]).status === 0;

async function freePort(): Promise<number> {
  // A port free for both UDP and TCP (coturn listens on both).
  for (;;) {
    const srv = net.createServer();
    const port = await new Promise<number>((r) =>
      srv.listen(0, "127.0.0.1", () => r((srv.address() as net.AddressInfo).port)),
    );
    await new Promise((r) => srv.close(r));
    const u = dgram.createSocket("udp4");
    const ok = await new Promise<boolean>((r) => {
      u.once("error", () => r(false));
      u.bind(port, "127.0.0.1", () => r(true));
    });
    await new Promise<void>((r) => u.close(() => r()));
    if (ok) return port;
  }
}

export interface Coturn {
  port: number;
  host: string;
  username: string;
  password: string;
  realm: string;
  stop(): Promise<void>;
}

/** Starts Debian's coturn on loopback with long-term credentials u:p, realm "test". */
export async function startCoturn(): Promise<Coturn> {
  const port = await freePort();
  const minPort = 20000 + Math.floor(Math.random() * 40) * 1000;
  const id = `tr-turn-${process.pid}-${port}`;
  const db = join(tmpdir(), `${id}.db`);
  const child: ChildProcess = spawn(
    "turnserver",
    [
      "-n",
      "--listening-ip=127.0.0.1",
      `--listening-port=${port}`,
      "--relay-ip=127.0.0.1",
      `--min-port=${minPort}`,
      `--max-port=${minPort + 999}`,
      "--lt-cred-mech",
      "--user=u:p",
      "--realm=test",
      "--no-tls",
      "--no-dtls",
      "--allow-loopback-peers",
      "--no-cli",
      "--fingerprint",
      `--userdb=${db}`,
      `--pidfile=${join(tmpdir(), `${id}.pid`)}`,
      "--log-file=stdout",
      "--simple-log",
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let log = "";
  child.stdout?.on("data", (d) => {
    log += d;
  });
  child.stderr?.on("data", (d) => {
    log += d;
  });
  // Ready when TCP accepts connections (UDP listeners are up by then too).
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`turnserver exited: ${log.slice(-2000)}`);
    const ok = await new Promise<boolean>((r) => {
      const s = net.connect(port, "127.0.0.1");
      s.once("connect", () => {
        s.destroy();
        r(true);
      });
      s.once("error", () => r(false));
    });
    if (ok) break;
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`turnserver did not start: ${log.slice(-2000)}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    port,
    host: "127.0.0.1",
    username: "u",
    password: "p",
    realm: "test",
    async stop() {
      if (child.exitCode === null) {
        const done = new Promise((r) => child.once("exit", r));
        child.kill("SIGTERM");
        const t = setTimeout(() => child.kill("SIGKILL"), 2000);
        await done;
        clearTimeout(t);
      }
      rmSync(db, { force: true });
      rmSync(join(tmpdir(), `${id}.pid`), { force: true });
    },
  };
}
