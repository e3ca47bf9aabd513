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
export async function defaultGateway(
  options: { signal?: AbortSignal; routeFile?: string } = {},
): Promise<string | undefined> {
  try {
    const text = await readFile(options.routeFile ?? "/proc/net/route", {
      encoding: "utf8",
      ...(options.signal ? { signal: options.signal } : {}),
    });
    return parseProcNetRoute(text)[0]?.gateway;
  } catch {
    if (options.signal?.aborted) throw options.signal.reason;
    return undefined;
  }
}
