/**
 * Sliding-window send limiter (irc-framework has no flood control): at most `limit` sends in any
 * `windowMs`. Sends wait, in FIFO order, instead of being dropped. A sliding window also bounds every
 * fixed window a server may count in (Atheme resets its counter `flood_time` after the first message).
 */
export class Pacer {
  private limit: number;
  private windowMs: number;
  private readonly sent: number[] = [];
  private chain: Promise<void> = Promise.resolve();
  private readonly wakers = new Set<() => void>();
  private closed = false;

  constructor(limit: number, windowMs: number) {
    this.limit = limit;
    this.windowMs = windowMs;
  }

  /** Change the limits (e.g. once the services package is known); waiters re-check at once. */
  reconfigure(limit: number, windowMs: number): void {
    this.limit = limit;
    this.windowMs = windowMs;
    for (const w of [...this.wakers]) w();
  }

  /** Resolves when a send is allowed; rejects once closed. */
  take(): Promise<void> {
    const next = this.chain.then(() => this.takeOne());
    this.chain = next.catch(() => {});
    return next;
  }

  private async takeOne(): Promise<void> {
    for (;;) {
      if (this.closed) throw new Error("pacer closed");
      const now = Date.now();
      while (this.sent.length > 0 && now - (this.sent[0] as number) >= this.windowMs)
        this.sent.shift();
      if (this.sent.length < this.limit) {
        this.sent.push(now);
        return;
      }
      const wait = (this.sent[0] as number) + this.windowMs - now;
      await new Promise<void>((resolve) => {
        const wake = () => {
          clearTimeout(t);
          this.wakers.delete(wake);
          resolve();
        };
        const t = setTimeout(wake, Math.max(1, wait));
        this.wakers.add(wake);
      });
    }
  }

  close(): void {
    this.closed = true;
    for (const w of [...this.wakers]) w();
  }
}
