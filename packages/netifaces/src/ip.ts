import type { Family } from "./endpoint.js";
import { BadAddressError } from "./errors.js";

/** An IP as a number: bigint so IPv6 maths never loses precision. */
export interface ParsedIp {
  family: Family;
  value: bigint;
  /** Zone after `%` (interface name or index), if any. */
  scopeId?: string;
}

const HEX_GROUP = /^[0-9a-fA-F]{1,4}$/;
const V4_RE = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

function parseV4(s: string): bigint | undefined {
  const m = V4_RE.exec(s);
  if (!m) return undefined;
  let v = 0;
  for (let i = 1; i <= 4; i++) {
    const part = m[i] as string;
    // Leading zeros are ambiguous (octal in some parsers): reject like Python's ipaddress.
    if (part.length > 1 && part.startsWith("0")) return undefined;
    const n = Number(part);
    if (n > 255) return undefined;
    v = v * 256 + n;
  }
  return BigInt(v);
}

function parseV6(s: string): bigint | undefined {
  if (s.length === 0 || s.length > 45) return undefined;
  let groups: string[];
  // An embedded IPv4 tail (::ffff:1.2.3.4) becomes two hex groups.
  const lastColon = s.lastIndexOf(":");
  let tail: bigint | undefined;
  let head = s;
  if (s.includes(".")) {
    tail = parseV4(s.slice(lastColon + 1));
    if (tail === undefined) return undefined;
    head = `${s.slice(0, lastColon + 1)}0:0`;
  }
  const dbl = head.indexOf("::");
  if (dbl !== -1) {
    if (head.indexOf("::", dbl + 1) !== -1) return undefined;
    const left = head.slice(0, dbl);
    const right = head.slice(dbl + 2);
    const l = left === "" ? [] : left.split(":");
    const r = right === "" ? [] : right.split(":");
    const missing = 8 - l.length - r.length;
    if (missing < 1) return undefined;
    groups = [...l, ...Array<string>(missing).fill("0"), ...r];
  } else {
    groups = head.split(":");
  }
  if (groups.length !== 8) return undefined;
  // One BigInt conversion from 32 hex digits: far cheaper than 8 shift/or steps.
  let hex = "";
  for (const g of groups) {
    if (!HEX_GROUP.test(g)) return undefined;
    hex += g.padStart(4, "0");
  }
  let v = BigInt(`0x${hex}`);
  if (tail !== undefined) v = (v & ~0xffffffffn) | tail;
  return v;
}

/** Parses an IPv4/IPv6 literal (optionally `[v6]`, `%zone`); undefined when it is not one. */
export function tryParseIp(input: string): ParsedIp | undefined {
  if (typeof input !== "string") return undefined;
  let s = input.trim();
  if (s.startsWith("[") && s.endsWith("]")) s = s.slice(1, -1);
  let scopeId: string | undefined;
  const pct = s.indexOf("%");
  if (pct !== -1) {
    scopeId = s.slice(pct + 1);
    s = s.slice(0, pct);
    if (scopeId === "" || !/^[\w.\-:@]{1,64}$/.test(scopeId)) return undefined;
  }
  const v4 = parseV4(s);
  if (v4 !== undefined) return scopeId === undefined ? { family: 4, value: v4 } : undefined;
  if (!s.includes(":")) return undefined;
  const v6 = parseV6(s);
  if (v6 === undefined) return undefined;
  return scopeId === undefined ? { family: 6, value: v6 } : { family: 6, value: v6, scopeId };
}

/** Parses an IP literal or throws ERR_BAD_ADDRESS. */
export function parseIp(input: string): ParsedIp {
  const p = tryParseIp(input);
  if (!p) throw new BadAddressError(`not an IP address: ${JSON.stringify(String(input))}`);
  return p;
}

/** 4 or 6 when `s` is an IP literal (zone allowed for v6), else undefined. */
export function ipFamily(s: string): Family | undefined {
  return tryParseIp(s)?.family;
}

export function isIp(s: string): boolean {
  return tryParseIp(s) !== undefined;
}

export const MAX_BITS: Record<Family, number> = { 4: 32, 6: 128 };

/** Formats a numeric IP: dotted quad, or RFC 5952 compressed IPv6. */
export function formatIp(family: Family, value: bigint): string {
  if (family === 4) {
    const n = Number(value & 0xffffffffn);
    return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
  }
  const hex = value.toString(16).padStart(32, "0");
  const g: number[] = [];
  for (let i = 0; i < 32; i += 4) g.push(Number.parseInt(hex.slice(i, i + 4), 16));
  // Longest run of zero groups (length >= 2) becomes "::" (RFC 5952 4.2).
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const parts = g.map((x) => x.toString(16));
  if (bestStart === -1) return parts.join(":");
  const left = parts.slice(0, bestStart).join(":");
  const right = parts.slice(bestStart + bestLen).join(":");
  return `${left}::${right}`;
}

/** Fully exploded IPv6 (8 zero-padded groups), the form Python's P2PD serialises. */
export function explodeIp6(value: bigint): string {
  const g: string[] = [];
  for (let i = 7; i >= 0; i--)
    g.push(((value >> BigInt(i * 16)) & 0xffffn).toString(16).padStart(4, "0"));
  return g.join(":");
}

/** Canonical text of an IP literal without zone or brackets (v6 compressed, lower case). */
export function normalizeIp(s: string): string {
  const p = parseIp(s);
  return formatIp(p.family, p.value);
}

/** Prefix length to netmask text (`24` -> `255.255.255.0`). */
export function prefixToNetmask(family: Family, prefix: number): string {
  const bits = MAX_BITS[family];
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > bits) {
    throw new BadAddressError(`bad prefix length ${prefix} for IPv${family}`);
  }
  const all = (1n << BigInt(bits)) - 1n;
  const mask = (all << BigInt(bits - prefix)) & all;
  return formatIp(family, mask);
}

/** Netmask text to prefix length; throws ERR_BAD_ADDRESS when the mask is not contiguous. */
export function netmaskToPrefix(netmask: string): number {
  const p = parseIp(netmask);
  const bits = MAX_BITS[p.family];
  let v = p.value;
  let ones = 0;
  for (let i = bits - 1; i >= 0; i--) {
    if ((v >> BigInt(i)) & 1n) ones++;
    else break;
  }
  v &= (1n << BigInt(bits - ones)) - 1n;
  if (v !== 0n) throw new BadAddressError(`netmask is not contiguous: ${netmask}`);
  return ones;
}

/** True for fe80::/10, the only range that needs a zone id when binding. */
export function isLinkLocal6(ip: string | bigint): boolean {
  const v = typeof ip === "bigint" ? ip : tryParseIp(ip);
  if (v === undefined) return false;
  if (typeof v === "bigint") return v >> 118n === 0x3fan;
  return v.family === 6 && v.value >> 118n === 0x3fan;
}
