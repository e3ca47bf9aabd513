import { spawn } from "node:child_process";
import { once } from "node:events";
import { existsSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { PassThrough } from "node:stream";
import { fileURLToPath } from "node:url";
import { node as p2p } from "p2pd";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { run } from "../src/cli.js";
import { type IrcLab, ircLab, labSlot, noLab } from "./irc-lab.js";

const dist = join(dirname(fileURLToPath(import.meta.url)), "..", "dist", "index.js");
let broker: p2p.EmbeddedBroker;

beforeAll(async () => {
  broker = await p2p.startBroker();
});
afterAll(async () => {
  await broker?.close();
});

/** Runs `p2pd node` in-process until its first stdout line. */
async function startCliNode(extra: string[] = []) {
  const ac = new AbortController();
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let err = "";
  stderr.on("data", (d) => (err += d));
  const line = new Promise<string>((resolve) => {
    let buf = "";
    stdout.on("data", (d) => {
      buf += d;
      if (buf.includes("\n")) resolve(buf.slice(0, buf.indexOf("\n")));
    });
  });
  const done = run(["node", "--interfaces", "loopback", "--mqtt", broker.url, ...extra], {
    stdout,
    stderr,
    signal: ac.signal,
  });
  const first = await Promise.race([line, done.then((c) => `exit ${c}: ${err}`)]);
  return { first, stop: () => ac.abort(), done, err: () => err };
}

describe("p2pd node", () => {
  test("prints one JSON line with addr, serves ECHO, stops on signal", async () => {
    const n = await startCliNode(["--json"]);
    const j = JSON.parse(n.first);
    expect(p2p.parseAddress(j.addr).nodeId).toBe(j.nodeId);
    expect(j.port).toBeGreaterThan(0);
    // A library node reaches it over the same broker, with each strategy.
    const peer = await p2p.startNode({ interfaces: "loopback", mqtt: broker.url });
    try {
      for (const s of ["direct", "reverse"]) {
        const r = await peer.connect(j.addr, { strategies: [s] });
        expect((await p2p.echo(r.pipe, `via ${s}`)).toString()).toBe(`via ${s}`);
        await r.pipe.close();
      }
    } finally {
      await peer.close();
    }
    n.stop();
    expect(await n.done).toBe(130);
  }, 30_000);

  test("--p2pd-compat: p2pdAddr (P2PD v3, plaintext listener) and a warning on stderr; without it p2pdAddr is null", async () => {
    const n = await startCliNode(["--json", "--p2pd-compat"]);
    const j = JSON.parse(n.first);
    expect(p2p.isP2pdAddress(j.p2pdAddr)).toBe(true);
    expect(p2p.parseAddress(j.p2pdAddr).nodeId).toBe(j.nodeId);
    const peer = await p2p.startNode({ interfaces: "loopback", mqtt: broker.url });
    try {
      const r = await peer.connect(j.p2pdAddr);
      expect(r.plaintext).toBe(true);
      expect(await p2p.p2pdTest(r.pipe)).toBe(p2p.P2PD_TEST_REPLY);
      await r.pipe.close();
    } finally {
      await peer.close();
    }
    expect(n.err()).toMatch(/warning: P2PD compatibility is on: .*PLAINTEXT/);
    n.stop();
    expect(await n.done).toBe(130);
    const m = await startCliNode(["--json"]);
    expect(JSON.parse(m.first).p2pdAddr).toBeNull();
    m.stop();
    expect(await m.done).toBe(130);
  }, 30_000);

  test("without --mqtt the node runs its own broker and says where: p2pd connect uses it", async () => {
    const ac = new AbortController();
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    const first = new Promise<string>((resolve) => {
      let buf = "";
      stdout.on("data", (d) => {
        buf += d;
        if (buf.includes("\n")) resolve(buf.slice(0, buf.indexOf("\n")));
      });
    });
    const done = run(["node", "--interfaces", "loopback"], { stdout, stderr, signal: ac.signal });
    const j = JSON.parse(await first);
    expect(j.mqtt).toEqual([expect.stringMatching(/^mqtt:\/\/127\.0\.0\.1:\d+$/)]);
    const out = new PassThrough();
    let text = "";
    out.on("data", (d) => (text += d));
    const code = await run(
      [
        "connect",
        j.addr,
        "--mqtt",
        j.mqtt[0],
        "--interfaces",
        "loopback",
        "--strategies",
        "reverse",
        "--json",
      ],
      { stdout: out, stderr: new PassThrough() },
    );
    expect(code).toBe(0);
    expect(JSON.parse(text)).toMatchObject({ strategy: "reverse", echo: true });
    ac.abort();
    expect(await done).toBe(130);
  }, 30_000);

  test("a seed file gives a stable node id across runs", async () => {
    const file = join(tmpdir(), `p2pd-nd-seed-${process.pid}-${Date.now()}`);
    try {
      const a = await startCliNode(["--seed-file", file]);
      a.stop();
      await a.done;
      expect(existsSync(file)).toBe(true);
      const b = await startCliNode(["--seed-file", file]);
      b.stop();
      await b.done;
      expect(JSON.parse(b.first).nodeId).toBe(JSON.parse(a.first).nodeId);
    } finally {
      rmSync(file, { force: true });
    }
  }, 30_000);

  test("bad flags are usage errors (exit 2)", async () => {
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    expect(await run(["node", "--port", "70000"], { stdout, stderr })).toBe(2);
    expect(await run(["node", "--mqtt", "http://x"], { stdout, stderr })).toBe(2);
  });

  test.skipIf(!existsSync(dist))(
    "the built binary prints its address and dies on SIGTERM",
    async () => {
      const child = spawn(
        process.execPath,
        [dist, "node", "--interfaces", "loopback", "--mqtt", broker.url],
        {
          stdio: ["ignore", "pipe", "pipe"],
        },
      );
      const [chunk] = (await once(child.stdout, "data")) as [Buffer];
      const j = JSON.parse(chunk.toString().split("\n")[0] ?? "");
      expect(j.addr).toContain(j.nodeId);
      child.kill("SIGTERM");
      const [code, sig] = (await once(child, "exit")) as [number | null, string | null];
      expect(code === 130 || sig === "SIGTERM").toBe(true);
    },
    30_000,
  );
});

const slot = labSlot("cli", 40);

describe.skipIf(noLab !== undefined)("p2pd node --name / p2pd connect NAME (IRC lab)", () => {
  let lab: IrcLab;
  beforeAll(async () => {
    lab = await ircLab.startLab({
      dir: slot.dir,
      portOffset: slot.portOffset,
    });
  }, 180_000);
  afterAll(async () => {
    await lab?.stop();
    rmSync(slot.dir, { recursive: true, force: true });
  }, 60_000);

  test("register on start, connect by name, ECHO", async () => {
    const name = `ndcli${Date.now().toString(36)}.peer`;
    const seed = join(tmpdir(), `p2pd-nd-seed-irc-${process.pid}`);
    const n = await startCliNode([
      "--irc-servers",
      lab.serverList,
      "--name",
      name,
      "--seed-file",
      seed,
    ]);
    try {
      expect(JSON.parse(n.first).addr).toBeDefined();
      // Registration follows the address line and reports on stderr.
      const deadline = Date.now() + 60_000;
      while (!n.err().includes(`name registered: ${name}`) && Date.now() < deadline) {
        expect(n.err()).not.toMatch(/not registered/);
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(n.err()).toContain(`name registered: ${name}`);
      const stdout = new PassThrough();
      const stderr = new PassThrough();
      let out = "";
      stdout.on("data", (d) => (out += d));
      const code = await run(
        [
          "connect",
          name,
          "--irc-servers",
          lab.serverList,
          "--interfaces",
          "loopback",
          "--mqtt",
          broker.url,
          "--json",
        ],
        { stdout, stderr },
      );
      expect(code).toBe(0);
      const r = JSON.parse(out);
      expect(r).toMatchObject({ echo: true, strategy: "direct" });
      expect(r.lookupMs).toBeGreaterThan(0);
    } finally {
      n.stop();
      await n.done;
      rmSync(seed, { force: true });
    }
  }, 120_000);
});
