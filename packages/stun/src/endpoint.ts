import { isIP } from "node:net";
import { StunError } from "./errors.js";

/** A socket address; the same shape as @p2pd/netifaces' Endpoint. */
export interface StunEndpoint {
  host: string;
  port: number;
  family: 4 | 6;
  scopeId?: string;
}

/** Splits "[v6%if]:port", "v4:port", "host:port", bare "v6" or "host" (default port). */
export function parseHostPort(input: string, defaultPort: number): { host: string; port: number } {
  const s = input.trim();
  let host = s;
  let port: string | undefined;
  const bracket = /^\[([^\]]+)\](?::(\d+))?$/.exec(s);
  if (bracket) {
    host = bracket[1] ?? "";
    port = bracket[2];
  } else if (s.split(":").length === 2) {
    const i = s.lastIndexOf(":");
    host = s.slice(0, i);
    port = s.slice(i + 1);
  }
  const p = port === undefined ? defaultPort : Number(port);
  // A literal IP, or something that can be a DNS name: no brackets, spaces or stray colons.
  const hostOk = isIP(normalizeHost(host)) !== 0 || /^[A-Za-z0-9_.-]+$/.test(host);
  if (
    !hostOk ||
    !Number.isInteger(p) ||
    p < 1 ||
    p > 65535 ||
    (port !== undefined && !/^\d+$/.test(port))
  ) {
    throw new StunError("ERR_STUN_BAD_ARGUMENT", `bad server address "${input}"`);
  }
  return { host, port: p };
}

/** "::ffff:1.2.3.4" → "1.2.3.4" so sources compare equal across dual-stack sockets. */
export function normalizeHost(host: string): string {
  const h = host.toLowerCase();
  if (h.startsWith("::ffff:") && isIP(h.slice(7)) === 4) return h.slice(7);
  const pct = h.indexOf("%");
  return pct >= 0 ? h.slice(0, pct) : h;
}

export function familyOf(host: string): 4 | 6 {
  return isIP(normalizeHost(host)) === 6 ? 6 : 4;
}

export function sameEndpoint(
  a: { host: string; port: number },
  b: { host: string; port: number },
): boolean {
  return a.port === b.port && sameHost(a.host, b.host);
}

export function sameHost(a: string, b: string): boolean {
  const x = normalizeHost(a);
  const y = normalizeHost(b);
  if (x === y) return true;
  if (isIP(x) === 6 && isIP(y) === 6) return formatIp(parseIp(x)) === formatIp(parseIp(y));
  return false;
}

export function formatEndpoint(e: { host: string; port: number }): string {
  return isIP(normalizeHost(e.host)) === 6 ? `[${e.host}]:${e.port}` : `${e.host}:${e.port}`;
}

/** IPv4 → 4 bytes, IPv6 (with "::" and embedded IPv4) → 16 bytes. */
const V4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

export function parseIp(host: string): Uint8Array {
  // Fast path for the common dotted quad (the server parses one per request).
  const m = V4.exec(host);
  if (m) {
    const b = Uint8Array.of(Number(m[1]), Number(m[2]), Number(m[3]), Number(m[4]));
    if (
      b[0] === Number(m[1]) &&
      b[1] === Number(m[2]) &&
      b[2] === Number(m[3]) &&
      b[3] === Number(m[4])
    )
      return b;
  }
  const h = normalizeHost(host);
  const kind = isIP(h);
  if (kind === 4) return Uint8Array.from(h.split(".").map(Number));
  if (kind !== 6) throw new StunError("ERR_STUN_BAD_ARGUMENT", `not an IP address: "${host}"`);
  let text = h;
  const lastColon = text.lastIndexOf(":");
  const last = text.slice(lastColon + 1);
  if (last.includes(".")) {
    // Embedded IPv4 ("::ffff:1.2.3.4" forms that were not normalised away) → two hex groups.
    const [a = 0, b = 0, c = 0, d = 0] = last.split(".").map(Number);
    text = `${text.slice(0, lastColon + 1)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = "", rest] = text.split("::") as [string, string | undefined];
  const hs = head === "" ? [] : head.split(":");
  const rs = rest === undefined || rest === "" ? [] : rest.split(":");
  const groups =
    rest === undefined ? hs : [...hs, ...Array(8 - hs.length - rs.length).fill("0"), ...rs];
  const words = groups.map((g) => Number.parseInt(g, 16));
  const out = new Uint8Array(16);
  words.forEach((w, i) => {
    out[i * 2] = w >> 8;
    out[i * 2 + 1] = w & 0xff;
  });
  return out;
}

/** 4 or 16 bytes → dotted quad or RFC 5952 compressed IPv6. */
export function formatIp(b: Uint8Array): string {
  if (b.length === 4) return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
  const w: number[] = [];
  for (let i = 0; i < 16; i += 2) w.push(((b[i] ?? 0) << 8) | (b[i + 1] ?? 0));
  // Longest run (≥2) of zero words becomes "::".
  let best = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (w[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && w[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = w.map((x) => x.toString(16));
  if (best < 0) return hex.join(":");
  return `${hex.slice(0, best).join(":")}::${hex.slice(best + bestLen).join(":")}`;
}
