import { PassThrough } from "node:stream";
import { run } from "../src/cli.js";

/** Runs the CLI in-process and collects its exit code, stdout and stderr. */
export async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = "";
  let err = "";
  stdout.on("data", (d) => (out += d));
  stderr.on("data", (d) => (err += d));
  const code = await run(argv, { stdout, stderr });
  return { code, out, err };
}
