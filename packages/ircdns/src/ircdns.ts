import { randomBytes } from "node:crypto";
import { setMaxListeners } from "node:events";
import { homedir } from "node:os";
import { join } from "node:path";
import { JsonCache } from "./cache.js";
import { A36, baseEncode } from "./crypto/base-n.js";
import {
  type Account,
  cacheFileName,
  checkSeed,
  deriveAccount,
  deriveChannel,
  deriveChanPassword,
  deriveSigningKey,
} from "./derive.js";
import {
  AbortedError,
  BadServerError,
  ClosedError,
  IrcDnsError,
  NameTakenError,
  NoQuorumError,
  NotFoundError,
  SessionError,
  ValueTooLargeError,
} from "./errors.js";
import { ircLower } from "./line.js";
import { checkValue, type Name, type NameInput, parseName } from "./names.js";
import { decide, type Quorum, quorum, type Vote } from "./quorum.js";
import {
  DEFAULT_SERVERS,
  parseServer,
  parseServerList,
  type ServerInput,
  type ServerSpec,
} from "./servers.js";
import {
  chanInfo,
  dropChan,
  login,
  readTopic,
  registerChan,
  type ServiceTimeouts,
  setTopic,
  topicCommand,
} from "./services.js";
import { IrcSession, MAX_LINE } from "./session.js";
import { maxTopicLength, maxValueBytes, packTopic, unpackTopic } from "./topic.js";
import { abortable, sleep } from "./util.js";

/** Topic cap from the 512-byte line limit on a reader's 332 reply (63-char server, 30-char nick). */
export const LINE_TOPIC_CAP = 376;

export interface IrcDnsOptions {
  /** Seed bytes (>= 24). Needed to register and store; lookups work without it. */
  seed?: Uint8Array;
  /** Servers as "host:port", "ircs://host:port" or objects; a comma-separated string also works. Default: DEFAULT_SERVERS. */
  servers?: readonly ServerInput[] | string;
  /** Aborts everything this instance does, like close(). */
  signal?: AbortSignal;
  /** Directory of the JSON cache file, or false for none. Default ~/.p2pd. */
  cacheDir?: string | false;
  /**
   * Verify TLS certificates: chain and host name (default true). A server's own `tlsVerify: false`
   * (`ircs://…?insecure`) or `tlsPin` (`ircs://…?sha256=…`) overrides this for that server.
   */
  tlsVerify?: boolean;
  /** PEM certificate(s) to trust instead of the system's roots (a private network's CA, a lab's cert). */
  tlsCa?: string | Uint8Array | readonly (string | Uint8Array)[];
  connectTimeoutMs?: number;
  serviceTimeoutMs?: number;
  topicRestoreMs?: number;
  /** After a lookup reaches its quorum, wait this long for slower servers that may carry a newer value. */
  lookupGraceMs?: number;
  /** Debug log sink (off by default). Never receives passwords. */
  log?: (msg: string) => void;
}

export interface OpOptions {
  signal?: AbortSignal;
}

export interface LookupOptions extends OpOptions {
  /**
   * Compressed public key (66 hex digits, `LookupResult.signer` / `signerId()`) the value must be signed
   * by. Without it the quorum alone decides, which holds while at most F servers lie; with it, no
   * number of lying servers can make a lookup return another key's value.
   */
  signer?: string;
}

export interface ServerOutcome {
  server: string;
  chan: string;
  ok: boolean;
  /** Services package detected on that network (register only). */
  services?: "anope" | "atheme" | "unknown";
  error?: { code: string; message: string };
}

export interface RegisterResult {
  name: string;
  quorum: Quorum;
  succeeded: number;
  servers: ServerOutcome[];
}

export interface StoreResult extends RegisterResult {
  time: number;
}

export interface LookupResult {
  name: string;
  value: string;
  /** Unix seconds inside the newest agreeing topic. */
  time: number;
  /** Compressed secp256k1 key (hex) that F+1 servers agree on. */
  signer: string;
  /** Servers whose topics agree. */
  agreeing: string[];
  quorum: Quorum;
  servers: ServerOutcome[];
}

export interface RefreshResult {
  refreshed: number;
  failed: number;
}

/** " (server: CODE message; ...)" for error messages. */
function why(servers: ServerOutcome[]): string {
  const bad = servers
    .filter((x) => x.error)
    .map((x) => `${x.server}: ${x.error?.code} ${x.error?.message}`);
  return bad.length ? ` (${bad.join("; ")})` : "";
}

const REFRESH_AFTER_MS = 7 * 24 * 3600 * 1000;
/** How long a server that let a connect time out is skipped by the same instance. */
const UNREACHABLE_MS = 60_000;

function errInfo(e: unknown): { code: string; message: string } {
  if (e instanceof IrcDnsError) return { code: e.code, message: e.message };
  return { code: "ERR_IRCDNS_INTERNAL", message: e instanceof Error ? e.message : String(e) };
}

/** IRCDNS: names as signed topics of registered channels on several IRC networks, read with a quorum. */
export class IRCDNS {
  readonly servers: readonly ServerSpec[];
  readonly quorum: Quorum;
  private readonly seed: Uint8Array | undefined;
  private readonly cache: JsonCache;
  private readonly authSessions = new Map<string, Promise<IrcSession>>();
  private readonly readSessions = new Map<string, Promise<IrcSession>>();
  private readonly channels = new Map<string, { chan: string; timeLock: Uint8Array }>();
  private readonly timeouts: ServiceTimeouts;
  private readonly connectTimeoutMs: number;
  private readonly lookupGraceMs: number;
  private readonly tlsVerify: boolean;
  private readonly tlsCa: IrcDnsOptions["tlsCa"];
  private readonly log: (msg: string) => void;
  private readonly life = new AbortController();
  private isClosed = false;
  /** Servers whose connect timed out (no answer at all), by domain: later operations fail at once. */
  private readonly unreachable = new Map<string, { until: number; err: unknown }>();

  private constructor(o: IrcDnsOptions, servers: ServerSpec[], cache: JsonCache) {
    this.seed = o.seed;
    this.servers = Object.freeze(servers);
    this.quorum = quorum(servers.length);
    this.cache = cache;
    this.timeouts = {
      serviceMs: o.serviceTimeoutMs ?? 10_000,
      topicRestoreMs: o.topicRestoreMs ?? 1_500,
    };
    this.connectTimeoutMs = o.connectTimeoutMs ?? 15_000;
    this.lookupGraceMs = o.lookupGraceMs ?? 300;
    this.tlsVerify = o.tlsVerify ?? true;
    this.tlsCa = o.tlsCa;
    this.log = o.log ?? (() => {});
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

  private async connect(
    s: ServerSpec,
    nick: string,
    username: string,
    sasl: Account | undefined,
    signal: AbortSignal,
  ): Promise<IrcSession> {
    // A server that did not answer within the connect timeout is presumed down for a while, so one
    // register (which connects again to store) or a burst of lookups waits on it once, not each time.
    const down = this.unreachable.get(s.domain);
    if (down && Date.now() < down.until) throw down.err;
    const t0 = Date.now();
    for (let attempt = 0; ; attempt++) {
      try {
        return await IrcSession.connect(s, {
          nick,
          username,
          sasl: sasl ? { account: sasl.nick, password: sasl.password } : undefined,
          signal,
          connectTimeoutMs: this.connectTimeoutMs,
          tlsVerify: this.tlsVerify,
          tlsCa: this.tlsCa,
          log: this.log,
        });
      } catch (e) {
        // A previous connection with our nick may still be closing (433): give it a moment, once.
        if (e instanceof SessionError && e.code === "ERR_IRCDNS_NICK_IN_USE" && attempt < 1) {
          await sleep(2000, signal);
          continue;
        }
        if (
          e instanceof SessionError &&
          e.code === "ERR_IRCDNS_CONNECT" &&
          Date.now() - t0 >= this.connectTimeoutMs - 50
        )
          this.unreachable.set(s.domain, { until: Date.now() + UNREACHABLE_MS, err: e });
        throw e;
      }
    }
  }

  /** Logged-in session for the seed's account on one server; `signal` only stops this caller's wait. */
  private authSession(s: ServerSpec, signal: AbortSignal): Promise<IrcSession> {
    return abortable(this.sharedAuthSession(s), signal);
  }

  /**
   * The shared (per server, reused by every operation) logged-in session: connect + SASL or NickServ.
   * It lives until close(), so it is bound to the instance's signal, not to one operation's.
   */
  private sharedAuthSession(s: ServerSpec): Promise<IrcSession> {
    const signal = this.life.signal;
    const seed = this.requireSeed();
    return this.pooled(this.authSessions, s, async () => {
      const acct = deriveAccount(seed, s.domain);
      const known = this.cache.data.servers[s.domain]?.accountRegistered === true;
      let sess: IrcSession;
      try {
        sess = await this.connect(s, acct.nick, acct.username, known ? acct : undefined, signal);
      } catch (e) {
        if (!(e instanceof SessionError && e.code === "ERR_IRCDNS_NICK_IN_USE")) throw e;
        // Our nick is taken (a squatter or our own ghost): use another nick and log in to the account.
        this.log(`${s.label}: nick in use, logging in from ${acct.nick}_`);
        sess = await this.connect(s, `${acct.nick}_`, acct.username, acct, signal);
      }
      try {
        const how = await login(sess, acct, this.timeouts, signal);
        sess.account = acct.nick;
        this.log(`${s.label}: logged in (${how})`);
        const entry = this.cache.data.servers[s.domain] ?? {};
        entry.accountRegistered = true;
        entry.lastStarted = Date.now();
        this.cache.data.servers[s.domain] = entry;
        return sess;
      } catch (e) {
        await sess.close();
        throw e;
      }
    });
  }

  /** Any session for reading: the logged-in one if open, else an anonymous one with a random nick. */
  private readSession(s: ServerSpec, signal: AbortSignal): Promise<IrcSession> {
    const auth = this.authSessions.get(s.domain);
    const shared = auth
      ? auth.then(
          (x) => (x.closed ? this.anonSession(s) : x),
          () => this.anonSession(s),
        )
      : this.anonSession(s);
    return abortable(shared, signal);
  }

  private anonSession(s: ServerSpec): Promise<IrcSession> {
    return this.pooled(this.readSessions, s, () => {
      const tag = baseEncode(randomBytes(8), A36).slice(0, 7).toLowerCase();
      return this.connect(s, `g${tag}`, `u${tag}`, undefined, this.life.signal);
    });
  }

  /**
   * One open session per server in `pool`: reuse it, or replace it once closed. Only the promise that is
   * still pooled is dropped, so two callers that both find a dead session cannot orphan (leak) a new one.
   */
  private pooled(
    pool: Map<string, Promise<IrcSession>>,
    s: ServerSpec,
    make: () => Promise<IrcSession>,
  ): Promise<IrcSession> {
    if (this.isClosed) return Promise.reject(new ClosedError());
    const existing = pool.get(s.domain);
    if (existing) {
      return existing.then((sess) => {
        if (!sess.closed) return sess;
        if (pool.get(s.domain) === existing) pool.delete(s.domain);
        return this.pooled(pool, s, make);
      });
    }
    const p = make();
    pool.set(s.domain, p);
    p.catch(() => {
      if (pool.get(s.domain) === p) pool.delete(s.domain);
    });
    return p;
  }

  private async settle<T>(
    fn: (s: ServerSpec) => Promise<T>,
  ): Promise<Array<{ s: ServerSpec; ok: true; v: T } | { s: ServerSpec; ok: false; e: unknown }>> {
    return Promise.all(
      this.servers.map((s) =>
        fn(s).then(
          (v) => ({ s, ok: true as const, v }),
          (e) => ({ s, ok: false as const, e }),
        ),
      ),
    );
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
    const signal = this.signalFor(o);
    const q = this.quorum;
    const label = `${n.name}.${n.tld}`;
    // Time-locks first, for every server, before any JOIN reveals one channel (front-running, spec 1).
    for (const s of this.servers) this.channel(n, s);
    const dialects = new Map<string, "anope" | "atheme" | "unknown">();
    const phase1 = await this.settle(async (s) => {
      const sess = await this.authSession(s, signal);
      const { chan } = this.channel(n, s);
      const st = await chanInfo(sess, chan, this.timeouts, signal);
      dialects.set(s.domain, sess.dialect);
      if (!st.registered) return "free" as const;
      if (st.founder && ircLower(st.founder) === ircLower(sess.account ?? sess.nick))
        return "mine" as const;
      throw new NameTakenError(`${s.label}: ${chan} belongs to ${st.founder ?? "someone else"}`);
    });
    this.throwIfAborted(signal);
    const outcomes = new Map<string, ServerOutcome>();
    for (const r of phase1) {
      const chan = this.channel(n, r.s).chan;
      outcomes.set(
        r.s.domain,
        r.ok
          ? { server: r.s.label, chan, ok: r.v === "mine" }
          : { server: r.s.label, chan, ok: false, error: errInfo(r.e) },
      );
    }
    const usable = phase1.filter((r) => r.ok);
    const taken = phase1.filter((r) => !r.ok && r.e instanceof NameTakenError).length;
    const result = (): RegisterResult => {
      const servers = this.servers.map((s) => {
        const o = outcomes.get(s.domain) as ServerOutcome;
        const d = dialects.get(s.domain);
        return d ? { ...o, services: d } : o;
      });
      return { name: label, quorum: q, succeeded: servers.filter((x) => x.ok).length, servers };
    };
    if (usable.length < q.registerSuccessMin) {
      await this.cache.save();
      if (taken > q.registerFailureMax)
        throw new NameTakenError(`${label} is taken on ${taken} of ${q.servers} servers`);
      throw new NoQuorumError(
        `${label}: only ${usable.length} of ${q.servers} servers usable, need ${q.registerSuccessMin}${why(result().servers)}`,
        q.registerSuccessMin,
        usable.length,
      );
    }
    const won: ServerSpec[] = [];
    await this.settle(async (s) => {
      const r1 = phase1.find((x) => x.s === s);
      if (!r1?.ok || r1.v === "mine") return;
      const { chan } = this.channel(n, s);
      try {
        const sess = await this.authSession(s, signal);
        const seed = this.requireSeed();
        await registerChan(sess, chan, this.timeouts, signal, () =>
          deriveChanPassword(chan, s.domain, seed),
        );
        won.push(s);
        outcomes.set(s.domain, { server: s.label, chan, ok: true });
      } catch (e) {
        outcomes.set(s.domain, { server: s.label, chan, ok: false, error: errInfo(e) });
      }
    });
    let res = result();
    if (res.succeeded < q.registerSuccessMin && won.length > 0 && !signal.aborted) {
      // Too few: give back what this call registered, so a minority of channels does not linger.
      await this.settle(async (s) => {
        if (!won.includes(s)) return;
        const { chan } = this.channel(n, s);
        try {
          await dropChan(await this.authSession(s, signal), chan, this.timeouts, signal);
          outcomes.set(s.domain, {
            server: s.label,
            chan,
            ok: false,
            error: { code: "ERR_IRCDNS_RELEASED", message: "registered, then dropped: no quorum" },
          });
        } catch (e) {
          this.log(`${s.label}: could not drop ${chan}: ${(e as Error).message}`);
        }
      });
      res = result();
    }
    for (const s of this.servers) {
      const oc = outcomes.get(s.domain) as ServerOutcome;
      const key = `${s.domain} ${oc.chan}`;
      const prev = this.cache.data.channels[key];
      this.cache.data.channels[key] = {
        domain: s.domain,
        chan: oc.chan,
        status: oc.ok ? "ok" : "failed",
        failures: oc.ok ? 0 : (prev?.failures ?? 0) + 1,
        lastRefresh: Date.now(),
      };
    }
    await this.cache.save();
    this.throwIfAborted(signal);
    if (res.succeeded < q.registerSuccessMin) {
      const takenNow = res.servers.filter((x) => x.error?.code === "ERR_IRCDNS_TAKEN").length;
      if (takenNow > q.registerFailureMax)
        throw new NameTakenError(`${label} is taken on ${takenNow} of ${q.servers} servers`);
      throw new NoQuorumError(
        `${label}: registered on ${res.succeeded} of ${q.servers} servers, need ${q.registerSuccessMin}${why(res.servers)}`,
        q.registerSuccessMin,
        res.succeeded,
      );
    }
    return res;
  }

  /** Store `value` as the signed topic of the name's channel on every server; needs N-F confirmations. */
  async store(value: string, nameIn: NameInput, o?: OpOptions): Promise<StoreResult> {
    checkValue(value);
    const n = parseName(nameIn);
    const seed = this.requireSeed();
    const signal = this.signalFor(o);
    const q = this.quorum;
    const label = `${n.name}.${n.tld}`;
    const bytes = value.length;
    const absolute = maxValueBytes(LINE_TOPIC_CAP);
    if (bytes > absolute) {
      throw new ValueTooLargeError(
        `value of ${bytes} bytes exceeds ${absolute} (512-byte IRC lines)`,
        absolute,
      );
    }
    const { priv } = deriveSigningKey(n.name, n.tld, n.pw, seed);
    for (const s of this.servers) this.channel(n, s);
    // Phase 1: sessions up, so every server's TOPICLEN is known before any topic is written.
    const sessions = await this.settle((s) => this.authSession(s, signal));
    this.throwIfAborted(signal);
    const limitOf = (sess: IrcSession, chan: string) =>
      Math.min(
        sess.topicLen,
        LINE_TOPIC_CAP,
        MAX_LINE - `PRIVMSG ChanServ :${topicCommand(sess, chan, "")}`.length,
      );
    const fits = sessions.filter(
      (r) => r.ok && maxTopicLength(bytes) <= limitOf(r.v, this.channel(n, r.s).chan),
    );
    const up = sessions.filter((r) => r.ok);
    if (up.length >= q.registerSuccessMin && fits.length < q.registerSuccessMin) {
      const limits = up
        .map((r) => (r.ok ? maxValueBytes(limitOf(r.v, this.channel(n, r.s).chan)) : 0))
        .sort((a, b) => b - a);
      const max = limits[q.registerSuccessMin - 1] ?? 0;
      throw new ValueTooLargeError(
        `value of ${bytes} bytes does not fit the topic limits of ${q.registerSuccessMin} servers (max ${max})`,
        max,
      );
    }
    const time = Math.floor(Date.now() / 1000);
    const outcomes = await this.settle(async (s) => {
      const r = sessions.find((x) => x.s === s);
      if (!r?.ok) throw r && !r.ok ? r.e : new SessionError("ERR_IRCDNS_CONNECT", "no session");
      const { chan, timeLock } = this.channel(n, s);
      const topic = packTopic({ value, priv, timeLock, time });
      const limit = limitOf(r.v, chan);
      if (topic.length > limit)
        throw new ValueTooLargeError(
          `${s.label}: topic of ${topic.length} > ${limit}`,
          maxValueBytes(limit),
        );
      await setTopic(r.v, chan, topic, this.timeouts, signal);
    });
    const servers = outcomes.map((r): ServerOutcome => {
      const chan = this.channel(n, r.s).chan;
      return r.ok
        ? { server: r.s.label, chan, ok: true }
        : { server: r.s.label, chan, ok: false, error: errInfo(r.e) };
    });
    const succeeded = servers.filter((x) => x.ok).length;
    // A topic change is channel activity: it counts as a refresh.
    for (const x of outcomes) {
      const c = this.cache.data.channels[`${x.s.domain} ${this.channel(n, x.s).chan}`];
      if (x.ok && c) c.lastRefresh = Date.now();
    }
    await this.cache.save();
    this.throwIfAborted(signal);
    if (succeeded < q.registerSuccessMin) {
      throw new NoQuorumError(
        `${label}: stored on ${succeeded} of ${q.servers} servers, need ${q.registerSuccessMin}${why(servers)}`,
        q.registerSuccessMin,
        succeeded,
      );
    }
    return { name: label, quorum: q, succeeded, servers, time };
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
    const signal = this.signalFor(o);
    const q = this.quorum;
    const label = `${n.name}.${n.tld}`;
    for (const s of this.servers) this.channel(n, s);
    const votes: Vote[] = [];
    const outcomes = new Map<string, ServerOutcome>();
    let answered = 0;
    await new Promise<void>((done) => {
      let pending = this.servers.length;
      let grace: NodeJS.Timeout | undefined;
      const resolve = () => {
        clearTimeout(grace);
        signal.removeEventListener("abort", resolve);
        done();
      };
      const check = () => {
        if (pending === 0) resolve();
        else if (!grace && decide(votes, q.lookupSuccessMin))
          grace = setTimeout(resolve, this.lookupGraceMs);
      };
      signal.addEventListener("abort", resolve, { once: true });
      for (const s of this.servers) {
        const { chan, timeLock } = this.channel(n, s);
        (async () => {
          const sess = await this.readSession(s, signal);
          const topic = await readTopic(sess, chan, this.timeouts, signal);
          answered++;
          if (topic === undefined) throw new NotFoundError(`${s.label}: ${chan} has no topic`);
          const rec = unpackTopic(topic, timeLock);
          if (pinned !== undefined && !rec.ids.includes(pinned))
            throw new IrcDnsError("ERR_IRCDNS_DISAGREE", `${s.label}: topic signed by another key`);
          const ids = pinned === undefined ? rec.ids : [pinned];
          votes.push({ server: s.label, time: rec.time, value: rec.value, ids });
        })()
          .then(
            () => outcomes.set(s.domain, { server: s.label, chan, ok: true }),
            (e) => outcomes.set(s.domain, { server: s.label, chan, ok: false, error: errInfo(e) }),
          )
          .finally(() => {
            pending--;
            check();
          });
      }
    });
    this.throwIfAborted(signal);
    const d = decide(votes, q.lookupSuccessMin);
    const servers = this.servers.map(
      (s) =>
        outcomes.get(s.domain) ?? {
          server: s.label,
          chan: this.channel(n, s).chan,
          ok: false,
          error: { code: "ERR_IRCDNS_TIMEOUT", message: "still pending" },
        },
    );
    if (d) {
      const agree = new Set(d.servers);
      for (const x of servers)
        if (x.ok && !agree.has(x.server)) {
          x.ok = false;
          x.error = {
            code: "ERR_IRCDNS_DISAGREE",
            message: "topic signed by another key or older",
          };
        }
      return {
        name: label,
        value: d.value,
        time: d.time,
        signer: d.signer,
        agreeing: d.servers,
        quorum: q,
        servers,
      };
    }
    if (answered < q.lookupSuccessMin) {
      throw new NoQuorumError(
        `${label}: only ${answered} of ${q.servers} servers answered, need ${q.lookupSuccessMin}${why(servers)}`,
        q.lookupSuccessMin,
        answered,
      );
    }
    const disagreed = servers.some((x) => x.error?.code === "ERR_IRCDNS_DISAGREE");
    if (votes.length === 0 && !disagreed)
      throw new NotFoundError(`${label} is not registered (no valid topic on ${answered} servers)`);
    throw new NoQuorumError(
      `${label}: no value is signed by one key on ${q.lookupSuccessMin} servers${why(servers)}`,
      q.lookupSuccessMin,
      votes.length,
    );
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
    await this.settle(async (s) => {
      const chans = Object.values(this.cache.data.channels).filter(
        (c) => c.domain === s.domain && c.status === "ok" && Date.now() - c.lastRefresh >= maxAge,
      );
      if (!this.cache.data.servers[s.domain]?.accountRegistered) return;
      try {
        const sess = await this.authSession(s, signal);
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
    const all = [...this.authSessions.values(), ...this.readSessions.values()];
    this.authSessions.clear();
    this.readSessions.clear();
    await Promise.all(
      all.map((p) =>
        p.then(
          (s) => s.close(),
          () => {},
        ),
      ),
    );
    await this.cache.save().catch(() => {});
  }
}
