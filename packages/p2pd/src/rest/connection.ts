import type { Socket } from "node:net";
import type { Pipe, Subscription } from "@p2pd/pipe";
import { RestError } from "./errors.js";
import { asRestError } from "./failure.js";
import { compileUserRegex, MATCH_PREFIX } from "./regex-guard.js";

/** A REST connection is a @p2pd/pipe Pipe (what `node.connect()` returns). */
export type RestPipe = Pipe;

/** Per-subscription queue bound (the pipe's `maxQueue`). Overflow: the oldest is dropped, counted. */
export const MAX_QUEUE = 1000;
/** Subscriptions per connection: every message is matched against each one. */
export const MAX_SUBS = 64;
/** A relayed HTTP client that stops reading is cut off once this much waits for it. */
export const MAX_RELAY_BACKLOG = 8 * 1024 * 1024;
/** "ip:port" (IPv6 with brackets) is never longer than this. */
const ADDR_LEN = 64;

function compile(source: string, what: string, inputLen: number): RegExp {
  return compileUserRegex(source, what, inputLen);
}

/** The REST side of one subscription: the pipe holds the queue; we count who waits on it. */
interface RestSub {
  msg: string;
  addr: string;
  sub: { msg: RegExp; addr: RegExp };
  queue: Subscription;
  waiting: number;
}

/** One strategy of the attempt that opened a connection (@p2pd/node's TimelineEntry). */
export interface AttemptStep {
  strategy: string;
  startMs: number;
  endMs: number;
  outcome: string;
  code?: string;
  message?: string;
}

const keyOf = (msg: string, addr: string) => `${msg}\0${addr}`;

/**
 * One named connection of the REST API: counters, the relay socket, and the pipe's own
 * subscriptions (bounded queues) matched by linear-time (RE2) regexes.
 */
export class Connection {
  readonly name: string;
  readonly strategy: string;
  readonly pipe: RestPipe;
  readonly openedAt = new Date();
  readonly connectMs: number;
  /** The connect attempt: which strategies raced, when, and how each ended. */
  readonly timeline: readonly AttemptStep[];
  bytesIn = 0;
  bytesOut = 0;
  msgsIn = 0;
  msgsOut = 0;
  /** The HTTP socket this connection is relayed to (`/tunnel`), if any. */
  relay: Socket | undefined;
  readonly #subs = new Map<string, RestSub>();
  readonly #off: () => void;

  constructor(
    name: string,
    strategy: string,
    pipe: RestPipe,
    connectMs: number,
    timeline: readonly AttemptStep[] = [],
  ) {
    this.name = name;
    this.strategy = strategy;
    this.pipe = pipe;
    this.connectMs = connectMs;
    this.timeline = timeline;
    this.subscribe("", "");
    // First look at every message: count it, and while relayed, send it to the socket only (no
    // queue grows behind the user's back).
    this.#off = pipe.intercept((data) => {
      this.msgsIn++;
      this.bytesIn += data.length;
      const relay = this.relay;
      if (!relay) return false;
      relay.write(data);
      if (relay.writableLength > MAX_RELAY_BACKLOG) relay.destroy();
      return true;
    });
  }

  get from(): string {
    const r = this.pipe.remote;
    return r ? `${r.host}:${r.port}` : "";
  }

  subscribe(msg: string, addr: string): void {
    const key = keyOf(msg, addr);
    if (this.#subs.has(key)) return;
    if (this.#subs.size >= MAX_SUBS) {
      throw new RestError("ERR_TOO_MANY_SUBS", 409, `at most ${MAX_SUBS} subscriptions`);
    }
    const sub = {
      msg: compile(msg, "message", MATCH_PREFIX),
      addr: compile(addr, "address", ADDR_LEN),
    };
    let queue: Subscription;
    try {
      queue = this.pipe.subscribe(sub, { maxQueue: MAX_QUEUE, overflow: "drop-oldest" });
    } catch (e) {
      throw asRestError(e);
    }
    this.#subs.set(key, { msg, addr, sub, queue, waiting: 0 });
  }

  unsubscribe(msg: string, addr: string): boolean {
    const s = this.#subs.get(keyOf(msg, addr));
    if (!s) return false;
    this.#subs.delete(keyOf(msg, addr));
    this.pipe.unsubscribe(s.sub);
    return true;
  }

  subs(): { msg: string; addr: string; queued: number; dropped: number; waiting: number }[] {
    return [...this.#subs.values()].map((s) => ({
      msg: s.msg,
      addr: s.addr,
      queued: s.queue.size,
      dropped: s.queue.dropped,
      waiting: s.waiting,
    }));
  }

  /** Next message of the (msg, addr) subscription, waiting up to `timeoutMs`. */
  async recv(msg: string, addr: string, timeoutMs: number, signal: AbortSignal): Promise<Buffer> {
    const s = this.#subs.get(keyOf(msg, addr));
    if (!s) throw new RestError("ERR_NOT_SUBSCRIBED", 404, "no such subscription: subscribe first");
    s.waiting++;
    try {
      // ERR_RECV_TIMEOUT, ERR_CLOSED (the connection ended while waiting), ERR_ABORTED.
      return await this.pipe.recv({ sub: s.sub, timeout: timeoutMs, signal });
    } finally {
      s.waiting--;
    }
  }

  async send(data: Buffer): Promise<void> {
    try {
      await this.pipe.send(data);
    } catch (e) {
      // A pipe's refusal of the message itself (framing, size) maps to a 400, the rest to 502.
      throw asRestError(e, "ERR_SEND", 502);
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
      timeline: this.timeline,
    };
  }

  async close(): Promise<void> {
    this.#off();
    this.relay?.destroy();
    await this.pipe.close();
  }
}
