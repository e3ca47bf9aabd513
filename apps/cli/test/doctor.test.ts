// `p2pd doctor` for real: the built CLI inside natlab hosts of every NAT kind; the verdict must match
// the lab's truth. Tests only ever pass lab servers (doctor's defaults are public servers).
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createSocket } from "node:dgram";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { node as p2p, stun } from "p2pd";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { run } from "../src/cli.js";
import { builtCli, type NatLab, natLab, noNatLab } from "./natlab.js";
import { cli } from "./run-cli.js";

const exec = promisify(execFile);

describe("p2pd doctor: command line and verdict logic (nothing is sent)", () => {
  test.each([
    [["--family", "5"], /--family/],
    [["--timeout", "x"], /--timeout/],
    [["--mqtt", "http://x"], /--mqtt/],
    [["--gateway", "nope"], /--gateway/],
    [["extra"], /unexpected/],
    [["--ntp", "a b"], /--ntp/],
  ])("usage error %j", async (args, msg) => {
    const r = await cli("doctor", "--stun", "127.0.0.1:9", ...args, "--json");
    expect(r.code).toBe(2);
    expect(JSON.parse(r.out).error.code).toBe("ERR_USAGE");
    expect(r.out + r.err).toMatch(msg);
  });

  test("verdict: open or mapped is direct for all; port-restricted relays random symmetric", () => {
    const open = p2p.doctorVerdict({
      udp: true,
      tcp: true,
      natType: "open-internet",
      portMapping: false,
      ipv6: "none",
    });
    expect(open.relay).toEqual(["ipv6"]);
    const pr = p2p.doctorVerdict({
      udp: true,
      tcp: true,
      natType: "port-restricted-cone",
      deltaKind: "equal",
      portMapping: false,
      ipv6: "firewalled",
    });
    expect(pr.direct).toEqual(["open-internet", "full-cone"]);
    expect(pr.holePunch).toEqual([
      "restricted-cone",
      "port-restricted-cone",
      "symmetric-predictable",
      "ipv6",
    ]);
    expect(pr.relay).toEqual(["symmetric-random"]);
    const mapped = p2p.doctorVerdict({
      ...{ udp: true, tcp: true, natType: "symmetric", deltaKind: "random" as const },
      portMapping: true,
      ipv6: "none",
    });
    expect(mapped.holePunch).toEqual([]);
    const tcpOnly = p2p.doctorVerdict({
      udp: false,
      tcp: true,
      natType: "blocked",
      portMapping: false,
      ipv6: "none",
    });
    expect(tcpOnly.canWork).toBe(true);
    expect(tcpOnly.direct).toEqual(["open-internet"]);
    expect(tcpOnly.summary.join(" ")).toMatch(/only TCP/);
    const none = p2p.doctorVerdict({ udp: false, tcp: false, portMapping: false, ipv6: "none" });
    expect(none.canWork).toBe(false);
    expect(none.reason).toMatch(/UDP and TCP/);
  });
});

describe("p2pd doctor on loopback (a STUN server and a broker this test starts)", () => {
  let server: InstanceType<typeof stun.StunServer>;
  let broker: p2p.EmbeddedBroker;
  let closedPort: number;
  beforeAll(async () => {
    server = new stun.StunServer({ ips: ["127.0.0.1", "127.0.0.2"], port: 0, altPort: 0 });
    await server.listen();
    broker = await p2p.startBroker({ host: "127.0.0.1", port: 0 });
    // A port nothing listens on (UDP and TCP): bind, read, close.
    const s = createServer();
    await new Promise<void>((r) => s.listen(0, "127.0.0.1", () => r()));
    closedPort = (s.address() as { port: number }).port;
    await new Promise((r) => s.close(r));
  });
  afterAll(async () => {
    await Promise.all([server.close(), broker.close()]);
  });

  test("--json: open internet, UDP and TCP reachable, hairpin, broker latency, every field", async () => {
    const args = ["--stun", `127.0.0.1:${server.primary.port}`, "--mqtt", broker.url];
    const r = await cli("doctor", ...args, "--interfaces", "lo", "--no-portmap", "--json");
    expect(r.code, r.err).toBe(0);
    const j = JSON.parse(r.out);
    expect(Object.keys(j).sort()).toEqual(
      ["brokers", "budget", "clock", "interfaces", "ipv6", "ms", "portMapping", "verdict"].sort(),
    );
    const v4 = j.interfaces.find((i: { family: number }) => i.family === 4);
    expect(v4).toMatchObject({
      name: "lo",
      local: "127.0.0.1",
      udp: true,
      tcp: true,
      external: { ip: "127.0.0.1", port: expect.any(Number) },
      nat: { type: "open-internet", delta: { kind: "equal", value: 0 } },
      mappingStable: true,
      externalIpStable: true,
      hairpin: true,
    });
    expect(v4.servers[0].udp).toMatchObject({ ok: true, rttMs: expect.any(Number) });
    expect(v4.servers[0].tcp).toMatchObject({ ok: true, rttMs: expect.any(Number) });
    expect(j.brokers).toEqual([{ url: broker.url, ok: true, rttMs: expect.any(Number) }]);
    expect(j.clock).toMatchObject({
      measured: false,
      reason: expect.stringMatching(/not measured/),
    });
    expect(j.portMapping).toBeNull();
    expect(j.verdict).toMatchObject({ canWork: true, holePunch: [] });
    expect(j.budget.rttMs).toBeGreaterThan(0);
    expect(r.err).toContain("doctor: ");
    // Human output: the verdict in words.
    const h = await cli("doctor", ...args, "--interfaces", "lo", "--no-portmap", "--family", "4");
    expect(h.code).toBe(0);
    expect(h.out).toMatch(/NAT: +open-internet/);
    expect(h.out).toMatch(/Direct: open-internet/);
    expect(h.out).toMatch(/clock offset: +not measured/);
  }, 20_000);

  test("--ntp: the clock offset against an SNTP server whose clock is 2 s ahead", async () => {
    // A real SNTP server on loopback (RFC 4330 server side, 48-byte packets), 2000 ms ahead.
    const ntp = createSocket("udp4");
    const ntpTime = (ms: number) => {
      const b = Buffer.alloc(8);
      const s = Math.floor(ms / 1000);
      b.writeUInt32BE(s + 2_208_988_800, 0);
      b.writeUInt32BE(Math.floor(((ms % 1000) / 1000) * 2 ** 32), 4);
      return b;
    };
    ntp.on("message", (msg, from) => {
      const r = Buffer.alloc(48);
      r[0] = 0x24; // version 4, server
      r[1] = 2; // stratum
      msg.copy(r, 24, 40, 48); // originate = the client's transmit
      ntpTime(Date.now() + 2000).copy(r, 32);
      ntpTime(Date.now() + 2000).copy(r, 40);
      ntp.send(r, from.port, from.address);
    });
    await new Promise<void>((r) => ntp.bind(0, "127.0.0.1", () => r()));
    const at = `127.0.0.1:${ntp.address().port}`;
    try {
      const args = ["--stun", `127.0.0.1:${server.primary.port}`, "--ntp", at];
      const r = await cli(
        "doctor",
        ...args,
        "--interfaces",
        "lo",
        "--family",
        "4",
        "--no-portmap",
        "--json",
      );
      expect(r.code, r.err).toBe(0);
      const { clock } = JSON.parse(r.out);
      expect(clock).toMatchObject({ measured: true, server: at, rttMs: expect.any(Number) });
      expect(Math.abs(clock.offsetMs - 2000)).toBeLessThan(25);
      expect(clock.servers).toEqual([
        { server: at, ok: true, offsetMs: clock.offsetMs, rttMs: clock.rttMs, stratum: 2 },
      ]);
      expect(clock.reason).toBeUndefined();
      expect(r.err).toMatch(new RegExp(`doctor: ntp ${at}: offset \\d+(\\.\\d+)? ms`));
      const h = await cli("doctor", ...args, "--interfaces", "lo", "--family", "4", "--no-portmap");
      expect(h.out).toMatch(new RegExp(`clock offset: +\\+\\d+(\\.\\d+)? ms against ${at} \\(±`));
    } finally {
      ntp.close();
    }
  }, 20_000);

  test("UDP and TCP both unanswered: exit 1 with the reason, the report still printed", async () => {
    const t0 = performance.now();
    const r = await cli(
      "doctor",
      ...["--stun", `127.0.0.1:${closedPort}`, "--interfaces", "lo", "--family", "4"],
      ...["--no-portmap", "--timeout", "3000", "--json"],
    );
    expect(r.code).toBe(1);
    const j = JSON.parse(r.out);
    expect(j.verdict).toMatchObject({
      canWork: false,
      reason: expect.stringMatching(/UDP and TCP/),
    });
    expect(j.interfaces[0]).toMatchObject({ udp: false, tcp: false, nat: { type: "blocked" } });
    expect(performance.now() - t0).toBeLessThan(3500); // bounded: nothing hangs
  }, 20_000);

  test("interrupted: exit 130", async () => {
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 100);
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    stdout.resume();
    stderr.resume();
    const code = await run(
      ["doctor", "--stun", `127.0.0.1:${closedPort}`, "--interfaces", "lo", "--no-portmap"],
      { stdout, stderr, signal: ac.signal },
    );
    expect(code).toBe(130);
  }, 20_000);
});

const PEERS: readonly string[] = p2p.PEER_KINDS;

// Network letter -> scenario; one lab for every kind.
const SCENARIO: Record<string, string> = {
  a: "open",
  b: "full-cone",
  c: "restricted-cone",
  d: "port-restricted",
  e: "port-preserving",
  f: "symmetric",
  g: "symmetric-sequential",
  h: "udp-blocked",
  i: "hairpin",
  j: "v6-firewall",
};

type Report = {
  interfaces: {
    family: number;
    udp: boolean;
    tcp: boolean;
    external: { ip: string; port: number } | null;
    nat: { type: string; delta: { kind: string; value: number } } | null;
    mappingStable: boolean | null;
    hairpin: boolean | null;
  }[];
  brokers: { ok: boolean; rttMs: number | null }[];
  ipv6: { reachability: string };
  verdict: {
    canWork: boolean;
    reason?: string;
    direct: string[];
    holePunch: string[];
    relay: string[];
    summary: string[];
  };
  ms: number;
  budget: { rttMs: number | null; probeMs: number };
};

describe.skipIf(noNatLab)(
  `p2pd doctor in natlab${noNatLab ? ` (skipped: ${noNatLab})` : ""}`,
  () => {
    let lab: NatLab;
    const reports: Record<string, { code: number; json: Report; stderr: string }> = {};
    const v4 = (net: string) => reports[net]?.json.interfaces.find((i) => i.family === 4);
    beforeAll(async () => {
      lab = await natLab.startLab(
        Object.entries(SCENARIO).map(([k, v]) => `${k}=${v}`),
        { prefix: "dr-", state: "/tmp/natlab-dr" },
      );
      const { pub, stun: st, p2pdStun, mqttUrl } = lab.info;
      const args = ["--stun", `${pub.ip4}:${st.port}`, "--stun", `[${pub.ip6}]:${st.port}`];
      if (p2pdStun) args.push("--stun", `${pub.ip4}:${p2pdStun.port}`);
      args.push("--mqtt", mqttUrl, "--no-portmap", "--json");
      const runs = Object.keys(SCENARIO).map((net) => [net, `${net}1`, args] as const);
      // Both blocked: a UDP-blocked host whose only STUN server does not exist (nothing on TCP either).
      const dead = ["--stun", `${pub.ip4}:1`, "--no-portmap", "--family", "4", "--json"];
      await Promise.all(
        [...runs, ["dead", "h1", dead] as const].map(async ([key, host, a]) => {
          const r = await lab.exec(host, process.execPath, [builtCli, "doctor", ...a], {
            timeoutMs: 30_000,
          });
          reports[key] = {
            code: r.code,
            json: r.stdout ? JSON.parse(r.stdout) : {},
            stderr: r.stderr,
          };
        }),
      );
    }, 180_000);
    afterAll(() => lab?.stop(), 60_000);

    const TRUTH: [string, string, string[]][] = [
      // net, NAT type, delta kinds the lab's allocator gives
      ["a", "open-internet", ["equal"]],
      ["b", "full-cone", ["equal", "preserving"]],
      ["c", "restricted-cone", ["equal", "preserving"]],
      ["d", "port-restricted-cone", ["equal", "preserving"]],
      ["e", "port-restricted-cone", ["equal", "preserving"]],
      ["f", "symmetric", ["random"]],
      ["g", "symmetric", ["independent"]],
      ["i", "port-restricted-cone", ["equal", "preserving"]],
      ["j", "symmetric", ["random"]],
    ];
    test.each(TRUTH)(
      "%s1: IPv4 NAT %s, delta %j, exit 0, brokers measured",
      (net, type, deltas) => {
        const r = reports[net];
        expect(r?.code, r?.stderr).toBe(0);
        const i = v4(net);
        expect(i).toMatchObject({ udp: true, tcp: true, nat: { type } });
        expect(deltas).toContain(i?.nat?.delta.kind);
        const h = lab.host(`${net}1`);
        expect(i?.external?.ip).toBe(net === "a" ? h.ip4 : h.publicIp4); // the open network is not NATed
        expect(i?.mappingStable).toBe(type !== "symmetric");
        expect(r?.json.brokers[0]).toMatchObject({ ok: true, rttMs: expect.any(Number) });
        expect(r?.json.ms).toBeLessThan(10_000);
      },
    );

    test("verdicts: open and full-cone are direct for all, cones punch, symmetric relays", () => {
      const V4 = PEERS.filter((k) => k !== "ipv6");
      for (const n of ["a", "b"])
        expect(reports[n]?.json.verdict.direct).toEqual(expect.arrayContaining(V4));
      expect(reports.c?.json.verdict.holePunch).toEqual(
        expect.arrayContaining(["restricted-cone", "port-restricted-cone", "symmetric-random"]),
      );
      for (const n of ["d", "e", "i"]) {
        expect(reports[n]?.json.verdict.holePunch).toContain("port-restricted-cone");
        expect(reports[n]?.json.verdict.relay).toContain("symmetric-random");
      }
      // Random symmetric (f, j): only address-restricted cones punch; predictable (g) punches more.
      for (const n of ["f", "j"])
        expect(reports[n]?.json.verdict.relay).toEqual(
          expect.arrayContaining([
            "port-restricted-cone",
            "symmetric-predictable",
            "symmetric-random",
          ]),
        );
      expect(reports.g?.json.verdict.holePunch).toEqual(
        expect.arrayContaining(["port-restricted-cone", "symmetric-predictable"]),
      );
    });

    test("hairpinning: on only in the hairpin network", () => {
      expect(v4("i")?.hairpin).toBe(true);
      for (const n of ["d", "e", "f"]) expect(v4(n)?.hairpin).toBe(false);
    });

    test("IPv6: open behind the open router, firewalled (punch) behind NAT routers", () => {
      expect(reports.a?.json.ipv6.reachability).toBe("open");
      expect(reports.a?.json.verdict.direct).toContain("ipv6");
      for (const n of ["d", "j"]) {
        expect(reports[n]?.json.ipv6.reachability).toBe("firewalled");
        expect(reports[n]?.json.verdict.holePunch).toContain("ipv6");
      }
    });

    test("udp-blocked: TCP only verdict, still exit 0", () => {
      const r = reports.h;
      expect(r?.code, r?.stderr).toBe(0);
      expect(v4("h")).toMatchObject({ udp: false, tcp: true, nat: { type: "blocked" } });
      expect(r?.json.verdict.canWork).toBe(true);
      expect(r?.json.verdict.summary.join(" ")).toMatch(/only TCP/);
      expect(r?.json.verdict.holePunch.filter((k) => k !== "ipv6")).toEqual([]);
      expect(r?.json.ipv6.reachability).toBe("none");
    });

    test("UDP and TCP both blocked: exit 1 with the reason", () => {
      const r = reports.dead;
      expect(r?.code).toBe(1);
      expect(r?.json.verdict).toMatchObject({
        canWork: false,
        reason: expect.stringMatching(/UDP and TCP/),
      });
    });
  },
);

// Port mapping: the LAN namespace of the nat package's miniupnpd lab, a STUN server on its WAN side.
const labSh = fileURLToPath(new URL("../../../packages/nat/test/portmap/lab.sh", import.meta.url));
const noUpnp =
  process.getuid?.() !== 0
    ? "needs root"
    : !existsSync("/usr/sbin/miniupnpd")
      ? "needs miniupnpd"
      : !existsSync(builtCli)
        ? "needs a build"
        : undefined;

describe.skipIf(noUpnp)(
  `p2pd doctor behind miniupnpd${noUpnp ? ` (skipped: ${noUpnp})` : ""}`,
  () => {
    const id = randomBytes(3).toString("hex");
    const state = mkdtempSync(join(tmpdir(), "dr-pm-"));
    let stunSrv: ChildProcess | undefined;
    beforeAll(async () => {
      await exec(labSh, ["up", id, state], { timeout: 20_000 });
      stunSrv = spawn("ip", [
        "netns",
        "exec",
        `pm-${id}-wan`,
        process.execPath,
        builtCli,
        "stun-server",
        "--ip",
        "11.11.11.2",
        "--port",
        "3478",
      ]);
      await new Promise((r) => setTimeout(r, 800));
    }, 30_000);
    afterAll(async () => {
      stunSrv?.kill();
      await exec(labSh, ["down", id, state]).catch(() => {});
      rmSync(state, { recursive: true, force: true });
    }, 30_000);

    test("a port mapping is granted, removed again, and makes every IPv4 peer direct", async () => {
      const r = await exec(
        "ip",
        [
          "netns",
          "exec",
          `pm-${id}-lan`,
          process.execPath,
          builtCli,
          "doctor",
          "--stun",
          "11.11.11.2:3478",
          "--family",
          "4",
          "--json",
        ],
        { timeout: 20_000 },
      ).catch((e) => e as { stdout: string; stderr: string; code?: number });
      const j = JSON.parse(r.stdout);
      expect(j.portMapping, r.stderr).toMatchObject({
        available: true,
        removed: true,
        reachable: true,
      });
      expect(["pcp", "natpmp", "upnp"]).toContain(j.portMapping.method);
      expect(j.portMapping.external.ip).toBe("11.11.11.1");
      expect(j.interfaces[0].external.ip).toBe("11.11.11.1");
      expect(j.verdict.canWork).toBe(true);
      expect(j.verdict.holePunch.filter((k: string) => k !== "ipv6")).toEqual([]);
      // Nothing left on the gateway.
      const list = await exec("ip", [
        "netns",
        "exec",
        `pm-${id}-lan`,
        process.execPath,
        builtCli,
        "portmap",
        "list",
        "--json",
      ]);
      expect(JSON.parse(list.stdout).mappings).toEqual([]);
    }, 40_000);
  },
);
