import { isIPv4, isIPv6 } from "node:net";

/**
 * Canonical text of an IP of the given family, or undefined if it is not one. IPv6 comes out
 * compressed (RFC 5952 via the WHATWG URL host serializer), so exploded input is accepted.
 * Zone ids (`%eth0`) are refused: they mean nothing to a remote peer.
 */
export function canonicalIp(text: string, family: 4 | 6): string | undefined {
  if (family === 4) {
    // Node's isIPv4 refuses leading zeros; keep dotted-quad only.
    return isIPv4(text) ? text : undefined;
  }
  if (text.includes("%") || !isIPv6(text)) return undefined;
  try {
    return new URL(`http://[${text}]/`).hostname.slice(1, -1);
  } catch {
    return undefined;
  }
}

export function isLoopback(ip: string): boolean {
  return ip.startsWith("127.") || ip === "::1";
}

export function isLinkLocal6(ip: string): boolean {
  return /^fe[89ab][0-9a-f]:/i.test(ip);
}

/** host:port for logs and net.connect targets in messages ("[v6]:port"). */
export function hostPort(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}
