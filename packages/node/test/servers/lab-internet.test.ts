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
import { DEFAULT_SERVERS, parseServer } from "@p2pd/ircdns";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { buildLabLib, labUnavailable } from "../lab/harness.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..", "..");
const labTs = await import(pathToFileURL(join(root, "labs", "natlab", "lab.ts")).href);
const internet = await import(pathToFileURL(join(root, "labs", "natlab", "internet.ts")).href);
const ircLab = await import(pathToFileURL(join(root, "labs", "irc-lab", "lab.ts")).href);
/** The IRC lab runs in pub's own loopback, so its ports cannot meet another suite's; any offset fits. */
const IRC_OFFSET = -13500;
const IRC_DIR = "/tmp/natlab-zc-irc";

// Inside the lab the bundled IPs are the lab's: lift the test-wide safety net for those processes.
const LAB_ENV = {
  P2PD_FORBID_PUBLIC_SERVERS: "",
  XDG_CONFIG_HOME: "/nonexistent",
  P2PD_CONFIG: "",
};
const why = labUnavailable() ?? ircLab.labMissing();

describe.skipIf(why !== undefined)("bundled servers in the lab (natlab, prefix zc-)", () => {
  // biome-ignore lint/suspicious/noExplicitAny: lab.ts lives outside this package's rootDir
  let lab: any;
  // biome-ignore lint/suspicious/noExplicitAny: see above
  let plan: any;
  let lib: string;
  // biome-ignore lint/suspicious/noExplicitAny: see above
  let irc: any;
  /** The test CA's PEM: node processes trust it through NODE_EXTRA_CA_CERTS. */
  let ca: string;
  const played = DEFAULT_SERVERS.slice(0, 3).map((d) => parseServer(d));

  beforeAll(async () => {
    lib = await buildLabLib("zeroconf");
    lab = await labTs.startLab(["a=port-restricted", "b=restricted-cone"], {
      prefix: "zc-",
      state: "/tmp/natlab-zc",
      p2pdStun: false,
    });
    // The first three default IRC networks (of five: the quorum is 3) at their real IPs: TLS with a
    // certificate for the network's host name from a test CA, in front of an ircd + services of
    // labs/irc-lab (alpha, beta, gamma) on pub's loopback. The other two are dropped in inet.
    const tls = await internet.makeTestCa(
      `${IRC_DIR}-ca`,
      played.map((s) => s.domain),
    );
    ca = tls.ca;
    const networks = played.map((s, i) => ({
      ip: s.host,
      port: s.port,
      host: s.domain,
      target: 16667 + 10000 * i + IRC_OFFSET,
      ...tls.certs[s.domain],
    }));
    plan = await internet.playInternet(lab, internet.withIrc(internet.defaultPlan(), networks));
    irc = await ircLab.startLab({
      dir: IRC_DIR,
      portOffset: IRC_OFFSET,
      profile: "relaxed",
      netns: lab.info.pub.ns,
    });
  }, 180_000);

  afterAll(async () => {
    // The ircds first: they live in pub, which `natlab down` deletes.
    await irc?.stop();
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

  test("the same two nodes, no flags and no config file, connect by name (IRCDNS on the default networks)", async () => {
    const cli = join(root, "apps", "cli", "dist", "index.js");
    const name = `zc${Date.now().toString(36)}.peer`;
    const env = (h: string) => ({
      ...LAB_ENV,
      XDG_CACHE_HOME: `/tmp/natlab-zc/cache-${h}`,
      NODE_EXTRA_CA_CERTS: ca,
    });
    const t0 = Date.now();
    const server = lab.spawn("a1", process.execPath, [cli, "node", "--json", "--name", name], {
      env: { ...process.env, ...env("a1") },
    });
    let err = "";
    server.stderr.on("data", (d: Buffer) => (err += d));
    try {
      // Register needs 3 of 5 networks: it waits once on the two dead ones' connect timeout (15 s).
      while (!/name (registered|".*" not registered)/.test(err) && server.exitCode === null) {
        if (Date.now() - t0 > 80_000) break;
        await new Promise((r) => setTimeout(r, 200));
      }
      expect(err).toContain(`name registered: ${name}`);
      const registerMs = Date.now() - t0;
      const before = await internet.outsideDrops(lab);
      const r = await lab.exec("b1", process.execPath, [cli, "connect", name, "--json"], {
        env: env("b1"),
        timeoutMs: 90_000,
      });
      expect(r.code, r.stderr).toBe(0);
      const out = JSON.parse(r.stdout);
      expect(out).toMatchObject({ echo: true });
      // The lookup needs 3 agreeing networks of 5 and does not wait for the two that never answer.
      expect(out.lookupMs).toBeLessThan(10_000);
      // Those two were tried, and their packets went nowhere: dropped in inet, counted.
      expect((await internet.outsideDrops(lab)) - before).toBeGreaterThan(0);
      // TLS is verified: without the test CA the same lookup is refused on every played network.
      const look = (extra: Record<string, string>) =>
        lab.exec("b1", process.execPath, [cli, "name", "lookup", name, "--json"], {
          env: { ...env("b1"), ...extra },
          timeoutMs: 60_000,
        });
      const trusted = await look({});
      expect(trusted.code, trusted.stderr).toBe(0);
      expect(JSON.parse(trusted.stdout).value).toMatch(/^p2pd1:/);
      const untrusted = await look({ NODE_EXTRA_CA_CERTS: "" });
      expect(untrusted.code).toBe(1);
      expect(untrusted.stdout.match(/ERR_IRCDNS_TLS/g)?.length).toBe(3);
      console.log(
        `by name: register ${registerMs} ms (incl. start), lookup ${Math.round(out.lookupMs)} ms, connect ${Math.round(out.ms)} ms via ${out.strategy}`,
      );
    } finally {
      server.kill("SIGINT");
    }
  }, 150_000);

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
