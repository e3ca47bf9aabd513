import type { MessageTransport } from "@p2pd/pipe";
import { TraversalError } from "./errors.js";

interface Waiter<T> {
  resolve: (v: T) => void;
  reject: (e: Error) => void;
  cleanup: () => void;
}

/** FIFO with awaitable `shift`: backs `recv()` of the message-oriented duplexes. */
export class MessageQueue<T> {
  private items: T[] = [];
  private waiters: Waiter<T>[] = [];
  private endError: Error | undefined;
  constructor(private readonly maxItems = 4096) {}

  get size(): number {
    return this.items.length;
  }

  push(item: T): void {
    if (this.endError) return;
    const w = this.waiters.shift();
    if (w) {
      w.cleanup();
      w.resolve(item);
      return;
    }
    // Drop the oldest rather than grow without bound when nobody reads.
    if (this.items.length >= this.maxItems) this.items.shift();
    this.items.push(item);
  }

  /** Ends the queue: queued items stay readable, then every shift rejects with `err`. */
  end(err: Error): void {
    if (this.endError) return;
    this.endError = err;
    for (const w of this.waiters.splice(0)) {
      w.cleanup();
      w.reject(err);
    }
  }

  shift(opts: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<T> {
    const item = this.items.shift();
    if (item !== undefined) return Promise.resolve(item);
    if (this.endError) return Promise.reject(this.endError);
    const { signal, timeoutMs = 0 } = opts;
    if (signal?.aborted) {
      return Promise.reject(
        new TraversalError("ERR_RECV_TIMEOUT", "recv aborted", { cause: signal.reason }),
      );
    }
    return new Promise<T>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const onAbort = () => {
        this.remove(w);
        w.cleanup();
        reject(new TraversalError("ERR_RECV_TIMEOUT", "recv aborted", { cause: signal?.reason }));
      };
      const w: Waiter<T> = {
        resolve,
        reject,
        cleanup: () => {
          if (timer) clearTimeout(timer);
          signal?.removeEventListener("abort", onAbort);
        },
      };
      if (timeoutMs > 0) {
        timer = setTimeout(() => {
          this.remove(w);
          w.cleanup();
          reject(new TraversalError("ERR_RECV_TIMEOUT", `no message within ${timeoutMs} ms`));
        }, timeoutMs);
      }
      signal?.addEventListener("abort", onAbort, { once: true });
      this.waiters.push(w);
    });
  }

  private remove(w: Waiter<T>): void {
    const i = this.waiters.indexOf(w);
    if (i >= 0) this.waiters.splice(i, 1);
  }
}

/**
 * The receiving half of a MessageDuplex (queue, message and end listeners), shared by its
 * implementations. The owner says whether it is closed: its state may turn before `end` runs.
 */
export class DuplexInbox {
  private readonly queue = new MessageQueue<Buffer>();
  private readonly msgCbs = new Set<(d: Buffer) => void>();
  private readonly endCbs = new Set<(err?: Error) => void>();

  deliver(data: Buffer): void {
    for (const cb of this.msgCbs) cb(data);
    this.queue.push(data);
  }

  recv(opts?: { timeoutMs?: number; signal?: AbortSignal }): Promise<Buffer> {
    return this.queue.shift(opts);
  }

  onMessage(cb: (d: Buffer) => void): () => void {
    this.msgCbs.add(cb);
    return () => this.msgCbs.delete(cb);
  }

  onEnd(cb: (err?: Error) => void, closed: boolean): () => void {
    if (closed) {
      queueMicrotask(() => cb());
      return () => {};
    }
    this.endCbs.add(cb);
    return () => this.endCbs.delete(cb);
  }

  /** Ends recv() with `err` (else `closedError`), tells the end listeners, drops every listener. */
  end(err: Error | undefined, closedError: Error): void {
    this.queue.end(err ?? closedError);
    for (const cb of this.endCbs) cb(err);
    this.endCbs.clear();
    this.msgCbs.clear();
  }
}

/**
 * Message-oriented duplex shared by the TURN relay pipe and the reliable UDP stream: a @p2pd/pipe
 * MessageTransport (so `wrapMessages` makes it a Pipe, one message each) with recv() of its own.
 */
export interface MessageDuplex extends MessageTransport {
  readonly local: { host: string; port: number };
  readonly remote: { host: string; port: number };
  readonly closed: boolean;
  send(data: Uint8Array | string): Promise<number>;
  recv(opts?: { timeoutMs?: number; signal?: AbortSignal }): Promise<Buffer>;
  onMessage(cb: (data: Buffer) => void): () => void;
  /** Fires once, with the error that ended the duplex (undefined on a clean close). */
  onEnd(cb: (err?: Error) => void): () => void;
  close(): Promise<void>;
}
