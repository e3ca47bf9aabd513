import type { Endpoint } from "@p2pd/netifaces";
import { PipeError } from "./errors.js";

/** One pattern: a RegExp, a regex source string, or bytes (read as latin1). Empty = match all. */
export type Pattern = RegExp | string | Uint8Array | null | undefined;

/**
 * A subscription: a message regex and a peer-address regex ("ip:port", no brackets).
 * Accepted as the Python-style tuple `[msg, addr]` or an object `{ msg, addr }`.
 */
export type SubLike = readonly [Pattern?, Pattern?] | { msg?: Pattern; addr?: Pattern } | undefined;

/** Match everything (P2PD's SUB_ALL). */
export const SUB_ALL: SubLike = Object.freeze({});

/**
 * What happens when a bounded queue is full:
 * - `drop-oldest` (default, as P2PD): the oldest queued message is discarded;
 * - `drop-newest`: the arriving message is discarded;
 * - `error`: the arriving message is discarded and the next recv() rejects with ERR_QUEUE_FULL;
 * - `pause` (TCP): nothing is lost; the pipe stops reading its socket until the queue has room
 *   (TCP flow control then slows the sender). On UDP, which cannot pause, it acts as `drop-newest`.
 */
export type OverflowPolicy = "drop-oldest" | "drop-newest" | "error" | "pause";

/** What a pipe delivers: the payload, its sender and the pipe it arrived on (reply with `pipe.send`). */
export interface Message {
  data: Buffer;
  from: Endpoint;
  pipe: import("./pipe.js").Pipe;
}

/**
 * Bytes queued across many subscriptions (e.g. every connection of a server): a queue counts as
 * full while the budget is spent, whatever its own bounds.
 */
export interface QueueBudget {
  readonly maxBytes: number;
  used: number;
}

export interface SubscribeOptions {
  /** Queue bound (default: the pipe's `maxQueue`, 1000). 0 = unbounded. */
  maxQueue?: number;
  /** Queue bound in payload bytes (default: the pipe's `maxQueueBytes`, 0 = unbounded). */
  maxQueueBytes?: number;
  /** A byte budget shared with other queues (default: the pipe's `queueBudget`). */
  budget?: QueueBudget;
  overflow?: OverflowPolicy;
  /** Deliver matching messages to this function instead of queueing them. */
  handler?: (msg: Message) => unknown;
}

function compile(p: Pattern, what: string): RegExp | null {
  if (p === null || p === undefined) return null;
  if (p instanceof RegExp) {
    if (p.source === "(?:)") return null;
    // Drop g/y so test() has no lastIndex state between messages.
    return p.global || p.sticky ? new RegExp(p.source, p.flags.replace(/[gy]/g, "")) : p;
  }
  if (typeof p !== "string" && !(p instanceof Uint8Array)) {
    throw new PipeError("ERR_BAD_REGEX", `${what} pattern must be a RegExp, string or bytes`);
  }
  const src = typeof p === "string" ? p : Buffer.from(p).toString("latin1");
  if (src === "") return null;
  try {
    return new RegExp(src);
  } catch (e) {
    throw new PipeError("ERR_BAD_REGEX", `${what} pattern does not compile: ${src}`, { cause: e });
  }
}

/** The compiled form of a SubLike plus its canonical key (order-sensitive, unlike P2PD's). */
export interface SubKey {
  key: string;
  msg: RegExp | null;
  addr: RegExp | null;
}

export function parseSub(sub: SubLike): SubKey {
  let mp: Pattern;
  let ap: Pattern;
  if (sub === undefined || sub === null) {
    mp = undefined;
    ap = undefined;
  } else if (Array.isArray(sub)) {
    [mp, ap] = sub as readonly [Pattern?, Pattern?];
  } else if (typeof sub === "object") {
    mp = (sub as { msg?: Pattern }).msg;
    ap = (sub as { addr?: Pattern }).addr;
  } else {
    throw new PipeError("ERR_BAD_REGEX", "a subscription is [msg, addr] or { msg, addr }");
  }
  const msg = compile(mp, "message");
  const addr = compile(ap, "address");
  const k = (r: RegExp | null) => (r ? `${r.source}/${r.flags}` : "");
  return { key: `${k(msg)}\u0000${k(addr)}`, msg, addr };
}

const noop = (_e: Error) => {};

type Waiter = {
  // Resolves with the whole message, or only its bytes for recv() (one promise less per message).
  resolve: (m: Message | Buffer) => void;
  reject: (e: Error) => void;
  full: boolean;
};

/** A subscription's bounded FIFO plus the recv() calls waiting on it. */
export class Subscription {
  readonly key: string;
  readonly msg: RegExp | null;
  readonly addr: RegExp | null;
  readonly matchAll: boolean;
  readonly maxQueue: number;
  readonly overflow: OverflowPolicy;
  readonly handler: ((msg: Message) => unknown) | undefined;
  /** The cancel of an already-settled next() (nothing to time out). */
  static readonly settledCancel = noop;
  /** Messages discarded because the queue was full. */
  dropped = 0;
  private items: Message[] = [];
  private head = 0;
  private waiters: Waiter[] = [];
  private overflowed = false;
  private closedWith: Error | undefined;
  /** What close() was given when it was a factory: built on first use (most closes have no reader). */
  private closedBy: (() => Error) | undefined;
  /** Set by TCP pipes for `pause`: the queue may exceed its bound while the reader pauses. */
  canPause = false;
  /** Called when a full `pause` queue gets room again (resumes reading). */
  onRoom: (() => void) | undefined;

  readonly maxQueueBytes: number;
  readonly budget: QueueBudget | undefined;
  /** Payload bytes queued. */
  bytes = 0;

  /** True when the queue holds `maxQueue` messages or `maxQueueBytes`. */
  get ownFull(): boolean {
    return (
      (this.maxQueue > 0 && this.size >= this.maxQueue) ||
      (this.maxQueueBytes > 0 && this.bytes >= this.maxQueueBytes)
    );
  }

  /** True when the queue is at its own bounds, or the shared budget is spent. */
  get full(): boolean {
    return this.ownFull || this.budgetSpent;
  }

  /** The shared budget is spent (by any queue). */
  get budgetSpent(): boolean {
    return this.budget !== undefined && this.budget.used >= this.budget.maxBytes;
  }

  /**
   * True while this queue holds its pipe's reading paused: full under `pause`, or (any policy)
   * holding messages while the shared budget is spent, so a node-wide flood meets TCP
   * backpressure instead of memory. An empty queue never holds: its reader caught up.
   */
  get holding(): boolean {
    return this.size > 0 && (this.overflow === "pause" ? this.full : this.budgetSpent);
  }

  #released = false;

  #take(n: number): void {
    this.bytes += n;
    if (this.budget && !this.#released) this.budget.used += n;
  }

  #give(n: number): void {
    this.bytes -= n;
    if (this.budget && !this.#released) this.budget.used -= n;
  }

  constructor(
    k: SubKey,
    opts: Required<Pick<SubscribeOptions, "maxQueue" | "overflow">> & SubscribeOptions,
  ) {
    this.key = k.key;
    this.msg = k.msg;
    this.addr = k.addr;
    this.matchAll = !k.msg && !k.addr;
    this.maxQueue = opts.maxQueue;
    this.maxQueueBytes = opts.maxQueueBytes ?? 0;
    this.budget = opts.budget;
    this.overflow = opts.overflow;
    this.handler = opts.handler;
  }

  /** Messages waiting to be received. */
  get size(): number {
    return this.items.length - this.head;
  }

  /** Hands `data` to the first waiting recv() when it wants bytes only; false when none does. */
  takeBytes(data: Buffer): boolean {
    const w = this.waiters[0];
    if (!w || w.full) return false;
    this.waiters.shift();
    w.resolve(data);
    return true;
  }

  /** Hands the message to a waiting recv(), or queues it under the overflow policy. */
  push(m: Message): void {
    const w = this.waiters.shift();
    if (w) {
      w.resolve(w.full ? m : m.data);
      return;
    }
    if (this.canPause && this.budgetSpent && this.overflow !== "pause") {
      // The pipe pauses its reading after this message (see holding).
      this.items.push(m);
      this.#take(m.data.length);
      return;
    }
    if (this.full) {
      if (this.overflow === "pause" && this.canPause) {
        // Over the bound only by what one read already held; the reader is paused.
        this.items.push(m);
        this.#take(m.data.length);
        return;
      }
      if (this.overflow === "drop-newest" || this.overflow === "pause") {
        this.dropped++;
        return;
      }
      if (this.overflow === "error") {
        this.dropped++;
        this.overflowed = true;
        return;
      }
      // drop-oldest: make room; when the shared budget is spent by others, drop this one.
      while (this.size > 0 && this.ownFull) {
        const old = this.items[this.head] as Message;
        this.items[this.head++] = undefined as unknown as Message;
        this.#give(old.data.length);
        this.dropped++;
      }
      if (this.full) {
        this.dropped++;
        this.compact();
        return;
      }
    }
    this.items.push(m);
    this.#take(m.data.length);
    this.compact();
  }

  /** Reclaims consumed slots so a long-lived queue stays O(maxQueue) in memory. */
  private compact(): void {
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }

  /** Next message, or undefined; throws ERR_QUEUE_FULL once after an `error`-policy overflow. */
  shift(): Message | undefined {
    if (this.overflowed) {
      this.overflowed = false;
      throw new PipeError("ERR_QUEUE_FULL", "subscription queue overflowed; messages were dropped");
    }
    if (this.head >= this.items.length) return undefined;
    const wasHolding = this.holding;
    const m = this.items[this.head] as Message;
    this.items[this.head++] = undefined as unknown as Message;
    this.#give(m.data.length);
    this.compact();
    if (this.onRoom && wasHolding && !this.holding) this.onRoom();
    return m;
  }

  /** Waits for the next message (queued ones first); `full` false resolves with its bytes only. */
  next(full: true): { promise: Promise<Message>; cancel: (e: Error) => void };
  next(full: false): { promise: Promise<Buffer>; cancel: (e: Error) => void };
  next(full: boolean): { promise: Promise<Message | Buffer>; cancel: (e: Error) => void } {
    const m = this.shift();
    if (m) return { promise: Promise.resolve(full ? m : m.data), cancel: noop };
    const closed = this.closedError();
    if (closed) return { promise: Promise.reject(closed), cancel: noop };
    let waiter!: Waiter;
    const promise = new Promise<Message | Buffer>((resolve, reject) => {
      waiter = { resolve, reject, full };
    });
    this.waiters.push(waiter);
    return {
      promise,
      cancel: (e) => {
        const i = this.waiters.indexOf(waiter);
        if (i >= 0) {
          this.waiters.splice(i, 1);
          waiter.reject(e);
        }
      },
    };
  }

  /**
   * next() for a wait nothing can cut short (no timeout, no signal): only the promise, so a
   * recv() loop allocates no cancel closure or result object per message.
   */
  nextOnly(full: boolean): Promise<Message | Buffer> {
    const m = this.shift();
    if (m) return Promise.resolve(full ? m : m.data);
    const closed = this.closedError();
    if (closed) return Promise.reject(closed);
    return new Promise<Message | Buffer>((resolve, reject) => {
      this.waiters.push({ resolve, reject, full });
    });
  }

  /** The error a closed queue rejects waits with (built once, on first need); undefined while open. */
  private closedError(): Error | undefined {
    if (!this.closedWith && this.closedBy) {
      this.closedWith = this.closedBy();
      this.closedBy = undefined;
    }
    return this.closedWith;
  }

  /**
   * Rejects every waiter; later waits reject at once (queued messages stay readable). `e` may be
   * a function building the error, so a close nobody waits on builds no error (and no stack).
   */
  close(e: Error | (() => Error)): void {
    if (typeof e === "function") {
      this.closedWith = undefined;
      this.closedBy = e;
    } else {
      this.closedWith = e;
      this.closedBy = undefined;
    }
    // Messages stay readable, but a closed queue no longer spends the shared budget.
    if (this.budget && !this.#released) this.budget.used -= this.bytes;
    this.#released = true;
    const ws = this.waiters;
    this.waiters = [];
    if (ws.length === 0) return;
    const err = this.closedError() as Error;
    for (const w of ws) w.reject(err);
  }

  /** True when the message and sender address match (unanchored search, as P2PD's findall). */
  matches(msgText: () => string, addrText: () => string): boolean {
    if (this.addr && !this.addr.test(addrText())) return false;
    if (this.msg && !this.msg.test(msgText())) return false;
    return true;
  }
}
