// `p2pd portmap` for real: the built CLI runs inside the LAN namespace of the nat package's
// miniupnpd lab (packages/nat/test/portmap/lab.sh); reachability is checked from the WAN host.
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { PassThrough } from "node:stream";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { run } from "../src/cli.js";

const exec = promisify(execFile);
const repo = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
const labSh = join(repo, "packages/nat/test/portmap/lab.sh");
const cliJs = join(repo, "apps/cli/dist/index.js");

async function cli(...argv: string[]) {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = "";
  stdout.on("data", (d) => (out += d));
  stderr.on("data", () => {});
  const code = await run(argv, { stdout, stderr });
  return { code, out };
}

describe("p2pd portmap: command line checks (nothing is sent)", () => {
  for (const argv of [
    ["bogus"],
    ["add"],
    ["add", "70000"],
    ["add", "5000", "--proto", "sctp"],
    ["add", "5000", "--method", "carrier-pigeon"],
    ["add", "5000", "--lifetime", "-3"],
    ["list", "5000"],
    ["remove", "x"],
    ["add", "5000", "--family", "5"],
    ["remove", "5000", "--handle", "xyz"],
    ["add", "5000", "--gateway", "notanip"],
  ])
    test(`${argv.join(" ")} is a usage error`, async () => {
      const r = await cli("portmap", ...argv, "--json");
      expect(r.code).toBe(2);
      expect(JSON.parse(r.out).error.code).toBe("ERR_USAGE");
    });
});

const missing =
  process.getuid?.() !== 0
    ? "needs root"
    : !existsSync("/usr/sbin/miniupnpd")
      ? "needs miniupnpd"
      : !existsSync(cliJs)
        ? "needs a build (pnpm exec turbo run build --filter=@p2pd/cli...)"
        : undefined;
if (missing) console.warn(`p2pd portmap lab tests skipped: ${missing}`);

describe.skipIf(missing)("p2pd portmap in a NATed namespace behind miniupnpd", () => {
  const id = randomBytes(3).toString("hex");
  const state = mkdtempSync(join(tmpdir(), "pm-cli-"));
  const lan = `pm-${id}-lan`;
  const wan = `pm-${id}-wan`;
  const children: ChildProcess[] = [];

  const p2pd = async (ns: string, ...argv: string[]) => {
    try {
      const r = await exec(
        "ip",
        ["netns", "exec", ns, process.execPath, cliJs, "portmap", ...argv],
        {
          timeout: 20_000,
        },
      );
      return { code: 0, out: r.stdout };
    } catch (e) {
      const err = e as { code?: number; stdout?: string };
      return { code: err.code ?? -1, out: err.stdout ?? "" };
    }
  };

  // A TCP server in the LAN namespace answering "hello"; resolves to its port.
  const listen = (): Promise<number> =>
    new Promise((res, rej) => {
      const c = spawn("ip", [
        "netns",
        "exec",
        lan,
        process.execPath,
        "-e",
        `const s=require("net").createServer(c=>c.end("hello\\n"));s.listen(0,()=>console.log(s.address().port));process.stdin.on("close",()=>process.exit(0));process.stdin.resume();`,
      ]);
      children.push(c);
      c.stdout.once("data", (d) => res(Number(String(d).trim())));
      c.once("error", rej);
    });

  const reachable = async (ip: string, port: number) => {
    const r = await exec("ip", [
      "netns",
      "exec",
      wan,
      process.execPath,
      "-e",
      `const s=require("net").connect(${port},"${ip}");let d="";s.on("data",c=>d+=c);s.on("end",()=>{console.log(d.trim());process.exit(0)});s.on("error",()=>{console.log("fail");process.exit(0)});setTimeout(()=>{console.log("fail");process.exit(0)},1500);`,
    ]);
    return r.stdout.trim() === "hello";
  };

  beforeAll(async () => {
    await exec(labSh, ["up", id, state], { timeout: 20_000 });
  }, 30_000);

  afterAll(async () => {
    for (const c of children) c.stdin?.end();
    await exec(labSh, ["down", id, state]).catch(() => {});
    rmSync(state, { recursive: true, force: true });
  }, 30_000);

  test("add (JSON) opens a port the WAN host reaches; list shows it; remove closes it", async () => {
    const port = await listen();
    expect(await reachable("11.11.11.1", port)).toBe(false);

    const add = await p2pd(lan, "add", String(port), "--lifetime", "120", "--json");
    expect(add.code).toBe(0);
    const m = JSON.parse(add.out);
    expect(m).toMatchObject({
      method: "pcp",
      protocol: "tcp",
      external: { ip: "11.11.11.1", port },
      reachable: true,
    });
    // The mapping outlives the command (it holds a lease on the gateway).
    expect(await reachable(m.external.ip, m.external.port)).toBe(true);

    const list = JSON.parse((await p2pd(lan, "list", "--json")).out);
    expect(list.method).toBe("upnp");
    expect(list.mappings).toContainEqual(
      expect.objectContaining({
        protocol: "tcp",
        external: { ip: "11.11.11.1", port },
        internal: { ip: "192.168.77.2", port },
      }),
    );

    const rm = await p2pd(lan, "remove", String(port), "--json");
    expect(rm.code).toBe(0);
    expect(JSON.parse(rm.out)).toMatchObject({
      removed: true,
      external: { ip: "11.11.11.1", port },
    });
    expect(await reachable(m.external.ip, m.external.port)).toBe(false);
    expect(JSON.parse((await p2pd(lan, "list", "--json")).out).mappings).toEqual([]);
  }, 60_000);

  test("--method natpmp and --method upnp each report the method that worked", async () => {
    for (const method of ["natpmp", "upnp"]) {
      const port = await listen();
      const add = await p2pd(
        lan,
        "add",
        String(port),
        "--method",
        method,
        "--proto",
        "tcp",
        "--json",
      );
      expect(JSON.parse(add.out)).toMatchObject({ method, external: { ip: "11.11.11.1", port } });
      expect(await reachable("11.11.11.1", port)).toBe(true);
      expect((await p2pd(lan, "remove", String(port))).code).toBe(0);
      expect(await reachable("11.11.11.1", port)).toBe(false);
    }
  }, 60_000);

  test("--hold renews a 4 s lease while running and removes the mapping on SIGINT (exit 130)", async () => {
    const port = await listen();
    const child = spawn("ip", [
      "netns",
      "exec",
      lan,
      process.execPath,
      cliJs,
      "portmap",
      "add",
      String(port),
      "--hold",
      "--lifetime",
      "4",
      "--json",
    ]);
    children.push(child);
    const first = await new Promise<string>((res) =>
      child.stdout.once("data", (d) => res(String(d))),
    );
    const m = JSON.parse(first);
    expect(m).toMatchObject({ external: { ip: "11.11.11.1", port } });
    // Past the first lease: only renewals (at half-life, 2 s: margin for a loaded CI machine) keep it open.
    await new Promise((r) => setTimeout(r, 5500));
    expect(await reachable(m.external.ip, m.external.port)).toBe(true);
    const exited = new Promise<number | null>((res) => child.once("exit", (code) => res(code)));
    child.kill("SIGINT");
    expect(await exited).toBe(130);
    expect(await reachable(m.external.ip, m.external.port)).toBe(false);
  }, 30_000);

  test("--family 6 opens an IPv6 pinhole the WAN host gets through", async () => {
    const port = await listen();
    const add = await p2pd(lan, "add", String(port), "--family", "6", "--json");
    expect(add.code).toBe(0);
    const m = JSON.parse(add.out);
    expect(m).toMatchObject({ method: "pcp", external: { ip: "2001:db8:77::2", port } });
    expect(m.handle).toMatch(/^[0-9a-f]{24}$/);
    expect(await reachable("2001:db8:77::2", port)).toBe(true);
    const rm = await p2pd(
      lan,
      "remove",
      String(port),
      "--family",
      "6",
      "--handle",
      m.handle,
      "--json",
    );
    expect(JSON.parse(rm.out)).toMatchObject({ method: "pcp", removed: true });
    expect(await reachable("2001:db8:77::2", port)).toBe(false);
  }, 30_000);

  test("no gateway (the WAN host has no default route): exit 1 with ERR_PORTMAP_NO_GATEWAY", async () => {
    const r = await p2pd(wan, "add", "5000", "--json");
    expect(r.code).toBe(1);
    expect(JSON.parse(r.out).error.code).toBe("ERR_PORTMAP_NO_GATEWAY");
  }, 30_000);
});
