import { setMaxListeners } from "node:events";
import {
  type ClockEstimate,
  estimateClockOffset,
  type PathRtt,
  relayGiveUpMs,
  staggerMs,
  type TimedStrategy,
} from "../traversal/index.js";
import type { RaceTiming, Run } from "./race.js";
import type { PlannedStrategy } from "./race-plan.js";

const TIMED = new Set<string>(["direct", "reverse", "tcp-punch", "udp-punch", "turn"]);

/**
 * One connect attempt's view of the path to the peer: the clock estimate over signaling is made
 * once (not once per punch strategy) and its RTT feeds the race's stagger and give-up times.
 */
export class PathTiming implements RaceTiming {
  readonly rtt: PathRtt = {};
  #clock: Promise<ClockEstimate> | undefined;
  readonly #ping: (signal: AbortSignal) => Promise<number>;
  readonly #signal: AbortSignal;
  readonly #done = new AbortController();

  /**
   * A side's NAT hands out ports in sequence (we predict them): the TCP and the UDP punch would
   * take ports from the same counter and spoil each other's predictions, so they run one after
   * the other (the TCP punch when the UDP punch ended: `sequentialPlan`), not side by side.
   */
  readonly #sequential: boolean;

  constructor(
    ping: (signal: AbortSignal) => Promise<number>,
    signal: AbortSignal,
    opts: { sequential?: boolean } = {},
  ) {
    this.#sequential = opts.sequential === true;
    this.#ping = ping;
    this.#signal = AbortSignal.any([signal, this.#done.signal]);
    setMaxListeners(0, this.#signal); // one listener per ping in flight
  }

  /** The connect ended: pings still out are dropped. */
  close(): void {
    this.#done.abort();
  }

  /**
   * The peer's clock offset and the signaling RTT: three pings at once (a lost one does not
   * cost a timeout: the estimate settles one RTT after the first answer).
   */
  clock(): Promise<ClockEstimate> {
    if (!this.#clock) {
      this.#clock = estimateClockOffset((sig) => this.#ping(sig ?? this.#signal), {
        samples: 3,
        parallel: true,
        perPingTimeoutMs: 5000,
        signal: this.#signal,
      }).then((est) => {
        this.observe(est.rttMs);
        return est;
      });
      // A failure is the caller's to see; an unawaited warm-up must not be unhandled.
      this.#clock.catch(() => {});
    }
    return this.#clock;
  }

  /** A signaling round trip a strategy measured itself (its offer and answer): the best one counts. */
  observe(rttMs: number): void {
    if (!Number.isFinite(rttMs) || rttMs < 0) return;
    this.rtt.signalMs = Math.min(this.rtt.signalMs ?? Number.POSITIVE_INFINITY, rttMs);
  }

  stagger(p: PlannedStrategy): number {
    // Sequential: the punches run one after the other (see `sequentialPlan`).
    if ((p.name === "tcp-punch" || p.name === "udp-punch") && this.#sequential)
      return Number.POSITIVE_INFINITY;
    if (TIMED.has(p.name)) return staggerMs(p.name as TimedStrategy, this.rtt);
    return p.strategy.staggerMs ?? 500;
  }

  isRelay(p: PlannedStrategy): boolean {
    return p.name === "turn";
  }

  giveUp(run: Run): number {
    const name = run.name as string;
    if (name === "tcp-punch" || name === "udp-punch") return relayGiveUpMs(name, this.rtt);
    if (name === "direct" || name === "reverse") return 2 * staggerMs(name, this.rtt) + 1000;
    return Number.POSITIVE_INFINITY; // a plug-in: until it ends
  }
}
