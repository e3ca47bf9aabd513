import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { type Lab, labAvailable, startLab } from "../../../labs/natlab/lab.js";
import type { NatResult } from "../src/types.js";

// Every lab NAT type, one lab, each host classified in parallel against coturn and our @p2pd/stun server
// (both RFC 5780, on the two public IPs of `pub`).
const SCENARIO = [
  "a=open",
  "b=full-cone",
  "c=restricted-cone",
  "d=port-restricted,hosts=2", // same LAN: d1 and d2 classify at the same time behind one NAT
  "e=symmetric",
  "f=symmetric-sequential",
  "g=cgnat",
];
const why = labAvailable();
const script = fileURLToPath(new URL("./fixtures/detect-in-ns.mjs", import.meta.url));
const dist = fileURLToPath(new URL("../dist/index.js", import.meta.url));

describe.skipIf(why)(`NAT classification in natlab${why ? ` (skipped: ${why})` : ""}`, () => {
  let lab: Lab;
  let servers: string[];

  beforeAll(async () => {
    if (!existsSync(dist))
      throw new Error("packages/nat/dist is missing: run `pnpm exec turbo run build` first");
    lab = await startLab(SCENARIO, { prefix: "nc-", state: "/tmp/natlab-nc" });
    const { pub, stun, p2pdStun } = lab.info;
    if (!p2pdStun)
      throw new Error("the lab's @p2pd/stun server did not start (is packages/stun built?)");
    servers = [`${pub.ip4}:${stun.port}`, `${pub.ip4}:${p2pdStun.port}`];
  }, 120_000);
  afterAll(async () => {
    await lab?.stop();
  }, 60_000);

  const detect = async (host: string, opts: Record<string, unknown> = {}): Promise<NatResult> => {
    const r = await lab.exec(
      host,
      process.execPath,
      [script, JSON.stringify({ servers, ...opts })],
      {
        timeoutMs: 20_000,
      },
    );
    const line = r.stdout.trim().split("\n").at(-1) ?? "";
    if (r.code !== 0 || !line.startsWith("{")) {
      throw new Error(`detect in ${host} failed (${r.code}): ${r.stdout}${r.stderr}`);
    }
    return JSON.parse(line) as NatResult;
  };

  /** Removes the forward-chain rule tagged with `comment` from a router's filter table. */
  const dropRule = async (router: string, comment: string): Promise<void> => {
    const list = await lab.exec(router, "nft", [
      "-a",
      "list",
      "chain",
      "inet",
      "natlab_filter",
      "forward",
    ]);
    const handle = new RegExp(`${comment}.*# handle (\\d+)`).exec(list.stdout)?.[1];
    if (handle) {
      await lab.exec(router, "nft", [
        "delete",
        "rule",
        "inet",
        "natlab_filter",
        "forward",
        "handle",
        handle,
      ]);
    }
  };

  test("every lab NAT type is classified right (hosts in parallel)", async () => {
    const want: Record<string, [NatResult["type"], string[]]> = {
      a1: ["open-internet", ["equal"]],
      b1: ["full-cone", ["equal"]],
      c1: ["restricted-cone", ["equal"]],
      d1: ["port-restricted-cone", ["equal"]],
      d2: ["port-restricted-cone", ["equal"]],
      e1: ["symmetric", ["random"]],
      f1: ["symmetric", ["independent"]], // a sequential allocator ignores the local port
      g1: ["port-restricted-cone", ["equal"]],
    };
    const hosts = Object.keys(want);
    const results = await Promise.all(hosts.map((h) => detect(h)));
    const got = Object.fromEntries(hosts.map((h, i) => [h, results[i] as NatResult]));
    for (const h of hosts) {
      const r = got[h] as NatResult;
      const [type, deltas] = want[h] as [string, string[]];
      expect({ host: h, type: r.type, reason: r.reason }).toEqual({
        host: h,
        type,
        reason: undefined,
      });
      expect(deltas, `${h} delta ${JSON.stringify(r.delta)}`).toContain(r.delta.kind);
      expect(r.ignored).toBeUndefined();
      // The external address STUN saw is the network's public address (the CGN's for g1).
      const pub = lab.host(h).publicIp4;
      for (const m of r.mapped) expect(m.host).toBe(h === "a1" ? lab.host("a1").ip4 : pub);
    }
    expect(got.f1?.delta.value).toBe(1);
  }, 60_000);

  test("port prediction from the delta holds on the real NATs (equal, sequential +1; random refuses)", async () => {
    const script = fileURLToPath(new URL("./fixtures/predict-in-ns.mjs", import.meta.url));
    const run = async (host: string) => {
      const r = await lab.exec(host, process.execPath, [script, JSON.stringify({ servers })], {
        timeoutMs: 20_000,
      });
      expect(r.code, r.stderr).toBe(0);
      return JSON.parse(r.stdout.trim().split("\n").at(-1) ?? "{}");
    };
    // A prediction is a bet: a port already held on the router (port preservation yields) or
    // other traffic taking a sequential port can beat it. Up to 3 tries, each a fresh prediction.
    const settle = async (host: string, holds: (r: any) => boolean) => {
      let r = await run(host);
      for (let i = 1; i < 3 && !holds(r); i++) r = await run(host);
      return r;
    };
    const [d1, f1, e1] = await Promise.all([
      settle("d1", (r) => r.actual?.mapped === r.predicted?.mapped),
      settle("f1", (r) => r.actual?.mapped === r.predicted?.mapped),
      run("e1"),
    ]);
    // Port-restricted cone, equal delta: the next local port is mapped to itself.
    expect(d1.delta.kind).toBe("equal");
    expect(d1.predicted).toEqual({ local: d1.actual.local, mapped: d1.actual.local });
    expect(d1.actual.mapped).toBe(d1.predicted.mapped);
    // Sequential symmetric NAT: the next mapping is the last one plus the delta.
    expect(f1.delta).toEqual({ kind: "independent", value: 1 });
    expect(f1.predicted.mapped).toBe(f1.last.mapped + 1);
    expect(f1.actual.mapped).toBe(f1.predicted.mapped);
    // Random ports: no prediction, a typed refusal.
    expect(e1.delta.kind).toBe("random");
    expect(e1.error?.code).toBe("ERR_NAT_UNPREDICTABLE");
  }, 30_000);

  test("IPv6 (routed, no NAT): open network => open-internet, a NAT router's stateful firewall => udp-firewall", async () => {
    const v6 = [
      `[${lab.info.pub.ip6}]:${lab.info.stun.port}`,
      `[${lab.info.pub.ip6}]:${lab.info.p2pdStun?.port}`,
    ];
    const [open, fw] = await Promise.all([
      detect("a1", { family: 6, servers: v6 }),
      detect("d1", { family: 6, servers: v6 }),
    ]);
    expect(open).toMatchObject({ type: "open-internet", family: 6, delta: { kind: "equal" } });
    expect(fw).toMatchObject({ type: "udp-firewall", family: 6, delta: { kind: "equal" } });
    expect(fw.mapped[0]?.host).toBe(lab.host("d1").ip6);
  }, 30_000);

  test("a lying STUN server in pub (spawned there) is outvoted by coturn and ours", async () => {
    const liar = lab.spawn("pub", process.execPath, [
      fileURLToPath(new URL("./fixtures/fake-stun.mjs", import.meta.url)),
      lab.info.pub.ip4,
      "3500",
      "192.0.2.123",
    ]);
    try {
      await new Promise<void>((resolve, reject) => {
        liar.stdout?.once("data", () => resolve());
        liar.once("exit", (code) => reject(new Error(`liar exited (${code})`)));
      });
      const liarAddr = `${lab.info.pub.ip4}:3500`;
      const [withMajority, alone] = await Promise.all([
        detect("d1", { servers: [liarAddr, ...servers] }),
        detect("b1", { servers: [servers[0], liarAddr] }),
      ]);
      expect(withMajority.type).toBe("port-restricted-cone");
      expect(withMajority.delta.kind).toBe("equal");
      expect(withMajority.ignored?.map((i) => i.server)).toEqual([liarAddr]);
      expect(withMajority.mapped.map((m) => m.host)).not.toContain("192.0.2.123");
      expect(alone.type).toBe("unknown");
      expect(alone.reason).toMatch(/disagree/);
    } finally {
      liar.kill("SIGTERM");
    }
  }, 30_000);

  test("20 % UDP loss in each router's forward path: each type still right", async () => {
    const routers = ["rb", "rc", "rd", "re"];
    const loss = "meta l4proto udp numgen random mod 100 < 20 drop comment nc-loss";
    for (const r of routers) {
      const x = await lab.exec(r, "nft", [`insert rule inet natlab_filter forward ${loss}`]);
      expect(x.code, x.stderr).toBe(0);
    }
    try {
      const want: Record<string, string> = {
        b1: "full-cone",
        c1: "restricted-cone",
        d1: "port-restricted-cone",
        e1: "symmetric",
      };
      const got = await Promise.all(
        Object.keys(want).map(async (h) => [h, [await detect(h), await detect(h)]] as const),
      );
      for (const [h, results] of got) {
        for (const r of results) {
          expect({ host: h, type: r.type, reason: r.reason }).toEqual({
            host: h,
            type: want[h],
            reason: undefined,
          });
        }
      }
    } finally {
      for (const r of routers) await dropRule(r, "nc-loss");
    }
  }, 60_000);

  test("UDP blocked on the way (nothing answers): blocked, never a NAT type", async () => {
    // Port 9 on pub: no STUN server there, and the router drops the ICMP error as unsolicited.
    const r = await detect("d1", { servers: [`${lab.info.pub.ip4}:9`], firstAnswerMs: 400 });
    expect(r).toMatchObject({ type: "blocked", delta: { kind: "not-applicable" }, mapped: [] });
    // The router itself drops all forwarded UDP (a network that only lets TCP out): live servers, no answer.
    const x = await lab.exec("rd", "nft", [
      "insert rule inet natlab_filter forward meta l4proto udp drop comment nc-noudp",
    ]);
    expect(x.code, x.stderr).toBe(0);
    try {
      const blocked = await detect("d1", { firstAnswerMs: 400 });
      expect(blocked).toMatchObject({
        type: "blocked",
        delta: { kind: "not-applicable" },
        mapped: [],
      });
      expect(blocked.ignored?.map((i) => i.why)).toEqual(servers.map(() => "no answer"));
    } finally {
      await dropRule("rd", "nc-noudp");
    }
    // The same host with UDP allowed again is classified as before: the verdict came from the drop rule.
    expect((await detect("d1")).type).toBe("port-restricted-cone");
  }, 30_000);
});
