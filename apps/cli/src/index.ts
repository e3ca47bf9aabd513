import { realpathSync } from "node:fs";
import { Writable } from "node:stream";
import { fileURLToPath } from "node:url";
import { run } from "./cli.js";
import { EXIT } from "./command.js";

export { run } from "./cli.js";

function describeError(e: unknown): { code: string; message: string } {
  const err = e as { code?: unknown; message?: unknown };
  return {
    code: typeof err?.code === "string" ? err.code : "ERR_INTERNAL",
    message: typeof err?.message === "string" ? err.message : String(e),
  };
}

// Run only when executed directly (also through a bin symlink), not when imported by tests.
if (process.argv[1] && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const argv = process.argv.slice(2);
  const json = argv.includes("--json");
  const debug = Boolean(process.env.P2PD_DEBUG);
  let wroteStdout = false;
  const stdout = new Writable({
    write(chunk, _enc, cb) {
      wroteStdout = true;
      process.stdout.write(chunk, cb);
    },
  });
  // Safety nets so a library bug never prints a stack trace at users (P2PD_DEBUG=1 shows it).
  // A promise nobody awaited does not make an otherwise finished command fail: warn and go on.
  process.on("unhandledRejection", (reason) => {
    const e = describeError(reason);
    process.stderr.write(`p2pd: internal warning: unhandled rejection: ${e.message} (${e.code})\n`);
    if (debug) console.error(reason);
  });
  // An exception thrown from a callback leaves state unknown: report it and exit 1.
  process.on("uncaughtException", (err) => {
    const e = describeError(err);
    if (json && !wroteStdout) process.stdout.write(`${JSON.stringify({ error: e })}\n`);
    process.stderr.write(`p2pd: internal error: ${e.message} (${e.code})\n`);
    if (debug) console.error(err);
    process.exit(EXIT.FAILURE);
  });
  const ac = new AbortController();
  const stop = () => ac.abort();
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  run(argv, { stdout, stderr: process.stderr, signal: ac.signal }).then((code) => {
    process.exitCode = code;
  });
}
