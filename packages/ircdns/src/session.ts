import IRC from "irc-framework";
import { AbortedError, SessionError } from "./errors.js";
import { type IrcLine, ircLower, parseLine, stripFormatting } from "./line.js";
import { Pacer } from "./pacer.js";
import type { ServerSpec } from "./servers.js";
import { type TlsPolicy, tlsTransport } from "./tls.js";
import { abortable, withDeadline } from "./util.js";

export type Dialect = "anope" | "atheme" | "unknown";

export interface SessionOptions {
  nick: string;
  username: string;
  sasl?: { account: string; password: string } | undefined;
  signal?: AbortSignal | undefined;
  connectTimeoutMs: number;
  /** Check the server's certificate (TLS servers). The server's own `tlsVerify`/`tlsPin` take precedence. */
  tlsVerify: boolean;
  /** PEM certificate(s) trusted instead of the system's roots. */
  tlsCa?: TlsPolicy["ca"];
  log?: ((msg: string) => void) | undefined;
  /** Service-message pace until the services package is known (default 6 per 11 s, for Atheme). */
  servicePace?: { limit: number; windowMs: number } | undefined;
}

/**
 * A raw line as it may be traced: credentials (NickServ REGISTER/IDENTIFY, SASL AUTHENTICATE, PASS) and
 * service replies that mention a password (Atheme echoes it) are cut, so the log sink never gets one.
 */
export function redactLine(line: string): string {
  const cred =
    /^((?:[@:]\S+ )*)(PASS|AUTHENTICATE|PRIVMSG NickServ :(?:REGISTER|IDENTIFY|SET PASSWORD)|NS (?:REGISTER|IDENTIFY))\b.*$/i;
  const m = cred.exec(line);
  if (m) return `${m[1]}${m[2]} [redacted]`;
  // The older `REGISTER #chan <password> <description>` carries the channel password.
  const chan = /^((?:[@:]\S+ )*PRIVMSG ChanServ :REGISTER \S+) \S.*$/i.exec(line);
  if (chan) return `${chan[1]} [redacted]`;
  if (/password/i.test(line) && / NOTICE /i.test(line))
    return `${line.slice(0, line.indexOf(" NOTICE ") + 8)}[redacted]`;
  return line;
}

/** Lines longer than this (without CRLF) are refused: ngIRCd disconnects on them, InspIRCd cuts them. */
export const MAX_LINE = 510;

/**
 * One IRC connection. irc-framework does the socket, CAP/SASL and PING; this class parses the raw lines
 * itself (to tell 331 from 332, see spec section 11), paces every write and serialises service dialogs.
 */
export class IrcSession {
  readonly server: ServerSpec;
  nick: string;
  serverName = "";
  /** ISUPPORT TOPICLEN (307, InspIRCd's default, until the server says otherwise). */
  topicLen = 307;
  /** Services account we are logged in to (may differ from `nick` when our nick was taken). */
  account: string | undefined;
  /** 900 RPL_LOGGEDIN seen (SASL or NickServ). */
  loggedIn = false;
  dialect: Dialect = "unknown";
  /**
   * The older ChanServ command forms this network wants, learnt from its replies (P2PD's `chan_serv`
   * and `set_topic` server flags): `REGISTER #chan <password> <description>`, `SET #chan TOPIC t`.
   */
  readonly legacy = { register: false, topic: false };
  /** Channels we are in (lowercased), from our own JOIN/PART/KICK echoes. */
  readonly joined = new Set<string>();
  private readonly client: InstanceType<typeof IRC.Client>;
  private readonly listeners = new Set<(l: IrcLine) => void>();
  private readonly closeWaiters = new Set<(err: Error) => void>();
  private readonly pacer = new Pacer(10, 2000);
  private readonly servicePacer: Pacer;
  private lock: Promise<unknown> = Promise.resolve();
  private closedErr: Error | undefined;
  private closing = false;
  private closePromise: Promise<void>;
  private resolveClose!: () => void;
  private readonly log: (msg: string) => void;

  private constructor(server: ServerSpec, o: SessionOptions) {
    this.server = server;
    this.nick = o.nick;
    this.log = o.log ?? (() => {});
    // Atheme ignores a user for 30 s once it counts 7 messages within flood_time (10 s, measured in the
    // lab); 6 per 11 s covers one register (5 messages) plus one store.
    this.servicePacer = new Pacer(o.servicePace?.limit ?? 6, o.servicePace?.windowMs ?? 11_000);
    this.closePromise = new Promise((r) => {
      this.resolveClose = r;
    });
    // irc-framework's connect() replaces the constructor's options, so everything goes to connect().
    this.client = new IRC.Client();
    this.client.on("raw", (ev: { line: string; from_server: boolean }) => {
      if (process.env.IRCDNS_TRACE)
        this.log(`${server.label} ${ev.from_server ? "<<" : ">>"} ${redactLine(ev.line.trim())}`);
      if (!ev.from_server) return;
      const l = parseLine(ev.line);
      if (!l) return;
      this.onLine(l);
      for (const fn of [...this.listeners]) fn(l);
    });
    this.client.on("close", () =>
      this.markClosed(
        new SessionError("ERR_IRCDNS_DISCONNECTED", `${server.label}: connection closed`),
      ),
    );
    this.client.on("socket close", (err?: Error) => {
      // A refused certificate keeps its own code (ERR_IRCDNS_TLS).
      if (err instanceof SessionError) return this.markClosed(err);
      this.markClosed(
        new SessionError(
          "ERR_IRCDNS_DISCONNECTED",
          `${server.label}: connection closed${err ? ` (${err.message})` : ""}`,
          {
            cause: err,
          },
        ),
      );
    });
    // irc-framework emits "error" on some transport failures; without a listener it would throw.
    this.client.on("error", (err: Error) =>
      this.markClosed(new SessionError("ERR_IRCDNS_DISCONNECTED", err.message)),
    );
  }

  /** Connect and wait for 001 (and the SASL outcome, which irc-framework settles before 001). */
  static async connect(server: ServerSpec, o: SessionOptions): Promise<IrcSession> {
    const s = new IrcSession(server, o);
    let cleanup = () => {};
    try {
      await withDeadline(
        () =>
          new Promise<void>((resolve, reject) => {
            const offClose = s.onClose(reject);
            const onLine = (l: IrcLine) => {
              if (l.command === "433") {
                reject(
                  new SessionError(
                    "ERR_IRCDNS_NICK_IN_USE",
                    `${server.label}: nick ${o.nick} in use`,
                  ),
                );
              }
              if (l.command === "465" || l.command === "ERROR") {
                reject(
                  new SessionError(
                    "ERR_IRCDNS_REFUSED",
                    `${server.label}: ${l.params.at(-1) ?? "refused"}`,
                  ),
                );
              }
            };
            s.listeners.add(onLine);
            cleanup = () => {
              offClose();
              s.listeners.delete(onLine);
            };
            s.client.once("registered", () => resolve());
            const policy: TlsPolicy = {
              verify: server.tlsVerify ?? o.tlsVerify,
              ca: o.tlsCa,
              pin: server.tlsPin,
              name: server.tlsName,
            };
            s.client.connect({
              host: server.host,
              port: server.port,
              tls: server.tls,
              transport: tlsTransport(policy, server.label),
              nick: o.nick,
              username: o.username,
              gecos: o.username,
              auto_reconnect: false,
              ping_interval: 30,
              ping_timeout: 60,
              message_max_length: MAX_LINE,
              // No CTCP VERSION answer: it would only fingerprint IRCDNS clients (spec 12.2).
              version: null,
              ...(o.sasl ? { account: o.sasl } : {}),
            });
          }),
        {
          signal: o.signal,
          timeoutMs: o.connectTimeoutMs,
          what: `${server.label}: connect`,
          code: "ERR_IRCDNS_CONNECT",
        },
      );
    } catch (e) {
      cleanup();
      await s.close();
      if (e instanceof AbortedError) throw e;
      if (e instanceof SessionError && e.code !== "ERR_IRCDNS_DISCONNECTED") throw e;
      throw new SessionError(
        "ERR_IRCDNS_CONNECT",
        `${server.label}: cannot connect (${(e as Error).message})`,
        { cause: e },
      );
    }
    cleanup();
    return s;
  }

  get closed(): boolean {
    return this.closedErr !== undefined;
  }

  private onLine(l: IrcLine): void {
    if (l.command === "001") {
      this.serverName = l.source;
      if (l.params[0]) this.nick = l.params[0];
    } else if (l.command === "005") {
      for (const p of l.params.slice(1, -1)) {
        const m = /^TOPICLEN=(\d+)$/i.exec(p);
        if (m) this.topicLen = Number(m[1]);
      }
    } else if (l.command === "900") {
      this.loggedIn = true;
    } else if (l.command === "NICK" && ircLower(l.source) === ircLower(this.nick) && l.params[0]) {
      this.nick = l.params[0];
    } else if (l.command === "JOIN" && ircLower(l.source) === ircLower(this.nick) && l.params[0]) {
      this.joined.add(ircLower(l.params[0]));
    } else if (l.command === "PART" && ircLower(l.source) === ircLower(this.nick) && l.params[0]) {
      this.joined.delete(ircLower(l.params[0]));
    } else if (
      l.command === "KICK" &&
      ircLower(l.params[1] ?? "") === ircLower(this.nick) &&
      l.params[0]
    ) {
      this.joined.delete(ircLower(l.params[0]));
    } else if (l.command === "ERROR") {
      this.markClosed(
        new SessionError(
          "ERR_IRCDNS_DISCONNECTED",
          `${this.server.label}: ${l.params[0] ?? "ERROR"}`,
        ),
      );
    }
  }

  private markClosed(err: Error): void {
    if (this.closedErr) return;
    // After close() every later use reports ERR_IRCDNS_CLOSED, whatever the server said on the way out.
    this.closedErr = this.closing
      ? new SessionError("ERR_IRCDNS_CLOSED", `${this.server.label}: session closed`)
      : err;
    this.pacer.close();
    this.servicePacer.close();
    for (const w of [...this.closeWaiters]) w(err);
    this.closeWaiters.clear();
    this.resolveClose();
  }

  private onClose(fn: (err: Error) => void): () => void {
    if (this.closedErr) {
      fn(this.closedErr);
      return () => {};
    }
    this.closeWaiters.add(fn);
    return () => this.closeWaiters.delete(fn);
  }

  /** Atheme floods after 7 service messages in 10 s; Anope and unknown services get a faster pace. */
  setDialect(d: Dialect): void {
    if (d === this.dialect) return;
    this.dialect = d;
    if (d === "anope") this.servicePacer.reconfigure(10, 2000);
  }

  /** Send one raw line through the pacer. Refuses lines over 510 bytes (never split, never cut). */
  async send(line: string): Promise<void> {
    if (/[\r\n\0]/.test(line))
      throw new SessionError("ERR_IRCDNS_BAD_LINE", "line contains CR/LF/NUL");
    if (Buffer.byteLength(line) > MAX_LINE) {
      throw new SessionError(
        "ERR_IRCDNS_LINE_TOO_LONG",
        `line of ${Buffer.byteLength(line)} bytes exceeds ${MAX_LINE}`,
      );
    }
    if (this.closedErr) throw this.closedErr;
    await this.pacer.take().catch(() => {
      throw this.closedErr ?? new SessionError("ERR_IRCDNS_DISCONNECTED", "closed");
    });
    this.client.raw(line);
  }

  /** PRIVMSG to a service, additionally paced for services' flood protection. */
  async sendService(service: string, text: string): Promise<void> {
    if (this.closedErr) throw this.closedErr;
    await this.servicePacer.take().catch(() => {
      throw this.closedErr ?? new SessionError("ERR_IRCDNS_DISCONNECTED", "closed");
    });
    await this.send(`PRIVMSG ${service} :${text}`);
  }

  /**
   * Wait for the first line for which `pick` returns a value (or throws). Listening starts before `start`
   * runs, so quick replies to what `start` sends are not missed.
   */
  async request<T>(
    start: () => Promise<void>,
    pick: (l: IrcLine, settle: (v: T) => void) => T | undefined,
    o: { timeoutMs: number; signal?: AbortSignal | undefined; what: string },
  ): Promise<T> {
    if (this.closedErr) throw this.closedErr;
    // The outcome is recorded by the listener from the start; the timeout only starts once `start`
    // has sent (time spent waiting for the pacer is not the server's fault).
    let outcome: { v: T } | { e: unknown } | undefined;
    let wake = () => {};
    const settle = (v: T) => {
      if (outcome) return;
      outcome = { v };
      wake();
    };
    const fail = (e: unknown) => {
      if (outcome) return;
      outcome = { e };
      wake();
    };
    const listener = (l: IrcLine) => {
      if (outcome) return;
      try {
        const v = pick(l, settle);
        if (v !== undefined) settle(v);
      } catch (e) {
        fail(e);
      }
    };
    const off = this.onClose(fail);
    this.listeners.add(listener);
    try {
      await abortable(start(), o.signal);
      return await withDeadline(
        () =>
          new Promise<T>((resolve, reject) => {
            wake = () => {
              if (!outcome) return;
              if ("e" in outcome) reject(outcome.e);
              else resolve(outcome.v);
            };
            wake();
          }),
        { signal: o.signal, timeoutMs: o.timeoutMs, what: `${this.server.label}: ${o.what}` },
      );
    } finally {
      off();
      this.listeners.delete(listener);
    }
  }

  /** Run service dialogs one at a time, so replies cannot be attributed to the wrong request. */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.lock.then(fn, fn);
    this.lock = run.catch(() => {});
    return run;
  }

  /** A NOTICE from `service` to us, formatting stripped; undefined for any other line. */
  serviceNotice(l: IrcLine, service: string): string | undefined {
    if (l.command !== "NOTICE") return undefined;
    if (ircLower(l.source) !== ircLower(service)) return undefined;
    if (ircLower(l.params[0] ?? "") !== ircLower(this.nick)) return undefined;
    return stripFormatting(l.params[1] ?? "");
  }

  /** QUIT, wait briefly for the server to close, then force the socket shut. Idempotent. */
  async close(): Promise<void> {
    this.closing = true;
    if (!this.closedErr) {
      try {
        if (this.client.connection.connected) this.client.quit("bye");
        else this.client.connection.transport?.close(true);
      } catch {
        // already gone
      }
      const t = setTimeout(() => {
        try {
          this.client.connection.transport?.close(true);
        } catch {
          // already gone
        }
        this.markClosed(new SessionError("ERR_IRCDNS_CLOSED", "closed"));
      }, 1000);
      await this.closePromise;
      clearTimeout(t);
    }
    this.markClosed(new SessionError("ERR_IRCDNS_CLOSED", "closed"));
    this.client.removeAllListeners();
    // Keep a no-op error listener: a late socket error must not crash the process.
    this.client.on("error", () => {});
  }
}
