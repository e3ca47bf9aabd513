import { createHash } from "node:crypto";

/**
 * P2PD's `enable_msg_ids`: drops a message whose (source IP, payload) was seen recently. It is
 * content-based (no wire format); the table keeps the last `window` keys (FIFO, where P2PD reset it).
 */
export class Deduper {
  private readonly seenKeys = new Set<string>();
  private readonly order: string[] = [];
  private head = 0;

  constructor(private readonly window: number) {}

  /** True when this (ip, payload) is a repeat; records it otherwise. */
  seen(ip: string, data: Buffer): boolean {
    const key = createHash("sha1").update(ip).update("\u0000").update(data).digest("base64");
    if (this.seenKeys.has(key)) return true;
    this.seenKeys.add(key);
    this.order.push(key);
    if (this.order.length - this.head > this.window) {
      this.seenKeys.delete(this.order[this.head] as string);
      this.head++;
      if (this.head > 4096 && this.head * 2 > this.order.length) {
        this.order.splice(0, this.head);
        this.head = 0;
      }
    }
    return false;
  }
}
