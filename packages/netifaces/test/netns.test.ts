import { execFileSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { InterfaceInfo, InterfaceJSON } from "../src/index.js";
import {
  addNs,
  canNetns,
  canNft,
  cleanupDir,
  delNs,
  ensureDist,
  ip,
  runInNs,
  scratch,
  sh,
  spawnInNs,
  uniqueId,
} from "./netns-helpers.js";

const id = uniqueId();
const MULTI = `nf-${id}-m`;
const NODEF = `nf-${id}-n`;
const PEERS = `nf-${id}-p`;
let dir = "";

describe.skipIf(!canNetns)(
  "network namespaces: several NICs, down links, link-local only, no default",
  () => {
    beforeAll(() => {
      ensureDist();
      dir = scratch();
      addNs(MULTI);
      addNs(NODEF);
      addNs(PEERS);
      // No dummy module here: veth links whose peers sit in a side namespace (up, so carrier is on).
      const link = (ns: string, name: string, peer: string, mtu?: number) =>
        ip(
          `link add ${name} netns ${ns}${mtu ? ` mtu ${mtu}` : ""} type veth peer name ${peer} netns ${PEERS}`,
          `-n ${PEERS} link set ${peer} up`,
        );
      link(MULTI, "eth1", `p1${id}`);
      link(MULTI, "d2", `p2${id}`, 9000);
      link(MULTI, "eth3", `p3${id}`);
      link(MULTI, "ll0", `p4${id}`);
      link(NODEF, "eth0", `p5${id}`);
      ip(
        `-n ${MULTI} link set eth1 up`,
        `-n ${MULTI} addr add 10.10.0.2/24 dev eth1`,
        `-n ${MULTI} addr add 2a00:10::2/64 dev eth1 nodad`,
        `-n ${MULTI} link set d2 up`,
        `-n ${MULTI} addr add 172.20.0.1/16 dev d2`,
        `-n ${MULTI} addr add 10.30.0.1/24 dev eth3`,
        `-n ${MULTI} link set ll0 up`,
        `-n ${MULTI} route add default via 10.10.0.1 dev eth1`,
        // Assigned blocks: 8.8.0.0/16 is bindable throughout (AnyIP local route), 9.9.0.0/16 is not.
        `-n ${MULTI} addr add 8.8.0.0/16 dev eth1`,
        `-n ${MULTI} route add local 8.8.0.0/16 dev lo`,
        `-n ${MULTI} addr add 9.9.0.0/16 dev eth1`,
        `-n ${MULTI} route add default via 172.20.0.254 dev d2 metric 500`,
        `-n ${MULTI} -6 route add default via 2a00:10::1 dev eth1`,
        // A router-advertisement style gateway: link-local next hop, worse metric.
        `-n ${MULTI} -6 route add default via fe80::1 dev d2 metric 2048`,
        `-n ${NODEF} link set eth0 up`,
        `-n ${NODEF} addr add 10.40.0.2/24 dev eth0`,
      );
      // Link-locals appear once the link has carrier; wait for ll0's.
      for (
        let i = 0;
        i < 50 && !sh("ip", "-n", MULTI, "-6", "addr", "show", "dev", "ll0").includes("fe80");
        i++
      ) {
        execFileSync("sleep", ["0.1"]);
      }
    }, 60_000);

    afterAll(() => {
      delNs(MULTI, NODEF, PEERS);
      if (dir) cleanupDir(dir);
    });

    test("listInterfaces sees every link, up or down, with MTU, MAC and gateways", () => {
      const list = runInNs<InterfaceInfo[]>(
        MULTI,
        dir,
        "console.log(JSON.stringify(await nf.listInterfaces()));",
      );
      const by = (n: string) => list.find((l) => l.name === n);
      expect(list.map((l) => l.name).sort()).toEqual(["d2", "eth1", "eth3", "ll0", "lo"]);
      expect(by("eth3")?.up).toBe(false);
      // libuv lists addresses of up+running links only, so a down link shows none
      expect(by("eth3")?.addresses).toEqual([]);
      expect(by("d2")?.mtu).toBe(9000);
      expect(by("eth1")?.mac).toMatch(/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/);
      expect(by("eth1")?.isDefault).toEqual({ 4: true, 6: true });
      expect(by("eth1")?.gateways).toEqual({ 4: "10.10.0.1", 6: "2a00:10::1" });
      expect(by("d2")?.gateways).toEqual({ 4: "172.20.0.254", 6: "fe80::1" });
      expect(by("d2")?.isDefault).toEqual({ 4: false, 6: false });
      expect(by("lo")?.type).toBe("loopback");
      const ll0 = by("ll0")?.addresses ?? [];
      expect(ll0.length).toBeGreaterThan(0);
      expect(
        ll0.every((a) => a.family === 6 && a.class === "link-local" && a.scopeId === "ll0"),
      ).toBe(true);
    });

    test("default routes agree with `ip -j route show default` (independent oracle)", () => {
      const d = runInNs<Record<string, { interface: string; gateway: string }>>(
        MULTI,
        dir,
        "console.log(JSON.stringify(await nf.defaultRoutes()));",
      );
      for (const fam of ["4", "6"] as const) {
        const rows = JSON.parse(
          sh("ip", "-n", MULTI, "-j", `-${fam}`, "route", "show", "default"),
        ) as {
          gateway: string;
          dev: string;
          metric?: number;
        }[];
        const best = rows.sort((a, b) => (a.metric ?? 0) - (b.metric ?? 0))[0];
        expect(d[fam]).toEqual({ interface: best?.dev, gateway: best?.gateway });
      }
    });

    test("loadInterfaces starts the links holding default routes", () => {
      const names = runInNs<string[]>(
        MULTI,
        dir,
        "console.log(JSON.stringify((await nf.loadInterfaces({ skipResolve: true })).map((i) => i.name).sort()));",
      );
      expect(names).toEqual(["d2", "eth1"]);
    });

    test("start() without lookups: default NIC, public IPv6 and bindable public blocks kept", () => {
      const j = runInNs<InterfaceJSON & { r4: string[]; r6: string[] }>(
        MULTI,
        dir,
        `const i = await nf.Interface.start(undefined, { skipResolve: true });
       console.log(JSON.stringify({ ...i.toJSON(), r4: i.routes(4).map(String), r6: i.routes(6).map(String) }));`,
      );
      expect(j.name).toBe("eth1");
      expect(j.r6).toEqual(["[2a00:10::2] -> [2a00:10::2]"]);
      // The bindable block is a route of its own and the unbindable one is dropped; the private
      // address had no lookup, so it joins the first route.
      expect(j.r4).toEqual(["[8.8.0.0/16, 10.10.0.2] -> [8.8.0.0/16]"]);
      expect(j.mtu).toBeGreaterThan(0);
    });

    test("link-local only: startLocal binds fe80::/10 with the interface name as zone, and UDP flows", () => {
      const r = runInNs<{
        bind: { host: string; scopeId: string };
        echo: string;
        from: string;
        stack: unknown;
      }>(
        MULTI,
        dir,
        `import dgram from "node:dgram";
       const i = await nf.Interface.startLocal("ll0");
       const e = i.route(6).nicBind();
       const host = e.host + "%" + e.scopeId;
       const a = dgram.createSocket("udp6"), b = dgram.createSocket("udp6");
       await new Promise((r) => a.bind(0, host, r));
       await new Promise((r) => b.bind(0, host, r));
       const got = new Promise((r) => b.once("message", (m, ri) => r([m.toString(), ri.address])));
       a.send("ping", b.address().port, host);
       const [echo, from] = await got;
       a.close(); b.close();
       console.log(JSON.stringify({ bind: e, echo, from, stack: i.stack }));`,
      );
      expect(r.bind.scopeId).toBe("ll0");
      expect(r.bind.host.startsWith("fe80:")).toBe(true);
      expect(r.echo).toBe("ping");
      expect(r.from.split("%")[0]).toBe(r.bind.host);
      expect(r.stack).toBe(6);
    });

    test("no default route: nothing marked default, start(4) fails with ERR_NO_ROUTE, startLocal falls back", () => {
      const r = runInNs<{ d: object; err: string; local: string; nic: string }>(
        NODEF,
        dir,
        `const d = await nf.defaultRoutes();
       let err = "";
       try { await nf.Interface.start(4, { skipResolve: true }); } catch (e) { err = e.code; }
       const l = await nf.Interface.startLocal();
       console.log(JSON.stringify({ d, err, local: l.name, nic: l.route(4).nic() }));`,
      );
      expect(r).toEqual({ d: {}, err: "ERR_NO_ROUTE", local: "eth0", nic: "10.40.0.2" });
    });

    test("an unknown interface name is ERR_NO_SUCH_INTERFACE inside the namespace too", () => {
      const r = runInNs<{ code: string }>(
        NODEF,
        dir,
        `try { await nf.Interface.startLocal("eth1"); console.log("{}"); } catch (e) { console.log(JSON.stringify({ code: e.code })); }`,
      );
      expect(r.code).toBe("ERR_NO_SUCH_INTERFACE");
    });
  },
);

const C = `nf-${id}-c`;
const R = `nf-${id}-r`;
const S = `nf-${id}-s`;

describe.skipIf(!canNft)("network namespaces: external addresses through a real NAT", () => {
  let reflector: ReturnType<typeof spawnInNs> | undefined;
  let port = 0;

  beforeAll(async () => {
    ensureDist();
    dir = scratch();
    for (const n of [C, R, S]) addNs(n);
    ip(
      `link add nfc${id} netns ${C} type veth peer name lan netns ${R}`,
      `-n ${C} link set nfc${id} name eth0`,
      `link add nfs${id} netns ${S} type veth peer name wan netns ${R}`,
      `-n ${S} link set nfs${id} name eth0`,
    );
    for (const [ns, lines] of [
      [
        C,
        [
          "link set eth0 up",
          "addr add 10.77.0.2/24 dev eth0",
          "addr add 6.6.6.6/32 dev eth0",
          "addr add 2a00:77::2/64 dev eth0 nodad",
          "route add default via 10.77.0.1",
          "-6 route add default via 2a00:77::1",
        ],
      ],
      [
        R,
        [
          "link set lan up",
          "link set wan up",
          "addr add 10.77.0.1/24 dev lan",
          "addr add 5.5.5.2/24 dev wan",
          "addr add 2a00:77::1/64 dev lan nodad",
          "addr add 2a00:55::2/64 dev wan nodad",
          "route add 6.6.6.6/32 via 10.77.0.2",
        ],
      ],
      [
        S,
        [
          "link set eth0 up",
          "addr add 5.5.5.1/24 dev eth0",
          "addr add 2a00:55::1/64 dev eth0 nodad",
          "route add default via 5.5.5.2",
          "-6 route add default via 2a00:55::2",
        ],
      ],
    ] as const) {
      for (const l of lines) ip(`-n ${ns} ${l}`);
    }
    sh(
      "ip",
      "netns",
      "exec",
      R,
      "sysctl",
      "-qw",
      "net.ipv4.ip_forward=1",
      "net.ipv6.conf.all.forwarding=1",
    );
    // Masquerade the private LAN only: 6.6.6.6 stays a routed public address.
    execFileSync("ip", ["netns", "exec", R, "nft", "-f", "-"], {
      input:
        'table ip nfnat {\n chain post {\n  type nat hook postrouting priority 100; policy accept;\n  ip saddr 10.77.0.0/24 oifname "wan" masquerade\n }\n}\n',
    });
    // The reflector answers each datagram with the source address it saw (a minimal STUN stand-in).
    reflector = spawnInNs(
      S,
      dir,
      `import dgram from "node:dgram";
       const s4 = dgram.createSocket("udp4"), s6 = dgram.createSocket({ type: "udp6", ipv6Only: true });
       await new Promise((r) => s4.bind(0, "0.0.0.0", r));
       await new Promise((r) => s6.bind(s4.address().port, "::", r));
       for (const s of [s4, s6]) s.on("message", (m, ri) => s.send(ri.address, ri.port, ri.address));
       console.log(s4.address().port);`,
    );
    port = Number(await reflector.firstLine);
  }, 60_000);

  afterAll(() => {
    if (reflector?.child.pid) reflector.child.kill();
    delNs(C, R, S);
    if (dir) cleanupDir(dir);
  });

  test("start(): private NIC behind NAT -> router WAN; routed public NIC -> itself; IPv6 global -> itself", () => {
    const j = runInNs<{
      json: InterfaceJSON;
      r4: string[];
      r6: string[];
      def: unknown;
      errors: string[];
    }>(
      C,
      dir,
      `import dgram from "node:dgram";
       import { once } from "node:events";
       const PORT = ${port};
       const resolveExternalIp = async ({ family, localAddress, signal }) => {
         const s = dgram.createSocket(family === 4 ? "udp4" : "udp6");
         try {
           await new Promise((r, j) => { s.once("error", j); s.bind(0, localAddress, r); });
           s.send("?", PORT, family === 4 ? "5.5.5.1" : "2a00:55::1");
           const [msg] = await once(s, "message", { signal });
           return msg.toString();
         } finally { s.close(); }
       };
       const i = await nf.Interface.start(undefined, { resolveExternalIp, timeoutMs: 5000 });
       console.log(JSON.stringify({
         json: i.toJSON(),
         r4: i.routes(4).map(String),
         r6: i.routes(6).map(String),
         def: await nf.defaultRoutes(),
         errors: i.errors.map((e) => e.message),
       }));`,
    );
    expect(j.errors).toEqual([]);
    expect(j.json.name).toBe("eth0");
    expect(j.r4).toEqual(["[10.77.0.2] -> [5.5.5.2]", "[6.6.6.6] -> [6.6.6.6]"]);
    expect(j.r6).toEqual(["[2a00:77::2] -> [2a00:77::2]"]);
    expect(j.json.rp["6"][0]?.link_locals[0]).toMatch(/^fe80:/);
    expect(j.def).toEqual({
      4: { interface: "eth0", gateway: "10.77.0.1" },
      6: { interface: "eth0", gateway: "2a00:77::1" },
    });
  });
});
