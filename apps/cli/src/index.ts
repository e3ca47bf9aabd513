import { realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { run } from "./cli.js";

export { run } from "./cli.js";

// Run only when executed directly (also through a bin symlink), not when imported by tests.
if (process.argv[1] && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const ac = new AbortController();
  const stop = () => ac.abort();
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  run(process.argv.slice(2), {
    stdout: process.stdout,
    stderr: process.stderr,
    signal: ac.signal,
  }).then((code) => {
    process.exitCode = code;
  });
}
