import { setMaxListeners } from "node:events";

/** A signal that fires on a parent's abort or at a time limit, and can be released early. */
export interface Deadline {
  readonly signal: AbortSignal;
  /** Stops the timer and detaches from the parents (call when the guarded work settles). */
  clear(): void;
}

/**
 * `AbortSignal.any([...parents, AbortSignal.timeout(ms)])` without its two hazards: on Node 20 a
 * timeout signal held only by `any()` can be garbage-collected and never fire (nodejs/node#57736),
 * and every `any()` over a long-lived parent stays attached to it until that parent aborts. Here
 * the timer holds the controller strongly and `clear()` undoes both. The reason on timeout is a
 * `TimeoutError` DOMException, as with `AbortSignal.timeout`. `ms` undefined means no time limit.
 */
export function deadline(
  ms: number | undefined,
  ...parents: (AbortSignal | undefined)[]
): Deadline {
  const ac = new AbortController();
  setMaxListeners(0, ac.signal);
  const live = parents.filter((p): p is AbortSignal => p !== undefined);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const onParent = (e: Event) => stop((e.target as AbortSignal).reason);
  const clear = () => {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    for (const p of live) p.removeEventListener("abort", onParent);
  };
  const stop = (reason: unknown) => {
    clear();
    if (!ac.signal.aborted) ac.abort(reason);
  };
  for (const p of live) {
    if (p.aborted) {
      stop(p.reason);
      return { signal: ac.signal, clear };
    }
  }
  for (const p of live) p.addEventListener("abort", onParent, { once: true });
  if (ms !== undefined && Number.isFinite(ms)) {
    timer = setTimeout(
      () => stop(new DOMException("The operation was aborted due to timeout", "TimeoutError")),
      Math.max(0, Math.ceil(ms)),
    );
    // Like AbortSignal.timeout: a pending deadline alone does not keep the process alive.
    timer.unref?.();
  }
  return { signal: ac.signal, clear };
}
