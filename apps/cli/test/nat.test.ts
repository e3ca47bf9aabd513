import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stun } from "p2pd";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { DELTA_KINDS, NAT_TYPES } from "./contract-values.js";
import { builtCli, type NatLab, natLab, noNatLab } from "./natlab.js";
import { cli } from "./run-cli.js";

describe("p2pd nat on loopback", () => {
  let server: InstanceType<typeof stun.StunServer>;
  let plain: InstanceType<typeof stun.StunServer>;
  let addr: string;
  let dir: string;
  beforeAll(async () => {
    server = new stun.StunServer({
      ips: ["127.0.0.1", "127.0.0.2"],
      port: 0,
      altPort: 0,
      protocols: ["udp"],
    });
    await server.listen();
    plain = new stun.StunServer({ ips: ["127.0.0.3"], port: 0, protocols: ["udp"] });
    await plain.listen();
    addr = `127.0.0.1:${server.primary.port}`;
    dir = await mkdtemp(join(tmpdir(), "p2pd-nat-cli-"));
  });
  afterAll(async () => {
    await Promise.all([server.close(), plain.close()]);
    await rm(dir, { recursive: true, force: true });
  });

  test("--json follows the contract: open-internet, equal delta, mapped, ms; progress on stderr", async () => {
    const r = await cli("nat", "--stun", addr, "--json", "--no-cache");
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out);
    expect(j).toMatchObject({
      type: "open-internet",
      delta: { kind: "equal", value: 0 },
      family: 4,
    });
    expect(NAT_TYPES).toContain(j.type);
    expect(DELTA_KINDS).toContain(j.delta.kind);
    expect(j.mapped.length).toBeGreaterThan(0);
    for (const m of j.mapped) expect(m).toEqual({ ip: "127.0.0.1", port: expect.any(Number) });
    expect(typeof j.ms).toBe("number");
    expect(j.reason).toBeUndefined();
    expect(r.err).toContain("nat: testing IPv4");
  });

  test("human output names the type", async () => {
    const r = await cli("nat", "--stun", addr, "--no-cache");
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/NAT type: open-internet/);
  });

  test("unknown (no RFC 5780 server) is exit 1 with type unknown and a reason", async () => {
    const r = await cli("nat", "--stun", `127.0.0.3:${plain.primary.port}`, "--json", "--no-cache");
    expect(r.code).toBe(1);
    const j = JSON.parse(r.out);
    expect(j.type).toBe("unknown");
    expect(j.reason).toEqual(expect.any(String));
  });

  test("--cache-dir: the second run is answered from the cache", async () => {
    const a = await cli("nat", "--stun", addr, "--json", "--cache-dir", dir);
    const b = await cli("nat", "--stun", addr, "--json", "--cache-dir", dir);
    expect(JSON.parse(a.out).cached).toBeUndefined();
    expect(JSON.parse(b.out)).toMatchObject({ type: "open-internet", cached: true, ms: 0 });
  });

  // (No case without --stun: that would use the public defaults, and tests stay off the Internet.)
  test.each([
    [["--stun", "127.0.0.1:9", "--family", "5"], /--family/],
    [["--stun", "127.0.0.1:9", "--timeout", "x"], /--timeout/],
    [["--stun", "::1", "--family", "4"], /IPv4/],
  ])("usage error %j", async (args, msg) => {
    const r = await cli("nat", ...args, "--json", "--no-cache");
    expect(r.code).toBe(2);
    expect(r.out + r.err).toMatch(msg);
  });
});

// The built CLI inside natlab hosts (a port-restricted and a symmetric network).

describe.skipIf(noNatLab)(`p2pd nat in natlab${noNatLab ? ` (skipped: ${noNatLab})` : ""}`, () => {
  let lab: NatLab;
  beforeAll(async () => {
    lab = await natLab.startLab(["a=port-restricted", "b=symmetric-sequential"], {
      prefix: "ncc-",
      state: "/tmp/natlab-ncc",
    });
  }, 120_000);
  afterAll(() => lab?.stop(), 60_000);

  test("node apps/cli/dist/index.js nat --stun ... --json inside lab hosts", async () => {
    const { pub, stun: st, p2pdStun } = lab.info;
    const stunArgs = ["--stun", `${pub.ip4}:${st.port}`];
    if (p2pdStun) stunArgs.push("--stun", `${pub.ip4}:${p2pdStun.port}`);
    const [a, b] = await Promise.all(
      ["a1", "b1"].map((h) =>
        lab.exec(h, process.execPath, [builtCli, "nat", ...stunArgs, "--json", "--no-cache"], {
          timeoutMs: 20_000,
        }),
      ),
    );
    expect(a?.code, a?.stderr).toBe(0);
    expect(JSON.parse(a?.stdout ?? "")).toMatchObject({
      type: "port-restricted-cone",
      delta: { kind: "equal" },
    });
    expect(b?.code, b?.stderr).toBe(0);
    expect(JSON.parse(b?.stdout ?? "")).toMatchObject({
      type: "symmetric",
      delta: { kind: "independent", value: 1 }, // the allocator ignores the local port
    });
    expect(a?.stderr).toContain("nat: testing IPv4");
  }, 60_000);
});
