import type { Family } from "./endpoint.js";
import { parseIp } from "./ip.js";

/** What kind of address an IP is; `public` means globally routable. */
export type IpClass =
  | "unspecified"
  | "loopback"
  | "private"
  | "link-local"
  | "unique-local"
  | "cgnat"
  | "documentation"
  | "benchmark"
  | "reserved"
  | "multicast"
  | "broadcast"
  | "ipv4-mapped"
  | "translation"
  | "public";

interface Row {
  family: Family;
  base: bigint;
  prefix: number;
  cls: IpClass;
  /** Python's `ipaddress.is_private` for this block (3.13 tables). */
  private: boolean;
}

function row(cidr: string, cls: IpClass, isPrivate: boolean): Row {
  const [ip, len] = cidr.split("/") as [string, string];
  const p = parseIp(ip);
  return { family: p.family, base: p.value, prefix: Number(len), cls, private: isPrivate };
}

// Most specific first: the first match wins. Mirrors CPython 3.13 `_private_networks`
// (plus its exceptions), and marks CGNAT/multicast as not private as Python does.
const TABLE: readonly Row[] = [
  row("0.0.0.0/32", "unspecified", false), // P2PD treats 0.0.0.0 as public, not private
  row("0.0.0.0/8", "reserved", true),
  row("10.0.0.0/8", "private", true),
  row("100.64.0.0/10", "cgnat", false),
  row("127.0.0.0/8", "loopback", true),
  row("169.254.0.0/16", "link-local", true),
  row("172.16.0.0/12", "private", true),
  row("192.0.0.9/32", "reserved", false),
  row("192.0.0.10/32", "reserved", false),
  row("192.0.0.0/29", "reserved", true),
  row("192.0.0.170/31", "reserved", true),
  row("192.0.0.0/24", "reserved", false),
  row("192.0.2.0/24", "documentation", true),
  row("192.168.0.0/16", "private", true),
  row("198.18.0.0/15", "benchmark", true),
  row("198.51.100.0/24", "documentation", true),
  row("203.0.113.0/24", "documentation", true),
  row("224.0.0.0/4", "multicast", false),
  row("255.255.255.255/32", "broadcast", true),
  row("240.0.0.0/4", "reserved", true),
  row("::/128", "unspecified", true),
  row("::1/128", "loopback", true),
  row("::ffff:0:0/96", "ipv4-mapped", true),
  row("64:ff9b:1::/48", "translation", true),
  row("64:ff9b::/96", "translation", false),
  row("100::/64", "reserved", true),
  row("2001:1::1/128", "reserved", false),
  row("2001:1::2/128", "reserved", false),
  row("2001:3::/32", "reserved", false),
  row("2001:4:112::/48", "reserved", false),
  row("2001:20::/28", "reserved", false),
  row("2001:30::/28", "reserved", false),
  row("2001:db8::/32", "documentation", true),
  row("2001::/23", "reserved", true),
  row("3fff::/20", "documentation", true),
  row("fc00::/7", "unique-local", true),
  row("fe80::/10", "link-local", true),
  row("ff00::/8", "multicast", false),
];

function lookup(ip: string): Row | undefined {
  const p = parseIp(ip);
  const bits = p.family === 4 ? 32 : 128;
  return TABLE.find(
    (r) =>
      r.family === p.family &&
      p.value >> BigInt(bits - r.prefix) === r.base >> BigInt(bits - r.prefix),
  );
}

/** Classifies an IP literal (throws ERR_BAD_ADDRESS for non-IPs). */
export function classifyIp(ip: string): IpClass {
  return lookup(ip)?.cls ?? "public";
}

/**
 * Python `ipaddress.is_private` equivalent (what P2PD uses to group NIC addresses),
 * except that 0.0.0.0 counts as public, as in P2PD's IPRange.
 */
export function isPrivateIp(ip: string): boolean {
  return lookup(ip)?.private ?? false;
}

/** Not private in the P2PD sense: worth an external-address check. */
export function isPublicIp(ip: string): boolean {
  return !isPrivateIp(ip);
}

export function isLoopbackIp(ip: string): boolean {
  return classifyIp(ip) === "loopback";
}
