import { execFile } from "node:child_process";
import { once } from "node:events";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, test } from "vitest";

// labs/natlab/lab.ts is outside this package's rootDir: load it at run time, typed by what we use.
interface Lab {
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
  spawn(node: string, cmd: string, args?: string[]): import("node:child_process").ChildProcess;
  stop(): Promise<void>;
}
const { labAvailable, startLab } = (await import(
  pathToFileURL(join(dirname(fileURLToPath(import.meta.url)), "../../../labs/natlab/lab.ts")).href
)) as {
  labAvailable(): string | undefined;
  startLab(s: string[], o: { prefix: string; state: string; p2pdStun?: boolean }): Promise<Lab>;
};

// Nodes run as separate processes inside the lab's namespaces, so they need plain JS: build this
// package into .lab/dist (gitignored) without touching dist/, which other test runs may be reading.
const here = dirname(fileURLToPath(import.meta.url));
const pkg = join(here, "..");
const libDir = join(pkg, ".lab", "dist");
const peer = join(here, "lab", "peer.mjs");
const why = labAvailable();

let lab: Lab;
const servers: { kill: () => void }[] = [];

function turnFlags(): string[] {
  const t = lab.info.turn;
  return [
    "--turn",
    `turn:${lab.info.pub.ip4}:${t.port}`,
    "--turn-user",
    t.user,
    "--turn-pass",
    t.pass,
  ];
}

async function serve(host: string, stun: string) {
  const child = lab.spawn(host, process.execPath, [
    peer,
    "serve",
    "--lib",
    join(libDir, "index.js"),
    "--mqtt",
    lab.info.mqttUrl,
    "--stun",
    stun,
    ...turnFlags(),
  ]);
  servers.push(child);
  let err = "";
  child.stderr?.on("data", (d) => (err += d));
  const [chunk] = (await Promise.race([
    once(child.stdout as NodeJS.ReadableStream, "data"),
    once(child, "close").then(([code, sig]) => {
      throw new Error(`peer on ${host} exited (${code ?? sig}): ${err}`);
    }),
  ])) as [Buffer];
  return JSON.parse(chunk.toString().split("\n")[0] ?? "") as {
    addr: string;
    nat: { type: number } | null;
  };
}

async function connectFrom(host: string, addr: string, stun: string, extra: string[] = []) {
  const r = await lab.exec(
    host,
    process.execPath,
    [
      peer,
      "connect",
      "--lib",
      join(libDir, "index.js"),
      "--mqtt",
      lab.info.mqttUrl,
      "--stun",
      stun,
      ...turnFlags(),
      addr,
      ...extra,
    ],
    { timeoutMs: 40_000 },
  );
  const line = r.stdout.trim().split("\n").at(-1) ?? "";
  if (!line.startsWith("{")) throw new Error(`connect on ${host} failed: ${r.stderr}`);
  return JSON.parse(line);
}

describe.skipIf(why !== undefined)("P2P node in the NAT lab (natlab, prefix nd-)", () => {
  let stun: string;
  let a1: { addr: string; nat: { type: number } | null };
  let b1: { addr: string; nat: { type: number } | null };
  let c1: { addr: string; nat: { type: number } | null };

  beforeAll(async () => {
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
    expect(existsSync(join(libDir, "index.js"))).toBe(true);
    lab = await startLab(
      [
        "a=open",
        "b=port-restricted,hosts=2",
        "c=port-restricted",
        "d=symmetric",
        "e=symmetric-sequential",
        "f=cgnat",
      ],
      {
        prefix: "nd-",
        state: "/tmp/natlab-nd",
        p2pdStun: false,
      },
    );
    stun = `${lab.info.pub.ip4}:${lab.info.stun.port}`;
    [a1, b1, c1] = await Promise.all([serve("a1", stun), serve("b1", stun), serve("c1", stun)]);
  }, 180_000);

  afterAll(async () => {
    for (const s of servers) s.kill();
    await lab?.stop();
  }, 60_000);

  test("NAT tests ran in the lab: a1 open, b1 port-restricted, external IPs filled in", () => {
    expect(a1.nat?.type).toBe(1);
    expect(b1.nat?.type).toBe(5);
    expect(b1.addr).toContain(lab.host("b1").publicIp4);
  });

  test("direct connect from a NATed host to an open host (IPv4)", async () => {
    const r = await connectFrom("b2", a1.addr, stun, ["--family", "4"]);
    expect(r).toMatchObject({ strategy: "direct", echo: true });
    expect(r.peer.host).toBe(lab.host("a1").ip4);
  }, 60_000);

  test("direct connect over IPv6", async () => {
    const r = await connectFrom("b2", a1.addr, stun, ["--family", "6"]);
    expect(r).toMatchObject({ strategy: "direct", echo: true });
    expect(r.peer.host).toBe(lab.host("a1").ip6);
  }, 60_000);

  test("reverse connect from an open host to a NATed host (direct is skipped)", async () => {
    const r = await connectFrom("a1", b1.addr, stun, ["--family", "4"]);
    expect(r).toMatchObject({ strategy: "reverse", echo: true });
    expect(r.strategies[0]).toMatchObject({ strategy: "direct", skipped: true });
  }, 60_000);

  test("same LAN: b2 reaches b1 on its private address (no hairpin needed)", async () => {
    const r = await connectFrom("b2", b1.addr, stun, ["--family", "4"]);
    expect(r).toMatchObject({ strategy: "direct", echo: true });
    expect(r.peer.host).toBe(lab.host("b1").ip4);
  }, 60_000);

  test.each(["tcp-punch", "udp-punch"])(
    "%s between two port-restricted NATs (b2 -> c1)",
    async (strategy) => {
      const r = await connectFrom("b2", c1.addr, stun, ["--family", "4", "--strategies", strategy]);
      expect(r).toMatchObject({ strategy, echo: true });
      // The hole goes to c's public address (its NAT), not to c1's private one.
      expect(r.peer.host).toBe(lab.host("c1").publicIp4);
    },
    60_000,
  );

  test("default order between NATed hosts: direct and reverse skipped, tcp-punch wins", async () => {
    const r = await connectFrom("b2", c1.addr, stun, ["--family", "4"]);
    expect(r).toMatchObject({ strategy: "tcp-punch", echo: true });
    expect(r.strategies.slice(0, 2)).toEqual([
      expect.objectContaining({ strategy: "direct", skipped: true }),
      expect.objectContaining({ strategy: "reverse", skipped: true }),
    ]);
  }, 60_000);

  test("turn relay from a symmetric NAT (d1 -> c1) through coturn", async () => {
    const r = await connectFrom("d1", c1.addr, stun, ["--family", "4", "--strategies", "turn"]);
    expect(r, JSON.stringify(r)).toMatchObject({ strategy: "turn", echo: true });
    expect(r.peer.host).toBe(lab.info.pub.ip4);
  }, 60_000);

  test.each(["tcp-punch", "udp-punch"])(
    "%s from a symmetric NAT with sequential ports: predicted ports (e1 -> c1)",
    async (strategy) => {
      // The NAT test saw a symmetric NAT whose ports step by +1 (delta type 4 "independent"),
      // so e1 advertises the next predicted mappings instead of the one it saw.
      const e1 = await serve("e1", stun);
      expect(e1.nat).toMatchObject({ type: 6, delta: { type: 4, value: 1 } });
      const r = await connectFrom("e1", c1.addr, stun, ["--family", "4", "--strategies", strategy]);
      expect(r, JSON.stringify(r)).toMatchObject({ strategy, echo: true });
    },
    60_000,
  );

  test("udp-punch from a random symmetric NAT to a port-restricted one: birthday probing (d1 -> c1)", async () => {
    const r = await connectFrom("d1", c1.addr, stun, [
      "--family",
      "4",
      "--strategies",
      "udp-punch",
    ]);
    expect(r, JSON.stringify(r)).toMatchObject({ strategy: "udp-punch", echo: true });
  }, 60_000);

  test("default order from a random symmetric NAT: only udp-punch can work, and does", async () => {
    const r = await connectFrom("d1", c1.addr, stun, ["--family", "4"]);
    expect(r, JSON.stringify(r)).toMatchObject({ strategy: "udp-punch", echo: true });
    expect(r.strategies.slice(0, 3)).toEqual([
      expect.objectContaining({ strategy: "direct", skipped: true }),
      expect.objectContaining({ strategy: "reverse", skipped: true }),
      expect.objectContaining({ strategy: "tcp-punch", skipped: true }),
    ]);
  }, 60_000);

  test("reverse connect over IPv6 (the NATed side's firewall lets its own outbound dial through)", async () => {
    const r = await connectFrom("a1", b1.addr, stun, ["--family", "6", "--strategies", "reverse"]);
    expect(r, JSON.stringify(r)).toMatchObject({ strategy: "reverse", echo: true });
    expect(r.peer.host).toBe(lab.host("b1").ip6);
  }, 60_000);

  test.each(["udp-punch", "tcp-punch"])(
    "%s from behind a carrier-grade NAT (double NAT, f1 -> c1)",
    async (strategy) => {
      const r = await connectFrom("f1", c1.addr, stun, ["--family", "4", "--strategies", strategy]);
      expect(r, JSON.stringify(r)).toMatchObject({ strategy, echo: true });
    },
    60_000,
  );
});
