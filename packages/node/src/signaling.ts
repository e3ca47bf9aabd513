import mqtt, { type MqttClient } from "mqtt";
import { codeOf, P2pdNodeError } from "./errors.js";
import { type BrokerAttempt, RendezvousError } from "./servers/errors.js";
import { assertMayContact } from "./servers/guard.js";
import { rendezvousOf } from "./servers/rendezvous.js";

/** Moves opaque signaling envelopes between nodes; topics are node ids. */
export interface SignalingTransport {
  /** Indexes of the brokers we listen on (they go in our address). */
  readonly indexes: number[];
  /** How our address names our brokers: bundled indexes and full URLs (issue 14). */
  rendezvous?(): { signal: number[]; brokers: string[] };
  /** Resolves once we are subscribed on at least one broker. */
  start(opts?: { signal?: AbortSignal }): Promise<void>;
  /** Publishes to `topic` on the given broker indexes (all connected ones when none match). */
  publish(
    topic: string,
    data: Uint8Array,
    indexes?: number[],
    opts?: { signal?: AbortSignal; urls?: readonly string[] },
  ): Promise<void>;
  onMessage(cb: (data: Buffer, index: number) => void): void;
  close(): Promise<void>;
}

export interface MqttSignalingOptions {
  /** Broker URLs, e.g. mqtt://127.0.0.1:1883. Their positions are the address's signal indexes. */
  brokers: string[];
  /** Our topic. */
  nodeId: string;
  /** Wait at most this long for the first broker (default 5 s). */
  connectTimeoutMs?: number;
  /** Delay between reconnect attempts (default 1 s; the reference waits 60 s). */
  reconnectMs?: number;
  /** How long a publish waits for a broker to reconnect when none is connected (default 3 s). */
  offlineWaitMs?: number;
  log?: (line: string) => void;
}

/**
 * MQTT signaling to several brokers at once. Each broker gets its own client that reconnects on
 * its own; messages arriving from several brokers are de-duplicated above this layer (the
 * envelope nonce), so publishing to all of them is safe.
 */
export class MqttSignaling implements SignalingTransport {
  readonly indexes: number[];
  readonly #opts: MqttSignalingOptions;
  readonly #clients = new Map<number, MqttClient>();
  readonly #cbs: ((data: Buffer, index: number) => void)[] = [];
  readonly #subscribed = new Set<number>();
  /** Brokers of peers we publish to but do not listen on, by URL (no reconnects; closed with us). */
  readonly #peerClients = new Map<string, Promise<MqttClient>>();

  constructor(opts: MqttSignalingOptions) {
    if (opts.brokers.length === 0)
      throw new P2pdNodeError("ERR_NO_BROKER", "no MQTT broker configured");
    if (/[+#/]/.test(opts.nodeId)) throw new P2pdNodeError("ERR_BAD_TOPIC", "bad node id for MQTT");
    this.#opts = opts;
    this.indexes = opts.brokers.map((_, i) => i);
  }

  rendezvous(): { signal: number[]; brokers: string[] } {
    return rendezvousOf(this.#opts.brokers);
  }

  onMessage(cb: (data: Buffer, index: number) => void): void {
    this.#cbs.push(cb);
  }

  start(opts: { signal?: AbortSignal } = {}): Promise<void> {
    const timeoutMs = this.#opts.connectTimeoutMs ?? 5000;
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      let failed = 0;
      const settle = (err?: unknown) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        opts.signal?.removeEventListener("abort", onAbort);
        if (err) reject(err);
        else resolve();
      };
      const timer = setTimeout(
        () =>
          settle(new P2pdNodeError("ERR_NO_BROKER", `no MQTT broker reachable in ${timeoutMs} ms`)),
        timeoutMs,
      );
      const onAbort = () => settle(opts.signal?.reason);
      if (opts.signal?.aborted) return onAbort();
      opts.signal?.addEventListener("abort", onAbort, { once: true });
      this.#opts.brokers.forEach((url, index) => {
        let client: MqttClient;
        try {
          client = mqtt.connect(url, {
            // MQTT 3.1.1: aedes speaks no v5; mosquitto speaks both.
            protocolVersion: 4,
            clientId: `${this.#opts.nodeId}_${Math.random().toString(16).slice(2, 8)}`,
            clean: true,
            connectTimeout: timeoutMs,
            reconnectPeriod: this.#opts.reconnectMs ?? 1000,
            keepalive: 30,
          });
        } catch (err) {
          this.#opts.log?.(`broker ${index} ${url}: ${err}`);
          if (++failed === this.#opts.brokers.length) settle(err);
          return;
        }
        this.#clients.set(index, client);
        client.on("error", (err) => this.#opts.log?.(`broker ${index}: ${err.message}`));
        client.on("connect", () => {
          // Small request/response messages: Nagle + delayed ACK would add ~40 ms per hop.
          (client.stream as { setNoDelay?: (b: boolean) => void }).setNoDelay?.(true);
          // Clean sessions: subscribe again on every (re)connect.
          client.subscribe(this.#opts.nodeId, { qos: 1 }, (err) => {
            if (err) return this.#opts.log?.(`broker ${index} subscribe: ${err.message}`);
            this.#subscribed.add(index);
            settle();
          });
        });
        client.on("close", () => this.#subscribed.delete(index));
        client.on("message", (_topic, payload) => {
          for (const cb of this.#cbs) cb(payload, index);
        });
      });
    });
  }

  async publish(
    topic: string,
    data: Uint8Array,
    indexes?: number[],
    opts: { signal?: AbortSignal; urls?: readonly string[] } = {},
  ): Promise<void> {
    if (/[+#/]/.test(topic)) throw new P2pdNodeError("ERR_BAD_TOPIC", "bad topic");
    if (opts.urls && opts.urls.length > 0)
      return this.#publishTo(topic, data, opts.urls, opts.signal);
    const shared = (indexes ?? []).filter((i) => this.#clients.has(i));
    const targets = shared.length ? shared : [...this.#clients.keys()];
    let live = targets.filter((i) => this.#clients.get(i)?.connected);
    if (live.length === 0) {
      // Between reconnects: wait a little for any of them to come back.
      await this.#anyConnect(targets, this.#opts.offlineWaitMs ?? 3000, opts.signal);
      live = targets.filter((i) => this.#clients.get(i)?.connected);
    }
    if (live.length === 0)
      throw new P2pdNodeError("ERR_SIGNAL_OFFLINE", "no connected MQTT broker to publish on");
    try {
      // Done when one broker took it: a broker that is slow or gone must not hold the sender.
      await firstOf(
        live.map((i) => publishWithin(this.#clients.get(i) as MqttClient, topic, data, 5000)),
        opts.signal,
      );
    } catch (err) {
      opts.signal?.throwIfAborted();
      throw new P2pdNodeError("ERR_SIGNAL_PUBLISH", "publish failed on every broker", {
        cause: err,
      });
    }
  }

  /**
   * Publishes where the peer listens: on our own client for a broker we share, else on a client
   * opened for that broker alone. Resolves when one broker took the message; otherwise a
   * RendezvousError lists every broker tried and why.
   */
  async #publishTo(
    topic: string,
    data: Uint8Array,
    urls: readonly string[],
    signal?: AbortSignal,
  ): Promise<void> {
    const tried: BrokerAttempt[] = [];
    const attempts = urls.slice(0, 12).map(async (url) => {
      try {
        const own = this.#opts.brokers.indexOf(url);
        let client: MqttClient | undefined;
        if (own >= 0 && this.#clients.has(own)) {
          client = this.#clients.get(own);
          if (!client?.connected)
            await this.#anyConnect([own], this.#opts.offlineWaitMs ?? 3000, signal);
          if (!client?.connected) throw new P2pdNodeError("ERR_SIGNAL_OFFLINE", "not connected");
        } else client = await this.#peerClient(url, signal);
        await publishWithin(client as MqttClient, topic, data, 5000);
      } catch (err) {
        tried.push({ url, code: codeOf(err), message: (err as Error).message });
        throw err;
      }
    });
    try {
      // Done when one broker took it: one that is down (its reconnect wait) must not hold the
      // sender, or every request through a shared broker waits for the dead one's timeout.
      await firstOf(attempts, signal);
    } catch {
      signal?.throwIfAborted();
      throw new RendezvousError("no broker of the peer took the message", tried);
    }
  }

  #peerClient(url: string, signal?: AbortSignal): Promise<MqttClient> {
    let p = this.#peerClients.get(url);
    if (!p) {
      // The tests' safety net: never a bundled public broker under P2PD_FORBID_PUBLIC_SERVERS=1.
      assertMayContact([{ ip: new URL(url).hostname.replace(/^\[|\]$/g, "") }]);
      const timeoutMs = this.#opts.connectTimeoutMs ?? 5000;
      p = new Promise<MqttClient>((resolve, reject) => {
        const client = mqtt.connect(url, {
          protocolVersion: 4,
          clientId: `${this.#opts.nodeId}_${Math.random().toString(16).slice(2, 8)}`,
          clean: true,
          // Our own timer decides (with a code); mqtt.js's must not fire first.
          connectTimeout: timeoutMs * 2,
          reconnectPeriod: 0,
          keepalive: 30,
        });
        const fail = (err: Error) => {
          clearTimeout(timer);
          client.end(true);
          reject(err);
        };
        const timer = setTimeout(
          () => fail(new P2pdNodeError("ERR_TIMEOUT", `no CONNACK in ${timeoutMs} ms`)),
          timeoutMs,
        );
        client.once("connect", () => {
          clearTimeout(timer);
          (client.stream as { setNoDelay?: (b: boolean) => void }).setNoDelay?.(true);
          resolve(client);
        });
        client.once("error", (err) => {
          const code = codeOf(err);
          fail(Object.assign(err, { code: code === "ERR_UNKNOWN" ? "ERR_BROKER" : code }));
        });
        client.once("close", () => {
          // Gone after it worked (or before): the next signal opens a fresh one.
          if (this.#peerClients.get(url) === p) this.#peerClients.delete(url);
          fail(new P2pdNodeError("ERR_CLOSED", "connection closed"));
        });
      });
      // A failed broker is forgotten, so a later signal tries it again.
      p.catch(() => this.#peerClients.delete(url));
      this.#peerClients.set(url, p);
    }
    if (!signal) return p;
    return Promise.race([
      p,
      new Promise<never>((_, reject) => {
        if (signal.aborted) reject(signal.reason);
        signal.addEventListener("abort", () => reject(signal.reason), { once: true });
      }),
    ]);
  }

  #anyConnect(indexes: number[], ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const clients = indexes.map((i) => this.#clients.get(i)).filter((c) => c !== undefined);
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", done);
        for (const c of clients) c.off("connect", done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      if (signal?.aborted) return done();
      signal?.addEventListener("abort", done, { once: true });
      for (const c of clients) c.on("connect", done);
    });
  }

  async close(): Promise<void> {
    const peers = [...this.#peerClients.values()];
    this.#peerClients.clear();
    await Promise.all([
      ...[...this.#clients.values()].map((c) => c.endAsync(true).catch(() => {})),
      ...peers.map((p) => p.then((c) => c.endAsync(true)).catch(() => {})),
    ]);
    this.#clients.clear();
  }
}

/**
 * Resolves when the first of `attempts` does; rejects when all did (AggregateError) or at once on
 * `signal`. The others run on to their own time limits, their results ignored.
 */
function firstOf(attempts: Promise<unknown>[], signal?: AbortSignal): Promise<void> {
  if (!signal) return Promise.any(attempts).then(() => {});
  return new Promise<void>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    if (signal.aborted) return onAbort();
    signal.addEventListener("abort", onAbort, { once: true });
    Promise.any(attempts).then(
      () => {
        signal.removeEventListener("abort", onAbort);
        resolve();
      },
      (err) => {
        signal.removeEventListener("abort", onAbort);
        reject(err);
      },
    );
  });
}

function publishWithin(client: MqttClient, topic: string, data: Uint8Array, ms: number) {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    client.publishAsync(topic, Buffer.from(data), { qos: 1 }),
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new P2pdNodeError("ERR_TIMEOUT", "puback timeout")), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
