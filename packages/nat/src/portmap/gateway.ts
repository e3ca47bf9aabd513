import { readFile } from "node:fs/promises";

/**
 * Default IPv4 gateways from Linux's /proc/net/route text: destination 00000000 with the
 * RTF_GATEWAY flag, gateway in little-endian hex, sorted by metric. Malformed lines are skipped.
 */
export function parseProcNetRoute(
  text: string,
): { iface: string; gateway: string; metric: number }[] {
  const out: { iface: string; gateway: string; metric: number }[] = [];
  for (const line of text.split("\n").slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 8) continue;
    const [iface, dest, gw, flags, , , metric, mask] = f;
    if (!iface || dest !== "00000000" || mask !== "00000000") continue;
    if (!/^[0-9A-Fa-f]{8}$/.test(gw ?? "") || !/^[0-9A-Fa-f]+$/.test(flags ?? "")) continue;
    if ((Number.parseInt(flags ?? "0", 16) & 0x2) === 0) continue; // RTF_GATEWAY
    const n = Number.parseInt(gw ?? "0", 16);
    if (n === 0) continue;
    const ip = [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, n >>> 24].join(".");
    out.push({ iface, gateway: ip, metric: Number(metric) || 0 });
  }
  return out.sort((a, b) => a.metric - b.metric);
}

/** The default IPv4 gateway of this network namespace, or undefined when there is none. */
export function defaultGateway(
  options: { signal?: AbortSignal; routeFile?: string } = {},
): Promise<string | undefined> {
  return firstGateway(options.routeFile ?? "/proc/net/route", parseProcNetRoute, options.signal);
}

// An unreadable route table means "no gateway"; only an abort is an error.
async function firstGateway(
  file: string,
  parse: (text: string) => { gateway: string }[],
  signal: AbortSignal | undefined,
): Promise<string | undefined> {
  try {
    const text = await readFile(file, { encoding: "utf8", ...(signal ? { signal } : {}) });
    return parse(text)[0]?.gateway;
  } catch {
    if (signal?.aborted) throw signal.reason;
    return undefined;
  }
}

/**
 * Default IPv6 gateways from /proc/net/ipv6_route: destination ::/0 with a next hop, sorted by
 * metric. A link-local next hop (the usual case) gets its interface as scope: fe80::1%eth0.
 */
export function parseProcNetIpv6Route(
  text: string,
): { iface: string; gateway: string; metric: number }[] {
  const out: { iface: string; gateway: string; metric: number }[] = [];
  for (const line of text.split("\n")) {
    const f = line.trim().split(/\s+/);
    if (f.length < 10) continue;
    const [dest, plen, , , hop, metric, , , , iface] = f;
    if (dest !== "0".repeat(32) || plen !== "00" || !iface || iface === "lo") continue;
    if (!/^[0-9a-fA-F]{32}$/.test(hop ?? "") || /^0+$/.test(hop ?? "")) continue;
    const groups = (hop ?? "").match(/.{4}/g) ?? [];
    const ip = groups.map((g) => Number.parseInt(g, 16).toString(16)).join(":");
    const compact = compress(ip);
    out.push({
      iface,
      gateway: compact.startsWith("fe80:") ? `${compact}%${iface}` : compact,
      metric: Number.parseInt(metric ?? "0", 16) || 0,
    });
  }
  return out.sort((a, b) => a.metric - b.metric);
}

// The longest run of zero groups becomes "::" (RFC 5952).
function compress(ip: string): string {
  const g = ip.split(":");
  let best = -1;
  let len = 1;
  for (let i = 0; i < g.length; ) {
    let j = i;
    while (j < g.length && g[j] === "0") j++;
    if (j - i > len) {
      best = i;
      len = j - i;
    }
    i = j === i ? i + 1 : j;
  }
  return best < 0 ? ip : `${g.slice(0, best).join(":")}::${g.slice(best + len).join(":")}`;
}

/** The default IPv6 gateway of this network namespace (scoped if link-local), or undefined. */
export function defaultGateway6(
  options: { signal?: AbortSignal; routeFile?: string } = {},
): Promise<string | undefined> {
  return firstGateway(
    options.routeFile ?? "/proc/net/ipv6_route",
    parseProcNetIpv6Route,
    options.signal,
  );
}
