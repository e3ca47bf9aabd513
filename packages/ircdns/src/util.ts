import { AbortedError, type IrcDnsErrorCode, SessionError } from "./errors.js";

/** Reject with AbortedError when the signal fires, with a SessionError on timeout; always cleans up. */
export function withDeadline<T>(
  run: (settle: { signal: AbortSignal }) => Promise<T>,
  opts: {
    signal?: AbortSignal | undefined;
    timeoutMs: number;
    what: string;
    code?: IrcDnsErrorCode;
  },
): Promise<T> {
  const ctl = new AbortController();
  return new Promise<T>((resolve, reject) => {
    let done = false;
    const finish = (fn: () => void) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      opts.signal?.removeEventListener("abort", onAbort);
      ctl.abort();
      fn();
    };
    const onAbort = () => finish(() => reject(new AbortedError(`${opts.what}: aborted`)));
    const timer = setTimeout(
      () =>
        finish(() =>
          reject(
            new SessionError(
              opts.code ?? "ERR_IRCDNS_TIMEOUT",
              `${opts.what}: no answer in ${opts.timeoutMs} ms`,
            ),
          ),
        ),
      opts.timeoutMs,
    );
    if (opts.signal?.aborted) return onAbort();
    opts.signal?.addEventListener("abort", onAbort, { once: true });
    run({ signal: ctl.signal }).then(
      (v) => finish(() => resolve(v)),
      (e) => finish(() => reject(e)),
    );
  });
}

/** Sleep that an AbortSignal can cut short (rejects with AbortedError). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new AbortedError());
    const onAbort = () => {
      clearTimeout(t);
      reject(new AbortedError());
    };
    const t = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

export function throwIfAborted(signal?: AbortSignal): void {
  if (signal?.aborted) throw new AbortedError();
}

/** Wait for `p`, but give up (AbortedError) as soon as `signal` fires; `p` itself keeps running. */
export function abortable<T>(p: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return p;
  if (signal.aborted) {
    p.catch(() => {});
    return Promise.reject(new AbortedError());
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new AbortedError());
    signal.addEventListener("abort", onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener("abort", onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(e);
      },
    );
  });
}
