import { deriveChanPassword } from "./derive.js";
import { NameTakenError, NoQuorumError } from "./errors.js";
import { ircLower } from "./line.js";
import type { Name } from "./names.js";
import { errInfo, type Operation, settle, why } from "./operation.js";
import type { RegisterResult, ServerOutcome } from "./results.js";
import type { ServerSpec } from "./servers.js";
import { chanInfo, dropChan, registerChan } from "./services.js";

/**
 * Register [name, tld, pw] on every server in parallel. Proceeds only if at least N-F servers have the
 * channel free (or already ours); succeeds only if at least N-F end up owned by this seed.
 */
export async function register(
  op: Operation,
  n: Name,
  signal: AbortSignal,
): Promise<RegisterResult> {
  const q = op.quorum;
  const label = `${n.name}.${n.tld}`;
  // Time-locks first, for every server, before any JOIN reveals one channel (front-running, spec 1).
  for (const s of op.servers) op.channel(n, s);
  const dialects = new Map<string, "anope" | "atheme" | "unknown">();
  const phase1 = await settle(op.servers, async (s) => {
    const sess = await op.sessions.auth(s, signal);
    const { chan } = op.channel(n, s);
    const st = await chanInfo(sess, chan, op.timeouts, signal);
    dialects.set(s.domain, sess.dialect);
    if (!st.registered) return "free" as const;
    if (st.founder && ircLower(st.founder) === ircLower(sess.account ?? sess.nick))
      return "mine" as const;
    throw new NameTakenError(`${s.label}: ${chan} belongs to ${st.founder ?? "someone else"}`);
  });
  op.throwIfAborted(signal);
  const outcomes = new Map<string, ServerOutcome>();
  for (const r of phase1) {
    const chan = op.channel(n, r.s).chan;
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
    const servers = op.servers.map((s) => {
      const o = outcomes.get(s.domain) as ServerOutcome;
      const d = dialects.get(s.domain);
      return d ? { ...o, services: d } : o;
    });
    return { name: label, quorum: q, succeeded: servers.filter((x) => x.ok).length, servers };
  };
  if (usable.length < q.registerSuccessMin) {
    await op.cache.save();
    if (taken > q.registerFailureMax)
      throw new NameTakenError(`${label} is taken on ${taken} of ${q.servers} servers`);
    throw new NoQuorumError(
      `${label}: only ${usable.length} of ${q.servers} servers usable, need ${q.registerSuccessMin}${why(result().servers)}`,
      q.registerSuccessMin,
      usable.length,
    );
  }
  const won: ServerSpec[] = [];
  await settle(op.servers, async (s) => {
    const r1 = phase1.find((x) => x.s === s);
    if (!r1?.ok || r1.v === "mine") return;
    const { chan } = op.channel(n, s);
    try {
      const sess = await op.sessions.auth(s, signal);
      const seed = op.requireSeed();
      await registerChan(sess, chan, op.timeouts, signal, () =>
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
    await settle(op.servers, async (s) => {
      if (!won.includes(s)) return;
      const { chan } = op.channel(n, s);
      try {
        await dropChan(await op.sessions.auth(s, signal), chan, op.timeouts, signal);
        outcomes.set(s.domain, {
          server: s.label,
          chan,
          ok: false,
          error: { code: "ERR_IRCDNS_RELEASED", message: "registered, then dropped: no quorum" },
        });
      } catch (e) {
        op.log(`${s.label}: could not drop ${chan}: ${(e as Error).message}`);
      }
    });
    res = result();
  }
  for (const s of op.servers) {
    const oc = outcomes.get(s.domain) as ServerOutcome;
    const key = `${s.domain} ${oc.chan}`;
    const prev = op.cache.data.channels[key];
    op.cache.data.channels[key] = {
      domain: s.domain,
      chan: oc.chan,
      status: oc.ok ? "ok" : "failed",
      failures: oc.ok ? 0 : (prev?.failures ?? 0) + 1,
      lastRefresh: Date.now(),
    };
  }
  await op.cache.save();
  op.throwIfAborted(signal);
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
