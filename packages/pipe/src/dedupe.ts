import { createHash } from "node:crypto";

/** A FIFO-bounded set: duplicate suppression without unbounded memory. */
export class BoundedSet {
  private readonly set = new Set<string>();
  constructor(private readonly max: number) {}
  has(k: string): boolean {
    return this.set.has(k);
  }
  add(k: string): void {
    if (this.set.has(k)) return;
    this.set.add(k);
    if (this.set.size > this.max) {
      const first = this.set.values().next().value as string;
      this.set.delete(first);
    }
  }
}

/**
 * P2PD's `enable_msg_ids`: drops a message whose (source IP, payload) was seen recently. It is
 * content-based (no wire format); the table keeps the last `window` keys (FIFO, where P2PD reset it).
 */
export class Deduper {
  private readonly keys: BoundedSet;

  constructor(window: number) {
    this.keys = new BoundedSet(window);
  }

  /** True when this (ip, payload) is a repeat; records it otherwise. */
  seen(ip: string, data: Buffer): boolean {
    const key = createHash("sha1").update(ip).update("\u0000").update(data).digest("base64");
    if (this.keys.has(key)) return true;
    this.keys.add(key);
    return false;
  }
}
