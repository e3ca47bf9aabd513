import { lookup } from "node:dns/promises";
import { isIP } from "node:net";
import type { Endpoint, Family } from "@p2pd/netifaces";
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

/** 4, 6, or 0 when `host` is not an IP literal (scope suffix allowed on v6). */
export function ipFamily(host: string): 0 | Family {
  const v = isIP(splitScope(host).host);
  return v === 4 || v === 6 ? v : 0;
}

/** The host string Node's socket APIs expect ("fe80::1%eth0" for scoped link-locals). */
export function nodeHost(ep: { host: string; scopeId?: string | undefined }): string {
  return ep.scopeId && !ep.host.includes("%") ? `${ep.host}%${ep.scopeId}` : ep.host;
}

/** An Endpoint from an address reported by Node (which carries the "%scope" suffix for v6). */
export function fromNode(address: string, port: number): Endpoint {
  const i = address.indexOf("%");
  if (i < 0) return { host: address, port, family: address.includes(":") ? 6 : 4 };
  return { host: address.slice(0, i), port, family: 6, scopeId: address.slice(i + 1) };
}

/** "ip:port", the subscription-matching form (no brackets, "%scope" kept, as in P2PD). */
export function addrString(ep: Endpoint): string {
  return `${nodeHost(ep)}:${ep.port}`;
}

export function isLoopback(host: string): boolean {
  return host.startsWith("127.") || host === "::1" || host === "localhost";
}

export function wildcard(family: Family): string {
  return family === 6 ? "::" : "0.0.0.0";
}

const LABEL = /^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$/;

/** Syntactic check of a DNS name (RFC 1123), so garbage is refused without a lookup. */
function validHostname(host: string): boolean {
  if (host.length === 0 || host.length > 253) return false;
  const name = host.endsWith(".") ? host.slice(0, -1) : host;
  return name.split(".").every((l) => LABEL.test(l));
}

/** Parses "host:port", "[v6]:port" or "[fe80::1%eth0]:port". */
export function parseHostPort(s: string): DestLike {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(s) ?? /^([^:]+):(\d+)$/.exec(s);
  if (!m?.[1] || m[2] === undefined) {
    throw new PipeError("ERR_BAD_HOST", `expected "host:port" or "[v6]:port", got "${s}"`);
  }
  return { host: m[1], port: Number(m[2]) };
}

/**
 * Turns a destination into a concrete Endpoint. Host names go through the OS resolver
 * (node:dns lookup), abortable with `signal`; `.invalid` names fail without a query (RFC 6761).
 */
export async function resolveDest(
  dest: DestLike | string,
  opts: { family?: Family | undefined; signal?: AbortSignal | undefined } = {},
): Promise<Endpoint> {
  const d = typeof dest === "string" ? parseHostPort(dest) : dest;
  if (d === null || typeof d !== "object" || typeof d.host !== "string") {
    throw new PipeError("ERR_BAD_HOST", "destination needs a string host and a port");
  }
  const port = checkPort(d.port, 1);
  // netifaces' Address keeps the name in `host` and the resolved IP in `ip`: use the IP as is.
  const literal = typeof d.ip === "string" && ipFamily(d.ip) !== 0 ? d.ip : d.host;
  const { host, scopeId: inlineScope } = splitScope(literal);
  const scopeId = d.scopeId ?? inlineScope;
  const fam = ipFamily(host);
  if (fam !== 0) {
    const ep: Endpoint = { host, port, family: fam };
    if (fam === 6 && scopeId) ep.scopeId = String(scopeId);
    return ep;
  }
  if (!validHostname(host)) throw new PipeError("ERR_BAD_HOST", `not a host name: "${host}"`);
  if (/(^|\.)invalid\.?$/i.test(host)) {
    throw new PipeError("ERR_RESOLVE", `cannot resolve "${host}" (.invalid never resolves)`);
  }
  const signal = opts.signal;
  if (signal?.aborted) throw abortError(signal, `resolving ${host}`);
  const family = opts.family ?? (d.family === 4 || d.family === 6 ? d.family : 0);
  let onAbort: (() => void) | undefined;
  try {
    const found = await Promise.race([
      lookup(host, { family }),
      new Promise<never>((_, reject) => {
        onAbort = () => reject(abortError(signal as AbortSignal, `resolving ${host}`));
        signal?.addEventListener("abort", onAbort, { once: true });
      }),
    ]);
    return { host: found.address, port, family: found.family === 6 ? 6 : 4 };
  } catch (e) {
    if (e instanceof PipeError) throw e;
    throw new PipeError("ERR_RESOLVE", `cannot resolve "${host}"`, { cause: e });
  } finally {
    if (onAbort) signal?.removeEventListener("abort", onAbort);
  }
}
