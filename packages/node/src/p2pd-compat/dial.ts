import { connect, type Socket } from "node:net";
import { deadline } from "@p2pd/netifaces";
import type { P2PAddress } from "../address.js";
import { P2pdNodeError } from "../errors.js";

/** Hosts to try for a P2PD address: each entry's external IP then its NIC IP, IPv4 first. */
export function p2pdCandidates(remote: P2PAddress): { host: string; port: number }[] {
  const seen = new Set<string>();
  const out: { host: string; port: number }[] = [];
  for (const e of [...remote.ipv4, ...remote.ipv6]) {
    for (const host of [e.ext, e.internal]) {
      // A link-local IPv6 needs a zone we do not know: skip it.
      if (/^fe[89ab]/i.test(host)) continue;
      const key = `${host}|${e.port}`;
      if (seen.has(key)) continue;
      seen.add(key);
      out.push({ host, port: e.port });
    }
  }
  return out;
}

function tryConnect(host: string, port: number, signal: AbortSignal): Promise<Socket> {
  return new Promise<Socket>((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const s = connect({ host, port });
    const onAbort = () => {
      s.destroy();
      reject(signal.reason);
    };
    signal.addEventListener("abort", onAbort, { once: true });
    s.once("connect", () => {
      signal.removeEventListener("abort", onAbort);
      s.setNoDelay(true);
      resolve(s);
    });
    s.once("error", (err) => {
      signal.removeEventListener("abort", onAbort);
      s.destroy();
      reject(err);
    });
  });
}

/**
 * Direct TCP to a P2PD node: every candidate at once, the first to connect wins and the others
 * are closed (P2PD itself keeps the first in list order). Throws P2pdNodeError ERR_CONNECT when
 * none connects within `timeoutMs` (default 4 s, P2PD's direct timeout is 2 s per pair).
 */
export async function dialP2pd(
  remote: P2PAddress,
  opts: { signal?: AbortSignal; timeoutMs?: number } = {},
): Promise<Socket> {
  const cands = p2pdCandidates(remote);
  if (cands.length === 0)
    throw new P2pdNodeError("ERR_CONNECT", "the P2PD address lists no dialable IP");
  const done = new AbortController();
  const limit = deadline(opts.timeoutMs ?? 4000, done.signal, opts.signal);
  const { signal } = limit;
  const attempts = cands.map((c) => tryConnect(c.host, c.port, signal));
  let winner: Socket | undefined;
  try {
    winner = await Promise.any(attempts);
    return winner;
  } catch (err) {
    opts.signal?.throwIfAborted();
    const reasons = (err as AggregateError).errors?.map((e: Error) => e.message) ?? [];
    throw new P2pdNodeError(
      "ERR_CONNECT",
      `no P2PD candidate answered (${cands.map((c) => `${c.host}:${c.port}`).join(", ")}): ${reasons[0] ?? "timeout"}`,
      { cause: err },
    );
  } finally {
    // Losers: close any that connected after the winner.
    done.abort();
    limit.clear();
    for (const a of attempts)
      a.then(
        (s) => s !== winner && s.destroy(),
        () => {},
      );
  }
}
