import { deriveSigningKey } from "./derive.js";
import { NoQuorumError, SessionError, ValueTooLargeError } from "./errors.js";
import type { Name } from "./names.js";
import { errInfo, type Operation, settle, why } from "./operation.js";
import type { ServerOutcome, StoreResult } from "./results.js";
import { setTopic, topicCommand } from "./services.js";
import { type IrcSession, MAX_LINE } from "./session.js";
import { maxTopicLength, maxValueBytes, packTopic } from "./topic.js";

/** Topic cap from the 512-byte line limit on a reader's 332 reply (63-char server, 30-char nick). */
export const LINE_TOPIC_CAP = 376;

/** Store `value` as the signed topic of the name's channel on every server; needs N-F confirmations. */
export async function store(
  op: Operation,
  value: string,
  n: Name,
  seed: Uint8Array,
  signal: AbortSignal,
): Promise<StoreResult> {
  const q = op.quorum;
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
  for (const s of op.servers) op.channel(n, s);
  // Phase 1: sessions up, so every server's TOPICLEN is known before any topic is written.
  const sessions = await settle(op.servers, (s) => op.sessions.auth(s, signal));
  op.throwIfAborted(signal);
  const limitOf = (sess: IrcSession, chan: string) =>
    Math.min(
      sess.topicLen,
      LINE_TOPIC_CAP,
      MAX_LINE - `PRIVMSG ChanServ :${topicCommand(sess, chan, "")}`.length,
    );
  const fits = sessions.filter(
    (r) => r.ok && maxTopicLength(bytes) <= limitOf(r.v, op.channel(n, r.s).chan),
  );
  const up = sessions.filter((r) => r.ok);
  if (up.length >= q.registerSuccessMin && fits.length < q.registerSuccessMin) {
    const limits = up
      .map((r) => (r.ok ? maxValueBytes(limitOf(r.v, op.channel(n, r.s).chan)) : 0))
      .sort((a, b) => b - a);
    const max = limits[q.registerSuccessMin - 1] ?? 0;
    throw new ValueTooLargeError(
      `value of ${bytes} bytes does not fit the topic limits of ${q.registerSuccessMin} servers (max ${max})`,
      max,
    );
  }
  const time = Math.floor(Date.now() / 1000);
  const outcomes = await settle(op.servers, async (s) => {
    const r = sessions.find((x) => x.s === s);
    if (!r?.ok) throw r && !r.ok ? r.e : new SessionError("ERR_IRCDNS_CONNECT", "no session");
    const { chan, timeLock } = op.channel(n, s);
    const topic = packTopic({ value, priv, timeLock, time });
    const limit = limitOf(r.v, chan);
    if (topic.length > limit)
      throw new ValueTooLargeError(
        `${s.label}: topic of ${topic.length} > ${limit}`,
        maxValueBytes(limit),
      );
    await setTopic(r.v, chan, topic, op.timeouts, signal);
  });
  const servers = outcomes.map((r): ServerOutcome => {
    const chan = op.channel(n, r.s).chan;
    return r.ok
      ? { server: r.s.label, chan, ok: true }
      : { server: r.s.label, chan, ok: false, error: errInfo(r.e) };
  });
  const succeeded = servers.filter((x) => x.ok).length;
  // A topic change is channel activity: it counts as a refresh.
  for (const x of outcomes) {
    const c = op.cache.data.channels[`${x.s.domain} ${op.channel(n, x.s).chan}`];
    if (x.ok && c) c.lastRefresh = Date.now();
  }
  await op.cache.save();
  op.throwIfAborted(signal);
  if (succeeded < q.registerSuccessMin) {
    throw new NoQuorumError(
      `${label}: stored on ${succeeded} of ${q.servers} servers, need ${q.registerSuccessMin}${why(servers)}`,
      q.registerSuccessMin,
      succeeded,
    );
  }
  return { name: label, quorum: q, succeeded, servers, time };
}
