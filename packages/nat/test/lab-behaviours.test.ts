import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { type Lab, labAvailable, startLab } from "../../../labs/natlab/lab.js";

// The lab's newer NAT behaviours (labs/natlab scenario names), each proven from inside the lab with the
// lab's python helper: port preservation, a sequential NAT whose ports another host takes, hairpinning,
// short UDP mapping lifetimes, a network that blocks outbound UDP, and IPv6 behind a stateful firewall.
const why = labAvailable();
const STATE = "/tmp/natlab-lnb";
const SCENARIO = [
  "a=port-preserving",
  "b=sequential-busy",
  "c=hairpin,hosts=2",
  "d=short-timeout",
  "e=udp-blocked",
  "f=v6-firewall",
  "g=port-restricted,hosts=2",
];

describe.skipIf(why)(`natlab NAT behaviours${why ? ` (skipped: ${why})` : ""}`, () => {
  let lab: Lab;
  const helper = `${STATE}/natlab-helper.py`;
  /** Runs one helper probe in a host; returns its single output line. */
  const probe = async (host: string, args: string[], timeoutMs = 30_000) => {
    const r = await lab.exec(host, "python3", [helper, ...args], { timeoutMs });
    return r.stdout.trim() || `ERR code=${r.code} ${r.stderr.trim()}`;
  };
  const field = (line: string, key: string) => new RegExp(`${key}=(\\S+)`).exec(line)?.[1] ?? "";
  const servers = () => {
    const { ip4, ip4Alt } = lab.info.pub;
    const { port, altPort } = lab.info.stun;
    return [
      `${ip4}:${port}`,
      `${ip4}:${altPort}`,
      `${ip4Alt}:${port}`,
      `${ip4Alt}:${altPort}`,
    ].join(",");
  };
  const reflector = () => lab.info.raw.REFLECTOR ?? "";
  /** A naive UDP hole punch between two hosts after meeting at the rendezvous: [A's line, B's line]. */
  const punch = (id: string, a: string, b: string, rdv: string, extra: string[] = []) => {
    const args = (role: string) => [
      "punch",
      "--rdv",
      rdv,
      "--pair",
      `${id}-${process.pid}`,
      "--role",
      role,
      ...extra,
    ];
    return Promise.all([probe(a, args("A")), probe(b, args("B"))]);
  };

  beforeAll(async () => {
    lab = await startLab(SCENARIO, { prefix: "lnb-", state: STATE, p2pdStun: false });
  }, 180_000);
  afterAll(async () => {
    await lab?.stop();
  }, 60_000);

  test("scenario names are reported with the options they stand for", () => {
    const r = lab.info.raw;
    expect([r.a_NAME, r.a_NAT]).toEqual(["port-preserving", "port-preserving"]);
    expect([r.b_NAME, r.b_NAT, r.b_NOISE]).toEqual([
      "sequential-busy",
      "symmetric-sequential",
      "10",
    ]);
    expect([r.c_NAME, r.c_HAIRPIN]).toEqual(["hairpin", "on"]);
    expect([r.d_NAME, r.d_UDP_TIMEOUT]).toEqual(["short-timeout", "30"]);
    expect([r.e_NAME, r.e_UDP]).toEqual(["udp-blocked", "off"]);
    expect([r.f_NAME, r.f_NAT]).toEqual(["v6-firewall", "symmetric"]);
    expect(lab.info.hosts.map((h) => h.name)).not.toContain("b0"); // the noise host is no test host
  });

  test("port-preserving: the external port is the local port, for every destination", async () => {
    const line = await probe("a1", ["mapping", "--servers", servers()]);
    expect(line.split(" ")[0], line).toBe("EIM");
    const local = field(line, "local").split(":").at(-1);
    const mapped = field(line, "mapped")
      .split(",")
      .map((m) => m.split(":").at(-1));
    expect(mapped).toEqual([local, local, local, local]);
  });

  test("sequential-busy: ports rise per new mapping, with other hosts' ports in between", async () => {
    const line = await probe("b1", ["mapping", "--servers", servers(), "--gap", "0.4"]);
    const ports = field(line, "mapped")
      .split(",")
      .map((m) => Number(m.split(":").at(-1)));
    expect(ports.length, line).toBe(4);
    const steps = ports.slice(1).map((p, i) => p - (ports[i] ?? 0));
    for (const d of steps) {
      expect(d).toBeGreaterThanOrEqual(1);
      expect(d).toBeLessThan(60);
    }
    expect(Math.max(...steps), `steps ${steps}`).toBeGreaterThan(1); // 10 new mappings/s by b0
  });

  test("hairpin: two hosts behind one NAT reach each other at their public addresses", async () => {
    const [a, b] = await punch("hp", "c1", "c2", lab.info.raw.RENDEZVOUS ?? "", [
      "--cands",
      "public",
    ]);
    expect(a.split(" ")[0], a).toBe("OK");
    expect(b.split(" ")[0], b).toBe("OK");
    const pub = lab.host("c1").publicIp4;
    expect(field(a, "via").startsWith(`${pub}:`), a).toBe(true);
  }, 30_000);

  test("hairpin off (plain port-restricted): the same punch fails", async () => {
    const [a, b] = await punch("nohp", "g1", "g2", lab.info.raw.RENDEZVOUS ?? "", [
      "--cands",
      "public",
    ]);
    expect([a.split(" ")[0], b.split(" ")[0]], `${a}\n${b}`).toEqual(["FAIL", "FAIL"]);
  }, 30_000);

  test("short-timeout: a replied mapping idle 35 s is gone; with default timeouts it is held", async () => {
    const later = (host: string) =>
      probe(host, ["later", "--server", reflector(), "--warm", "2.5", "--wait", "35"], 60_000);
    const sysctl = await lab.exec("rd", "cat", [
      "/proc/sys/net/netfilter/nf_conntrack_udp_timeout_stream",
    ]);
    expect(sysctl.stdout.trim()).toBe("30");
    const [short, normal] = await Promise.all([later("d1"), later("g1")]);
    expect(short.split(" ")[0], short).toBe("EXPIRED");
    expect(normal.split(" ")[0], normal).toBe("HELD");
  }, 90_000);

  test("udp-blocked: no UDP gets out (v4 and v6), TCP does", async () => {
    const { ip6 } = lab.info.pub;
    const port = reflector().split(":")[1];
    const [v4, v6, tcp] = await Promise.all([
      probe("e1", ["later", "--server", reflector(), "--wait", "0"]),
      probe("e1", ["later", "--server", `[${ip6}]:${port}`, "--wait", "0"]),
      probe("e1", ["tcpecho", "--target", lab.info.echo]),
    ]);
    expect(v4.split(" ")[0]).toBe("EXPIRED");
    expect(v6.split(" ")[0]).toBe("EXPIRED");
    expect(tcp).toBe("OK");
  });

  test("v6-firewall: unsolicited IPv6 inbound is dropped; replies to outbound pass (APDF)", async () => {
    const f1 = lab.host("f1").ip6;
    const listen = lab.exec(
      "f1",
      "python3",
      [
        "-c",
        `import socket
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); s.bind(("::", 7100)); s.settimeout(2.5)
try: print("GOT", s.recvfrom(100)[0].decode())
except socket.timeout: print("NOTHING")`,
      ],
      { timeoutMs: 10_000 },
    );
    await new Promise((r) => setTimeout(r, 300));
    await lab.exec("pub", "python3", [
      "-c",
      `import socket, time
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
for i in range(5): s.sendto(b"unsolicited", (${JSON.stringify(f1)}, 7100)); time.sleep(0.1)`,
    ]);
    expect((await listen).stdout.trim()).toBe("NOTHING");
    const refl = await probe("f1", [
      "reflect",
      "--server",
      `[${lab.info.pub.ip6}]:${reflector().split(":")[1]}`,
    ]);
    expect(refl.split(" ")[0], refl).toBe("APDF");
  });

  test("v6-firewall: hole punching works over IPv6 where IPv4 (symmetric NAT) cannot", async () => {
    const rdv = lab.info.raw.RENDEZVOUS ?? "";
    const rdv6 = `[${lab.info.pub.ip6}]:${rdv.split(":")[1]}`;
    const v6 = await punch("v6", "f1", "a1", rdv6);
    expect(
      v6.map((l) => l.split(" ")[0]),
      v6.join("\n"),
    ).toEqual(["OK", "OK"]);
    expect(field(v6[0] ?? "", "via")).toContain(lab.host("a1").ip6);
    const v4 = await punch("v4", "f1", "a1", rdv);
    expect(
      v4.map((l) => l.split(" ")[0]),
      v4.join("\n"),
    ).toEqual(["FAIL", "FAIL"]);
  }, 30_000);
});
