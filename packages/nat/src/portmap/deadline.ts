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
  const timeout = AbortSignal.timeout(ms);
  const both = signal ? AbortSignal.any([signal, timeout]) : timeout;
  try {
    return await fn(both);
  } catch (e) {
    if (signal?.aborted) throw signal.reason;
    if (timeout.aborted)
      throw new PortMapTimeoutError(`${what}: no answer within ${ms} ms`, { cause: e });
    throw e;
  }
}
