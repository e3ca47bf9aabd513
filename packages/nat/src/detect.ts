import { setMaxListeners } from "node:events";
import { defaultGatewayMac, NatCache, type NetworkId } from "./cache.js";
import { classifyObservations } from "./classify.js";
import { classifyDelta } from "./delta.js";
import { abortError, NatError } from "./errors.js";
import { fmt, type ProbeTiming, probeDelta, probeNat, resolveStunServer } from "./probe.js";
import { ProbeSockets } from "./sockets.js";
import type { Delta, Endpoint, Family, NatResult } from "./types.js";

export interface DetectNatOptions extends ProbeTiming {
  /** STUN servers: "host:port", "[v6]:port" or endpoints. RFC 5780 ones (OTHER-ADDRESS) are needed for
   * the filtering tests; two or more let the answers be cross-checked. */
  servers: readonly (string | Endpoint)[];
  family?: Family;
  localAddress?: string;
  /** Overall cap in ms (default 4000, as P2PD's load_nat). Past it, the probes stop and the answer is what
   * the data supports (often `unknown`). */
  timeoutMs?: number;
  deltaSamples?: number;
  /** Per-network cache: a NatCache, or a directory for one. Omitted => no cache. */
  cache?: NatCache | string;
  /** Skip reading the cache (a fresh result is still written). */
  refresh?: boolean;
  /** This host's addresses (default: os.networkInterfaces()). */
  localAddresses?: readonly string[];
  signal?: AbortSignal;
  /** Progress lines (for a CLI's stderr); silent by default. */
  progress?: (line: string) => void;
}

/**
 * Classifies the NAT in front of this host: one of the seven types plus the port delta, in about two RTTs
 * plus `minWaitMs` when the servers answer. Returns `type: "unknown"` with a `reason` rather than a guess.
 */
export async function detectNat(options: DetectNatOptions): Promise<NatResult> {
  const t0 = performance.now();
  const family = options.family ?? 4;
  const signal = options.signal;
  if (signal?.aborted) throw abortError(signal);
  if (!options.servers?.length) throw new NatError("ERR_NAT_NO_SERVERS", "no STUN servers given");
  const say = options.progress ?? (() => {});
  const cache =
    typeof options.cache === "string" ? new NatCache({ dir: options.cache }) : options.cache;

  // Overall cap: one controller for everything below.
  const ac = new AbortController();
  setMaxListeners(0, ac.signal);
  const onAbort = () => ac.abort(signal?.reason);
  signal?.addEventListener("abort", onAbort, { once: true });
  const cap = setTimeout(
    () => ac.abort(new NatError("ERR_NAT_ABORTED", "timeout")),
    options.timeoutMs ?? 4000,
  );
  try {
    let netId: NetworkId | undefined;
    if (cache) {
      // The id needs one answer: a short budget, so a silent server still leaves the probe its time.
      netId = await networkId(options, family, ac.signal, idBudgetMs(options)).catch((err) => {
        if (ac.signal.aborted) throw err;
        return undefined; // no cache lookup; the full test still runs
      });
      if (netId && !options.refresh) {
        const hit = await cache.get(netId, { signal: ac.signal });
        if (hit) {
          say(`cached result for this network (${netId.externalIp})`);
          return hit;
        }
      }
    }
    // Leave room under the overall cap for the filtering window and the delta after the first answers.
    const timeoutMs = options.timeoutMs ?? 4000;
    const firstAnswerMs = Math.min(options.firstAnswerMs ?? 2000, Math.max(50, timeoutMs / 2));
    const probe = await probeNat({
      ...options,
      firstAnswerMs,
      family,
      signal: ac.signal,
      progress: say,
    });
    const c = classifyObservations(probe.observations);
    let delta: Delta = { kind: "not-applicable", value: 0 };
    if (c.type !== "blocked") {
      let { spread, consecutive } = probe;
      const deltaName = probe.observations.servers[probe.deltaServer]?.server;
      if (!deltaName || !c.trusted.includes(deltaName)) {
        // The delta went to a server we now distrust (or that never answered): redo it with a trusted one.
        const alt = probe.observations.servers.find((s) => c.trusted.includes(s.server));
        if (alt) {
          say(`re-running the delta test against ${alt.server}`);
          ({ spread, consecutive } = await probeDelta(alt.primary, {
            family,
            localAddress: options.localAddress,
            samples: options.deltaSamples,
            signal: ac.signal,
          }));
        } else {
          spread = [];
          consecutive = [];
        }
      }
      delta = classifyDelta(spread, consecutive);
    }
    const result: NatResult = {
      type: c.type,
      delta,
      mapped: c.mapped,
      ms: Math.round(performance.now() - t0),
      family,
    };
    if (c.reason) result.reason = c.reason;
    if (c.ignored.length) result.ignored = c.ignored;
    if (cache && c.type !== "unknown" && c.type !== "blocked") {
      const id =
        netId ??
        (await networkId(options, family, ac.signal, idBudgetMs(options)).catch(() => undefined));
      const ext = c.mapped[0]?.host;
      if (id && ext === id.externalIp) {
        // A cache that cannot be written (read-only dir, full disk) must not cost the answer.
        await cache
          .set(id, result, { signal: ac.signal })
          .catch((err: Error) => say(`cache not written: ${err.message}`));
      }
    }
    return result;
  } catch (err) {
    if (signal?.aborted) throw abortError(signal);
    if (ac.signal.aborted) {
      throw new NatError(
        "ERR_NAT_ABORTED",
        `NAT classification did not finish in ${options.timeoutMs ?? 4000} ms`,
      );
    }
    throw err;
  } finally {
    clearTimeout(cap);
    signal?.removeEventListener("abort", onAbort);
  }
}

/**
 * Gateway MAC + external IP. The external IP must be agreed by two servers when two or more are given
 * (one server alone could hand us another network's cache entry).
 */
function idBudgetMs(options: DetectNatOptions): number {
  return Math.min(options.firstAnswerMs ?? 2000, Math.max(50, (options.timeoutMs ?? 4000) / 4));
}

async function networkId(
  options: DetectNatOptions,
  family: Family,
  signal: AbortSignal,
  timeoutMs: number,
): Promise<NetworkId | undefined> {
  const servers = await Promise.all(
    options.servers.map((s) => resolveStunServer(s, family, signal)),
  );
  const pool = new ProbeSockets(family, options.localAddress);
  try {
    const { client } = await pool.open(0, signal);
    const need = Math.min(2, servers.length);
    const votes = new Map<string, number>();
    const ip = await new Promise<string | undefined>((resolve) => {
      let pending = servers.length;
      for (const s of servers) {
        client
          .binding(s, { signal, timeoutMs })
          .then((r) => {
            const v = (votes.get(r.mapped.host) ?? 0) + 1;
            votes.set(r.mapped.host, v);
            if (v >= need) resolve(r.mapped.host);
          })
          .catch(() => {})
          .finally(() => {
            if (--pending === 0) resolve(undefined);
          });
      }
    });
    if (!ip) return undefined;
    return { family, gatewayMac: await defaultGatewayMac({ signal }), externalIp: ip };
  } finally {
    await pool.close();
  }
}

export { fmt as formatEndpoint };
