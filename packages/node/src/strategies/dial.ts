import { connect, type Socket } from "node:net";
import { P2pdNodeError } from "../errors.js";
import type { Candidate } from "./strategy.js";

/**
 * TCP-connects to every candidate at once; the first to connect wins and the others are
 * destroyed (the reference keeps the first in list order, however slow: do better).
 */
export function dialFirst(
  cands: Candidate[],
  signal: AbortSignal,
): Promise<{ socket: Socket; candidate: Candidate }> {
  return new Promise((resolve, reject) => {
    if (cands.length === 0)
      return reject(new P2pdNodeError("ERR_NO_CANDIDATE", "no address to dial"));
    if (signal.aborted) return reject(signal.reason);
    const sockets = new Set<Socket>();
    let done = false;
    let failed = 0;
    const errors: string[] = [];
    const finish = () => {
      done = true;
      signal.removeEventListener("abort", onAbort);
    };
    const onAbort = () => {
      if (done) return;
      finish();
      for (const s of sockets) s.destroy();
      reject(signal.reason);
    };
    signal.addEventListener("abort", onAbort, { once: true });
    for (const c of cands) {
      const s = connect({ host: c.host, port: c.port, noDelay: true });
      sockets.add(s);
      s.once("connect", () => {
        if (done) return void s.destroy();
        finish();
        for (const o of sockets) if (o !== s) o.destroy();
        s.removeAllListeners("error");
        resolve({ socket: s, candidate: c });
      });
      s.once("error", (err) => {
        s.destroy();
        errors.push(`${c.host}:${c.port} ${(err as NodeJS.ErrnoException).code ?? err.message}`);
        if (++failed === cands.length && !done) {
          finish();
          reject(
            new P2pdNodeError(
              "ERR_CONNECT_REFUSED",
              `no candidate connected: ${errors.join(", ")}`,
            ),
          );
        }
      });
    }
  });
}
