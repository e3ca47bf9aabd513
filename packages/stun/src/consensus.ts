import type { BindingResult, RequestOptions } from "./client.js";
import { StunClient } from "./client.js";
import { familyOf, formatEndpoint, type StunEndpoint, sameHost } from "./endpoint.js";
import { abortError, StunError } from "./errors.js";
import { resolveServer, type StunServerAddress } from "./sockets.js";
import type { StunTransport } from "./transport.js";

export interface ServerResult {
  /** The server as given (string form). */
  server: string;
  mapped?: StunEndpoint;
  rtt?: number;
  error?: { code: string; message: string };
}

export interface ExternalAddressResult {
  /** The external IP at least `minAgree` servers reported. */
  ip: string;
  family: 4 | 6;
  /** Servers that reported `ip` (ports may differ behind a symmetric NAT). */
  agreed: ServerResult[];
  /** Servers that answered with another IP: a sign of a multi-homed or misbehaving path. */
  disagreed: ServerResult[];
  failed: ServerResult[];
}

export interface ExternalAddressOptions
  extends Pick<RequestOptions, "rto" | "rc" | "rm" | "tcpTimeoutMs"> {
  /** Servers that must report the same IP (default 2). Never trust one server unless you set 1. */
  minAgree?: number;
  /** Query at most this many servers from the list (default: all), in list order. */
  maxAgree?: number;
  protocol?: "udp" | "tcp";
  family?: 4 | 6;
  localAddress?: string;
  localPort?: number;
  /** Wait for every server (to report all disagreement) instead of returning at quorum. */
  waitAll?: boolean;
  /** Per-server cap in ms (default 3000). */
  timeoutMs?: number;
  /** Run the UDP queries over this transport (e.g. a pipe's socket) instead of a fresh socket. */
  transport?: StunTransport;
  signal?: AbortSignal;
}

function label(s: StunServerAddress): string {
  return typeof s === "string" ? s : formatEndpoint({ host: s.host, port: s.port ?? 3478 });
}

function errInfo(e: unknown): { code: string; message: string } {
  const x = e as { code?: unknown; message?: unknown };
  return {
    code: typeof x.code === "string" ? x.code : "ERR_STUN_UNEXPECTED",
    message: String(x.message ?? e),
  };
}

/**
 * Queries servers in parallel from one local socket and returns the external IP once `minAgree` of
 * them report it. Resolves early; the remaining queries are cancelled. Throws ERR_STUN_NO_QUORUM.
 */
export async function getExternalAddress(
  servers: StunServerAddress[],
  opts: ExternalAddressOptions = {},
): Promise<ExternalAddressResult> {
  const minAgree = opts.minAgree ?? 2;
  const list = servers.slice(0, opts.maxAgree ?? servers.length);
  if (!Number.isInteger(minAgree) || minAgree < 1)
    throw new StunError("ERR_STUN_BAD_ARGUMENT", "minAgree must be ≥ 1");
  if (list.length < minAgree) {
    throw new StunError(
      "ERR_STUN_NO_QUORUM",
      `${list.length} server(s) cannot give ${minAgree} agreeing answers`,
    );
  }
  if (opts.signal?.aborted) throw abortError(opts.signal);
  const family = opts.family ?? (opts.localAddress ? familyOf(opts.localAddress) : undefined);
  const inner = new AbortController();
  const signal = opts.signal ? AbortSignal.any([opts.signal, inner.signal]) : inner.signal;
  const protocol = opts.protocol ?? "udp";
  const shared =
    protocol === "udp"
      ? opts.transport
        ? new StunClient(opts.transport, opts)
        : await StunClient.udp({ ...opts, family: family ?? 4, signal })
      : undefined;
  const results: ServerResult[] = list.map((s) => ({ server: label(s) }));
  const groups = new Map<string, ServerResult[]>();
  let winner: string | undefined;
  try {
    await new Promise<void>((resolve) => {
      let left = list.length;
      const done = () => {
        if (--left === 0) resolve();
      };
      list.forEach((s, i) => {
        const r = results[i] as ServerResult;
        const one = async (): Promise<BindingResult> => {
          const to = await resolveServer(s, { family, signal });
          if (shared)
            return shared.binding(to, { ...opts, signal, timeoutMs: opts.timeoutMs ?? 3000 });
          const c = await StunClient.tcp(to, { ...opts, family: to.family, signal });
          try {
            return await c.binding(to, { ...opts, signal, timeoutMs: opts.timeoutMs ?? 3000 });
          } finally {
            c.close();
          }
        };
        one()
          .then((b) => {
            r.mapped = b.mapped;
            r.rtt = b.rtt;
            const key = [...groups.keys()].find((k) => sameHost(k, b.mapped.host)) ?? b.mapped.host;
            const g = groups.get(key) ?? [];
            g.push(r);
            groups.set(key, g);
            if (winner === undefined && g.length >= minAgree) {
              winner = key;
              if (!opts.waitAll) resolve();
            }
          })
          .catch((e) => {
            if (!(inner.signal.aborted && !opts.signal?.aborted)) r.error = errInfo(e);
          })
          .finally(done);
      });
    });
  } finally {
    inner.abort();
    if (shared) {
      if (opts.transport) shared.detach();
      else shared.close();
    }
  }
  if (opts.signal?.aborted) throw abortError(opts.signal);
  if (winner === undefined) {
    const err = new StunError(
      "ERR_STUN_NO_QUORUM",
      `no ${minAgree} servers agreed on the external address (${[...groups.entries()].map(([ip, g]) => `${ip}×${g.length}`).join(", ") || "no answers"})`,
    );
    err.details = results;
    throw err;
  }
  const ip = winner;
  return {
    ip,
    family: familyOf(ip),
    agreed: groups.get(ip) ?? [],
    disagreed: results.filter((r) => r.mapped && !sameHost(r.mapped.host, ip)),
    failed: results.filter((r) => r.error),
  };
}

export interface ResolveExternalIpOptions extends Omit<ExternalAddressOptions, "localAddress"> {
  /** STUN servers to ask (required: no public server is contacted implicitly). */
  servers?: StunServerAddress[];
  localAddress?: string;
}

/**
 * The external IP seen from `localAddress`, agreed by `minAgree` servers: the resolver that
 * @p2pd/netifaces' Interface.start() takes by injection. Accepts `(localAddress, opts)` or `(opts)`.
 */
export async function resolveExternalIp(
  localAddressOrOpts: string | ResolveExternalIpOptions,
  maybeOpts: ResolveExternalIpOptions = {},
): Promise<string> {
  const opts =
    typeof localAddressOrOpts === "string"
      ? { ...maybeOpts, localAddress: localAddressOrOpts }
      : localAddressOrOpts;
  const servers = opts.servers ?? [];
  if (servers.length === 0)
    throw new StunError("ERR_STUN_BAD_ARGUMENT", "resolveExternalIp needs a list of STUN servers");
  const r = await getExternalAddress(servers, opts);
  return r.ip;
}

/** Binds a server list once, giving the `(opts) => Promise<string>` hook shape @p2pd/netifaces takes. */
export function createExternalIpResolver(
  defaults: ResolveExternalIpOptions & { servers: StunServerAddress[] },
): (opts: { family?: 4 | 6; localAddress?: string; signal?: AbortSignal }) => Promise<string> {
  return (opts) => resolveExternalIp({ ...defaults, ...opts });
}
