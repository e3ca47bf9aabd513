import { execFileSync, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const pkgDir = fileURLToPath(new URL("..", import.meta.url));
export const distUrl = new URL("../dist/index.js", import.meta.url).href;

function has(bin: string): boolean {
  return spawnSync(bin, ["-V"], { stdio: "ignore" }).error === undefined;
}

/** Root plus `ip` (iproute2): what the namespace tests need. */
export const canNetns = process.getuid?.() === 0 && has("ip");
export const canNft = canNetns && spawnSync("nft", ["--version"], { stdio: "ignore" }).status === 0;

export function sh(cmd: string, ...args: string[]): string {
  return execFileSync(cmd, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

/** Runs each line as an `ip` command (split on spaces). */
export function ip(...lines: string[]): void {
  for (const l of lines) sh("ip", ...l.trim().split(/\s+/));
}

/** Rebuilds dist when a source file is newer, so namespace scripts test this code. */
export function ensureDist(): void {
  const newest = (dir: string): number =>
    Math.max(
      0,
      ...readdirSync(dir).map((n) => {
        const p = join(dir, n);
        const s = statSync(p);
        return s.isDirectory() ? newest(p) : s.mtimeMs;
      }),
    );
  let built = 0;
  try {
    built = statSync(join(pkgDir, "dist/index.js")).mtimeMs;
  } catch {}
  if (built < newest(join(pkgDir, "src"))) {
    execFileSync("pnpm", ["exec", "tsup"], { cwd: pkgDir, stdio: "ignore" });
  }
}

export function uniqueId(): string {
  return Math.random().toString(36).slice(2, 7);
}

/** A namespace with lo up and DAD off (addresses usable at once). */
export function addNs(name: string): void {
  ip(`netns add ${name}`, `-n ${name} link set lo up`);
  sh(
    "ip",
    "netns",
    "exec",
    name,
    "sysctl",
    "-qw",
    "net.ipv6.conf.all.accept_dad=0",
    "net.ipv6.conf.default.accept_dad=0",
  );
}

export function delNs(...names: string[]): void {
  for (const n of names) spawnSync("ip", ["netns", "del", n], { stdio: "ignore" });
}

export const scratch = (): string => mkdtempSync(join(tmpdir(), "nf-"));

/** Writes an ES module and runs it with node inside the namespace; parses its JSON stdout. */
export function runInNs<T = unknown>(ns: string, dir: string, body: string, timeoutMs = 20_000): T {
  const file = join(dir, `s-${uniqueId()}.mjs`);
  writeFileSync(file, `import * as nf from ${JSON.stringify(distUrl)};\n${body}\n`);
  const r = spawnSync("ip", ["netns", "exec", ns, process.execPath, file], {
    encoding: "utf8",
    timeout: timeoutMs,
  });
  if (r.status !== 0) throw new Error(`script failed in ${ns}: ${r.stderr || r.error?.message}`);
  return JSON.parse(r.stdout) as T;
}

/** Starts a long-running node script in a namespace; resolves with its first stdout line. */
export function spawnInNs(ns: string, dir: string, body: string) {
  const file = join(dir, `d-${uniqueId()}.mjs`);
  writeFileSync(file, body);
  const child = spawn("ip", ["netns", "exec", ns, process.execPath, file], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const firstLine = new Promise<string>((resolve, reject) => {
    let buf = "";
    child.stdout.on("data", (d) => {
      buf += d;
      const nl = buf.indexOf("\n");
      if (nl !== -1) resolve(buf.slice(0, nl));
    });
    child.once("exit", (code) => reject(new Error(`daemon in ${ns} exited (${code})`)));
  });
  return { child, firstLine };
}

export function cleanupDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}
