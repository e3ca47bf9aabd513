import type { Socket } from "node:net";
import { RestError } from "./errors.js";
import { checkRegexCost, MATCH_PREFIX } from "./regex-guard.js";
import { httpStatusFor } from "./status.js";

/** What the REST layer needs from a P2P connection (a @p2pd/node NodePipe fits). */
export interface RestPipe {
  send(data: Uint8Array | string): Promise<void>;
  onMessage(cb: (data: Buffer) => void): () => void;
  onClose(cb: () => void): () => void;
  close(): Promise<void>;
  readonly remote?: { host: string; port: number } | undefined;
}

/** Per-subscription queue bound. Overflow policy: drop the oldest message and count it. */
export const MAX_QUEUE = 1000;
/** Subscriptions per connection: every message is matched against each one. */
export const MAX_SUBS = 64;
/** A relayed HTTP client that stops reading is cut off once this much waits for it. */
export const MAX_RELAY_BACKLOG = 8 * 1024 * 1024;
/** "ip:port" (IPv6 with brackets) is never longer than this. */
const ADDR_LEN = 64;

interface Sub {
  msg: RegExp;
  addr: RegExp;
  queue: Buffer[];
  dropped: number;
  waiters: Set<(b: Buffer) => void>;
}

function compile(source: string, what: string, inputLen: number): RegExp {
  checkRegexCost(source, what, inputLen);
  try {
    return new RegExp(source);
  } catch (e) {
    throw new RestError(
      "ERR_BAD_REGEX",
      400,
      `${what} regex does not compile: ${(e as Error).message}`,
    );
  }
}

const keyOf = (msg: string, addr: string) => `${msg}\0${addr}`;

/** One named connection of the REST API: subscriptions with bounded queues, counters, relay. */
export class Connection {
  readonly name: string;
  readonly strategy: string;
  readonly pipe: RestPipe;
  readonly openedAt = new Date();
  readonly connectMs: number;
  bytesIn = 0;
  bytesOut = 0;
  msgsIn = 0;
  msgsOut = 0;
  /** The HTTP socket this connection is relayed to (`/tunnel`), if any. */
  relay: Socket | undefined;
  readonly #subs = new Map<string, Sub>();
  readonly #off: () => void;
  /** Aborted when the P2P connection ends: pending recvs fail at once instead of timing out. */
  readonly #ended = new AbortController();

  constructor(name: string, strategy: string, pipe: RestPipe, connectMs: number) {
    this.name = name;
    this.strategy = strategy;
    this.pipe = pipe;
    this.connectMs = connectMs;
    this.subscribe("", "");
    this.#off = pipe.onMessage((data) => this.#deliver(data));
    pipe.onClose(() => this.#ended.abort());
  }

  get from(): string {
    const r = this.pipe.remote;
    return r ? `${r.host}:${r.port}` : "";
  }

  #deliver(data: Buffer): void {
    this.msgsIn++;
    this.bytesIn += data.length;
    if (this.relay) {
      // While relayed, bytes go to the HTTP socket only: no queue grows behind the user's back.
      this.relay.write(data);
      if (this.relay.writableLength > MAX_RELAY_BACKLOG) this.relay.destroy();
      return;
    }
    // Only a bounded prefix is matched: with the regex cost check, every match is bounded.
    const text = data.subarray(0, MATCH_PREFIX).toString("latin1");
    const from = this.from;
    for (const sub of this.#subs.values()) {
      if (!sub.msg.test(text) || !sub.addr.test(from)) continue;
      const [waiter] = sub.waiters;
      if (waiter) {
        sub.waiters.delete(waiter);
        waiter(data);
        continue;
      }
      sub.queue.push(data);
      if (sub.queue.length > MAX_QUEUE) {
        sub.queue.shift();
        sub.dropped++;
      }
    }
  }

  subscribe(msg: string, addr: string): void {
    const key = keyOf(msg, addr);
    if (this.#subs.has(key)) return;
    if (this.#subs.size >= MAX_SUBS) {
      throw new RestError("ERR_TOO_MANY_SUBS", 409, `at most ${MAX_SUBS} subscriptions`);
    }
    this.#subs.set(key, {
      msg: compile(msg, "message", MATCH_PREFIX),
      addr: compile(addr, "address", ADDR_LEN),
      queue: [],
      dropped: 0,
      waiters: new Set(),
    });
  }

  unsubscribe(msg: string, addr: string): boolean {
    return this.#subs.delete(keyOf(msg, addr));
  }

  subs(): { msg: string; addr: string; queued: number; dropped: number; waiting: number }[] {
    return [...this.#subs.values()].map((s) => ({
      msg: s.msg.source === "(?:)" ? "" : s.msg.source,
      addr: s.addr.source === "(?:)" ? "" : s.addr.source,
      queued: s.queue.length,
      dropped: s.dropped,
      waiting: s.waiters.size,
    }));
  }

  /** Next message of the (msg, addr) subscription, waiting up to `timeoutMs`. */
  recv(msg: string, addr: string, timeoutMs: number, signal: AbortSignal): Promise<Buffer> {
    const sub = this.#subs.get(keyOf(msg, addr));
    if (!sub) {
      return Promise.reject(
        new RestError("ERR_NOT_SUBSCRIBED", 404, "no such subscription: subscribe first"),
      );
    }
    const queued = sub.queue.shift();
    if (queued) return Promise.resolve(queued);
    const ended = () => new RestError("ERR_CLOSED", 410, `connection "${this.name}" is closed`);
    if (this.#ended.signal.aborted) return Promise.reject(ended());
    return new Promise((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener("abort", onAbort);
        this.#ended.signal.removeEventListener("abort", onEnded);
        sub.waiters.delete(waiter);
      };
      const onEnded = () => {
        done();
        reject(ended());
      };
      const waiter = (b: Buffer) => {
        done();
        resolve(b);
      };
      const onAbort = () => {
        done();
        reject(new RestError("ERR_ABORTED", 499, "request aborted"));
      };
      const timer = setTimeout(() => {
        done();
        reject(new RestError("ERR_RECV_TIMEOUT", 504, `no message within ${timeoutMs} ms`));
      }, timeoutMs);
      sub.waiters.add(waiter);
      signal.addEventListener("abort", onAbort, { once: true });
      this.#ended.signal.addEventListener("abort", onEnded, { once: true });
    });
  }

  async send(data: Buffer): Promise<void> {
    try {
      await this.pipe.send(data);
    } catch (e) {
      const code = (e as { code?: string }).code ?? "ERR_SEND";
      // Framing or size: the client's fault (400); a closed pipe 410; else the peer's (502).
      throw new RestError(code, httpStatusFor({ code }, 502), (e as Error).message, { cause: e });
    }
    this.msgsOut++;
    this.bytesOut += data.length;
  }

  info(): Record<string, unknown> {
    const r = this.pipe.remote;
    return {
      name: this.name,
      strategy: this.strategy,
      remote: r ? { ip: r.host, port: r.port } : null,
      openedAt: this.openedAt.toISOString(),
      connectMs: Math.round(this.connectMs * 10) / 10,
      bytesIn: this.bytesIn,
      bytesOut: this.bytesOut,
      msgsIn: this.msgsIn,
      msgsOut: this.msgsOut,
      subs: this.subs(),
      relayed: this.relay !== undefined,
    };
  }

  async close(): Promise<void> {
    this.#off();
    this.#ended.abort();
    this.relay?.destroy();
    await this.pipe.close();
  }
}
