import type { Pipe } from "@p2pd/pipe";
import { expect, test } from "vitest";
import type { Strategy } from "../../src/index.js";
import { Race, type RaceTiming, type Run } from "../../src/node/race.js";
import type { PlannedStrategy } from "../../src/node/race-plan.js";

/** A planned strategy that succeeds or fails after `ms` (pure race logic: no sockets). */
function planned(name: string, ms: number, ok: boolean, possible = true, staggerMs = 50) {
  const strategy = { name, timeoutMs: 5000, staggerMs } as Strategy;
  return { p: { name, strategy, possible } as PlannedStrategy, ms, ok };
}

function race(items: ReturnType<typeof planned>[], staggerMs?: number, timing?: RaceTiming) {
  const started: string[] = [];
  const closed: string[] = [];
  const cancelled: string[] = [];
  const r = new Race(
    items.map((i) => i.p),
    new AbortController().signal,
    staggerMs,
    (p, index) => {
      const item = items[index] as (typeof items)[number];
      started.push(p.name);
      const ctrl = new AbortController();
      const run = {
        index,
        name: p.name,
        s0: performance.now(),
        ctrl,
        signal: ctrl.signal,
        pipeId: p.name,
      } as Run;
      const pipe = { close: async () => void closed.push(p.name) } as unknown as Pipe;
      run.done = new Promise((resolve) =>
        setTimeout(
          () =>
            resolve(
              item.ok
                ? { run, pipe }
                : { run, err: Object.assign(new Error("no"), { code: "ERR_NO" }) },
            ),
          item.ms,
        ),
      );
      return run;
    },
    timing,
  );
  const done = r.run({ cancel: (id) => cancelled.push(id), log: () => {} });
  return { r, done, started, closed, cancelled };
}

test("a failure starts the next strategy at once; skipped ones are reported, not run", async () => {
  const x = race(
    [planned("a", 5, false), planned("b", 0, true, false), planned("c", 5, true)],
    Infinity,
  );
  const w = await x.done;
  expect(w?.run.name).toBe("c");
  expect(x.started).toEqual(["a", "c"]);
  expect(x.cancelled).toEqual(["a"]);
  expect(x.r.timings.map((t) => [t?.strategy, t?.ok, t?.skipped ?? false, t?.code])).toEqual([
    ["a", false, false, "ERR_NO"],
    ["b", false, true, undefined],
    ["c", true, false, undefined],
  ]);
  expect(x.r.failures[1]).toMatchObject({ code: "ERR_SKIPPED" });
});

test("the stagger starts the next one beside a slow one; the loser is aborted and its pipe closed", async () => {
  const x = race([planned("slow", 300, true, true, 20), planned("fast", 10, true)]);
  const w = await x.done;
  expect(w?.run.name).toBe("fast");
  expect(x.started).toEqual(["slow", "fast"]);
  expect(x.r.timings[0]).toMatchObject({ strategy: "slow", ok: false, code: "ERR_LOST_RACE" });
  expect(x.cancelled).toEqual(["slow"]);
  await new Promise((r) => setTimeout(r, 350));
  expect(x.closed).toEqual(["slow"]);
});

test("everything failing ends with no winner and one failure per strategy", async () => {
  const x = race([planned("a", 1, false), planned("b", 1, false)]);
  expect(await x.done).toBeUndefined();
  expect(x.r.failures.map((f) => f?.strategy)).toEqual(["a", "b"]);
});

/** TURN is a relay; every other strategy gives up (for TURN's sake) `giveUp` ms after its start. */
const relayTiming = (giveUp: number): RaceTiming => ({
  stagger: () => 20,
  isRelay: (p) => p.name === "turn",
  giveUp: () => giveUp,
});

test("TURN does not start beside a running punch before the punch's give-up time", async () => {
  const t0 = performance.now();
  const x = race(
    [planned("udp-punch", 150, true), planned("turn", 5, true)],
    undefined,
    relayTiming(400),
  );
  const w = await x.done;
  // The punch (150 ms) wins: TURN, due only at 400 ms, never started.
  expect(w?.run.name).toBe("udp-punch");
  expect(x.started).toEqual(["udp-punch"]);
  expect(performance.now() - t0).toBeLessThan(400);
});

test("TURN starts once the punch is past its give-up time (the punch may still win later)", async () => {
  const t0 = performance.now();
  const x = race(
    [planned("udp-punch", 2000, false), planned("turn", 10, true)],
    undefined,
    relayTiming(100),
  );
  const w = await x.done;
  expect(w?.run.name).toBe("turn");
  expect(x.started).toEqual(["udp-punch", "turn"]);
  const ms = performance.now() - t0;
  expect(ms).toBeGreaterThanOrEqual(100);
  expect(ms).toBeLessThan(1000);
});

test("TURN starts at once when the direct strategies failed early", async () => {
  const x = race(
    [planned("tcp-punch", 5, false), planned("udp-punch", 5, false), planned("turn", 5, true)],
    undefined,
    relayTiming(10_000),
  );
  const t0 = performance.now();
  const w = await x.done;
  expect(w?.run.name).toBe("turn");
  expect(performance.now() - t0).toBeLessThan(500);
});

test("a give-up time that grows while TURN waits (a measurement came in) holds TURN back", async () => {
  // The punch's give-up is 100 ms when the race starts waiting; at 50 ms a measured round trip
  // moves it to 600 ms. TURN must not start at the old 100 ms: the punch (400 ms) wins alone.
  let giveUp = 100;
  setTimeout(() => {
    giveUp = 600;
  }, 50);
  const timing: RaceTiming = {
    stagger: () => 0,
    isRelay: (p) => p.name === "turn",
    giveUp: () => giveUp,
  };
  const x = race([planned("udp-punch", 400, true), planned("turn", 5, true)], undefined, timing);
  const w = await x.done;
  expect(w?.run.name).toBe("udp-punch");
  expect(x.started).toEqual(["udp-punch"]);
});
