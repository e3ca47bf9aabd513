import { setMaxListeners } from "node:events";
import { homedir } from "node:os";
import { join } from "node:path";
import { JsonCache } from "./cache.js";
import { cacheFileName, checkSeed, deriveChannel } from "./derive.js";
import { AbortedError, BadServerError, ClosedError, IrcDnsError, NoQuorumError } from "./errors.js";
import { lookup } from "./lookup.js";
import { checkValue, type Name, type NameInput, parseName } from "./names.js";
import { type Operation, settle } from "./operation.js";
import { type Quorum, quorum } from "./quorum.js";
import { register } from "./register.js";
import type {
  IrcDnsOptions,
  LookupOptions,
  LookupResult,
  OpOptions,
  RefreshResult,
  RegisterResult,
  StoreResult,
} from "./results.js";
import { DEFAULT_SERVERS, parseServer, parseServerList, type ServerSpec } from "./servers.js";
import { readTopic, type ServiceTimeouts } from "./services.js";
import { Sessions } from "./sessions.js";
import { store } from "./store.js";

const REFRESH_AFTER_MS = 7 * 24 * 3600 * 1000;

/** IRCDNS: names as signed topics of registered channels on several IRC networks, read with a quorum. */
export class IRCDNS {
  readonly servers: readonly ServerSpec[];
  readonly quorum: Quorum;
  private readonly seed: Uint8Array | undefined;
  private readonly cache: JsonCache;
  private readonly sessions: Sessions;
  private readonly channels = new Map<string, { chan: string; timeLock: Uint8Array }>();
  private readonly timeouts: ServiceTimeouts;
  private readonly life = new AbortController();
  private readonly op: Operation;
  private isClosed = false;

  private constructor(o: IrcDnsOptions, servers: ServerSpec[], cache: JsonCache) {
    this.seed = o.seed;
    this.servers = Object.freeze(servers);
    this.quorum = quorum(servers.length);
    this.cache = cache;
    this.timeouts = {
      serviceMs: o.serviceTimeoutMs ?? 10_000,
      topicRestoreMs: o.topicRestoreMs ?? 1_500,
    };
    const log = o.log ?? (() => {});
    this.sessions = new Sessions({
      seed: () => this.requireSeed(),
      cache,
      timeouts: this.timeouts,
      connectTimeoutMs: o.connectTimeoutMs ?? 15_000,
      tlsVerify: o.tlsVerify ?? true,
      tlsCa: o.tlsCa,
      log,
      life: this.life.signal,
    });
    this.op = {
      servers: this.servers,
      quorum: this.quorum,
      cache,
      sessions: this.sessions,
      timeouts: this.timeouts,
      lookupGraceMs: o.lookupGraceMs ?? 300,
      log,
      requireSeed: () => this.requireSeed(),
      channel: (n, s) => this.channel(n, s),
      throwIfAborted: (signal) => this.throwIfAborted(signal),
    };
    // Every pending wait (operations x servers) listens on this signal; that is not a leak.
    setMaxListeners(0, this.life.signal);
    if (o.signal) {
      if (o.signal.aborted) this.life.abort();
      else o.signal.addEventListener("abort", () => void this.close(), { once: true });
    }
  }

  /** Validate options and load the cache. Connections are opened lazily, in parallel, per operation. */
  static async start(o: IrcDnsOptions = {}): Promise<IRCDNS> {
    if (o.signal?.aborted) throw new AbortedError();
    if (o.seed !== undefined) checkSeed(o.seed);
    const servers = o.servers ?? DEFAULT_SERVERS;
    if (typeof servers !== "string" && !Array.isArray(servers))
      throw new BadServerError("servers must be an array or a comma-separated string");
    const list =
      typeof servers === "string" ? parseServerList(servers) : servers.map((x) => parseServer(x));
    if (list.length === 0) throw new NoQuorumError("no servers configured", 1, 0);
    const seen = new Set<string>();
    for (const s of list) {
      if (seen.has(s.domain))
        throw new IrcDnsError("ERR_IRCDNS_BAD_SERVER", `duplicate server ${s.domain}`);
      seen.add(s.domain);
    }
    const file =
      o.seed && o.cacheDir !== false
        ? join(o.cacheDir ?? join(homedir(), ".p2pd"), cacheFileName(o.seed))
        : undefined;
    const cache = new JsonCache(file);
    await cache.load();
    return new IRCDNS(o, list, cache);
  }

  private signalFor(o?: OpOptions): AbortSignal {
    if (this.isClosed) throw new ClosedError();
    return o?.signal ? AbortSignal.any([this.life.signal, o.signal]) : this.life.signal;
  }

  private requireSeed(): Uint8Array {
    return checkSeed(this.seed);
  }

  /** Channel and time-lock per (name, server); Argon2 is deterministic, so it is computed once. */
  private channel(n: Name, s: ServerSpec): { chan: string; timeLock: Uint8Array } {
    const key = `${n.name} ${n.tld} ${n.pw} ${s.domain}`;
    let c = this.channels.get(key);
    if (!c) {
      c = deriveChannel(n.name, n.tld, n.pw, s.domain);
      this.channels.set(key, c);
    }
    return c;
  }

  private throwIfAborted(signal: AbortSignal): void {
    if (this.isClosed) throw new ClosedError();
    if (signal.aborted) throw new AbortedError();
  }

  /**
   * Register [name, tld, pw] on every server in parallel. Proceeds only if at least N-F servers have the
   * channel free (or already ours); succeeds only if at least N-F end up owned by this seed.
   */
  async register(nameIn: NameInput, o?: OpOptions): Promise<RegisterResult> {
    const n = parseName(nameIn);
    this.requireSeed();
    return register(this.op, n, this.signalFor(o));
  }

  /** Store `value` as the signed topic of the name's channel on every server; needs N-F confirmations. */
  async store(value: string, nameIn: NameInput, o?: OpOptions): Promise<StoreResult> {
    checkValue(value);
    const n = parseName(nameIn);
    const seed = this.requireSeed();
    return store(this.op, value, n, seed, this.signalFor(o));
  }

  /**
   * Read every server in parallel; accept the value once F+1 topics agree on one signer (newest wins
   * within that signer's group). Never returns a value fewer than F+1 servers vouch for.
   */
  async lookup(nameIn: NameInput, o?: LookupOptions): Promise<LookupResult> {
    const n = parseName(nameIn);
    const pinned = o?.signer === undefined ? undefined : o.signer.toLowerCase();
    if (pinned !== undefined && !/^0[23][0-9a-f]{64}$/.test(pinned))
      throw new IrcDnsError(
        "ERR_IRCDNS_BAD_SIGNER",
        "signer must be a compressed key (66 hex digits)",
      );
    return lookup(this.op, n, pinned, this.signalFor(o));
  }

  /**
   * Keep the seed's nicks and channels from expiring: log in everywhere the cache says we hold
   * something, and JOIN/PART channels not refreshed for a week. No messages to public channels.
   */
  async refresh(o?: OpOptions & { maxAgeMs?: number }): Promise<RefreshResult> {
    this.requireSeed();
    const signal = this.signalFor(o);
    const maxAge = o?.maxAgeMs ?? REFRESH_AFTER_MS;
    let refreshed = 0;
    let failed = 0;
    await settle(this.servers, async (s) => {
      const chans = Object.values(this.cache.data.channels).filter(
        (c) => c.domain === s.domain && c.status === "ok" && Date.now() - c.lastRefresh >= maxAge,
      );
      if (!this.cache.data.servers[s.domain]?.accountRegistered) return;
      try {
        const sess = await this.sessions.auth(s, signal);
        for (const c of chans) {
          await readTopic(sess, c.chan, { ...this.timeouts, topicRestoreMs: 200 }, signal);
          c.lastRefresh = Date.now();
          refreshed++;
        }
      } catch {
        failed++;
      }
    });
    await this.cache.save();
    return { refreshed, failed };
  }

  /** Close every connection (QUIT) and flush the cache. Idempotent. */
  async close(): Promise<void> {
    if (this.isClosed) return;
    this.isClosed = true;
    this.life.abort();
    await this.sessions.close();
    await this.cache.save().catch(() => {});
  }
}
