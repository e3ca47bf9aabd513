/**
 * Caps work started by signaling: anyone can make a key, so one sender (and everyone together)
 * may only keep so many responders running at once.
 */
export class InFlightLimit {
  readonly #max: number;
  readonly #perSender: number;
  readonly #bySender = new Map<string, number>();
  #total = 0;

  constructor(max = 32, perSender = 4) {
    this.#max = max;
    this.#perSender = perSender;
  }

  get inFlight(): number {
    return this.#total;
  }

  /** Takes a slot for `sender`: a release function (call it once), or undefined when full. */
  acquire(sender: string): (() => void) | undefined {
    const mine = this.#bySender.get(sender) ?? 0;
    if (this.#total >= this.#max || mine >= this.#perSender) return undefined;
    this.#total++;
    this.#bySender.set(sender, mine + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#total--;
      const n = (this.#bySender.get(sender) ?? 1) - 1;
      if (n > 0) this.#bySender.set(sender, n);
      else this.#bySender.delete(sender);
    };
  }
}
