import { randomBytes } from "node:crypto";
import type { JsonCache } from "./cache.js";
import { A36, baseEncode } from "./crypto/base-n.js";
import { type Account, deriveAccount } from "./derive.js";
import { ClosedError, SessionError } from "./errors.js";
import type { ServerSpec } from "./servers.js";
import { login, type ServiceTimeouts } from "./services.js";
import { IrcSession } from "./session.js";
import { abortable, sleep } from "./util.js";

/** How long a server that let a connect time out is skipped by the same instance. */
const UNREACHABLE_MS = 60_000;

export interface SessionsOptions {
  seed: () => Uint8Array;
  cache: JsonCache;
  timeouts: ServiceTimeouts;
  connectTimeoutMs: number;
  tlsVerify: boolean;
  tlsCa: string | Uint8Array | readonly (string | Uint8Array)[] | undefined;
  log: (msg: string) => void;
  /** The instance's life: shared sessions live until it aborts, not one operation's signal. */
  life: AbortSignal;
}

/**
 * The IRC sessions of one IRCDNS instance: per server, one logged-in session (the seed's account)
 * and one anonymous reader, opened lazily, reused by every operation and closed by close().
 */
export class Sessions {
  readonly #o: SessionsOptions;
  readonly #auth = new Map<string, Promise<IrcSession>>();
  readonly #read = new Map<string, Promise<IrcSession>>();
  /** Servers whose connect timed out (no answer at all), by domain: later operations fail at once. */
  readonly #unreachable = new Map<string, { until: number; err: unknown }>();
  #closed = false;

  constructor(o: SessionsOptions) {
    this.#o = o;
  }

  async #connect(
    s: ServerSpec,
    nick: string,
    username: string,
    sasl: Account | undefined,
  ): Promise<IrcSession> {
    const { connectTimeoutMs, tlsVerify, tlsCa, log, life: signal } = this.#o;
    // A server that did not answer within the connect timeout is presumed down for a while, so one
    // register (which connects again to store) or a burst of lookups waits on it once, not each time.
    const down = this.#unreachable.get(s.domain);
    if (down && Date.now() < down.until) throw down.err;
    const t0 = Date.now();
    for (let attempt = 0; ; attempt++) {
      try {
        return await IrcSession.connect(s, {
          nick,
          username,
          sasl: sasl ? { account: sasl.nick, password: sasl.password } : undefined,
          signal,
          connectTimeoutMs,
          tlsVerify,
          tlsCa,
          log,
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
          Date.now() - t0 >= connectTimeoutMs - 50
        )
          this.#unreachable.set(s.domain, { until: Date.now() + UNREACHABLE_MS, err: e });
        throw e;
      }
    }
  }

  /** Logged-in session for the seed's account on one server; `signal` only stops this caller's wait. */
  auth(s: ServerSpec, signal: AbortSignal): Promise<IrcSession> {
    return abortable(this.#sharedAuth(s), signal);
  }

  /** The shared logged-in session of one server: connect + SASL or NickServ. */
  #sharedAuth(s: ServerSpec): Promise<IrcSession> {
    const { cache, timeouts, log, life } = this.#o;
    const seed = this.#o.seed();
    return this.#pooled(this.#auth, s, async () => {
      const acct = deriveAccount(seed, s.domain);
      const known = cache.data.servers[s.domain]?.accountRegistered === true;
      let sess: IrcSession;
      try {
        sess = await this.#connect(s, acct.nick, acct.username, known ? acct : undefined);
      } catch (e) {
        if (!(e instanceof SessionError && e.code === "ERR_IRCDNS_NICK_IN_USE")) throw e;
        // Our nick is taken (a squatter or our own ghost): use another nick and log in to the account.
        log(`${s.label}: nick in use, logging in from ${acct.nick}_`);
        sess = await this.#connect(s, `${acct.nick}_`, acct.username, acct);
      }
      try {
        const how = await login(sess, acct, timeouts, life);
        sess.account = acct.nick;
        log(`${s.label}: logged in (${how})`);
        const entry = cache.data.servers[s.domain] ?? {};
        entry.accountRegistered = true;
        entry.lastStarted = Date.now();
        cache.data.servers[s.domain] = entry;
        return sess;
      } catch (e) {
        await sess.close();
        throw e;
      }
    });
  }

  /** Any session for reading: the logged-in one if open, else an anonymous one with a random nick. */
  read(s: ServerSpec, signal: AbortSignal): Promise<IrcSession> {
    const auth = this.#auth.get(s.domain);
    const shared = auth
      ? auth.then(
          (x) => (x.closed ? this.#anon(s) : x),
          () => this.#anon(s),
        )
      : this.#anon(s);
    return abortable(shared, signal);
  }

  #anon(s: ServerSpec): Promise<IrcSession> {
    return this.#pooled(this.#read, s, () => {
      const tag = baseEncode(randomBytes(8), A36).slice(0, 7).toLowerCase();
      return this.#connect(s, `g${tag}`, `u${tag}`, undefined);
    });
  }

  /**
   * One open session per server in `pool`: reuse it, or replace it once closed. Only the promise that is
   * still pooled is dropped, so two callers that both find a dead session cannot orphan (leak) a new one.
   */
  #pooled(
    pool: Map<string, Promise<IrcSession>>,
    s: ServerSpec,
    make: () => Promise<IrcSession>,
  ): Promise<IrcSession> {
    if (this.#closed) return Promise.reject(new ClosedError());
    const existing = pool.get(s.domain);
    if (existing) {
      return existing.then((sess) => {
        if (!sess.closed) return sess;
        if (pool.get(s.domain) === existing) pool.delete(s.domain);
        return this.#pooled(pool, s, make);
      });
    }
    const p = make();
    pool.set(s.domain, p);
    p.catch(() => {
      if (pool.get(s.domain) === p) pool.delete(s.domain);
    });
    return p;
  }

  /** Closes every session (QUIT); later requests fail with ClosedError. */
  async close(): Promise<void> {
    this.#closed = true;
    const all = [...this.#auth.values(), ...this.#read.values()];
    this.#auth.clear();
    this.#read.clear();
    await Promise.all(
      all.map((p) =>
        p.then(
          (s) => s.close(),
          () => {},
        ),
      ),
    );
  }
}
