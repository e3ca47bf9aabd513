/**
 * What the answers so far say about the path (pure). Round trips are timed from a transaction's first
 * send: with early retransmissions the client's per-send RTT is ambiguous (Karn), so an answer that
 * comes noticeably later than most is counted as one a retransmission brought (the first was lost).
 */
export class PathTiming {
  private readonly samples: number[] = [];
  private cache: { max: number; min: number; lost: number } | undefined;

  /** `retransmitMs`: the first retransmission interval (what "noticeably later" is measured by). */
  constructor(private readonly retransmitMs: number) {}

  /** One answered transaction: ms from its first send to the answer. */
  add(elapsedMs: number): void {
    this.samples.push(elapsedMs);
    this.cache = undefined;
  }

  get count(): number {
    return this.samples.length;
  }

  /** Slowest round trip of the answers that came to a first send (0 before any answer). */
  get max(): number {
    return this.stats().max;
  }

  /** Fastest round trip (0 before any answer). */
  get min(): number {
    return this.stats().min;
  }

  /** Share of answers that only a retransmission brought (0..1). */
  get lossRatio(): number {
    return this.samples.length ? this.stats().lost / this.samples.length : 0;
  }

  private stats(): { max: number; min: number; lost: number } {
    if (this.cache) return this.cache;
    const sorted = [...this.samples].sort((a, b) => a - b);
    const median = sorted[Math.floor((sorted.length - 1) / 2)] ?? 0;
    const limit = median + this.retransmitMs / 2;
    const clean = sorted.filter((x) => x <= limit);
    this.cache = {
      max: clean.at(-1) ?? 0,
      min: clean[0] ?? 0,
      lost: sorted.length - clean.length,
    };
    return this.cache;
  }
}
