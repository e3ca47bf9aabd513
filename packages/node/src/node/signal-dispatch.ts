import { deadline } from "@p2pd/netifaces";
import type { Pipe } from "@p2pd/pipe";
import { type P2PAddress, parseAddress } from "../address.js";
import { openEnvelope, type ReplayGuard, sealEnvelope } from "../envelope.js";
import { AddressError, codeOf, P2pdNodeError, SignalError } from "../errors.js";
import type { NodeTransport } from "../pipe.js";
import { peerBrokerUrls } from "../servers/rendezvous.js";
import type { SignalingTransport } from "../signaling.js";
import { candidates } from "../strategies/candidates.js";
import type { ResponderContext, SignalMessage, Strategy } from "../strategies/strategy.js";
import type { Identity } from "./identity.js";
import { PIPE_ID } from "./protocol.js";
import { Contacts, InFlightLimit, ProbeBudget, SignalRate } from "./rate-limit.js";

const TYPE = /^[A-Z][A-Z0-9_]{0,31}$/;

export interface SignalDispatchOptions {
  identity: Identity;
  guard: ReplayGuard;
  /** Aborted when the node closes. */
  closing: AbortSignal;
  log(line: string): void;
  /** The strategy that answers a message type (the first message of an exchange). */
  answering(type: string): Strategy | undefined;
  /** Wraps a connection a responder made as a node pipe (answering `fromNodeId`'s attempt). */
  wrap(t: NodeTransport, pipeId: string, fromNodeId: string): Pipe;
  /** Hands a responder's ready pipe to the node, tied to the exchange's pipe id. */
  adopt(pipe: Pipe, pipeId: string): void;
  limit?: InFlightLimit;
  rate?: SignalRate;
  probes?: ProbeBudget;
}

/**
 * Encrypted signaling: seals and sends messages, opens and authenticates received ones, hands
 * each to the connect waiting for it, answers PING and GET_ADDR, and starts strategy responders
 * for the rest (rate limited).
 */
export class SignalDispatch {
  readonly #o: SignalDispatchOptions;
  readonly #limit: InFlightLimit;
  readonly #rate: SignalRate;
  /**
   * Exchanges that make us send packets (punch offers, reverse connects, TURN): a punch may send
   * thousands of probes, so they get a per-minute budget on top of the per-second rate.
   */
  readonly #probeBudget = new SignalRate({
    perSenderRate: 20 / 60,
    perSenderBurst: 20,
    globalRate: 120 / 60,
    globalBurst: 120,
  });
  /** Probe packets strangers' punch offers may make us send. */
  readonly #probePackets: ProbeBudget;
  /** Nodes we signaled (chose to talk to): they keep reserved responder slots, and TURN. */
  readonly contacts = new Contacts();
  readonly #waiters = new Map<string, { from: string; resolve: (m: SignalMessage) => void }>();
  #transport: SignalingTransport | undefined;

  constructor(o: SignalDispatchOptions) {
    this.#o = o;
    this.#limit = o.limit ?? new InFlightLimit();
    this.#rate = o.rate ?? new SignalRate();
    this.#probePackets = o.probes ?? new ProbeBudget();
  }

  /** Starts receiving on `transport` (connected by the caller). */
  attach(transport: SignalingTransport): void {
    this.#transport = transport;
    transport.onMessage((data) => this.receive(data));
  }

  async send(
    to: P2PAddress,
    type: string,
    pipeId: string,
    body: Record<string, unknown>,
    signal?: AbortSignal,
  ): Promise<void> {
    if (!to.keys)
      throw new AddressError("the peer's address has no keys (legacy form): cannot signal");
    if (!this.#transport) throw new P2pdNodeError("ERR_NOT_STARTED", "node not started");
    const { identity } = this.#o;
    const msg = { ...body, type, pipeId, from: identity.text };
    const env = sealEnvelope(identity.keys, to.keys.x25519, Buffer.from(JSON.stringify(msg)));
    // Where the peer listens (bundled indexes and URLs), when our transport can go there.
    const urls = this.#transport.rendezvous ? peerBrokerUrls(to) : [];
    await this.#transport.publish(to.nodeId, env, to.signal, {
      signal: signal ?? this.#o.closing,
      ...(urls.length ? { urls } : {}),
    });
  }

  /** Opens and checks one envelope: the message and its sender, or undefined (dropped, logged). */
  #open(data: Buffer): { msg: SignalMessage; from: P2PAddress } | undefined {
    try {
      const env = openEnvelope(this.#o.identity.keys, data);
      let body: unknown;
      try {
        body = JSON.parse(env.plaintext.toString("utf8"));
      } catch {
        throw new SignalError("ERR_SIGNAL_FORMAT", "body is not JSON");
      }
      const m = body as SignalMessage;
      if (
        !body ||
        typeof body !== "object" ||
        typeof m.type !== "string" ||
        !TYPE.test(m.type) ||
        typeof m.pipeId !== "string" ||
        !PIPE_ID.test(m.pipeId) ||
        typeof m.from !== "string"
      )
        throw new SignalError("ERR_SIGNAL_FORMAT", "bad message fields");
      let from: P2PAddress;
      try {
        from = parseAddress(m.from);
      } catch (err) {
        throw new SignalError("ERR_SIGNAL_FORMAT", `bad sender address: ${(err as Error).message}`);
      }
      // A node that signals has keys; P2PD-format addresses (no keys) never sign envelopes.
      if (from.p2pd) throw new SignalError("ERR_SIGNAL_FORMAT", "sender address is a P2PD address");
      if (from.nodeId !== env.senderNodeId)
        throw new SignalError("ERR_SIGNAL_AUTH", "sender address is not the signer's");
      // Only after authentication, so forged copies cannot burn a nonce.
      this.#o.guard.check(env);
      return { msg: m, from };
    } catch (err) {
      this.#o.log(`signal dropped: ${codeOf(err)} ${(err as Error).message}`);
      return undefined;
    }
  }

  /** One received envelope (from the transport). */
  receive(data: Buffer): void {
    const opened = this.#open(data);
    if (!opened) return;
    const { msg, from } = opened;
    const key = `${msg.type}:${msg.pipeId}`;
    const waiter = this.#waiters.get(key);
    if (waiter && waiter.from === from.nodeId) {
      this.#waiters.delete(key);
      waiter.resolve(msg);
      return;
    }
    // Everything below makes us work (answer, dial, punch): per-sender and global rates.
    if (!this.#rate.take(from.nodeId)) {
      this.#o.log(`signal ${msg.type}: rate limited`);
      return;
    }
    if (msg.type === "PING") {
      // `now` lets the peer estimate our clock offset (punch meeting times).
      this.send(from, "PONG", msg.pipeId, { now: Date.now() }).catch(() => {});
      return;
    }
    if (msg.type === "GET_ADDR") {
      // Name lookups end here: our current address rides in `from`.
      this.send(from, "ADDR", msg.pipeId, {}).catch(() => {});
      return;
    }
    const strategy = this.#o.answering(msg.type);
    if (!strategy?.respond) {
      this.#o.log(`signal ${msg.type}: nobody answers it`);
      return;
    }
    const known = this.contacts.has(from.nodeId);
    if (!known && !this.#probeBudget.take(from.nodeId)) {
      this.#o.log(`signal ${msg.type}: probe budget spent (per minute)`);
      return;
    }
    const release = this.#limit.acquire(from.nodeId, known);
    if (!release) {
      this.#o.log("too many signals in flight");
      return;
    }
    const limit = deadline(Math.max(strategy.timeoutMs, 10_000), this.#o.closing);
    const { signal } = limit;
    // new Promise: a responder that throws synchronously is logged like a rejected one.
    new Promise<void>((r) => r(strategy.respond?.(msg, this.#responder(msg, from, signal))))
      .catch((err) =>
        this.#o.log(`${strategy.name} respond: ${codeOf(err)} ${(err as Error).message}`),
      )
      .finally(() => {
        limit.clear();
        release();
      });
  }

  /** What a strategy's responder gets: this exchange's signaling, wrapping and adoption. */
  #responder(msg: SignalMessage, from: P2PAddress, signal: AbortSignal): ResponderContext {
    const { identity, log } = this.#o;
    const local = identity.parsed;
    const known = this.contacts.has(from.nodeId);
    return {
      local,
      localText: identity.text,
      remote: from,
      known,
      ...(known ? {} : { probeBudget: this.#probePackets.forOffer() }),
      signal,
      candidates: candidates(local, from),
      send: (type, body) => this.send(from, type, msg.pipeId, body, signal),
      waitFor: (type, o) => this.waitFor(from.nodeId, type, msg.pipeId, o?.signal ?? signal),
      wrap: (t) => this.#o.wrap(t, msg.pipeId, from.nodeId),
      adopt: (p) => this.#o.adopt(p, msg.pipeId),
      log,
    };
  }

  /** Waits for a message of `type` for `pipeId` from node `fromNodeId`. */
  waitFor(fromNodeId: string, type: string, pipeId: string, signal: AbortSignal) {
    return new Promise<SignalMessage>((resolve, reject) => {
      const key = `${type}:${pipeId}`;
      if (signal.aborted) return reject(signal.reason);
      const onAbort = () => {
        this.#waiters.delete(key);
        reject(signal.reason);
      };
      signal.addEventListener("abort", onAbort, { once: true });
      this.#waiters.set(key, {
        from: fromNodeId,
        resolve: (m) => {
          signal.removeEventListener("abort", onAbort);
          resolve(m);
        },
      });
    });
  }

  /** Sends `type` and waits for the `replyType` answer to it (a fresh pipe id per exchange). */
  async request(
    to: P2PAddress,
    type: string,
    replyType: string,
    pipeId: string,
    signal: AbortSignal,
  ): Promise<SignalMessage> {
    this.contacts.add(to.nodeId);
    // A send that fails ends the wait at once: no waiter lingers until `signal` aborts.
    const failed = new AbortController();
    const wait = deadline(undefined, signal, failed.signal);
    const reply = this.waitFor(to.nodeId, replyType, pipeId, wait.signal);
    // An abort while the send is still pending rejects `reply` before anyone awaits it.
    reply.catch(() => {});
    const sent = this.send(to, type, pipeId, {}, signal).catch((err: unknown) => {
      failed.abort(err);
      throw err;
    });
    // The reply proves the message arrived: it wins even before the send settles.
    return Promise.race([reply, sent.then(() => reply)]).finally(() => wait.clear());
  }

  /** Replies waited for (internal: tests check that none is left behind). */
  get waiting(): number {
    return this.#waiters.size;
  }
}
