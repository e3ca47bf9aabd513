import {
  Address,
  type Endpoint,
  type Family,
  formatIp,
  isLoopbackIp,
  type LookupFn,
  ipFamily as netIpFamily,
  P2pdNetError,
  splitHostPort,
  tryParseIp,
} from "@p2pd/netifaces";
import { abortError, PipeError } from "./errors.js";

/** Anything with a host and a port: an Endpoint, netifaces' Address, or a plain `{host, port}`. */
export interface DestLike {
  host: string;
  port: number;
  /** The resolved IP when `host` is a name (netifaces' Address); preferred over `host`. */
  ip?: string;
  family?: Family | number;
  scopeId?: string;
}

/** Where to bind when no resolved route is given. No host = wildcard, no port = ephemeral. */
export interface BindSpec {
  host?: string;
  port?: number;
  family?: Family;
  scopeId?: string;
}

/** Default DNS deadline for host names (P2PD's dns_timeout, 2 s). */
export const DNS_TIMEOUT_MS = 2000;

/** Throws ERR_BAD_PORT unless `port` is an integer in [min, 65535]. */
export function checkPort(port: unknown, min = 0): number {
  if (typeof port !== "number" || !Number.isInteger(port) || port < min || port > 65535) {
    throw new PipeError("ERR_BAD_PORT", `bad port ${String(port)} (want an integer ${min}..65535)`);
  }
  return port;
}

/** Splits "fe80::1%eth0" into host and scope. */
export function splitScope(host: string): { host: string; scopeId?: string } {
  const i = host.indexOf("%");
  return i < 0 ? { host } : { host: host.slice(0, i), scopeId: host.slice(i + 1) };
}

/** 4, 6, or 0 when `host` is not an IP literal (scope suffix allowed on v6); netifaces' parser. */
export function ipFamily(host: string): 0 | Family {
  return netIpFamily(host) ?? 0;
}

/** The host string Node's socket APIs expect ("fe80::1%eth0" for scoped link-locals). */
export function nodeHost(ep: { host: string; scopeId?: string | undefined }): string {
  return ep.scopeId && !ep.host.includes("%") ? `${ep.host}%${ep.scopeId}` : ep.host;
}

/**
 * An Endpoint from an address reported by Node (which carries the "%scope" suffix for v6).
 * Runs per datagram, so it splits text instead of parsing the IP.
 */
export function fromNode(address: string, port: number): Endpoint {
  const i = address.indexOf("%");
  if (i < 0) return { host: address, port, family: address.includes(":") ? 6 : 4 };
  return { host: address.slice(0, i), port, family: 6, scopeId: address.slice(i + 1) };
}

/** "ip:port", the subscription-matching form (no brackets, "%scope" kept, as in P2PD). */
export function addrString(ep: Endpoint): string {
  return `${nodeHost(ep)}:${ep.port}`;
}

/** "localhost" or a loopback IP literal (netifaces' classification). */
export function isLoopback(host: string): boolean {
  if (host === "localhost") return true;
  return tryParseIp(host) !== undefined && isLoopbackIp(splitScope(host).host);
}

export function wildcard(family: Family): string {
  return family === 6 ? "::" : "0.0.0.0";
}

/** A netifaces error as the PipeError pipe callers match on (same codes as before). */
export function fromNetError(e: unknown, what: string, signal?: AbortSignal): PipeError {
  if (e instanceof PipeError) return e;
  const code = e instanceof P2pdNetError ? e.code : "";
  if (code === "ERR_ABORTED") {
    return signal ? abortError(signal, what) : new PipeError("ERR_ABORTED", `${what} aborted`);
  }
  const msg = e instanceof Error ? e.message : String(e);
  if (code === "ERR_BAD_PORT") return new PipeError("ERR_BAD_PORT", msg, { cause: e });
  if (code === "ERR_BAD_ADDRESS") return new PipeError("ERR_BAD_HOST", msg, { cause: e });
  if (code === "ERR_FAMILY_MISMATCH") return new PipeError("ERR_FAMILY", msg, { cause: e });
  return new PipeError("ERR_RESOLVE", `cannot resolve ${what}: ${msg}`, { cause: e });
}

/** Parses "host:port", "[v6]:port" or "[fe80::1%eth0]:port" (netifaces' splitHostPort). */
export function parseHostPort(s: string): DestLike {
  let r: { host: string; port?: number };
  try {
    r = splitHostPort(s);
  } catch (e) {
    throw fromNetError(e, String(s));
  }
  if (r.host === "" || r.port === undefined) {
    throw new PipeError("ERR_BAD_HOST", `expected "host:port" or "[v6]:port", got "${s}"`);
  }
  return { host: r.host, port: r.port };
}

/** RFC 6761: ".invalid" never resolves, so it fails without a query leaving the machine. */
const neverResolves: LookupFn = (host) =>
  Promise.reject(Object.assign(new Error(`${host} is .invalid`), { code: "ENOTFOUND" }));

/**
 * Turns a destination into a concrete Endpoint. IP literals are normalised; host names go through
 * netifaces' Address.resolve (OS resolver, `dnsTimeoutMs` deadline, abortable with `signal`).
 */
export async function resolveDest(
  dest: DestLike | string,
  opts: {
    family?: Family | undefined;
    signal?: AbortSignal | undefined;
    dnsTimeoutMs?: number | undefined;
  } = {},
): Promise<Endpoint> {
  const d = typeof dest === "string" ? parseHostPort(dest) : dest;
  if (d === null || typeof d !== "object" || typeof d.host !== "string") {
    throw new PipeError("ERR_BAD_HOST", "destination needs a string host and a port");
  }
  const port = checkPort(d.port, 1);
  // netifaces' Address keeps the name in `host` and the resolved IP in `ip`: use the IP as is.
  const host = typeof d.ip === "string" && ipFamily(d.ip) !== 0 ? d.ip : d.host;
  // Only an IP literal has a "%scope"; in a name a "%" is an error (ERR_BAD_HOST), never cut off.
  const ip = tryParseIp(host);
  if (ip) {
    const ep: Endpoint = { host: formatIp(ip.family, ip.value), port, family: ip.family };
    const scopeId = d.scopeId ?? ip.scopeId;
    if (ip.family === 6 && scopeId) ep.scopeId = String(scopeId);
    return ep;
  }
  const { signal } = opts;
  if (signal?.aborted) throw abortError(signal, `resolving ${host}`);
  const family = opts.family ?? (d.family === 4 || d.family === 6 ? d.family : undefined);
  try {
    const a = await Address.resolve(host, port, {
      ...(family ? { family } : {}),
      ...(signal ? { signal } : {}),
      timeoutMs: opts.dnsTimeoutMs ?? DNS_TIMEOUT_MS,
      ...(/(^|\.)invalid\.?$/i.test(host) ? { lookup: neverResolves } : {}),
    });
    return a.toEndpoint();
  } catch (e) {
    throw fromNetError(e, `"${host}"`, signal);
  }
}
