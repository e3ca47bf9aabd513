/**
 * Caps work started by signaling: anyone can make a key, so one sender (and everyone together)
 * may only keep so many responders running at once.
 */
export class InFlightLimit {
  readonly #max: number;
  readonly #perSender: number;
  readonly #strangers: number;
  readonly #bySender = new Map<string, number>();
  #total = 0;
  #strangerTotal = 0;

  /**
   * `strangers`: slots senders we never chose to talk to may hold together (default 3/4 of
   * `max`), so throwaway keys cannot fill every slot and lock our contacts out.
   */
  constructor(max = 32, perSender = 4, strangers = Math.ceil((max * 3) / 4)) {
    this.#max = max;
    this.#perSender = perSender;
    this.#strangers = strangers;
  }

  get inFlight(): number {
    return this.#total;
  }

  /** Takes a slot for `sender`: a release function (call it once), or undefined when full. */
  acquire(sender: string, known = true): (() => void) | undefined {
    const mine = this.#bySender.get(sender) ?? 0;
    if (this.#total >= this.#max || mine >= this.#perSender) return undefined;
    if (!known && this.#strangerTotal >= this.#strangers) return undefined;
    this.#total++;
    if (!known) this.#strangerTotal++;
    this.#bySender.set(sender, mine + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#total--;
      if (!known) this.#strangerTotal--;
      const n = (this.#bySender.get(sender) ?? 1) - 1;
      if (n > 0) this.#bySender.set(sender, n);
      else this.#bySender.delete(sender);
    };
  }
}

/**
 * Token buckets: each sender may start `perSenderRate` exchanges a second (burst `perSenderBurst`),
 * everyone together `globalRate` (burst `globalBurst`). Buckets of senders not seen for a while
 * are forgotten (bounded map); forgetting one only refills that sender, the global bucket still
 * holds.
 */
export class SignalRate {
  readonly #o: Required<SignalRateOptions>;
  readonly #senders = new Map<string, { tokens: number; at: number }>();
  #global: { tokens: number; at: number };

  constructor(o: SignalRateOptions = {}) {
    this.#o = {
      perSenderRate: o.perSenderRate ?? 5,
      perSenderBurst: o.perSenderBurst ?? 20,
      globalRate: o.globalRate ?? 200,
      globalBurst: o.globalBurst ?? 400,
      maxSenders: o.maxSenders ?? 4096,
    };
    this.#global = { tokens: this.#o.globalBurst, at: 0 };
  }

  static #refill(b: { tokens: number; at: number }, rate: number, burst: number, now: number) {
    b.tokens = Math.min(burst, b.tokens + ((now - b.at) / 1000) * rate);
    b.at = now;
  }

  /** True when `sender` may start one more exchange now (a token is taken), false to drop it. */
  take(sender: string, now = performance.now()): boolean {
    const o = this.#o;
    let b = this.#senders.get(sender);
    if (b) this.#senders.delete(sender);
    else {
      b = { tokens: o.perSenderBurst, at: now };
      if (this.#senders.size >= o.maxSenders) {
        const oldest = this.#senders.keys().next().value;
        if (oldest !== undefined) this.#senders.delete(oldest);
      }
    }
    // Most recently active last: the map's front holds the oldest.
    this.#senders.set(sender, b);
    SignalRate.#refill(b, o.perSenderRate, o.perSenderBurst, now);
    if (this.#global.at === 0) this.#global.at = now;
    SignalRate.#refill(this.#global, o.globalRate, o.globalBurst, now);
    if (b.tokens < 1 || this.#global.tokens < 1) return false;
    b.tokens--;
    this.#global.tokens--;
    return true;
  }
}

export interface SignalRateOptions {
  perSenderRate?: number;
  perSenderBurst?: number;
  globalRate?: number;
  globalBurst?: number;
  maxSenders?: number;
}

/** Node ids we chose to talk to (we signaled them), remembered for `ttlMs`, at most `max`. */
export class Contacts {
  readonly #seen = new Map<string, number>();
  readonly #ttlMs: number;
  readonly #max: number;
  constructor(ttlMs = 10 * 60_000, max = 4096) {
    this.#ttlMs = ttlMs;
    this.#max = max;
  }
  add(nodeId: string, now = Date.now()): void {
    this.#seen.delete(nodeId);
    this.#seen.set(nodeId, now);
    if (this.#seen.size > this.#max) {
      const oldest = this.#seen.keys().next().value;
      if (oldest !== undefined) this.#seen.delete(oldest);
    }
  }
  has(nodeId: string, now = Date.now()): boolean {
    const t = this.#seen.get(nodeId);
    return t !== undefined && now - t <= this.#ttlMs;
  }
}

/**
 * Punch probes a stranger's offers may make us send (issue 16: an offer names an address, and
 * a claimed symmetric NAT asks for a spray): at most `perOffer` per offer, and all strangers'
 * offers together `perMinute` a minute (a token bucket holding one spray's worth). Packets to
 * nodes we chose to talk to are not counted.
 */
export class ProbeBudget {
  readonly perOffer: number;
  readonly #rate: number;
  readonly #burst: number;
  #tokens: number;
  #at = 0;
  constructor(o: { perOffer?: number; perMinute?: number } = {}) {
    this.perOffer = o.perOffer ?? 2500;
    this.#rate = (o.perMinute ?? 10_000) / 60_000;
    this.#burst = Math.max(this.perOffer, o.perMinute ?? 10_000);
    this.#tokens = this.#burst;
  }

  /** One offer's gate: true while this offer and the node-wide bucket both allow one more probe. */
  forOffer(): () => boolean {
    let left = this.perOffer;
    return () => {
      if (left <= 0) return false;
      const now = performance.now();
      if (this.#at !== 0)
        this.#tokens = Math.min(this.#burst, this.#tokens + (now - this.#at) * this.#rate);
      this.#at = now;
      if (this.#tokens < 1) return false;
      this.#tokens--;
      left--;
      return true;
    };
  }
}
