import { isIPv4 } from "node:net";
import type { Candidate } from "./strategy.js";

/** IPv4 as a 32-bit number (dotted quad already validated). */
function v4(ip: string): number {
  return ip.split(".").reduce((n, o) => n * 256 + Number(o), 0);
}

function inV4(ip: string, net: string, bits: number): boolean {
  const mask = bits === 0 ? 0 : 2 ** 32 - 2 ** (32 - bits);
  return (v4(ip) & mask) >>> 0 === (v4(net) & mask) >>> 0;
}

/** Never a target: unspecified, multicast, broadcast, link-local (and v4-mapped tricks). */
export function neverTarget(ip: string): boolean {
  if (isIPv4(ip))
    return (
      inV4(ip, "0.0.0.0", 8) ||
      inV4(ip, "224.0.0.0", 4) ||
      inV4(ip, "240.0.0.0", 4) ||
      inV4(ip, "169.254.0.0", 16)
    );
  const l = ip.toLowerCase();
  return l === "::" || /^ff/.test(l) || /^fe[89ab]/.test(l) || l.startsWith("::ffff:");
}

/** Loopback and private ranges: only reachable for a peer that really shares our host or LAN. */
export function localOnly(ip: string): boolean {
  if (isIPv4(ip))
    return (
      inV4(ip, "127.0.0.0", 8) ||
      inV4(ip, "10.0.0.0", 8) ||
      inV4(ip, "172.16.0.0", 12) ||
      inV4(ip, "192.168.0.0", 16) ||
      inV4(ip, "100.64.0.0", 10)
    );
  const l = ip.toLowerCase();
  return l === "::1" || /^f[cd]/.test(l);
}

/** Same subnet as our own interface (IPv4 /24, IPv6 /64): a LAN match we can check ourselves. */
function sameSubnet(a: string, b: string): boolean {
  if (isIPv4(a) !== isIPv4(b)) return false;
  if (isIPv4(a)) return inV4(a, b, inV4(a, "127.0.0.0", 8) ? 8 : 24);
  const head = (ip: string) => new URL(`http://[${ip}]/`).hostname.split(":").slice(0, 5).join(":");
  return a === "::1" ? b === "::1" : head(a) === head(b);
}

/**
 * Why a peer's offer may not make us send to `host` (undefined when it may): the host must be one
 * of the addresses the sender's own (signed) address names; never unspecified, multicast or
 * link-local; loopback and private ranges only when the sender is on our host or LAN by our own
 * interface's subnet, not just by its claim.
 */
export function refuseTarget(host: string, cands: Candidate[]): string | undefined {
  if (neverTarget(host)) return `offer names ${host}: never a punch target`;
  for (const c of cands) {
    if (c.remote.ext === host && !localOnly(host)) return undefined;
    if (c.sameLan && c.remote.internal === host && sameSubnet(c.local.internal, host))
      return undefined;
  }
  return `offer names ${host}, which is not one of the sender's addresses`;
}
