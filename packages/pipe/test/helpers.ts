import { execFileSync } from "node:child_process";
import { createSocket } from "node:dgram";
import { mkdtempSync } from "node:fs";
import { createRequire } from "node:module";
import { createServer } from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { isPipeError, type PipeErrorCode } from "../src/index.js";

/** Socket handles this process holds (what a leak would leave behind). */
export function handles(): number {
  return process.getActiveResourcesInfo().filter((r) => /TCP|UDP/.test(r)).length;
}

/** Pending timers (recv / connect / close timeouts must all be cleared). */
export function timers(): number {
  return process.getActiveResourcesInfo().filter((r) => r === "Timeout").length;
}

/** Lets the event loop retire closed handles before counting. */
export const settle = () => new Promise((r) => setTimeout(r, 20));

/** The PipeError code a promise rejects with ("no error" / "untyped: ..." otherwise). */
export async function code(p: Promise<unknown>): Promise<PipeErrorCode | string> {
  try {
    await p;
    return "no error";
  } catch (e) {
    return isPipeError(e) ? e.code : `untyped: ${String(e)}`;
  }
}

/** The PipeError code `f` throws ("no error" / "untyped: ..." otherwise). */
export function thrownCode(f: () => unknown): PipeErrorCode | string {
  try {
    f();
  } catch (e) {
    return isPipeError(e) ? e.code : `untyped: ${String(e)}`;
  }
  return "no error";
}

export function tcpPortFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once("error", () => resolve(false));
    s.listen({ host, port }, () => s.close(() => resolve(true)));
  });
}

export function udpPortFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createSocket("udp4");
    s.once("error", () => {
      s.close();
      resolve(false);
    });
    s.bind(port, "127.0.0.1", () => s.close(() => resolve(true)));
  });
}

const pkg = dirname(dirname(fileURLToPath(import.meta.url)));

/**
 * Bundles `entry` (a path in the package) into one ESM file for a child process, in a fresh folder
 * `<prefix>*` under the package's node_modules (so its runtime import of @p2pd/netifaces
 * resolves). Returns the folder; the caller removes it.
 */
export function bundleForChild(entry: string, prefix: string): string {
  const out = mkdtempSync(join(pkg, "node_modules", prefix));
  execFileSync(
    process.execPath,
    [
      createRequire(import.meta.url).resolve("tsup/dist/cli-default.js"),
      entry,
      "--format",
      "esm",
      "--out-dir",
      out,
      "--no-config",
      "--target",
      "node20",
      "--platform",
      "node",
      "--silent",
    ],
    { cwd: pkg, stdio: "ignore" },
  );
  return out;
}

/** A throwaway self-signed P-256 certificate in `dir`: `<name>.pem` and its key `<name>.key`. */
export function selfSignedCert(dir: string, name: string, subject: string, san: string): void {
  execFileSync(
    "openssl",
    [
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:prime256v1",
      "-nodes",
      "-days",
      "1",
      "-subj",
      subject,
      "-addext",
      san,
      "-keyout",
      join(dir, `${name}.key`),
      "-out",
      join(dir, `${name}.pem`),
    ],
    { stdio: "ignore" },
  );
}

/** Splits `buf` at the given cut points (arbitrary chunking, as TCP may deliver it). */
export function chunk(buf: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (buf.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let prev = 0;
  for (const p of points) {
    out.push(buf.subarray(prev, p));
    prev = p;
  }
  out.push(buf.subarray(prev));
  return out;
}
