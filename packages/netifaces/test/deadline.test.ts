import { describe, expect, test } from "vitest";
import { deadline } from "../src/index.js";

describe("deadline", () => {
  test("fires after ms with a TimeoutError reason", async () => {
    const d = deadline(20);
    const reason = await new Promise<unknown>((r) =>
      d.signal.addEventListener("abort", () => r(d.signal.reason)),
    );
    expect((reason as DOMException).name).toBe("TimeoutError");
  });

  test("a parent's abort passes its reason through; an aborted parent aborts at once", () => {
    const ac = new AbortController();
    const d = deadline(10_000, ac.signal);
    const why = new Error("stop");
    ac.abort(why);
    expect(d.signal.reason).toBe(why);
    const again = deadline(10_000, ac.signal);
    expect(again.signal.aborted).toBe(true);
    expect(again.signal.reason).toBe(why);
  });

  test("clear() stops the timer and detaches from the parents", async () => {
    const ac = new AbortController();
    const d = deadline(10, ac.signal);
    d.clear();
    await new Promise((r) => setTimeout(r, 40));
    expect(d.signal.aborted).toBe(false);
    ac.abort();
    expect(d.signal.aborted).toBe(false);
  });

  test("still fires after a forced garbage collection when only the timer holds it", async () => {
    const gc = (globalThis as { gc?: () => void }).gc;
    const fired = await new Promise<boolean>((resolve) => {
      const parent = new AbortController();
      deadline(30, parent.signal).signal.addEventListener("abort", () => resolve(true));
      gc?.();
      setTimeout(() => resolve(false), 1000).unref();
      // Keep the loop alive until the verdict (the deadline timer itself is unref'd).
      const keep = setTimeout(() => {}, 1100);
      void keep;
    });
    expect(fired).toBe(true);
  });

  test("undefined ms: only the parents end it", async () => {
    const ac = new AbortController();
    const d = deadline(undefined, ac.signal, undefined);
    await new Promise((r) => setTimeout(r, 20));
    expect(d.signal.aborted).toBe(false);
    ac.abort();
    expect(d.signal.aborted).toBe(true);
  });
});
