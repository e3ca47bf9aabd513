/**
 * `p2pd servers` and `p2pd servers check`. Network safety: `servers check` contacts every server in
 * effect, so every check here runs with P2PD_CONFIG naming loopback servers this file starts.
 */
import { createSocket, type Socket as UdpSocket } from "node:dgram";
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { node as p2p, stun } from "p2pd";
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import { run } from "../src/cli.js";
import { cli } from "./run-cli.js";

let dir: string;
const saved = { P2PD_CONFIG: process.env.P2PD_CONFIG, XDG: process.env.XDG_CONFIG_HOME };
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "p2pd-servers-cli-"));
});
afterEach(() => {
  // Never leave a config pointing anywhere for the next test.
  if (saved.P2PD_CONFIG === undefined) delete process.env.P2PD_CONFIG;
  else process.env.P2PD_CONFIG = saved.P2PD_CONFIG;
  if (saved.XDG === undefined) delete process.env.XDG_CONFIG_HOME;
  else process.env.XDG_CONFIG_HOME = saved.XDG;
});

async function withConfig(doc: unknown): Promise<string> {
  const file = join(dir, `cfg-${Math.random().toString(36).slice(2)}.json`);
  await writeFile(file, typeof doc === "string" ? doc : JSON.stringify(doc));
  process.env.P2PD_CONFIG = file;
  return file;
}

describe("p2pd servers", () => {
  test("--json prints the bundled lists in the contract's exact shape", async () => {
    delete process.env.P2PD_CONFIG;
    process.env.XDG_CONFIG_HOME = join(dir, "empty"); // no config file there
    const r = await cli("servers", "--json");
    expect(r.code).toBe(0);
    expect(r.out.trim().split("\n")).toHaveLength(1);
    const j = JSON.parse(r.out);
    expect(Object.keys(j)).toEqual(["stun", "mqtt", "turn"]);
    const bundled = p2p.bundledServers();
    expect(j.stun).toHaveLength(bundled.stun.length);
    expect(j.mqtt).toHaveLength(bundled.mqtt.length);
    for (const s of j.stun)
      expect(Object.keys(s)).toEqual(["ip", "port", "altIp", "altPort", "family", "transport"]);
    for (const m of j.mqtt) expect(Object.keys(m)).toEqual(["url", "ip", "port", "family"]);
    for (const t of j.turn) expect(Object.keys(t)).toEqual(["url", "ip", "port", "user", "pass"]);
    // Binding-only servers say so with nulls; TURN without credentials too.
    expect(
      j.stun.some(
        (s: { altIp: unknown; altPort: unknown }) => s.altIp === null && s.altPort === null,
      ),
    ).toBe(true);
    expect(j.turn[0]).toMatchObject({ user: null, pass: null });
  });

  test("a config file replaces or extends lists", async () => {
    await withConfig({
      stun: ["127.0.0.1:3478"],
      mqtt: { extend: ["mqtt://127.0.0.1:1883"] },
      turn: [{ url: "turn:127.0.0.1:3479", user: "u", pass: "p" }],
    });
    const j = JSON.parse((await cli("servers", "--json")).out);
    expect(j.stun).toEqual([
      { ip: "127.0.0.1", port: 3478, altIp: null, altPort: null, family: 4, transport: "udp" },
    ]);
    expect(j.mqtt.at(-1)).toEqual({
      url: "mqtt://127.0.0.1:1883",
      ip: "127.0.0.1",
      port: 1883,
      family: 4,
    });
    expect(j.mqtt).toHaveLength(p2p.bundledServers().mqtt.length + 1);
    expect(j.turn).toEqual([
      { url: "turn:127.0.0.1:3479", ip: "127.0.0.1", port: 3479, user: "u", pass: "p" },
    ]);
  });

  test("a bad config is one line naming the file and the field, exit 2 (and JSON with --json)", async () => {
    const file = await withConfig({ mqtt: [{ url: "mqtt://127.0.0.1:99999" }] });
    const r = await cli("servers");
    expect(r.code).toBe(2);
    expect(r.out).toBe("");
    expect(r.err).toBe(
      `p2pd: ${file}: mqtt[0].url: not a port (1-65535): 99999 (ERR_BAD_CONFIG)\n`,
    );
    const notJson = await withConfig("{ oops");
    const j = await cli("servers", "--json");
    expect(j.code).toBe(2);
    expect(JSON.parse(j.out).error.code).toBe("ERR_BAD_CONFIG");
    expect(j.err.split("\n")).toHaveLength(2);
    expect(j.err).toContain(`${notJson}: not JSON`);
  });

  test("usage errors exit 2", async () => {
    expect((await cli("servers", "nonsense")).code).toBe(2);
    expect((await cli("servers", "--update", "x")).code).toBe(2);
  });
});

describe("p2pd servers check (loopback servers only)", () => {
  let a: InstanceType<typeof stun.StunServer>;
  let b: InstanceType<typeof stun.StunServer>;
  let turn: InstanceType<typeof stun.StunServer>;
  let silentUdp: UdpSocket;
  let broker: p2p.EmbeddedBroker;
  let deadBroker: Server;
  let cfg: Record<string, unknown>;
  const deadSocks = new Set<import("node:net").Socket>();
  beforeAll(async () => {
    a = await new stun.StunServer({
      ips: ["127.0.0.1", "127.0.0.2"],
      port: 0,
      altPort: 0,
      protocols: ["udp"],
    }).listen();
    b = await new stun.StunServer({
      ips: ["127.0.0.3", "127.0.0.4"],
      port: 0,
      altPort: 0,
      protocols: ["udp"],
    }).listen();
    turn = await new stun.StunServer({ ips: ["127.0.0.5"], port: 0, protocols: ["udp"] }).listen();
    silentUdp = createSocket("udp4");
    await new Promise<void>((r) => silentUdp.bind(0, "127.0.0.6", () => r()));
    broker = await p2p.startBroker();
    deadBroker = createServer((s) => {
      deadSocks.add(s);
      s.on("error", () => {});
    });
    await new Promise<void>((r) => deadBroker.listen(0, "127.0.0.1", () => r()));
    const rfc = (s: typeof a, ip: string, alt: string) => {
      const e = s.endpoints();
      const p = e.find((x) => x.ipIndex === 0 && x.portIndex === 0)?.port;
      const q = e.find((x) => x.ipIndex === 1 && x.portIndex === 1)?.port;
      return { ip, port: p, altIp: alt, altPort: q };
    };
    cfg = {
      stun: [
        rfc(a, "127.0.0.1", "127.0.0.2"),
        rfc(b, "127.0.0.3", "127.0.0.4"),
        // Listed with a wrong alternate: alive, not right.
        { ...rfc(b, "127.0.0.3", "127.0.0.9"), ip: "127.0.0.4" },
        `127.0.0.6:${silentUdp.address().port}`,
      ],
      mqtt: [broker.url, `mqtt://127.0.0.1:${(deadBroker.address() as { port: number }).port}`],
      turn: [`turn:127.0.0.5:${turn.primary.port}`],
    };
  });
  afterAll(async () => {
    silentUdp.close();
    await Promise.all([a.close(), b.close(), turn.close(), broker.close()]);
    for (const s of deadSocks) s.destroy();
    await new Promise<void>((r) => deadBroker.close(() => r()));
  });

  test("--json: per entry alive, RTT, RFC 5780, right", async () => {
    await withConfig(cfg);
    const r = await cli("servers", "check", "--json", "--timeout", "400");
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out);
    expect(j.date).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(
      j.stun.map((s: { alive: boolean; rfc5780: boolean; right: boolean }) => [
        s.alive,
        s.rfc5780,
        s.right,
      ]),
    ).toEqual([
      [true, true, true],
      [true, true, true],
      [true, false, false],
      [false, false, false],
    ]);
    expect(j.stun[0].rtt).toEqual(expect.any(Number));
    expect(j.stun[2].why).toMatch(/OTHER-ADDRESS .* is not the listed alternate/);
    expect(j.stun[3]).toMatchObject({ rtt: null, why: expect.any(String) });
    expect(j.mqtt.map((m: { alive: boolean }) => m.alive)).toEqual([true, false]);
    expect(j.turn).toEqual([
      {
        url: cfg.turn && `turn:127.0.0.5:${turn.primary.port}`,
        alive: true,
        rtt: expect.any(Number),
        right: true,
      },
    ]);
  });

  test("p2pd nat with no --stun uses the listed RFC 5780 servers that answer (here: the config's)", async () => {
    await withConfig(cfg);
    const r = await cli("nat", "--json", "--no-cache");
    expect(r.err).toContain("no --stun given");
    const j = JSON.parse(r.out);
    // Loopback: the mapped address is the source address itself, not NATed.
    expect(j.type).toBe("open-internet");
    await withConfig({ stun: [{ ip: "127.0.0.1" }] });
    const bad = await cli("nat", "--no-cache");
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/stun\[0\]\.port: not a port/);
  });

  test("--update FILE refreshes lastSeen of the entries that passed, keeps the others in place", async () => {
    const file = join(dir, "servers.json");
    const stunEntries = (cfg.stun as unknown[]).slice(0, 2).map((s) => ({
      ...(s as object),
      family: 4,
      transport: "udp",
      lastSeen: "2000-01-01",
    }));
    const doc = {
      format: 1,
      version: "test",
      stun: [
        ...stunEntries,
        {
          ip: "127.0.0.6",
          port: silentUdp.address().port,
          altIp: null,
          altPort: null,
          family: 4,
          transport: "udp",
          lastSeen: "2000-01-01",
        },
      ],
      mqtt: [
        {
          url: broker.url,
          ip: "127.0.0.1",
          port: broker.port,
          family: 4,
          tls: false,
          lastSeen: "2000-01-01",
        },
      ],
      turn: [],
    };
    await writeFile(file, JSON.stringify(doc));
    const r = await cli("servers", "check", "--update", file, "--timeout", "400");
    expect(r.code).toBe(0);
    const after = JSON.parse(await readFile(file, "utf8"));
    const today = new Date().toISOString().slice(0, 10);
    expect(after.stun.map((s: { lastSeen: string }) => s.lastSeen)).toEqual([
      today,
      today,
      "2000-01-01",
    ]);
    expect(after.mqtt[0].lastSeen).toBe(today);
    expect(p2p.validateServerLists(after).stun).toHaveLength(3);
  });
});

describe("p2pd node / connect with no --mqtt: the lists in effect (a config of loopback servers)", () => {
  test("the node listens on a listed broker that answers; a dialer with another config reaches it", async () => {
    const x = await p2p.startBroker();
    const y = await p2p.startBroker({ host: "127.0.0.2" });
    const dead = createServer(() => {});
    await new Promise<void>((r) => dead.listen(0, "127.0.0.1", () => r()));
    const deadUrl = `mqtt://127.0.0.1:${(dead.address() as { port: number }).port}`;
    const cacheHome = join(dir, "cache");
    process.env.XDG_CACHE_HOME = cacheHome;
    const ac = new AbortController();
    try {
      await withConfig({ stun: [], mqtt: [deadUrl, x.url], turn: [] });
      const stdout = new PassThrough();
      const first = new Promise<string>((resolve) => {
        let buf = "";
        stdout.on("data", (d) => {
          buf += d;
          if (buf.includes("\n")) resolve(buf.slice(0, buf.indexOf("\n")));
        });
      });
      const done = run(["node", "--interfaces", "lo", "--json"], {
        stdout,
        stderr: new PassThrough(),
        signal: ac.signal,
      });
      const j = JSON.parse(await Promise.race([first, done.then((c) => `{"exit":${c}}`)]));
      expect(j.mqtt).toEqual([x.url]);
      expect(p2p.parseAddress(j.addr).brokers).toEqual([x.url]);
      // The dialer's config knows only broker y: the address tells it where the node listens.
      await withConfig({ stun: [], mqtt: [y.url], turn: [] });
      const r = await cli(
        "connect",
        j.addr,
        "--interfaces",
        "lo",
        "--strategies",
        "reverse",
        "--json",
      );
      expect(r.code, r.err).toBe(0);
      expect(JSON.parse(r.out)).toMatchObject({ strategy: "reverse", echo: true });
      ac.abort();
      expect(await done).toBe(130);
    } finally {
      ac.abort();
      delete process.env.XDG_CACHE_HOME;
      await Promise.all([x.close(), y.close()]);
      dead.close();
    }
  }, 30_000);

  test("--mqtt embedded runs the in-process broker even when lists are in effect", async () => {
    await withConfig({ stun: [], mqtt: ["mqtt://127.0.0.1:9"], turn: [] });
    const ac = new AbortController();
    const stdout = new PassThrough();
    const first = new Promise<string>((resolve) => stdout.once("data", (d) => resolve(String(d))));
    const done = run(["node", "--interfaces", "lo", "--mqtt", "embedded", "--json"], {
      stdout,
      stderr: new PassThrough(),
      signal: ac.signal,
    });
    const j = JSON.parse(await first);
    expect(j.mqtt).toEqual([expect.stringMatching(/^mqtt:\/\/127\.0\.0\.1:\d+$/)]);
    expect(j.mqtt[0]).not.toBe("mqtt://127.0.0.1:9");
    ac.abort();
    expect(await done).toBe(130);
    expect((await cli("node", "--mqtt", "embedded", "--mqtt", "mqtt://127.0.0.1:1")).code).toBe(2);
  }, 30_000);
});
