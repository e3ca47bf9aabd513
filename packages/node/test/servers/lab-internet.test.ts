/**
 * "Like the Internet" (issue 14), only inside natlab namespaces: the lab's public host plays some
 * bundled servers at their real IPs (labs/natlab/internet.ts), every other bundled server does not
 * exist (inet drops and counts packets to it), one STUN server lies about our IP, one about its
 * alternate, one is slow. Nodes use the bundled defaults; nothing may leave the lab.
 * Run under the lab lock: flock /tmp/p2pd-lab.lock pnpm exec vitest run test/servers/lab-internet.test.ts
 */
import { execFile } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { buildLabLib, labUnavailable } from "../lab/harness.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..", "..");
const labTs = await import(pathToFileURL(join(root, "labs", "natlab", "lab.ts")).href);
const internet = await import(pathToFileURL(join(root, "labs", "natlab", "internet.ts")).href);

// Inside the lab the bundled IPs are the lab's: lift the test-wide safety net for those processes.
const LAB_ENV = {
  P2PD_FORBID_PUBLIC_SERVERS: "",
  XDG_CONFIG_HOME: "/nonexistent",
  P2PD_CONFIG: "",
};
const why = labUnavailable();

describe.skipIf(why !== undefined)("bundled servers in the lab (natlab, prefix zc-)", () => {
  // biome-ignore lint/suspicious/noExplicitAny: lab.ts lives outside this package's rootDir
  let lab: any;
  // biome-ignore lint/suspicious/noExplicitAny: see above
  let plan: any;
  let lib: string;

  beforeAll(async () => {
    lib = await buildLabLib("zeroconf");
    lab = await labTs.startLab(["a=port-restricted", "b=restricted-cone"], {
      prefix: "zc-",
      state: "/tmp/natlab-zc",
      p2pdStun: false,
    });
    plan = await internet.playInternet(lab);
  }, 180_000);

  afterAll(async () => {
    await lab?.stop();
  }, 60_000);

  test("a packet to a bundled server the lab does not play goes nowhere: dropped in inet, counted", async () => {
    const list = internet.bundledList();
    const absent = list.stun.find(
      (s: { ip: string; family: number }) => s.family === 4 && !plan.ips.includes(s.ip),
    );
    const before = await internet.outsideDrops(lab);
    const send = `const d=require("node:dgram").createSocket("udp4");let n=0;const go=()=>d.send("x",${absent.port},"${absent.ip}",()=>{if(++n<5)go();else d.close()});go();`;
    const r = await lab.exec("a1", process.execPath, ["-e", send]);
    expect(r.code).toBe(0);
    await new Promise((res) => setTimeout(res, 200));
    expect((await internet.outsideDrops(lab)) - before).toBeGreaterThanOrEqual(5);
    // And the lab has no cable into the root namespace: no veth here whose peer is a lab namespace.
    const links = await promisify(execFile)("ip", ["-d", "link", "show", "type", "veth"]);
    expect(links.stdout).not.toMatch(/link-netns zc-/);
  }, 30_000);

  test("two nodes behind different NATs, no flags and no config file, connect by address", async () => {
    const cli = join(root, "apps", "cli", "dist", "index.js");
    const env = (h: string) => ({
      ...process.env,
      ...LAB_ENV,
      XDG_CACHE_HOME: `/tmp/natlab-zc/cache-${h}`,
    });
    const server = lab.spawn("a1", process.execPath, [cli, "node", "--json"], { env: env("a1") });
    let out = "";
    let err = "";
    server.stdout.on("data", (d: Buffer) => (out += d));
    server.stderr.on("data", (d: Buffer) => (err += d));
    const t0 = Date.now();
    while (!out.includes("\n") && server.exitCode === null && Date.now() - t0 < 20_000)
      await new Promise((r) => setTimeout(r, 100));
    expect(out, err).toContain("\n");
    const ready = JSON.parse(out.slice(0, out.indexOf("\n")));
    // The brokers it listens on are bundled ones the lab plays, named in the address by index.
    expect([...plan.mqtt]).toEqual(expect.arrayContaining(ready.mqtt));
    expect(ready.readyMs).toBeLessThan(3000);
    const r = await lab.exec("b1", process.execPath, [cli, "connect", ready.addr, "--json"], {
      env: { ...LAB_ENV, XDG_CACHE_HOME: "/tmp/natlab-zc/cache-b1" },
      timeoutMs: 90_000,
    });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ echo: true });
    server.kill("SIGINT");
  }, 120_000);

  test.each(["a1", "b1"])(
    "from %s, the bundled lists alone find the two honest servers and the two live brokers",
    async (host) => {
      const script = `const m = await import(${JSON.stringify(pathToFileURL(lib).href)});
const r = await m.chooseServers({ lists: m.bundledServers(), budgetMs: 2000 });
console.log(JSON.stringify(r));`;
      const r = await lab.exec(host, process.execPath, ["--input-type=module", "-e", script], {
        env: LAB_ENV,
        timeoutMs: 20_000,
      });
      expect(r.stderr).toBe("");
      const c = JSON.parse(r.stdout);
      const honest = plan.honest.map((s: { ip: string; port: number }) => `${s.ip}:${s.port}`);
      expect(c.agreed).toBe(true);
      expect(c.mappedIp).toBe(lab.host(host).publicIp4);
      for (const s of c.stun) expect(honest).toContain(`${s.ip}:${s.port}`);
      expect(c.mqtt.map((m: { url: string }) => m.url).sort()).toEqual([...plan.mqtt].sort());
      expect(c.ms).toBeLessThan(2000);
    },
    30_000,
  );
});
