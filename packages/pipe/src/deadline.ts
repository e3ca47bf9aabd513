import { abortError, PipeError, type PipeErrorCode } from "./errors.js";

/**
 * Arms what can cut a wait short: `signal` (ERR_ABORTED) and, when `ms` > 0, a timer whose error
 * `onTimeout` builds. `fail` gets the first of them; the returned function disarms both.
 */
export function armDeadline(
  fail: (e: PipeError) => void,
  signal: AbortSignal | undefined,
  what: string,
  ms = 0,
  onTimeout?: () => PipeError,
): () => void {
  let timer: NodeJS.Timeout | undefined;
  const onAbort = () => fail(abortError(signal as AbortSignal, what));
  signal?.addEventListener("abort", onAbort, { once: true });
  if (ms > 0 && onTimeout) timer = setTimeout(() => fail(onTimeout()), ms);
  return () => {
    if (timer) clearTimeout(timer);
    signal?.removeEventListener("abort", onAbort);
  };
}

/** armDeadline whose timeout fails with a PipeError of `code` and `message` (built only if it fires). */
export function armTimeout(
  fail: (e: PipeError) => void,
  signal: AbortSignal | undefined,
  what: string,
  ms: number,
  code: PipeErrorCode,
  message: string,
): () => void {
  return armDeadline(fail, signal, what, ms, () => new PipeError(code, message));
}

/** `p`, or ERR_ABORTED as soon as `signal` fires (the work behind `p` is not undone). */
export function abortable<T>(
  p: Promise<T>,
  signal: AbortSignal | undefined,
  what: string,
): Promise<T> {
  if (!signal) return p;
  if (signal.aborted) return Promise.reject(abortError(signal, what));
  return new Promise<T>((resolve, reject) => {
    const disarm = armDeadline(reject, signal, what);
    p.then(
      (v) => {
        disarm();
        resolve(v);
      },
      (e: unknown) => {
        disarm();
        reject(e);
      },
    );
  });
}
