import { IrcDnsError, NoQuorumError, NotFoundError } from "./errors.js";
import type { Name } from "./names.js";
import { errInfo, type Operation, why } from "./operation.js";
import { decide, type Vote } from "./quorum.js";
import type { LookupResult, ServerOutcome } from "./results.js";
import { readTopic } from "./services.js";
import { unpackTopic } from "./topic.js";

/**
 * Read every server in parallel; accept the value once F+1 topics agree on one signer (newest wins
 * within that signer's group). Never returns a value fewer than F+1 servers vouch for. `pinned`:
 * the only signer accepted (LookupOptions.signer, lower case).
 */
export async function lookup(
  op: Operation,
  n: Name,
  pinned: string | undefined,
  signal: AbortSignal,
): Promise<LookupResult> {
  const q = op.quorum;
  const label = `${n.name}.${n.tld}`;
  for (const s of op.servers) op.channel(n, s);
  const votes: Vote[] = [];
  const outcomes = new Map<string, ServerOutcome>();
  let answered = 0;
  await new Promise<void>((done) => {
    let pending = op.servers.length;
    let grace: NodeJS.Timeout | undefined;
    const resolve = () => {
      clearTimeout(grace);
      signal.removeEventListener("abort", resolve);
      done();
    };
    const check = () => {
      if (pending === 0) resolve();
      else if (!grace && decide(votes, q.lookupSuccessMin))
        grace = setTimeout(resolve, op.lookupGraceMs);
    };
    signal.addEventListener("abort", resolve, { once: true });
    for (const s of op.servers) {
      const { chan, timeLock } = op.channel(n, s);
      (async () => {
        const sess = await op.sessions.read(s, signal);
        const topic = await readTopic(sess, chan, op.timeouts, signal);
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
  op.throwIfAborted(signal);
  const d = decide(votes, q.lookupSuccessMin);
  const servers = op.servers.map(
    (s) =>
      outcomes.get(s.domain) ?? {
        server: s.label,
        chan: op.channel(n, s).chan,
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
