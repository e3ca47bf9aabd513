import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { connect, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { type EmbeddedBroker, echo, type P2PNode, startBroker, startNode } from "../src/index.js";

const MOSQUITTO = "/usr/sbin/mosquitto";
const has = existsSync(MOSQUITTO);
const dir = mkdtempSync(join(tmpdir(), "p2pd-nd-mosq-"));

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** Debian's mosquitto on a loopback port, with a generated config; resolves once it accepts. */
async function mosquitto(port: number): Promise<ChildProcess> {
  const conf = join(dir, `m-${port}.conf`);
  writeFileSync(
    conf,
    `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence false\nlog_dest stderr\n`,
  );
  const p = spawn(MOSQUITTO, ["-c", conf], { stdio: ["ignore", "ignore", "pipe"] });
  let log = "";
  p.stderr?.on("data", (d) => (log += d));
  const deadline = Date.now() + 5000;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, "127.0.0.1");
      s.on("connect", () => {
        s.destroy();
        resolve(true);
      });
      s.on("error", () => resolve(false));
    });
    if (ok) return p;
    if (Date.now() > deadline || p.exitCode !== null)
      throw new Error(`mosquitto did not start: ${log}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function stop(p: ChildProcess | undefined): Promise<void> {
  if (!p || p.exitCode !== null) return;
  const gone = new Promise((r) => p.once("exit", r));
  p.kill("SIGTERM");
  await gone;
}

describe.skipIf(!has)("signaling through Debian mosquitto (and aedes) on loopback", () => {
  let port: number;
  let mosq: ChildProcess | undefined;
  let aedes: EmbeddedBroker;
  let a: P2PNode;
  let b: P2PNode;

  beforeAll(async () => {
    port = await freePort();
    mosq = await mosquitto(port);
    aedes = await startBroker();
    // Two brokers each: every signal goes through both, copies are de-duplicated.
    const mqtt = [`mqtt://127.0.0.1:${port}`, aedes.url];
    a = await startNode({ interfaces: "loopback", mqtt });
    b = await startNode({ interfaces: "loopback", mqtt });
  }, 20_000);

  afterAll(async () => {
    await a?.close();
    await b?.close();
    await aedes?.close();
    await stop(mosq);
    rmSync(dir, { recursive: true, force: true });
  });

  test("reverse connect with two brokers; duplicate copies are answered once", async () => {
    let inbound = 0;
    a.on("pipe", () => inbound++);
    const r = await b.connect(a.address, { strategies: ["reverse"] });
    expect((await echo(r.pipe, "via mosquitto+aedes")).toString()).toBe("via mosquitto+aedes");
    // Give the second broker's copy time to arrive: it must not cause a second dial-back.
    await new Promise((res) => setTimeout(res, 300));
    expect(inbound).toBe(1); // a dialled back exactly once
    await r.pipe.close();
  });

  test("mosquitto alone (aedes down), then after a mosquitto restart the clients reconnect and pings get through within seconds (the dead broker holds no send)", async () => {
    await aedes.close();
    expect(await b.ping(a.address)).toBeGreaterThan(0);
    await stop(mosq);
    mosq = await mosquitto(port);
    // Reconnect period is 1 s; ping until the signal gets through again.
    const deadline = Date.now() + 20_000;
    let ok = false;
    while (!ok && Date.now() < deadline) {
      ok = await b.ping(a.address, { timeoutMs: 1000 }).then(
        () => true,
        () => false,
      );
      if (!ok) await new Promise((res) => setTimeout(res, 100));
    }
    expect(ok).toBe(true);
    // The clients reconnect within a reconnect period or two, and a ping then needs only the
    // live broker: the dead one (aedes, its 3 s reconnect wait) must not hold it past 1 s.
    expect(Date.now() - (deadline - 20_000)).toBeLessThan(6000);
    const r = await b.connect(a.address, { strategies: ["reverse"] });
    expect((await echo(r.pipe, "after restart")).toString()).toBe("after restart");
    await r.pipe.close();
  }, 45_000);
});
