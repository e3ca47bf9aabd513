import type { Pipe } from "@p2pd/pipe";
import type { AttemptOutcome, StrategyFailure, TimelineEntry } from "../errors.js";
import { codeOf, P2pdNodeError } from "../errors.js";
import type { StrategyName } from "../strategies/names.js";
import type { PlannedStrategy } from "./race-plan.js";
import type { StrategyTiming } from "./types.js";

type Outcome = { run: Run; pipe?: Pipe; err?: unknown };

/**
 * The race's clock, derived from measured round trips by the connector (traversal/timing.ts);
 * read each time the race waits, so a measurement that arrives meanwhile counts.
 */
export interface RaceTiming {
  /** How long after starting this strategy the next one starts beside it (ms). */
  stagger(p: PlannedStrategy): number;
  /** A relay (TURN): it starts only once every running direct strategy clearly failed. */
  isRelay(p: PlannedStrategy): boolean;
  /** Ms after its start at which a still running direct strategy counts as clearly failed. */
  giveUp(run: Run): number;
}

/** Without a connector's measurements: each strategy's own stagger, TURN like any other. */
const STATIC_TIMING: RaceTiming = {
  stagger: (p) => p.strategy.staggerMs ?? 500,
  isRelay: () => false,
  giveUp: () => 0,
};

/** One started strategy. */
export interface Run {
  index: number;
  name: StrategyName;
  s0: number;
  ctrl: AbortController;
  signal: AbortSignal;
  pipeId: string;
  done: Promise<Outcome>;
}

/** One race's state: what runs, what is left, and each strategy's outcome in plan order. */
export class Race {
  readonly timings: (StrategyTiming | undefined)[];
  readonly failures: (StrategyFailure | undefined)[];
  /** Each strategy's start and end (performance.now() times), for the timeline. */
  readonly #spans: ({ start: number; end: number } | undefined)[];
  readonly #plan: PlannedStrategy[];
  readonly #overall: AbortSignal;
  readonly #staggerMs: number | undefined;
  readonly #start: (p: PlannedStrategy, index: number) => Run;
  readonly #timing: RaceTiming;
  readonly #running = new Set<Run>();
  /** Strategies stopped because the whole connect ended (timeout or the caller's abort). */
  readonly #gaveUp = new Set<number>();
  #next = 0;
  #lastStart = 0;
  #last: PlannedStrategy | undefined;

  constructor(
    plan: PlannedStrategy[],
    overall: AbortSignal,
    staggerMs: number | undefined,
    start: (p: PlannedStrategy, index: number) => Run,
    timing: RaceTiming = STATIC_TIMING,
  ) {
    this.#timing = timing;
    this.#plan = plan;
    this.#overall = overall;
    this.#staggerMs = staggerMs;
    this.#start = start;
    this.timings = plan.map(() => undefined);
    this.failures = plan.map(() => undefined);
    this.#spans = plan.map(() => undefined);
  }

  #fail(i: number, name: StrategyName, code: string, message: string, ms: number): void {
    this.timings[i] = { strategy: name, ok: false, ms, code };
    this.failures[i] = { strategy: name, code, message, ms };
    const start = this.#spans[i]?.start ?? performance.now();
    this.#spans[i] = { start, end: start + ms };
  }

  /** The race so far as a timeline, in plan order, ms relative to `t0` (performance.now()). */
  timeline(t0: number): TimelineEntry[] {
    const out: TimelineEntry[] = [];
    const r = (x: number) => Math.round(x * 100) / 100;
    this.timings.forEach((t, i) => {
      const span = this.#spans[i];
      if (!t || !span) return;
      const f = this.failures[i];
      const outcome: AttemptOutcome = t.ok
        ? "won"
        : t.skipped
          ? "skipped"
          : t.code === "ERR_LOST_RACE"
            ? "lost"
            : this.#gaveUp.has(i)
              ? "gave-up"
              : "failed";
      out.push({
        strategy: t.strategy,
        startMs: r(Math.max(0, span.start - t0)),
        endMs: r(Math.max(0, span.end - t0)),
        outcome,
        ...(f ? { code: f.code, message: f.message } : {}),
      });
    });
    return out;
  }

  /** Starts the next strategy that can try (skipping the others); false when none is left. */
  #startNext(): boolean {
    while (this.#next < this.#plan.length) {
      const index = this.#next++;
      const p = this.#plan[index] as PlannedStrategy;
      if (!p.possible) {
        const now = performance.now();
        this.#spans[index] = { start: now, end: now };
        this.timings[index] = { strategy: p.name, ok: false, skipped: true, ms: 0 };
        this.failures[index] = {
          strategy: p.name,
          code: "ERR_SKIPPED",
          message: "cannot work for these addresses",
          ms: 0,
        };
        continue;
      }
      const run = this.#start(p, index);
      this.#spans[index] = { start: run.s0, end: run.s0 };
      this.#running.add(run);
      this.#lastStart = run.s0;
      this.#last = p;
      return true;
    }
    return false;
  }

  /** When the next planned strategy starts beside the running ones (performance.now() time). */
  #nextStartAt(): number {
    const next = this.#plan.slice(this.#next).find((p) => p.possible);
    // An explicit stagger (ConnectOptions.staggerMs) applies to every strategy, relays included.
    if (this.#staggerMs !== undefined) return this.#lastStart + this.#staggerMs;
    if (next && this.#timing.isRelay(next)) {
      // TURN waits until the direct strategies clearly failed (each ended or is past its give-up).
      let at = 0;
      for (const r of this.#running) at = Math.max(at, r.s0 + this.#timing.giveUp(r));
      return at;
    }
    return this.#last ? this.#lastStart + this.#timing.stagger(this.#last) : 0;
  }

  /** Runs to the first success (or until everything failed or the connect gave up). */
  async run(d: {
    cancel(pipeId: string): void;
    log(line: string): void;
  }): Promise<{ run: Run; pipe: Pipe } | undefined> {
    const overall = this.#overall;
    let winner: { run: Run; pipe: Pipe } | undefined;
    this.#startNext();
    while (!winner && this.#running.size > 0) {
      // Wait for a run to end, or for the stagger to start the next one beside it.
      let timer: NodeJS.Timeout | undefined;
      const wait =
        this.#next < this.#plan.length ? Math.max(0, this.#nextStartAt() - performance.now()) : -1;
      const tick =
        wait >= 0 && Number.isFinite(wait)
          ? new Promise<undefined>((r) => {
              timer = setTimeout(() => r(undefined), wait);
            })
          : undefined;
      const ev = await Promise.race([
        ...[...this.#running].map((r) => r.done),
        ...(tick ? [tick] : []),
      ]);
      clearTimeout(timer);
      if (!ev) {
        // A measurement that came in meanwhile may have moved the start later: wait on.
        if (this.#staggerMs === undefined && this.#nextStartAt() - performance.now() > 1) continue;
        this.#startNext();
        continue;
      }
      this.#running.delete(ev.run);
      const ms = performance.now() - ev.run.s0;
      if (ev.pipe) {
        this.timings[ev.run.index] = { strategy: ev.run.name, ok: true, ms };
        this.#spans[ev.run.index] = { start: ev.run.s0, end: ev.run.s0 + ms };
        winner = { run: ev.run, pipe: ev.pipe };
        break;
      }
      d.cancel(ev.run.pipeId);
      const code = overall.aborted
        ? codeOf(overall.reason) === "ERR_TIMEOUT"
          ? "ERR_CONNECT_TIMEOUT"
          : codeOf(overall.reason)
        : ev.run.signal.aborted
          ? "ERR_STRATEGY_TIMEOUT"
          : codeOf(ev.err);
      if (overall.aborted) this.#gaveUp.add(ev.run.index);
      this.#fail(ev.run.index, ev.run.name, code, (ev.err as Error)?.message ?? String(ev.err), ms);
      d.log(`${ev.run.name} failed: ${code}`);
      if (overall.aborted) break;
      // A failure starts the next strategy at once (no stagger wait).
      this.#startNext();
    }
    // Losers are aborted; a pipe one of them still produces is closed, never handed out.
    for (const r of this.#running) {
      const ms = performance.now() - r.s0;
      if (winner) this.#fail(r.index, r.name, "ERR_LOST_RACE", `${winner.run.name} won`, ms);
      else {
        this.#gaveUp.add(r.index);
        this.#fail(r.index, r.name, "ERR_CONNECT_TIMEOUT", "connect gave up", ms);
      }
      r.ctrl.abort(new P2pdNodeError("ERR_LOST_RACE", "another strategy won"));
      d.cancel(r.pipeId);
      r.done.then((o) => o.pipe?.close().catch(() => {}));
    }
    return winner;
  }
}
