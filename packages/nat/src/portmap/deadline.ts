import { deadline } from "@p2pd/netifaces";
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
  // Cleared as soon as fn settles, so nothing outlives the request (close() leaves no timer).
  const limit = deadline(ms, signal);
  try {
    return await fn(limit.signal);
  } catch (e) {
    if (signal?.aborted) throw signal.reason;
    if (limit.signal.aborted)
      throw new PortMapTimeoutError(`${what}: no answer within ${ms} ms`, { cause: e });
    throw e;
  } finally {
    limit.clear();
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
