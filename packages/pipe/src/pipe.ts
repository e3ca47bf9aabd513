import { EventEmitter } from "node:events";
import { debuglog } from "node:util";
import type { Endpoint, RouteLike } from "@p2pd/netifaces";
import { addrString, type DestLike } from "./address.js";
import { armDeadline } from "./deadline.js";
import { Deduper } from "./dedupe.js";
import { abortError, PipeError } from "./errors.js";
import {
  checkMaxQueue,
  checkOverflow,
  type EndCb,
  type MsgCb,
  nonNegBytes,
  type ResolvedOptions,
} from "./options.js";
import {
  type Interceptor,
  type PipeKind,
  type PipePeer,
  type Proto,
  type RecvOptions,
  type SendOptions,
  toBuffer,
} from "./pipe-types.js";
import {
  type Message,
  parseSub,
  type SubLike,
  type SubscribeOptions,
  Subscription,
} from "./subscription.js";

const debug = debuglog("p2pd:pipe");

export * from "./pipe-types.js";

export type PipeEvents = {
  message: [Message];
  close: [Error | undefined];
  error: [Error];
  connection: [Pipe];
};

const ALL_KEY = parseSub(undefined).key;

const NOOP_CANCEL = Subscription.settledCancel;

/**
 * One API for TCP and UDP, client and server, streams and message transports (P2PD's pipe).
 * Messages are dispatched to interceptors, relays, subscription queues, message callbacks,
 * 'message' listeners, then the parent server.
 */
export abstract class Pipe extends EventEmitter<PipeEvents> {
  abstract readonly proto: Proto;
  abstract readonly kind: PipeKind;
  /** The bound local address (actual port after bind). */
  abstract readonly local: Endpoint;
  /** The peer for connected pipes and UDP pipes opened with a destination. */
  abstract readonly remote: Endpoint | undefined;
  readonly route: RouteLike | undefined;
  /**
   * Who the far end proved to be, set by an authenticating layer under the pipe (a node's
   * encrypted connection sets the verified node id); undefined when nothing was proven.
   */
  peer: PipePeer | undefined;
  /** The last error reported while no 'error' listener was attached. */
  lastError: Error | undefined;
  protected readonly cfg: ResolvedOptions;
  protected parent: Pipe | undefined;
  private readonly subs = new Map<string, Subscription>();
  private subList: Subscription[] = [];
  /** Set when the catch-all queue is the only subscription: no regex or string work per message. */
  private fastAll: Subscription | undefined;
  private msgCbs: MsgCb[] = [];
  private endCbs: EndCb[] = [];
  private relays: Pipe[] = [];
  private interceptors: Interceptor[] = [];
  private ended = false;
  private endError: Error | undefined;
  private closing: Promise<void> | undefined;
  private readonly deduper: Deduper | undefined;

  constructor(cfg: ResolvedOptions, route: RouteLike | undefined, parent?: Pipe) {
    super();
    this.cfg = cfg;
    this.route = route;
    this.parent = parent;
    if (cfg.onMessage && !parent) this.msgCbs.push(cfg.onMessage);
    if (cfg.onEnd && !parent) this.endCbs.push(cfg.onEnd);
    if (cfg.dedupe) this.deduper = new Deduper(cfg.dedupeWindow);
  }

  /** False once the pipe is closed (locally or by the peer). */
  get isOpen(): boolean {
    return !this.ended;
  }

  /** Sends one message. `dest` picks the peer on UDP and TCP-server pipes; resolves with the byte count. */
  abstract send(data: Uint8Array | string, dest?: DestLike, opts?: SendOptions): Promise<number>;

  /** The checks every send() starts with (open, not aborted, bytes, at most `max`); throws its rejection. */
  protected sendable(
    data: Uint8Array | string,
    signal?: AbortSignal,
    max = 0,
    what = "message",
  ): Buffer {
    if (this.ended) throw this.closedError();
    if (signal?.aborted) throw abortError(signal, "send");
    const buf = toBuffer(data);
    if (max > 0 && buf.length > max)
      throw new PipeError("ERR_MSG_TOO_LARGE", `${what} of ${buf.length} B exceeds ${max} B`);
    return buf;
  }

  /** Closes the transport; called once by close(). */
  protected abstract closeTransport(reset: boolean): Promise<void>;

  // --- subscriptions -------------------------------------------------------------------------

  /**
   * Adds (or returns the existing) queue for `[msgRegex, addrRegex]`. Throws ERR_BAD_REGEX, and
   * ERR_BAD_ARGUMENT for a bad `maxQueue`, `overflow` or `handler`.
   */
  subscribe(sub?: SubLike, opts: SubscribeOptions = {}): Subscription {
    const k = parseSub(sub);
    const maxQueue = checkMaxQueue(opts.maxQueue ?? this.cfg.maxQueue);
    const overflow = checkOverflow(opts.overflow ?? this.cfg.overflow);
    if (opts.handler !== undefined && typeof opts.handler !== "function") {
      throw new PipeError("ERR_BAD_ARGUMENT", "handler must be a function");
    }
    const existing = this.subs.get(k.key);
    if (existing) return existing;
    const s = new Subscription(k, {
      maxQueueBytes: nonNegBytes(opts.maxQueueBytes ?? this.cfg.maxQueueBytes),
      budget: opts.budget ?? this.cfg.queueBudget,
      ...opts,
      maxQueue,
      overflow,
    });
    if (this.ended) s.close(this.closedError());
    if ((s.overflow === "pause" || s.budget) && this.canPauseInput()) {
      s.canPause = true;
      s.onRoom = () => this.maybeResume();
    }
    this.subs.set(k.key, s);
    this.refreshSubs();
    return s;
  }

  /** Removes a subscription; waiting recv() calls reject with ERR_NOT_SUBSCRIBED. */
  unsubscribe(sub?: SubLike): boolean {
    const k = parseSub(sub);
    const s = this.subs.get(k.key);
    if (!s) return false;
    this.subs.delete(k.key);
    s.close(new PipeError("ERR_NOT_SUBSCRIBED", "unsubscribed while waiting"));
    this.refreshSubs();
    this.maybeResume();
    return true;
  }

  /** The subscription for `sub`, if any. */
  subscription(sub?: SubLike): Subscription | undefined {
    return this.subs.get(sub === undefined ? ALL_KEY : parseSub(sub).key);
  }

  private refreshSubs(): void {
    this.subList = [...this.subs.values()];
    const only = this.subList.length === 1 ? this.subList[0] : undefined;
    this.fastAll = only?.matchAll && !only.handler ? only : undefined;
  }

  // --- receiving -----------------------------------------------------------------------------

  /** Awaits the next message of a subscription (UDP and TCP alike) and returns its bytes. */
  recv(opts: RecvOptions = {}): Promise<Buffer> {
    return this.wait(opts, false);
  }

  /** Like recv() but also returns the sender (`from`) and the pipe it came on. */
  recvFull(opts: RecvOptions = {}): Promise<Message> {
    return this.wait(opts, true);
  }

  private wait(opts: RecvOptions, full: true): Promise<Message>;
  private wait(opts: RecvOptions, full: false): Promise<Buffer>;
  private wait(opts: RecvOptions, full: boolean): Promise<Message | Buffer> {
    let s: Subscription | undefined;
    try {
      s = this.subscription(opts.sub);
    } catch (e) {
      return Promise.reject(e);
    }
    if (!s) {
      return Promise.reject(
        new PipeError(
          "ERR_NOT_SUBSCRIBED",
          "recv() on a subscription that does not exist; subscribe() first",
        ),
      );
    }
    const { signal } = opts;
    if (signal?.aborted) return Promise.reject(abortError(signal, "recv"));
    let timeout = opts.timeout ?? opts.timeoutMs ?? this.cfg.recvTimeoutMs;
    if (timeout === Number.POSITIVE_INFINITY) timeout = 0;
    if (typeof timeout !== "number" || !(timeout >= 0 && timeout <= 0x7fffffff)) {
      return Promise.reject(new PipeError("ERR_BAD_ARGUMENT", "timeout must be 0..2^31-1 ms"));
    }
    let w: { promise: Promise<Message | Buffer>; cancel: (e: Error) => void };
    try {
      if (timeout === 0 && !signal) return s.nextOnly(full);
      w = full ? s.next(true) : s.next(false);
    } catch (e) {
      return Promise.reject(e);
    }
    if (w.cancel === NOOP_CANCEL || (timeout === 0 && !signal)) return w.promise;
    const disarm = armDeadline(
      w.cancel,
      signal,
      "recv",
      timeout,
      () => new PipeError("ERR_RECV_TIMEOUT", `no message within ${timeout} ms`),
    );
    w.promise.then(disarm, disarm);
    return w.promise;
  }

  /** Async iteration over a subscription (created for the loop if missing); ends when the pipe closes. */
  async *messages(opts: { sub?: SubLike; signal?: AbortSignal } = {}): AsyncGenerator<Message> {
    const created = !this.subscription(opts.sub);
    if (created) this.subscribe(opts.sub);
    try {
      for (;;) {
        try {
          yield await this.recvFull({ sub: opts.sub, timeout: 0, signal: opts.signal });
        } catch (e) {
          if (
            e instanceof PipeError &&
            (e.code === "ERR_CLOSED" || e.code === "ERR_NOT_SUBSCRIBED")
          )
            return;
          throw e;
        }
      }
    } finally {
      if (created) this.unsubscribe(opts.sub);
    }
  }

  // --- callbacks -----------------------------------------------------------------------------

  /** Adds a message callback (sync or async; errors go to the 'error' event). Returns a remover. */
  onMessage(cb: MsgCb): () => void {
    this.msgCbs = [...this.msgCbs, cb];
    return () => this.offMessage(cb);
  }

  offMessage(cb: MsgCb): void {
    this.msgCbs = this.msgCbs.filter((c) => c !== cb);
  }

  /** Adds an end callback: runs once when the pipe closes, or soon if it already has. */
  onEnd(cb: EndCb): () => void {
    if (this.ended) {
      queueMicrotask(() => this.runCb((p: Pipe) => cb(p, this.endError), this));
    } else {
      this.endCbs = [...this.endCbs, cb];
    }
    return () => this.offEnd(cb);
  }

  offEnd(cb: EndCb): void {
    this.endCbs = this.endCbs.filter((c) => c !== cb);
  }

  /** Every message received here is also sent to `other` (one direction; see link()). */
  relayTo(other: Pipe): () => void {
    if (other === this) throw new PipeError("ERR_BAD_ARGUMENT", "a pipe cannot relay to itself");
    if (!this.relays.includes(other)) this.relays = [...this.relays, other];
    return () => this.unrelay(other);
  }

  unrelay(other: Pipe): void {
    this.relays = this.relays.filter((p) => p !== other);
  }

  /**
   * First look at every received message, before relays, subscriptions, callbacks and listeners
   * (a protocol layered on the pipe, e.g. the node's ID/ECHO verbs). Return true to consume it.
   * Several run in the order added; a throwing one is reported as 'error' and the message goes on.
   * A server's interceptors see its children's messages after the child delivered them.
   * Returns a function that removes the interceptor.
   */
  intercept(fn: Interceptor): () => void {
    if (typeof fn !== "function") {
      throw new PipeError("ERR_BAD_ARGUMENT", "intercept needs a function");
    }
    this.interceptors = [...this.interceptors, fn];
    return () => {
      this.interceptors = this.interceptors.filter((f) => f !== fn);
    };
  }

  /** True when an interceptor consumed the message. */
  private intercepted(data: Buffer, from: Endpoint): boolean {
    const fns = this.interceptors;
    for (let i = 0; i < fns.length; i++) {
      try {
        if ((fns[i] as Interceptor)(data, from) === true) return true;
      } catch (e) {
        this.reportError(e);
      }
    }
    return false;
  }

  /** Runs a user callback; a throw or a rejected promise becomes an 'error' event. */
  protected runCb<A>(fn: (arg: A) => unknown, arg: A): void {
    try {
      const r = fn(arg);
      if (r && typeof (r as Promise<unknown>).then === "function") {
        (r as Promise<unknown>).then(undefined, this.onCbError);
      }
    } catch (e) {
      this.reportError(e);
    }
  }

  private readonly onCbError = (e: unknown) => this.reportError(e);

  /** Emits 'error' when someone listens; otherwise keeps it in `lastError` (debug-logged). */
  protected reportError(e: unknown): void {
    const err = e instanceof Error ? e : new Error(String(e));
    this.lastError = err;
    if (this.listenerCount("error") === 0) {
      debug("unhandled pipe error: %s", err.message);
      return;
    }
    try {
      this.emit("error", err);
    } catch (e) {
      // A throwing 'error' listener must not unwind into a socket event (an uncaught exception).
      debug("'error' listener threw: %s", e instanceof Error ? e.message : String(e));
    }
  }

  /**
   * Emits to user listeners; one that throws is reported as 'error' instead of unwinding into
   * the socket callback that delivered the data (which would crash the process).
   */
  protected emitSafe<K extends "message" | "close" | "connection">(
    event: K,
    ...args: PipeEvents[K]
  ): void {
    try {
      (this.emit as (e: K, ...a: PipeEvents[K]) => boolean)(event, ...args);
    } catch (e) {
      this.reportError(e);
    }
  }

  /** Delivers one received message (relays, queues, callbacks, listeners, then the parent server). */
  protected dispatch(data: Buffer, from: Endpoint, origin: Pipe = this): void {
    if (this.interceptors.length > 0 && this.intercepted(data, from)) return;
    if (this.deduper && origin === this && this.deduper.seen(from.host, data)) return;
    let msg: Message | undefined;
    const relays = this.relays;
    for (let i = 0; i < relays.length; i++) {
      (relays[i] as Pipe).send(data).then(undefined, (e: unknown) => this.reportError(e));
    }
    const all = this.fastAll;
    if (all) {
      // A recv() waiting for bytes only takes them as they are: no Message object is built.
      if (!all.takeBytes(data)) {
        msg = { data, from, pipe: origin };
        all.push(msg);
        if (all.canPause && all.holding) origin.pauseInput(this);
      }
    } else if (this.subList.length > 0) {
      const m: Message = { data, from, pipe: origin };
      msg = m;
      let mt: string | undefined;
      let at: string | undefined;
      const msgText = () => {
        mt ??= data.toString("latin1");
        return mt;
      };
      const addrText = () => {
        at ??= addrString(from);
        return at;
      };
      for (const s of this.subList) {
        if (!s.matchAll && !s.matches(msgText, addrText)) continue;
        const h = s.handler;
        if (h) this.runCb(h, m);
        else {
          s.push(m);
          if (s.canPause && s.holding) origin.pauseInput(this);
        }
      }
    }
    const listening = this.listenerCount("message") > 0;
    if (this.msgCbs.length > 0 || listening) {
      msg ??= { data, from, pipe: origin };
      for (const cb of this.msgCbs) this.runCb(cb, msg);
      if (listening) this.emitSafe("message", msg);
    }
    const parent = this.parent;
    if (parent?.hasConsumers()) parent.dispatch(data, from, origin);
  }

  // --- flow control (overflow "pause") --------------------------------------------------------

  /** Pipes whose full `pause` queues hold this pipe's reading (itself, or its parent server). */
  private pausedBy = new Set<Pipe>();

  /** Whether this pipe (or its children, for a server) can stop reading its socket. */
  protected canPauseInput(): boolean {
    return false;
  }

  /** Stops reading because `holder` has a full `pause` queue. */
  protected pauseInput(holder: Pipe): void {
    if (this.pausedBy.size === 0) this.setReading(false);
    this.pausedBy.add(holder);
    holder.pausing.add(this);
  }

  /** Pipes this pipe's full queues are holding paused. */
  private pausing = new Set<Pipe>();

  /** After a recv(): resume every pipe held only by queues that now have room. */
  private maybeResume(): void {
    if (this.subList.some((s) => s.canPause && s.holding)) return;
    const held = [...this.pausing];
    this.pausing.clear();
    for (const p of held) {
      p.pausedBy.delete(this);
      if (p.pausedBy.size === 0) p.setReading(true);
    }
  }

  /** Pauses or resumes the socket; only TCP pipes can. */
  protected setReading(_on: boolean): void {}

  /** True when a message here would reach anyone (relays, queues, callbacks, listeners, parent). */
  protected hasConsumers(): boolean {
    return (
      this.relays.length > 0 ||
      this.interceptors.length > 0 ||
      this.subList.length > 0 ||
      this.msgCbs.length > 0 ||
      this.listenerCount("message") > 0 ||
      (this.parent?.hasConsumers() ?? false)
    );
  }

  // --- closing -------------------------------------------------------------------------------

  protected closedError(): PipeError {
    return new PipeError(
      "ERR_CLOSED",
      "pipe is closed",
      this.endError ? { cause: this.endError } : undefined,
    );
  }

  /** Marks the pipe closed: waiting recv() calls reject with ERR_CLOSED, end callbacks run once. */
  protected markEnded(error?: Error): void {
    if (this.ended) return;
    this.ended = true;
    this.endError = error;
    // Built only if a recv() waits or comes later: most pipes close with nobody reading.
    let err: PipeError | undefined;
    for (const s of this.subList) s.close(() => (err ??= this.closedError()));
    const cbs = this.endCbs;
    this.endCbs = [];
    for (const cb of cbs) this.runCb((p: Pipe) => cb(p, error), this);
    this.relays = [];
    this.emitSafe("close", error);
  }

  /** Closes the pipe and releases its sockets and timers; idempotent. `reset` sends a TCP RST. */
  close(opts: { reset?: boolean } = {}): Promise<void> {
    if (!this.closing) {
      this.markEnded();
      this.closing = this.closeTransport(opts.reset === true).catch((e: unknown) =>
        this.reportError(e),
      );
    }
    return this.closing;
  }

  /** `await using pipe = await pipeOpen(...)` closes it at scope end. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
