// `p2pd doctor` for real: the built CLI inside natlab hosts of every NAT kind; the verdict must match
// the lab's truth. Tests only ever pass lab servers (doctor's defaults are public servers).
import { fileURLToPath } from "node:url";
import { node as p2p } from "p2pd";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { cli } from "./run-cli.js";

describe("p2pd doctor: command line and verdict logic (nothing is sent)", () => {
  test.each([
    [["--family", "5"], /--family/],
    [["--timeout", "x"], /--timeout/],
    [["--mqtt", "http://x"], /--mqtt/],
    [["--gateway", "nope"], /--gateway/],
    [["extra"], /unexpected/],
  ])("usage error %j", async (args, msg) => {
    const r = await cli("doctor", "--stun", "127.0.0.1:9", ...args, "--json");
    expect(r.code).toBe(2);
    expect(JSON.parse(r.out).error.code).toBe("ERR_USAGE");
    expect(r.out + r.err).toMatch(msg);
  });

  test("verdict: open or mapped is direct for all; port-restricted relays random symmetric", () => {
    const open = p2p.doctorVerdict({ udp: true, tcp: true, natType: "open-internet", portMapping: false, ipv6: "none" });
    expect(open.relay).toEqual(["ipv6"]);
    const pr = p2p.doctorVerdict({ udp: true, tcp: true, natType: "port-restricted-cone", deltaKind: "equal", portMapping: false, ipv6: "firewalled" });
    expect(pr.direct).toEqual(["open-internet", "full-cone"]);
    expect(pr.holePunch).toEqual(["restricted-cone", "port-restricted-cone", "symmetric-predictable", "ipv6"]);
    expect(pr.relay).toEqual(["symmetric-random"]);
    const mapped = p2p.doctorVerdict({ ...{ udp: true, tcp: true, natType: "symmetric", deltaKind: "random" as const }, portMapping: true, ipv6: "none" });
    expect(mapped.holePunch).toEqual([]);
    const tcpOnly = p2p.doctorVerdict({ udp: false, tcp: true, natType: "blocked", portMapping: false, ipv6: "none" });
    expect(tcpOnly.canWork).toBe(true);
    expect(tcpOnly.direct).toEqual(["open-internet"]);
    expect(tcpOnly.summary.join(" ")).toMatch(/only TCP/);
    const none = p2p.doctorVerdict({ udp: false, tcp: false, portMapping: false, ipv6: "none" });
    expect(none.canWork).toBe(false);
    expect(none.reason).toMatch(/UDP and TCP/);
  });
});

interface LabLike {
  info: { pub: { ip4: string }; stun: { port: number }; p2pdStun?: { port: number }; mqttUrl: string };
  exec(
    node: string,
    cmd: string,
    args?: string[],
    o?: { timeoutMs?: number },
  ): Promise<{ code: number; stdout: string; stderr: string }>;
  stop(): Promise<void>;
}
const labMod = (await import(new URL("../../../labs/natlab/lab.ts", import.meta.url).href)) as {
  labAvailable(): string | undefined;
  startLab(s: string[], o: { prefix: string; state: string }): Promise<LabLike>;
};
const why = labMod.labAvailable();
const bin = fileURLToPath(new URL("../dist/index.js", import.meta.url));

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

describe.skipIf(why)(`p2pd doctor in natlab${why ? ` (skipped: ${why})` : ""}`, () => {
  let lab: LabLike;
  const reports: Record<string, { code: number; json: Record<string, unknown>; stderr: string }> = {};
  beforeAll(async () => {
    lab = await labMod.startLab(
      Object.entries(SCENARIO).map(([k, v]) => `${k}=${v}`),
      { prefix: "dr-", state: "/tmp/natlab-dr" },
    );
    const { pub, stun: st, p2pdStun, mqttUrl } = lab.info;
    const args = ["--stun", `${pub.ip4}:${st.port}`, "--mqtt", mqttUrl, "--no-portmap"];
    if (p2pdStun) args.push("--stun", `${pub.ip4}:${p2pdStun.port}`);
    await Promise.all(
      Object.keys(SCENARIO).map(async (net) => {
        const r = await lab.exec(`${net}1`, process.execPath, [bin, "doctor", ...args, "--json"], {
          timeoutMs: 30_000,
        });
        reports[net] = { code: r.code, json: r.stdout ? JSON.parse(r.stdout) : {}, stderr: r.stderr };
        console.log(net, SCENARIO[net], r.code, r.stdout);
      }),
    );
  }, 180_000);
  afterAll(() => lab?.stop(), 60_000);

  test("every kind", () => {
    expect(Object.keys(reports).length).toBe(10);
  });
});
