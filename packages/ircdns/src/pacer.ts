/** Token bucket that delays sends instead of dropping them (irc-framework has no flood control). */
export class Pacer {
  private tokens: number;
  private capacity: number;
  private intervalMs: number;
  private last = Date.now();
  private chain: Promise<void> = Promise.resolve();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly wakers = new Set<() => void>();
  private closed = false;

  constructor(capacity: number, intervalMs: number) {
    this.capacity = capacity;
    this.intervalMs = intervalMs;
    this.tokens = capacity;
  }

  /** Change the rate (e.g. once the services package is known); waiters re-check at once. */
  reconfigure(capacity: number, intervalMs: number): void {
    this.capacity = capacity;
    this.intervalMs = intervalMs;
    this.tokens = Math.min(this.tokens, capacity);
    for (const w of [...this.wakers]) w();
  }

  /** Resolves when one token is available (in FIFO order). */
  take(): Promise<void> {
    const next = this.chain.then(() => this.takeOne());
    this.chain = next.catch(() => {});
    return next;
  }

  private async takeOne(): Promise<void> {
    for (;;) {
      if (this.closed) throw new Error("pacer closed");
      const now = Date.now();
      this.tokens = Math.min(this.capacity, this.tokens + (now - this.last) / this.intervalMs);
      this.last = now;
      if (this.tokens >= 1) {
        this.tokens -= 1;
        return;
      }
      const wait = Math.ceil((1 - this.tokens) * this.intervalMs);
      await new Promise<void>((resolve) => {
        const wake = () => {
          clearTimeout(t);
          this.timers.delete(t);
          this.wakers.delete(wake);
          resolve();
        };
        const t = setTimeout(wake, wait);
        this.timers.add(t);
        this.wakers.add(wake);
      });
    }
  }

  close(): void {
    this.closed = true;
    for (const w of [...this.wakers]) w();
  }
}
