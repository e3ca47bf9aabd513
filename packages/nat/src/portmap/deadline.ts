import { PortMapTimeoutError } from "./errors.js";

/**
 * Runs `fn` with a signal that fires on the caller's abort or after `ms`; a timeout surfaces
 * as PortMapTimeoutError, a caller abort as the caller's reason.
 */
export async function withDeadline<T>(
  signal: AbortSignal | undefined,
  ms: number,
  what: string,
  fn: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  signal?.throwIfAborted();
  // Our own timer, not AbortSignal.timeout: it is cleared as soon as fn settles, so nothing
  // outlives the request (close() leaves no timer behind).
  const timeout = new AbortController();
  const timer = setTimeout(() => timeout.abort(), ms);
  const both = signal ? AbortSignal.any([signal, timeout.signal]) : timeout.signal;
  try {
    return await fn(both);
  } catch (e) {
    if (signal?.aborted) throw signal.reason;
    if (timeout.signal.aborted)
      throw new PortMapTimeoutError(`${what}: no answer within ${ms} ms`, { cause: e });
    throw e;
  } finally {
    clearTimeout(timer);
  }
}

/** A signal passed bare (the first call style) or as `{ signal }` (the project's style). */
export type SignalArg = AbortSignal | { signal?: AbortSignal | undefined } | undefined;

export function signalOf(x: SignalArg): AbortSignal | undefined {
  if (x === undefined || x === null) return undefined;
  // Duck-typed: an AbortSignal from another realm (vm, test runner) is still a signal.
  return typeof (x as AbortSignal).throwIfAborted === "function"
    ? (x as AbortSignal)
    : (x as { signal?: AbortSignal }).signal;
}
