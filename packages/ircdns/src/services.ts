import type { Account } from "./derive.js";
import { NameTakenError, SessionError } from "./errors.js";
import { type IrcLine, ircLower } from "./line.js";
import type { Dialect, IrcSession } from "./session.js";
import { sleep } from "./util.js";

/** NickServ/ChanServ dialogs, with reply phrases for Anope 2 and Atheme 7 (spec sections 7.2, 10.1). */

export interface ServiceTimeouts {
  serviceMs: number;
  /** How long a reader waits for services to restore the topic of an empty channel. */
  topicRestoreMs: number;
}

const BUSY = /too busy|please wait|wait (\d+) seconds|try again later|flood protection/i;
const NICK_OK =
  /^Nickname \S+ registered|is now registered to|now identified for|you are now recognized|now logged in as|already identified/i;
const NICK_EXISTS = /already registered|nickname is registered|registered and protected/i;
const NICK_BAD =
  /password incorrect|invalid password|incorrect password|access denied|authentication failed/i;

/** 401/440 for the service itself: the network has no (or no running) NickServ/ChanServ. */
function checkServiceMissing(s: IrcSession, l: IrcLine, service: string): void {
  if (
    (l.command === "401" || l.command === "440") &&
    ircLower(l.params[1] ?? "") === ircLower(service)
  ) {
    throw new SessionError(
      "ERR_IRCDNS_NO_SERVICES",
      `${s.server.label}: ${service} is not available`,
    );
  }
}

/**
 * The text of `service`'s NOTICE to us (formatting stripped), undefined for other lines; throws when the
 * network has no such service. Every reply also tells which services package answers.
 */
function serviceReply(s: IrcSession, l: IrcLine, service: string): string | undefined {
  checkServiceMissing(s, l, service);
  const n = s.serviceNotice(l, service);
  if (n === undefined) return undefined;
  const d = detect(n);
  if (d) s.setDialect(d);
  return n;
}

function busyDelay(text: string): number {
  const m = /(\d+) seconds/.exec(text);
  return Math.min(60_000, Math.max(2_000, m ? Number(m[1]) * 1000 + 500 : 5_000));
}

/** Log in (SASL already done, or NickServ REGISTER/IDENTIFY). Retries "too busy" up to 3 times. */
export async function login(
  s: IrcSession,
  acct: Account,
  t: ServiceTimeouts,
  signal?: AbortSignal,
): Promise<"sasl" | "registered" | "identified"> {
  if (s.loggedIn) return "sasl";
  // Someone holds our nick: log in to the account from another nick (Anope and Atheme both take
  // "IDENTIFY <account> <password>"); registering is impossible from a different nick.
  if (ircLower(s.nick) !== ircLower(acct.nick)) return identifyAs(s, acct, t, signal);
  return s.exclusive(async () => {
    for (let attempt = 0; ; attempt++) {
      let identifying = false;
      const r = await s.request<{
        kind: "ok" | "busy";
        how?: "registered" | "identified";
        text?: string;
      }>(
        () => s.sendService("NickServ", `REGISTER ${acct.password} ${acct.email}`),
        (l) => {
          if (l.command === "900")
            return { kind: "ok", how: identifying ? "identified" : "registered" };
          const n = s.serviceNotice(l, "NickServ");
          if (n === undefined) return undefined;
          if (NICK_OK.test(n))
            return { kind: "ok", how: identifying ? "identified" : "registered" };
          if (BUSY.test(n)) return { kind: "busy", text: n };
          if (NICK_BAD.test(n))
            throw new SessionError(
              "ERR_IRCDNS_LOGIN",
              `${s.server.label}: NickServ refused the password`,
            );
          if (!identifying && NICK_EXISTS.test(n)) {
            identifying = true;
            s.sendService("NickServ", `IDENTIFY ${acct.password}`).catch(() => {});
          }
          return undefined;
        },
        { timeoutMs: t.serviceMs * 2, signal, what: "NickServ login" },
      );
      if (r.kind === "ok") {
        s.loggedIn = true;
        return r.how ?? "registered";
      }
      if (attempt >= 3)
        throw new SessionError("ERR_IRCDNS_SERVICES_BUSY", `${s.server.label}: NickServ busy`);
      await sleep(busyDelay(r.text ?? ""), signal);
    }
  });
}

function identifyAs(
  s: IrcSession,
  acct: Account,
  t: ServiceTimeouts,
  signal?: AbortSignal,
): Promise<"identified"> {
  return s.exclusive(async () => {
    await s.request<true>(
      () => s.sendService("NickServ", `IDENTIFY ${acct.nick} ${acct.password}`),
      (l) => {
        checkServiceMissing(s, l, "NickServ");
        if (l.command === "900") return true;
        const n = s.serviceNotice(l, "NickServ");
        if (n === undefined) return undefined;
        if (NICK_OK.test(n)) return true;
        if (NICK_BAD.test(n) || /not registered|isn't registered|no such/i.test(n)) {
          throw new SessionError(
            "ERR_IRCDNS_NICK_IN_USE",
            `${s.server.label}: nick ${acct.nick} is held by someone else`,
          );
        }
        return undefined;
      },
      { timeoutMs: t.serviceMs, signal, what: "NickServ IDENTIFY" },
    );
    s.loggedIn = true;
    return "identified" as const;
  });
}

export type ChanStatus = { registered: false } | { registered: true; founder: string | undefined };

function detect(text: string): Dialect | undefined {
  if (/Information for channel|isn't registered|registered under your/i.test(text)) return "anope";
  if (/Information on|is not registered|is now registered to/i.test(text)) return "atheme";
  return undefined;
}

const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/**
 * Older services (IRCServices, Epona, Anope 1.x, some networks' own) answer a bare `REGISTER #chan`
 * with a syntax line naming a password: "Syntax: REGISTER channel password description", or a bare
 * "Insufficient parameters" (modern services only say that when the channel itself is missing).
 */
const LEGACY_REGISTER =
  /\bREGISTER\s+<?#?chan(nel)?\S*\s+<?pass(word)?\b|(insufficient|not enough) parameters/i;
/** A ChanServ without TOPIC ("Unknown command TOPIC."): topics are set with `SET #chan TOPIC t`. */
const NO_TOPIC_COMMAND = /unknown command|invalid command|no such command|not a valid command/i;
/** P2PD's channel description on networks that want one (its literal "desc"). */
export const LEGACY_CHAN_DESC = "desc";

/** ChanServ INFO: is the channel registered, and to whom. Also detects the services package. */
export function chanInfo(
  s: IrcSession,
  chan: string,
  t: ServiceTimeouts,
  signal?: AbortSignal,
): Promise<ChanStatus> {
  const notReg = new RegExp(`${esc(chan)}\\S* (isn't|is not) registered`, "i");
  return s.exclusive(() =>
    s.request<ChanStatus>(
      () => s.sendService("ChanServ", `INFO ${chan}`),
      (l) => {
        const n = serviceReply(s, l, "ChanServ");
        if (n === undefined) return undefined;
        if (notReg.test(n)) return { registered: false };
        const f = /^\s*Founder\s*:\s*(\S+)/i.exec(n);
        if (f) return { registered: true, founder: f[1] };
        if (BUSY.test(n))
          throw new SessionError("ERR_IRCDNS_SERVICES_BUSY", `${s.server.label}: ChanServ: ${n}`);
        if (/forbidden|suspended|cannot be registered/i.test(n))
          return { registered: true, founder: undefined };
        return undefined;
      },
      { timeoutMs: t.serviceMs, signal, what: `ChanServ INFO ${chan}` },
    ),
  );
}

/** JOIN and wait until the server confirms it (end of NAMES) or refuses. */
async function join(
  s: IrcSession,
  chan: string,
  t: ServiceTimeouts,
  signal?: AbortSignal,
): Promise<void> {
  const lc = ircLower(chan);
  if (s.joined.has(lc)) return;
  await s.request<true>(
    () => s.send(`JOIN ${chan}`),
    (l) => {
      if (l.command === "366" && ircLower(l.params[1] ?? "") === lc) return true;
      if (
        /^(403|405|471|473|474|475|476|477|479)$/.test(l.command) &&
        ircLower(l.params[1] ?? "") === lc
      ) {
        throw new SessionError(
          "ERR_IRCDNS_JOIN",
          `${s.server.label}: cannot join ${chan} (${l.command} ${l.params.at(-1) ?? ""})`,
        );
      }
      return undefined;
    },
    { timeoutMs: t.serviceMs, signal, what: `JOIN ${chan}` },
  );
}

/**
 * ChanServ REGISTER plus the per-package settings; throws NameTakenError when someone else holds it.
 * `chanPassword` gives the channel password for networks that want the older
 * `REGISTER #chan <password> <description>` (P2PD's: `deriveChanPassword(chan, domain, seed)`).
 */
export async function registerChan(
  s: IrcSession,
  chan: string,
  t: ServiceTimeouts,
  signal?: AbortSignal,
  chanPassword?: () => string,
): Promise<void> {
  await join(s, chan, t, signal);
  try {
    await s.exclusive(async () => {
      for (let attempt = 0; ; attempt++) {
        const legacy = s.legacy.register;
        const cmd = legacy
          ? `REGISTER ${chan} ${chanPassword?.() ?? ""} ${LEGACY_CHAN_DESC}`
          : `REGISTER ${chan}`;
        const r = await s.request<"ok" | "busy" | "mine" | "legacy">(
          () => s.sendService("ChanServ", cmd),
          (l) => {
            const n = serviceReply(s, l, "ChanServ");
            if (n === undefined) return undefined;
            if (/registered under your|is now registered to/i.test(n)) return "ok";
            if (!legacy && LEGACY_REGISTER.test(n)) {
              if (!chanPassword)
                throw new SessionError(
                  "ERR_IRCDNS_REGISTER",
                  `${s.server.label}: ChanServ wants a channel password`,
                );
              return "legacy";
            }
            if (/already registered/i.test(n)) {
              if (new RegExp(`to ${esc(s.account ?? s.nick)}\\b`, "i").test(n)) return "mine";
              throw new NameTakenError(`${s.server.label}: ${chan} is already registered`);
            }
            if (BUSY.test(n)) return "busy";
            if (
              /channel operator|must be (an )?op|not on that channel|you need|not allowed|permission/i.test(
                n,
              )
            ) {
              throw new NameTakenError(`${s.server.label}: cannot register ${chan}: ${n}`);
            }
            if (/too many|maximum|limit/i.test(n)) {
              throw new SessionError("ERR_IRCDNS_CHANNEL_LIMIT", `${s.server.label}: ${n}`);
            }
            if (/syntax|invalid|denied|must|cannot|can't|unknown/i.test(n)) {
              throw new SessionError("ERR_IRCDNS_REGISTER", `${s.server.label}: ChanServ: ${n}`);
            }
            return undefined;
          },
          { timeoutMs: t.serviceMs, signal, what: `ChanServ REGISTER ${chan}` },
        );
        if (r === "legacy") {
          // Learnt once per network: every later REGISTER on this session uses the older form.
          s.legacy.register = true;
          attempt--;
          continue;
        }
        if (r !== "busy") break;
        if (attempt >= 3)
          throw new SessionError("ERR_IRCDNS_SERVICES_BUSY", `${s.server.label}: ChanServ busy`);
        await sleep(5_000, signal);
      }
      // Topic retention is on by default in Anope; Atheme needs KEEPTOPIC. TOPICLOCK stops non-founder ops.
      // Older services take Atheme's `SET #chan OPTION value` order (P2PD's); Anope 1.x has no TOPICLOCK.
      const sets = s.legacy.register
        ? [`SET ${chan} KEEPTOPIC ON`]
        : s.dialect === "atheme"
          ? [`SET ${chan} KEEPTOPIC ON`, `SET ${chan} TOPICLOCK ON`]
          : [`TOPIC ${chan} LOCK`]; // Anope 2.0: topic lock lives in TOPIC, retention is on by default
      for (const cmd of sets) {
        await s
          .request<true>(
            () => s.sendService("ChanServ", cmd),
            (l) => (s.serviceNotice(l, "ChanServ") !== undefined ? true : undefined),
            { timeoutMs: Math.min(t.serviceMs, 3_000), signal, what: `ChanServ ${cmd}` },
          )
          .catch(() => undefined); // best effort: the name works without it
      }
    });
    await s.send(`MODE ${chan} +s`).catch(() => {});
  } finally {
    // Stay in the channel: a following store needs no new JOIN (InspIRCd fakelag counts every command).
  }
}

/** The ChanServ command that sets a topic on this network (`SET #chan TOPIC t` on older services). */
export function topicCommand(s: IrcSession, chan: string, topic: string): string {
  return s.legacy.topic ? `SET ${chan} TOPIC ${topic}` : `TOPIC ${chan} ${topic}`;
}

/**
 * JOIN, ChanServ TOPIC, wait for the TOPIC echo carrying exactly our text. A ChanServ that does not
 * know TOPIC gets the older `SET #chan TOPIC t` once, and the network is remembered as such.
 */
export async function setTopic(
  s: IrcSession,
  chan: string,
  topic: string,
  t: ServiceTimeouts,
  signal?: AbortSignal,
): Promise<void> {
  const lc = ircLower(chan);
  await join(s, chan, t, signal);
  for (;;) {
    const legacy = s.legacy.topic;
    const r = await s.exclusive(() =>
      s.request<"ok" | "legacy">(
        () => s.sendService("ChanServ", topicCommand(s, chan, topic)),
        (l) => {
          checkServiceMissing(s, l, "ChanServ");
          if (l.command === "TOPIC" && ircLower(l.params[0] ?? "") === lc) {
            if (l.params[1] === topic) return "ok";
            if (
              (l.params[1] ?? "").length < topic.length &&
              topic.startsWith(l.params[1] ?? "\0")
            ) {
              throw new SessionError(
                "ERR_IRCDNS_TOPIC_TRUNCATED",
                `${s.server.label}: topic was truncated`,
              );
            }
            return undefined; // services restoring the previous topic
          }
          const n = s.serviceNotice(l, "ChanServ");
          if (n !== undefined && !legacy && NO_TOPIC_COMMAND.test(n)) return "legacy";
          if (
            n !== undefined &&
            /access denied|not registered|permission|syntax|invalid|unknown/i.test(n)
          ) {
            throw new SessionError(
              "ERR_IRCDNS_TOPIC",
              `${s.server.label}: ChanServ TOPIC failed: ${n}`,
            );
          }
          return undefined;
        },
        { timeoutMs: t.serviceMs, signal, what: `ChanServ TOPIC ${chan}` },
      ),
    );
    if (r === "ok") return; // stays joined until QUIT, see registerChan
    s.legacy.topic = true;
  }
}

/**
 * Read a channel's topic: JOIN, take 332, or after 331 / end of NAMES wait for the TOPIC that services
 * send when they recreate an empty registered channel. Undefined when no topic arrives.
 */
export async function readTopic(
  s: IrcSession,
  chan: string,
  t: ServiceTimeouts,
  signal?: AbortSignal,
): Promise<string | undefined> {
  const lc = ircLower(chan);
  const wasJoined = s.joined.has(lc);
  let restoreTimer: NodeJS.Timeout | undefined;
  try {
    return await s
      .request<{ topic: string | undefined }>(
        // Already a member: ask directly (332, or 331 when the channel really has no topic).
        () => s.send(wasJoined ? `TOPIC ${chan}` : `JOIN ${chan}`),
        (l, settle) => {
          const is332 = l.command === "332" && ircLower(l.params[1] ?? "") === lc;
          const isTopic = l.command === "TOPIC" && ircLower(l.params[0] ?? "") === lc;
          if (is332 || isTopic) {
            const v = is332 ? l.params[2] : l.params[1];
            return v ? { topic: v } : undefined;
          }
          if (wasJoined && l.command === "331" && ircLower(l.params[1] ?? "") === lc)
            return { topic: undefined };
          if (
            (l.command === "366" || l.command === "331") &&
            ircLower(l.params[1] ?? "") === lc &&
            !restoreTimer
          ) {
            // No topic yet: keep listening a little for the TOPIC services send when they recreate the channel.
            restoreTimer = setTimeout(() => settle({ topic: undefined }), t.topicRestoreMs);
          }
          if (
            /^(403|405|442|471|473|474|475|476|477|479)$/.test(l.command) &&
            ircLower(l.params[1] ?? "") === lc
          ) {
            throw new SessionError(
              "ERR_IRCDNS_JOIN",
              `${s.server.label}: cannot join ${chan} (${l.command})`,
            );
          }
          return undefined;
        },
        { timeoutMs: t.serviceMs + t.topicRestoreMs, signal, what: `read topic ${chan}` },
      )
      .then((r) => r.topic);
  } finally {
    if (restoreTimer) clearTimeout(restoreTimer);
    // Readers leave what they joined, so a long-lived reader never hits the server's channel limit.
    if (!wasJoined && !s.closed) {
      s.joined.delete(lc); // at once: a next read must not rely on membership the PART is ending
      s.send(`PART ${chan}`).catch(() => {});
    }
  }
}

/**
 * ChanServ DROP with each package's confirmation: Anope wants the channel name twice, Atheme answers
 * with a key to send back. Used to release channels won on too few servers.
 */
export function dropChan(
  s: IrcSession,
  chan: string,
  t: ServiceTimeouts,
  signal?: AbortSignal,
): Promise<void> {
  return s.exclusive(async () => {
    let confirm: string | undefined;
    const first = await s.request<"dropped" | "confirm">(
      () => s.sendService("ChanServ", `DROP ${chan}`),
      (l) => {
        const n = serviceReply(s, l, "ChanServ");
        if (n === undefined) return undefined;
        if (/has been dropped|dropped/i.test(n) && !/twice|confirm/i.test(n)) return "dropped";
        if (/name twice/i.test(n)) {
          confirm = `DROP ${chan} ${chan}`;
          return "confirm";
        }
        const key = new RegExp(`DROP ${esc(chan)} (\\S+)`, "i").exec(n);
        if (key) {
          confirm = `DROP ${chan} ${key[1]}`;
          return "confirm";
        }
        if (/denied|not registered|isn't registered|permission|invalid/i.test(n)) {
          throw new SessionError("ERR_IRCDNS_DROP", `${s.server.label}: ChanServ DROP: ${n}`);
        }
        return undefined;
      },
      { timeoutMs: t.serviceMs, signal, what: `ChanServ DROP ${chan}` },
    );
    if (first === "dropped" || confirm === undefined) return;
    const cmd = confirm;
    await s.request<true>(
      () => s.sendService("ChanServ", cmd),
      (l) => {
        const n = s.serviceNotice(l, "ChanServ");
        if (n === undefined) return undefined;
        if (/dropped/i.test(n)) return true;
        if (/denied|invalid|incorrect|permission/i.test(n)) {
          throw new SessionError("ERR_IRCDNS_DROP", `${s.server.label}: ChanServ DROP: ${n}`);
        }
        return undefined;
      },
      { timeoutMs: t.serviceMs, signal, what: `ChanServ DROP ${chan} (confirm)` },
    );
  });
}
