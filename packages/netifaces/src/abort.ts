import { AbortedError, type NetErrorCode, P2pdNetError } from "./errors.js";

/**
 * Races `p` against `signal` (and an optional deadline) so callers are released even when the
 * underlying operation (e.g. dns.lookup) cannot be cancelled.
 */
export function raceAbort<T>(
  p: Promise<T>,
  signal: AbortSignal | undefined,
  timeout?: { ms: number; error: () => Error },
): Promise<T> {
  if (!signal && !timeout) return p;
  return new Promise<T>((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    const onAbort = () => {
      cleanup();
      reject(new AbortedError(signal?.reason));
    };
    const cleanup = () => {
      if (timer) clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
    };
    if (signal?.aborted) {
      onAbort();
      return;
    }
    signal?.addEventListener("abort", onAbort, { once: true });
    if (timeout) {
      timer = setTimeout(() => {
        cleanup();
        reject(timeout.error());
      }, timeout.ms);
    }
    p.then(
      (v) => {
        cleanup();
        resolve(v);
      },
      (e: unknown) => {
        cleanup();
        reject(e);
      },
    );
  });
}

export function timeoutError(code: NetErrorCode, what: string, ms: number): () => Error {
  return () => new P2pdNetError(code, `${what} timed out after ${ms} ms`);
}
