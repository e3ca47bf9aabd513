import { execFile } from "node:child_process";
import { AbortedError, P2pdNetError } from "../errors.js";

/** How providers run OS commands; injectable so fixture text can stand in for a real OS. */
export type CommandRunner = (
  file: string,
  args: readonly string[],
  opts?: { signal?: AbortSignal; timeoutMs?: number },
) => Promise<string>;

/** Runs a command without a shell and returns stdout; ERR_PROVIDER on failure. */
export function runCommand(
  file: string,
  args: readonly string[],
  opts: { signal?: AbortSignal; timeoutMs?: number } = {},
): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      file,
      args,
      {
        encoding: "utf8",
        timeout: opts.timeoutMs ?? 10_000,
        maxBuffer: 16 * 1024 * 1024,
        windowsHide: true,
        ...(opts.signal ? { signal: opts.signal } : {}),
      },
      (err, stdout) => {
        if (opts.signal?.aborted) reject(new AbortedError(opts.signal.reason));
        else if (err)
          reject(
            new P2pdNetError("ERR_PROVIDER", `${file} failed: ${err.message}`, { cause: err }),
          );
        else resolve(stdout);
      },
    );
  });
}
