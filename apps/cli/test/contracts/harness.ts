/**
 * What the CLI contract tests share (issues 2-14): they run the built binary as a user runs it and
 * check exact JSON field names and types, one JSON document (or one JSON line for servers) on
 * stdout, progress on stderr, exit codes 0 / 1 / 2 / 130, JSON usage errors, never a stack trace.
 * Loopback only: every server used is started by the test file.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createSocket, type Socket } from "node:dgram";
import { once } from "node:events";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, expect, vi } from "vitest";
import { STUN_SERVER_ARGV } from "../contract-values.js";
import { cli } from "../run-cli.js";

export const bin = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "dist", "index.js");
export const built = existsSync(bin);
/** This file's cache folder (the binary's XDG_CACHE_HOME), removed after its tests. */
export const cacheDir = mkdtempSync(join(tmpdir(), "p2pd-contracts-"));
/** Children still running: killed after the file's tests. */
export const running = new Set<ChildProcess>();

/** Call once at the top of a contract test file: timeouts, the skip notice, and the cleanup. */
export function contractFile(): void {
  // Every test spawns processes that load the whole library: generous on a busy 2-core CI box.
  vi.setConfig({ testTimeout: 30_000 });
  if (!built) console.warn(`contract tests skipped: build the CLI first (${bin} is missing)`);
  afterAll(async () => {
    for (const c of running) c.kill("SIGKILL");
    rmSync(cacheDir, { recursive: true, force: true });
  });
}

export interface Ran {
  code: number | null;
  signal: NodeJS.Signals | null;
  out: string;
  err: string;
}

const spawnBin = (args: string[]) =>
  spawn(process.execPath, [bin, ...args], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, XDG_CACHE_HOME: cacheDir, P2PD_NAT_STUN: "" },
  });

/** Runs the binary to completion. */
export async function p2pd(args: string[], timeoutMs = 20_000): Promise<Ran> {
  const child = spawnBin(args);
  let out = "";
  let err = "";
  child.stdout.on("data", (d) => (out += d));
  child.stderr.on("data", (d) => (err += d));
  const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  const [code, signal] = (await once(child, "close")) as [number | null, NodeJS.Signals | null];
  clearTimeout(timer);
  return { code, signal, out, err };
}

/** A long-running command: resolves once its first stdout line (the ready line) is out. */
export interface Server {
  first: Record<string, unknown>;
  firstRaw: string;
  child: ChildProcess;
  /** SIGINT (or `sig`), then the exit code and everything printed. */
  stop(sig?: NodeJS.Signals): Promise<Ran>;
}

export async function serve(args: string[]): Promise<Server> {
  const child = spawnBin(args);
  running.add(child);
  let out = "";
  let err = "";
  child.stderr.on("data", (d) => (err += d));
  const closed = once(child, "close") as Promise<[number | null, NodeJS.Signals | null]>;
  const firstRaw = await new Promise<string>((resolve, reject) => {
    child.stdout.on("data", (d) => {
      out += d;
      const nl = out.indexOf("\n");
      if (nl >= 0) resolve(out.slice(0, nl));
    });
    closed.then(([c]) => reject(new Error(`p2pd ${args[0]} exited ${c} before ready: ${err}`)));
  });
  return {
    first: args.includes("--json") ? JSON.parse(firstRaw) : {},
    firstRaw,
    child,
    async stop(sig: NodeJS.Signals = "SIGINT") {
      child.kill(sig);
      const [code, signal] = await closed;
      running.delete(child);
      return { code, signal, out, err };
    },
  };
}

/** `p2pd stun-server` on 127.0.0.1 and 127.0.0.2 for the file's tests (when the CLI is built). */
export function stunServerForFile(): {
  readonly server: Server;
  readonly port: number;
  readonly altPort: number;
} {
  let server: Server | undefined;
  beforeAll(async () => {
    if (built) server = await serve(STUN_SERVER_ARGV);
  }, 20_000);
  const started = () => {
    if (!server) throw new Error("the file's stun-server is not running");
    return server;
  };
  return {
    get server() {
      return started();
    },
    get port() {
      return (started().first.primary as { port: number }).port;
    },
    get altPort() {
      return (started().first.other as { port: number }).port;
    },
  };
}

/** stdout must be exactly one JSON document on one line. */
export function oneJson(out: string): Record<string, unknown> {
  expect(out.endsWith("\n")).toBe(true);
  expect(out.trimEnd().split("\n")).toHaveLength(1);
  const v = JSON.parse(out);
  expect(typeof v).toBe("object");
  return v;
}

export function noStack(text: string): void {
  expect(text).not.toMatch(/^\s+at .+[(:]\d+/m);
  expect(text).not.toContain("node:internal");
}

/**
 * A bad command line: exit 2, `{"error": {code, message}}` alone on stdout, a one-line reason on
 * stderr. `inProcess` runs the same `run()` the binary calls, without the process start-up cost.
 */
export async function expectUsage(args: string[], inProcess = false): Promise<void> {
  const r = inProcess
    ? await cli(...args, "--json").then((x) => ({ ...x, signal: null }))
    : await p2pd([...args, "--json"]);
  expect(r.code, `${args.join(" ")}: ${r.out}${r.err}`).toBe(2);
  const j = oneJson(r.out) as { error: { code: unknown; message: unknown } };
  expect(Object.keys(j)).toEqual(["error"]);
  expect(typeof j.error.code).toBe("string");
  expect(j.error.code).toMatch(/^ERR_/);
  expect(typeof j.error.message).toBe("string");
  expect(r.err).toContain("p2pd: ");
  noStack(r.err);
}

/** Several bad command lines: the first through the binary, the others in-process (same code path). */
export async function expectUsages(...lines: string[][]): Promise<void> {
  await Promise.all(lines.map((l, i) => expectUsage(l, i > 0)));
}

/** A runtime failure: exit 1 with a JSON error and the reason. */
export function expectFailure(r: Ran, code?: string): { code: string; message: string } {
  expect(r.code, r.out + r.err).toBe(1);
  const j = oneJson(r.out) as { error: { code: string; message: string } };
  expect(Object.keys(j)).toEqual(["error"]);
  if (code) expect(j.error.code).toBe(code);
  expect(j.error.code).toMatch(/^ERR_/);
  expect(j.error.message.length).toBeGreaterThan(0);
  noStack(r.err);
  return j.error;
}

/** A UDP socket on 127.0.0.1 that never answers (a STUN server that is down). */
export async function silentUdp(): Promise<Socket> {
  const s = createSocket("udp4");
  s.bind(0, "127.0.0.1");
  await once(s, "listening");
  return s;
}
